"""Compute time of operators on one chip: roofline times a calibrated efficiency.

An operator takes max(FLOPs / (peak x eta_gemm), bytes / (HBM bandwidth x eta_mem)) plus a fixed
per-kernel cost. eta_gemm is the fraction of the dense peak that large GEMMs sustain in real
training and serving (one documented parameter per chip family, fitted on the public validation
cases: catalog/data/calibration/compute.yaml); eta_mem and the kernel cost are measured figures
common to all chips unless a family overrides them. Small or skinny GEMMs fall below peak through
the memory term (their weights and activations dominate) and the per-kernel cost.

Never beats physics: eta_gemm <= 1 and eta_mem <= 1 are enforced when the calibration is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from podsim.catalog import data_file
from podsim.errors import SpecError

PRECISION_CLASS = {"bf16": "", "fp16": "", "fp32": "", "fp8": "_fp8", "int8": "_fp8", "fp4": "_fp4"}


@dataclass(frozen=True)
class ComputeCalibration:
    family: str
    gemm_efficiency: float  # fraction of dense 16-bit peak sustained by large GEMMs
    gemm_efficiency_fp8: float  # ... of the fp8/int8 peak by fp8/int8 GEMMs (incl. scaling)
    gemm_efficiency_fp4: float  # ... of the fp4 peak by fp4 GEMMs
    grouped_gemm_ratio: float  # MoE expert (grouped) GEMMs relative to gemm_efficiency
    attention_efficiency: float  # fraction of 16-bit peak sustained by flash attention
    memory_efficiency: float  # fraction of HBM bandwidth sustained by streaming kernels
    kernel_overhead_s: float  # fixed cost per kernel (launch + tail)
    host_kernel_s: float  # host (CPU) time per kernel an eager framework launches
    gemm_k0: float  # fixed per-tile cost of a GEMM, in equivalent reduction-dimension length
    gemm_m0: float  # rows at which a GEMM's efficiency halves (partly filled tiles and waves)
    fitted: bool  # True when fitted on public cases for this family
    source: str

    def gemm_efficiency_for(self, precision: str) -> float:
        """GEMM efficiency at a precision (8-bit integer GEMMs share the fp8 figure)."""
        return {
            "": self.gemm_efficiency,
            "_fp8": self.gemm_efficiency_fp8,
            "_fp4": self.gemm_efficiency_fp4,
        }[PRECISION_CLASS[precision]]


@cache
def _table() -> dict:
    doc = data_file("calibration/compute.yaml")
    return doc


def model_constant(name: str) -> float:
    """A family-independent constant of the cost models, from ``compute.yaml``'s defaults."""
    raw = _table()["default"][name]
    return float(raw["value"] if isinstance(raw, dict) else raw)


def compute_calibration(family: str) -> ComputeCalibration:
    """Calibration of a chip family; families without public cases use the documented default."""
    doc = _table()
    default = doc["default"]
    fam = doc.get("families", {}).get(family)
    merged = dict(default)
    if fam:
        merged.update({k: v for k, v in fam.items() if k not in ("fitted", "source", "note")})
    merged.setdefault("grouped_gemm_ratio", 1.0)
    # low-precision GEMMs default to the next wider format's efficiency
    merged.setdefault("gemm_efficiency_fp8", merged["gemm_efficiency"])
    merged.setdefault("gemm_efficiency_fp4", merged["gemm_efficiency_fp8"])

    def val(k: str) -> float:
        x = merged[k]
        return float(x["value"] if isinstance(x, dict) else x)

    for k in (
        "gemm_efficiency",
        "gemm_efficiency_fp8",
        "gemm_efficiency_fp4",
        "grouped_gemm_ratio",
        "attention_efficiency",
        "memory_efficiency",
    ):
        if not 0.0 < val(k) <= 1.0:
            raise SpecError(
                "efficiency must be in (0, 1]",
                file="calibration/compute.yaml",
                field=f"{family}.{k}",
                value=val(k),
            )

    return ComputeCalibration(
        family=family,
        gemm_efficiency=val("gemm_efficiency"),
        gemm_efficiency_fp8=val("gemm_efficiency_fp8"),
        gemm_efficiency_fp4=val("gemm_efficiency_fp4"),
        grouped_gemm_ratio=val("grouped_gemm_ratio"),
        attention_efficiency=val("attention_efficiency"),
        memory_efficiency=val("memory_efficiency"),
        kernel_overhead_s=val("kernel_overhead_s"),
        host_kernel_s=val("host_kernel_s"),
        gemm_k0=val("gemm_k0"),
        gemm_m0=val("gemm_m0"),
        fitted=bool(fam and fam.get("fitted", False)),
        source=str((fam or default).get("source", doc.get("source", ""))),
    )


def row_fill(rows, m0: float) -> np.ndarray:
    """Efficiency factor of a GEMM with ``rows`` rows (tokens): ``M / (M + m0)`` -- partly
    filled 128-row tiles and under-filled waves (DeepGEMM grouped-GEMM measurements)."""
    r = np.asarray(rows, dtype=float)
    return np.maximum(r / (r + m0), 1e-6) if m0 > 0 else np.ones_like(r)


def k_efficiency(gemms, tp, k0: float) -> np.ndarray:
    """FLOP-weighted efficiency factor of GEMMs with a short reduction dimension K.

    A GEMM tile iterates over K in fixed-size steps and pays a fixed prologue/epilogue (loading
    the first operand tiles, scaling, writing C); with that fixed cost worth ``k0`` of K, a GEMM
    runs at K / (K + k0) of its long-K efficiency. ``gemms`` lists (FLOPs, K, K split by TP);
    returns sum(F) / sum(F * (K + k0) / K) (1 for an empty list).
    """
    tp = np.asarray(tp, dtype=float)
    total = 0.0
    weighted = 0.0
    for flops, k, split in gemms:
        kk = k / tp if split else np.full_like(tp, float(k))
        total = total + flops
        weighted = weighted + flops * (kk + k0) / kk
    if not gemms:
        return np.ones_like(tp)
    return total / weighted


def roofline_time(flops, nbytes, peak: float, hbm_bw: float, eta_c: float, eta_m: float):
    """max(compute time, memory time) of an operator (broadcasts)."""
    return np.maximum(
        np.asarray(flops, dtype=float) / (peak * eta_c),
        np.asarray(nbytes, dtype=float) / (hbm_bw * eta_m),
    )


def memory_time(nbytes, hbm_bw: float, eta_m: float):
    """Time of a memory-bound (elementwise / streaming) operator."""
    return np.asarray(nbytes, dtype=float) / (hbm_bw * eta_m)
