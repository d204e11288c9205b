"""Fit the serving calibration (``step_overhead_s`` per chip family) on serving cases.

For each chip family with cases, the per-iteration engine overhead is chosen on a grid to
minimise the median |log(predicted / measured)| over that family's *small-batch* cases (ties:
the smaller sum of squares; one value per family, never per case). Only small-batch cases
identify a per-iteration fixed cost -- a given batch of at most ``SMALL_BATCH`` sequences per
attention group, or a TPOT target of at most ``TIGHT_TPOT_S`` -- elsewhere the iteration is
hundreds of milliseconds of batch-proportional work and the fit would only absorb unrelated
errors. Families without such cases keep the documented default. ``python -m podsim.serving.fit CASES.yaml`` prints the
table; the values go into ``catalog/data/calibration/serving.yaml`` by hand, with the basis.
"""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np

from podsim import catalog
from podsim.errors import PodsimError
from podsim.serving.predict import predict_serving_case
from podsim.spec.case import ValidationCase
from podsim.validate.runner import load_cases

SMALL_BATCH = 32
TIGHT_TPOT_S = 0.020
GRID_S = np.concatenate([np.arange(0.0, 5.0e-3, 2.5e-4), np.arange(5.0e-3, 2.0e-2 + 1e-9, 1.0e-3)])


def small_batch(c: ValidationCase) -> bool:
    """A case whose iteration is dominated by fixed costs (see the module docstring)."""
    s = c.serving
    if s is None:
        return False
    tight = s.slo is not None and s.slo.tpot is not None and s.slo.tpot <= TIGHT_TPOT_S
    return (s.batch is not None and s.batch <= SMALL_BATCH) or tight


def _log_errors(cases: list[ValidationCase], overhead: float) -> np.ndarray:
    out = []
    for c in cases:
        try:
            p = predict_serving_case(c, step_overhead=overhead)
        except PodsimError:
            p = float("nan")
        out.append(np.log(p / c.measured.value) if p and p > 0 else np.nan)
    return np.asarray(out)


def fit(path: str) -> dict[str, dict]:
    """{family: {value, cases, rms_log_error, median_abs_error}} for every family with cases."""
    fams: dict[str, list[ValidationCase]] = defaultdict(list)
    for _, c in load_cases(path):
        if isinstance(c, ValidationCase) and c.kind == "serving" and small_batch(c):
            fams[catalog.chip(c.system.chip).family].append(c)
    table = {}
    for fam, cs in sorted(fams.items()):
        best = None
        for g in GRID_S:
            e = _log_errors(cs, float(g))
            if np.isnan(e).any():
                continue
            score = (float(np.median(np.abs(e))), float(np.sum(e**2)))
            if best is None or score < best[0]:
                best = (score, float(g), e)
        if best is None:
            continue
        _, g, e = best
        table[fam] = {
            "value": g,
            "cases": len(cs),
            "rms_log_error": float(np.sqrt(np.mean(e**2))),
            "median_abs_error": float(np.median(np.abs(np.expm1(e)))),
        }
    return table


if __name__ == "__main__":  # pragma: no cover
    for fam, row in fit(sys.argv[1]).items():
        print(
            f"{fam:16s} step_overhead_s={row['value'] * 1e3:6.2f} ms  cases={row['cases']:2d}  "
            f"rms log err={row['rms_log_error']:.3f}  median |err|={row['median_abs_error']:.3f}"
        )
