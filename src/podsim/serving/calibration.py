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
* ``expert_overhead_ffn`` (optional, ``default`` or per family): the MoE layer's work besides
  its expert GEMMs (routing, top-k, sorting, scaling and gathering the token copies), per routed
  token copy, as an equivalent number of expert intermediate columns ``f0``: an expert of
  intermediate size ``f`` runs at ``f / (f + f0)`` of the dense GEMMs' efficiency. The work per
  copy scales with the hidden size while an expert's GEMM FLOPs scale with ``hidden x f``, so
  fine-grained experts (Qwen3-30B-A3B: f = 768) lose far more than coarse ones (Mixtral: f =
  14,336). Absent, the compute calibration's training ratio, whatever the expert size.
  ``grouped_m0``: the rows (tokens) at which partly filled GEMM tiles halve it (default: the
  compute calibration's measured ``gemm_m0``) (efficiency x m / (m + m0)).
  ``grouped_gemm_ratio`` (one ratio for every expert size, read before 2026-11-29) is rejected
  with that reason.

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
    # MoE work per routed token copy besides the expert GEMMs, in expert intermediate columns
    # (None: the compute calibration's grouped_gemm_ratio for every expert size), and the tokens
    # per expert at which partly filled tiles halve the expert GEMMs' efficiency
    expert_overhead_ffn: float | None = None
    grouped_m0: float = 0.0
    # forward (inference) GEMMs' efficiency over the compute calibration's (training-fitted)
    forward_gemm_ratio: float = 1.0

    def expert_ratio(self, expert_ffn: float) -> float | None:
        """Expert GEMMs' efficiency relative to the dense GEMMs for experts of intermediate size
        ``expert_ffn`` (None: no serving value, use the compute calibration's ratio)."""
        if self.expert_overhead_ffn is None:
            return None
        return float(expert_ffn) / (float(expert_ffn) + self.expert_overhead_ffn)

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
    for where in (fam, default):
        if "grouped_gemm_ratio" in where:
            raise SpecError(
                "one grouped-GEMM ratio for every expert size is not read: the MoE work per "
                "token copy is expert_overhead_ffn (an expert of size f runs at f / (f + f0))",
                file="calibration/serving.yaml",
                field=f"{family if where is fam else 'default'}.grouped_gemm_ratio",
                value=_value(where["grouped_gemm_ratio"]),
                allowed="expert_overhead_ffn",
            )
    f0 = None
    if "expert_overhead_ffn" in fam or "expert_overhead_ffn" in default:
        f0 = _value(fam.get("expert_overhead_ffn", default.get("expert_overhead_ffn")))
        checked(
            f0,
            0.0 <= f0 <= 1.0e5,
            "expert overhead must be in [0, 1e5] columns",
            "expert_overhead_ffn",
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
    return ServingCalibration(family, v, bool(fam.get("fitted", False)), str(src), f0, m0, fwd)
