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
* ``gemm_efficiency`` / ``gemm_efficiency_fp8`` / ``gemm_efficiency_fp4`` (optional, per family)
  -- a measured serving GEMM efficiency at that precision, used instead of the ratio (the
  shipped file has none: per-family values fitted on the two to eight cases a family has
  predicted held-out cases worse than the pooled ratio, ``benchmarks/cross_validate.py``).
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
from dataclasses import dataclass, field
from functools import cache

from podsim.catalog import data_file
from podsim.cost.compute import PRECISION_CLASS
from podsim.errors import SpecError

GEMM_KEYS = {"": "gemm_efficiency", "_fp8": "gemm_efficiency_fp8", "_fp4": "gemm_efficiency_fp4"}


@dataclass(frozen=True)
class ServingCalibration:
    family: str
    step_overhead_s: float
    fitted: bool
    source: str
    # serving GEMM efficiency per precision class ("", "_fp8", "_fp4"); absent: compute's value
    gemm: dict[str, float] = field(default_factory=dict)
    # expert GEMMs: efficiency relative to the dense GEMMs at a large M per expert (None: the
    # compute calibration's grouped_gemm_ratio), and the tokens per expert at which it halves
    grouped_gemm_ratio: float | None = None
    grouped_m0: float = 0.0
    # forward (inference) GEMMs' efficiency over the compute calibration's (training-fitted)
    forward_gemm_ratio: float = 1.0

    def gemm_efficiency_for(self, precision: str, fallback: float) -> float:
        """The serving GEMM efficiency at ``precision``: the family's own value where the file
        gives one, else ``fallback`` (the compute calibration's) times the forward ratio, at
        most 1."""
        own = self.gemm.get(PRECISION_CLASS[precision])
        if own is not None:
            return float(own)
        return min(1.0, float(fallback) * self.forward_gemm_ratio)


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
    gemm: dict[str, float] = {}
    for cls, key in GEMM_KEYS.items():
        if key in fam:
            g = _value(fam[key])
            gemm[cls] = checked(g, 0.0 < g <= 1.0, "efficiency must be in (0, 1]", key)
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
    return ServingCalibration(
        family, v, bool(fam.get("fitted", False)), str(src), gemm, ratio, m0, fwd
    )
