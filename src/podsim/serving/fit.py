"""Fit the serving calibration per chip family on serving cases.

Two kinds of parameter, each identified by the cases in which it dominates the prediction:

* ``step_overhead_s`` (per family): chosen on a grid to minimise the fitting loss (Tukey's
  biweight of log(predicted / measured), :mod:`podsim.validate.fit_loss`) over the family's
  *small-batch* cases. Only those identify a per-iteration fixed cost -- a given batch of at most
  ``SMALL_BATCH`` sequences per attention group, or a TPOT target of at most ``TIGHT_TPOT_S`` --
  elsewhere the iteration is hundreds of milliseconds of batch-proportional work.
* ``forward_gemm_ratio`` (one value for all families, ``default``): the same criterion over
  every family's *compute-bound* cases -- dense models (no routed experts) that are not
  small-batch, where the iteration is dominated by the GEMMs' FLOPs (the batch an engine runs for
  throughput makes every GEMM compute-bound). A family's serving GEMM efficiency is its
  training-fitted one (compute calibration) times this ratio. MoE cases are left out: their time
  mixes expert GEMMs, all-to-all and attention. One pooled ratio replaced per-family serving
  efficiencies (2026-11-29): with two to eight compute-bound cases per family those followed
  their own cases, and predicted cases held out of the fit worse (5-fold held-out serving
  median 17.2% per family, 14.9% pooled; ``benchmarks/cross_validate.py``).
* ``expert_overhead_ffn`` (one value for all families, ``default``): the same criterion over
  every mixture-of-experts case that is not small-batch -- the MoE work per routed token copy
  besides the expert GEMMs, in expert intermediate columns ``f0`` (an expert of size ``f`` runs
  at ``f / (f + f0)`` of the dense GEMMs' efficiency, :mod:`podsim.serving.calibration`).
  (``grouped_m0``, the per-expert token count at which tile filling halves it, is a measured
  figure, not fitted.)

The loss, and how it compares with the median used before on cases held out of the fit, is
documented in :mod:`podsim.validate.fit_loss`.

They are fitted in turn (overheads, forward ratio, expert overhead; twice); never per case, and
the forward ratio only from at least ``MIN_FORWARD_CASES`` cases. Families without small-batch
cases keep the documented default step overhead.
``python -m podsim.serving.fit CASES.yaml`` prints the table; the values go into
``catalog/data/calibration/serving.yaml`` by hand, with the basis.
"""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np

from podsim import catalog
from podsim.errors import PodsimError
from podsim.serving.calibration import overridden
from podsim.serving.predict import predict_serving_case
from podsim.spec.case import ValidationCase
from podsim.validate.fit_loss import fit_loss
from podsim.validate.runner import load_cases

SMALL_BATCH = 32
TIGHT_TPOT_S = 0.020
GRID_S = np.round(np.arange(0.0, 2.0e-2 + 1e-9, 2.5e-4), 6)
GRID_FORWARD = np.round(np.arange(0.80, 1.601, 0.01), 2)
GRID_F0 = np.arange(0.0, 4000.1, 25.0)
ROUNDS = 2
# the forward GEMM ratio is fitted only where at least this many compute-bound cases identify it
# (with two, the loss is flat over a wide range of values)
MIN_FORWARD_CASES = 3


def small_batch(c: ValidationCase) -> bool:
    """A case whose iteration is dominated by fixed costs (see the module docstring)."""
    s = c.serving
    if s is None:
        return False
    tight = s.slo is not None and s.slo.tpot is not None and s.slo.tpot <= TIGHT_TPOT_S
    return (s.batch is not None and s.batch <= SMALL_BATCH) or tight


def moe_throughput(c: ValidationCase) -> bool:
    """A mixture-of-experts case at a throughput batch (identifies the expert overhead)."""
    return c.serving is not None and c.model.moe is not None and not small_batch(c)


def compute_bound(c: ValidationCase) -> bool:
    """A dense-model case at a throughput batch (see the module docstring)."""
    return c.serving is not None and c.model.moe is None and not small_batch(c)


def _log_errors(cases: list[ValidationCase], overhead: float | None = None) -> np.ndarray:
    out = []
    for c in cases:
        try:
            p, _ = predict_serving_case(c, step_overhead=overhead)
        except PodsimError:
            p = float("nan")
        out.append(np.log(p / c.measured.value) if p and p > 0 else np.nan)
    return np.asarray(out)


