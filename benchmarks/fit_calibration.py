"""Fit the per-family GEMM efficiencies on the public training validation cases.

One parameter per chip family and GEMM precision class (16-bit, fp8, fp4): the fraction of the
dense peak that large GEMMs sustain. Each is chosen to minimise the fitting loss of
log(pred/measured) over that family's cases at that precision (Tukey's biweight,
``podsim.validate.fit_loss``: quadratic for small errors, no weight beyond 1.5x), by coordinate
descent, two sweeps (the LM head runs in 16 bits even in fp8 runs, which couples the classes).
Prints the fitted values and the per-family errors; paste the values into
src/podsim/catalog/data/calibration/compute.yaml.

The host time per launched kernel (``host_kernel_s``: the CPU side of an eager framework, one
default for every GPU/NPU family; TPU families, whose XLA step is one compiled program, set 0)
binds only where a layer's GPU work is shorter than the launches it needs (small MoE layers at
small micro-batches). It is fitted outside the per-family loop, over a grid,
with the efficiencies and ratios refitted at each value, by the root-mean-square log error over
the MoE cases (the median would ignore the few host-bound cases that identify it).

    python benchmarks/fit_calibration.py [cases.yaml]
"""

from __future__ import annotations

import copy
import sys
from collections import defaultdict

import numpy as np

from podsim import catalog
from podsim.cost import compute
from podsim.errors import PodsimError
from podsim.training.predict import predict_training_case
from podsim.validate.fit_loss import fit_loss
from podsim.validate.runner import BUILTIN_CASES, load_cases

GRID = np.round(np.arange(0.20, 0.96, 0.01), 2)
RATIO_GRID = np.round(np.arange(0.10, 1.01, 0.02), 2)
HOST_GRID = np.arange(0.0, 60.1e-6, 5e-6)

CLASS = {
    "bf16": "gemm_efficiency",
    "fp16": "gemm_efficiency",
    "fp8": "gemm_efficiency_fp8",
    "fp4": "gemm_efficiency_fp4",
}


def training_cases(path: str) -> list:
    return [
        c for _, c in load_cases(path) if not isinstance(c, PodsimError) and c.kind == "training"
    ]


def use_table(doc: dict) -> None:
    """Make the compute model read ``doc`` (a compute.yaml mapping) from now on."""
    compute._table = lambda: doc


def log_errors(cs) -> np.ndarray:
    """log(predicted / measured) of the training cases the model evaluates."""
    out = []
    for c in cs:
        try:
            out.append(np.log(predict_training_case(c) / c.measured.value))
        except PodsimError:
            pass
    return np.array(out)


def fit_training(
    cases: list, doc: dict, host_grid=HOST_GRID, *, verbose: bool = False, criterion="tukey"
):
    """Fit ``doc`` (a compute.yaml mapping, made current with :func:`use_table`) in place on
    ``cases``: host_kernel_s over ``host_grid``, the per-family efficiencies and grouped-GEMM
    ratios at each value. Returns (host_kernel_s, the groups of dense cases, the MoE groups)."""
    use_table(doc)
    doc.setdefault("families", {})
    # dense cases fit the GEMM efficiencies; MoE cases then fit the grouped-GEMM ratio
    groups: dict[tuple[str, str], list] = defaultdict(list)
    moe_groups: dict[tuple[str, str], list] = defaultdict(list)
    for c in cases:
        fam = catalog.chip(c.system.chip).family
        if c.model.moe is None:
            groups[(fam, CLASS[c.training.precision])].append(c)
        else:
            moe_groups[(fam, "grouped_gemm_ratio")].append(c)
    moe_cases = [c for cs in moe_groups.values() for c in cs]
    fits = []
    for host in host_grid:
        doc["default"]["host_kernel_s"] = float(host)
        fit_families(doc, groups, moe_groups, log_errors, GRID, RATIO_GRID, criterion)
        e = log_errors(moe_cases)
        rms = float(np.sqrt(np.mean(e**2))) if e.size else 0.0
        fits.append((rms, float(host), copy.deepcopy(doc)))
        if verbose:
            print(f"host_kernel_s {host * 1e6:4.1f} us: rms log error over MoE cases {rms:.4f}")
    _, host, best_doc = min(fits, key=lambda f: (f[0], f[1]))
    doc.clear()
    doc.update(best_doc)
    use_table(doc)
    return host, groups, moe_groups


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else BUILTIN_CASES
    cases = training_cases(path)
    doc = copy.deepcopy(compute._table())
    host, groups, moe_groups = fit_training(cases, doc, verbose=True)
    print(f"fitted host_kernel_s = {host * 1e6:.1f} us")
    report(doc, groups, moe_groups, log_errors, cases)


def fit_families(doc, groups, moe_groups, err, grid, ratio_grid, criterion="tukey") -> None:
    """Coordinate descent over the per-family efficiencies and grouped-GEMM ratios."""
    for _sweep in range(2):
        for (fam, key), cs in [*sorted(groups.items()), *sorted(moe_groups.items())]:
            # a family without dense cases at a precision keeps the fitted/default efficiency
            if key != "grouped_gemm_ratio" and not cs:
                continue
            best = None
            before = doc["families"].get(fam, {}).get(key)
            losses = []
            for v in ratio_grid if key == "grouped_gemm_ratio" else grid:
                doc["families"].setdefault(fam, {})[key] = float(v)
                e = err(cs)
                score = fit_loss(e, criterion) if e.size else np.inf
                losses.append(score)
                if best is None or score < best[0] - 1e-12:
                    best = (score, float(v))
            if max(losses) - min(losses) <= 1e-12:
                # every case beyond Tukey's c at every value: no information, keep what was there
                if before is None:
                    del doc["families"][fam][key]
                else:
                    doc["families"][fam][key] = before
                continue
            doc["families"][fam][key] = best[1]


def report(doc, groups, moe_groups, err, cases) -> None:
    print("fitted gemm efficiencies (median |log error| within the group):")
    for (fam, key), cs in [*sorted(groups.items()), *sorted(moe_groups.items())]:
        e = err(cs)
        print(
            f"  {fam:16s} {key:22s} = {doc['families'][fam][key]:.2f}  n={len(cs):2d} "
            f"median |err| {np.median(np.abs(np.expm1(e))):.1%} max {np.max(np.abs(np.expm1(e))):.1%}"
        )
    allerr = np.abs(np.expm1(err(cases)))
    print(
        f"all training cases: median {np.median(allerr):.1%}, max {np.max(allerr):.1%}, n={allerr.size}"
    )


if __name__ == "__main__":
    main()
