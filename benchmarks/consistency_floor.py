"""How consistent are the validation cases with each other? (development aid, not a test)

Prints the groups of cases with identical model-visible inputs and, per group, the lowest
max |error| any deterministic model of those inputs can reach on it
(:mod:`podsim.validate.consistency`), and, as information, the pairs of cases whose inputs
differ only in ``system.chip``.

Usage: python benchmarks/consistency_floor.py [CASES.yaml]   (default: the built-in cases)
"""

from __future__ import annotations

import sys
from pathlib import Path

from podsim.errors import PodsimError, SpecError
from podsim.io import read_mapping_file
from podsim.validate.consistency import chip_only_pairs, identical_input_groups
from podsim.validate.runner import BUILTIN_CASES


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else Path(BUILTIN_CASES)
    # duplicate keys, unreadable or non-UTF-8 files are one-line errors naming file and line
    doc = read_mapping_file(path, what="validation file")
    if not isinstance(doc, list):
        raise SpecError("a validation file must be a YAML list of cases", file=str(path))
    cases = [c for c in doc if isinstance(c, dict)]
    print(f"{len(cases)} cases from {path}\n")
    groups = identical_input_groups(cases)
    print("Groups with identical inputs (floor = lowest achievable max |error| in the group)")
    for g in groups:
        print(
            f"\n  {g.kind:8s} {g.metric:30s} min={min(g.values):.4g} max={max(g.values):.4g}"
            f" r={g.ratio:.3f} floor={g.floor:.1%} p*={g.best_prediction:.4g}"
        )
        for cid, v in zip(g.ids, g.values, strict=True):
            print(f"    {v:>12.4g}  {cid}")
    print(f"\nSummary: {len(groups)} groups with 2+ cases")
    for kind in ("training", "serving"):
        ks = [g for g in groups if g.kind == kind]
        worst = max(ks, key=lambda g: g.floor) if ks else None
        print(
            f"  {kind:8s}: {len(ks)} groups, largest floor "
            + (f"{worst.floor:.1%} ({worst.ids[0]})" if worst else "0.0%")
        )
    pairs = chip_only_pairs(cases)
    print("\nPairs whose inputs differ only in system.chip (ratio = b / a)")
    for a, b in pairs:
        va, vb = float(a["measured"]["value"]), float(b["measured"]["value"])
        print(
            f"  {a['kind']:8s} {a['system']['chip']} -> {b['system']['chip']}: ratio {vb / va:.3f}"
        )
        print(f"    a {va:>12.4g}  {a['id']}\n    b {vb:>12.4g}  {b['id']}")
    print(f"  {len(pairs)} pairs")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except PodsimError as exc:
        sys.exit(f"consistency_floor: error: {exc}")
