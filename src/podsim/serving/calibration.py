"""Serving-only calibration: the fixed framework cost of one engine step, per chip family.

``catalog/data/calibration/serving.yaml`` holds one parameter per chip family,
``step_overhead_s`` -- the host-side time of one serving iteration that no kernel accounts for
(scheduler, sampling and detokenisation hand-off, input preparation, CUDA-graph / ACL-graph
launch). It is fitted on the public serving cases of the family (never per case); families with
no case use ``default``. Kernel-level costs come from :mod:`podsim.cost.compute` unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from podsim.catalog import data_file
from podsim.errors import SpecError


@dataclass(frozen=True)
class ServingCalibration:
    family: str
    step_overhead_s: float
    fitted: bool
    source: str


@cache
def _table() -> dict:
    return data_file("calibration/serving.yaml")


def serving_calibration(family: str) -> ServingCalibration:
    doc = _table()
    default = doc["default"]
    fam = (doc.get("families") or {}).get(family)
    entry = fam if fam and "step_overhead_s" in fam else default
    raw = entry["step_overhead_s"]
    v = float(raw["value"] if isinstance(raw, dict) else raw)
    if not 0.0 <= v < 1.0:
        raise SpecError(
            "step overhead must be in [0, 1) s",
            file="calibration/serving.yaml",
            field=f"{family}.step_overhead_s",
            value=v,
        )
    src = raw.get("source", "") if isinstance(raw, dict) else ""
    return ServingCalibration(family, v, bool(fam and fam.get("fitted", False)), str(src))
