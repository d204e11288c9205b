"""Serving-only calibration per chip family (``catalog/data/calibration/serving.yaml``).

* ``step_overhead_s`` -- the host-side time of one serving iteration that no kernel accounts for
  (scheduler, sampling and detokenisation hand-off, input preparation, CUDA-graph / ACL-graph
  launch). Fitted on the family's small-batch serving cases; families with none use ``default``.
* ``forward_gemm_ratio`` (``default``, one value for every family) -- an inference engine's
  forward GEMMs' efficiency relative to the compute calibration's. Those efficiencies are fitted
  on whole *training* steps and absorb training-only costs (backward and weight-gradient GEMMs,
  NVFP4 training's random Hadamard transforms and BF16 layers, optimizer and framework
  overheads); serving engines run forward GEMMs only, with kernels autotuned per shape
  (TensorRT-LLM / vLLM / hipBLASLt). The serving efficiency of a family and precision is the
  compute calibration's times this ratio (at most 1), so each family keeps what its training fit
  says about its hardware and only the forward/training difference is fitted, pooled over the
  compute-bound serving cases of every family.
  Per-family serving efficiencies (``gemm_efficiency*`` keys, read before 2026-11-29) are
  rejected with that reason: fitted on the two to eight cases a family has, they predicted
  held-out cases worse than the pooled ratio (``benchmarks/cross_validate.py``).
* ``grouped_gemm_ratio`` (optional, ``default`` or per family): expert (grouped) GEMMs'
  efficiency relative to the dense GEMMs in serving; absent, the compute calibration's training
  ratio. ``grouped_m0``: the rows (tokens) at which partly filled GEMM tiles halve it (default:
  the compute calibration's measured ``gemm_m0``)
  (efficiency x m / (m + m0)).

Kernel-level costs other than these come from :mod:`podsim.cost.compute` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from podsim.catalog import data_file
from podsim.errors import SpecError

# per-family serving GEMM efficiencies, replaced by the pooled forward ratio (rejected if given)
RETIRED_KEYS = ("gemm_efficiency", "gemm_efficiency_fp8", "gemm_efficiency_fp4")


@dataclass(frozen=True)
class ServingCalibration:
    family: str
    step_overhead_s: float
    fitted: bool
    source: str
    # expert GEMMs: efficiency relative to the dense GEMMs at a large M per expert (None: the
    # compute calibration's grouped_gemm_ratio), and the tokens per expert at which it halves
    grouped_gemm_ratio: float | None = None
    grouped_m0: float = 0.0
    # forward (inference) GEMMs' efficiency over the compute calibration's (training-fitted)
    forward_gemm_ratio: float = 1.0

    def forward_efficiency(self, training: float) -> float:
        """The serving GEMM efficiency for a compute-calibration (training-fitted) efficiency
        ``training``: times the forward ratio, at most 1."""
        return min(1.0, float(training) * self.forward_gemm_ratio)


@cache
def _table() -> dict:
    return data_file("calibration/serving.yaml")


_OVERRIDES: dict[str, dict[str, float]] = {}


@contextmanager
def overridden(family: str, **values: float) -> Iterator[None]:
    """Temporarily replace calibration entries of ``family`` (used by :mod:`podsim.serving.fit`
    to evaluate candidate values; not thread-safe)."""
    old = _OVERRIDES.get(family)
    _OVERRIDES[family] = {**(old or {}), **values}
    try:
        yield
    finally:
        if old is None:
            _OVERRIDES.pop(family, None)
        else:
            _OVERRIDES[family] = old


def _value(raw) -> float:
    return float(raw["value"] if isinstance(raw, dict) else raw)


def serving_calibration(family: str) -> ServingCalibration:
    doc = _table()
    default = doc["default"]
    fam = (doc.get("families") or {}).get(family) or {}
    if family in _OVERRIDES:
        fam = {**fam, **_OVERRIDES[family]}

    def checked(v: float, ok: bool, what: str, key: str) -> float:
        if not ok:
            raise SpecError(what, file="calibration/serving.yaml", field=f"{family}.{key}", value=v)
        return v

    entry = fam if "step_overhead_s" in fam else default
    raw = entry["step_overhead_s"]
    v = _value(raw)
    checked(v, 0.0 <= v < 1.0, "step overhead must be in [0, 1) s", "step_overhead_s")
    for key in RETIRED_KEYS:
        if key in fam:
            raise SpecError(
                "per-family serving GEMM efficiencies are not read: a family's serving "
                "efficiency is compute.yaml's times default.forward_gemm_ratio",
                file="calibration/serving.yaml",
                field=f"{family}.{key}",
                value=_value(fam[key]),
                allowed="forward_gemm_ratio in default",
            )
    ratio = None
    if "grouped_gemm_ratio" in fam or "grouped_gemm_ratio" in default:
        ratio = _value(fam.get("grouped_gemm_ratio", default.get("grouped_gemm_ratio")))
        checked(
            ratio, 0.0 < ratio <= 1.0, "grouped GEMM ratio must be in (0, 1]", "grouped_gemm_ratio"
        )
    fwd = _value(fam.get("forward_gemm_ratio", default.get("forward_gemm_ratio", 1.0)))
    checked(fwd, 0.0 < fwd <= 3.0, "forward GEMM ratio must be in (0, 3]", "forward_gemm_ratio")
    # tile filling is the hardware's GEMM property: the compute calibration's gemm_m0 (one
    # measured figure for training and serving) unless the serving file overrides it
    from podsim.cost.compute import compute_calibration

    m0 = _value(
        fam.get("grouped_m0", default.get("grouped_m0", compute_calibration(family).gemm_m0))
    )
    checked(m0, 0.0 <= m0 < 1.0e5, "grouped_m0 must be in [0, 1e5) tokens", "grouped_m0")
    src = raw.get("source", "") if isinstance(raw, dict) else ""
    return ServingCalibration(family, v, bool(fam.get("fitted", False)), str(src), ratio, m0, fwd)