def _score(e: np.ndarray, criterion: str) -> tuple[float, float]:
    return (fit_loss(e, criterion), float(np.sum(e**2)))  # ties: the smaller sum of squares


def _best(evaluate, grid, criterion: str = "tukey") -> tuple[float, np.ndarray] | None:
    """(grid value, log errors) minimising the loss; None when no value is evaluable or the
    loss is the same for every value -- every case beyond Tukey's c, so the cases say nothing
    about the parameter and the documented default stays (the tie-break would chase them)."""
    best = None
    losses = []
    for g in grid:
        e = evaluate(float(g))
        if np.isnan(e).any():
            continue
        score = _score(e, criterion)
        losses.append(score[0])
        if best is None or score < best[0]:
            best = (score, float(g), e)
    if best is None or max(losses) - min(losses) <= 1e-12:
        return None
    return best[1], best[2]


def _row(value: float, cases: list, e: np.ndarray) -> dict:
    return {
        "value": value,
        "cases": len(cases),
        "rms_log_error": float(np.sqrt(np.mean(e**2))),
        "median_abs_error": float(np.median(np.abs(np.expm1(e)))),
    }


def fit(path: str) -> dict[str, dict]:
    """:func:`fit_cases` on the serving cases of a case file."""
    return fit_cases([c for _, c in load_cases(path) if isinstance(c, ValidationCase)])


def fit_cases(cases: list[ValidationCase], criterion: str = "tukey") -> dict[str, dict]:
    """{family: {key: {value, cases, rms_log_error, median_abs_error}}} for every family with
    cases (key: ``step_overhead_s``; family ``default``: the pooled ``forward_gemm_ratio`` and
    ``expert_overhead_ffn``). Cases of another kind are ignored."""
    cases = [c for c in cases if c.kind == "serving" and c.serving is not None]

    def family(c: ValidationCase) -> str:
        return catalog.chip(c.system.chip).family

    small: dict[str, list[ValidationCase]] = defaultdict(list)
    for c in cases:
        if small_batch(c):
            small[family(c)].append(c)
    bound = [(family(c), c) for c in cases if compute_bound(c)]
    moe_cases = [(family(c), c) for c in cases if moe_throughput(c)]
    table: dict[str, dict] = defaultdict(dict)
    current: dict[str, dict[str, float]] = defaultdict(dict)
    shared: dict[str, float] = {}  # pooled values, the same for every family

    def values(fam: str) -> dict[str, float]:
        return {**shared, **current[fam]}

    def pooled(key: str, pairs: list[tuple[str, ValidationCase]], grid, minimum: int) -> None:
        """One value of ``key`` for every family, fitted over ``pairs`` (family, case)."""
        if len(pairs) < minimum:
            return

        def ev(g: float) -> np.ndarray:
            out = []
            for fam, c in pairs:
                with overridden(fam, **{**values(fam), key: g}):
                    out.append(_log_errors([c])[0])
            return np.asarray(out)

        r = _best(ev, grid, criterion)
        if r is not None:
            table["default"][key] = _row(r[0], [c for _, c in pairs], r[1])
            shared[key] = r[0]

    for _ in range(ROUNDS):
        for fam, cs in sorted(small.items()):
            with overridden(fam, **values(fam)):
                r = _best(lambda g, cs=cs: _log_errors(cs, g), GRID_S, criterion)
            if r is not None:
                table[fam]["step_overhead_s"] = _row(r[0], cs, r[1])
                current[fam]["step_overhead_s"] = r[0]
        # forward GEMMs over the training fit's, pooled over every family's compute-bound cases
        pooled("forward_gemm_ratio", bound, GRID_FORWARD, MIN_FORWARD_CASES)
        # the MoE work per token copy besides the expert GEMMs, pooled over the MoE cases
        pooled("expert_overhead_ffn", moe_cases, GRID_F0, 1)
    return dict(table)


if __name__ == "__main__":  # pragma: no cover
    for fam, rows in fit(sys.argv[1]).items():
        for key, row in rows.items():
            v = (
                f"{row['value'] * 1e3:6.2f} ms"
                if key == "step_overhead_s"
                else f"{row['value']:.0f}"
                if key == "expert_overhead_ffn"
                else f"{row['value']:.2f}"
            )
            print(
                f"{fam:16s} {key:20s} {v:>9s}  cases={row['cases']:2d}  "
                f"rms log err={row['rms_log_error']:.3f}  "
                f"median |err|={row['median_abs_error']:.3f}"
            )
