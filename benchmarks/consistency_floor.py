"""How consistent are the validation cases with each other? (development aid, not a test)

A model that sees only a case's inputs (the `model` block without `name`, `system`, the
`training` / `serving` block, `kind` and `measured.metric`) must give one prediction p to every
case whose inputs are identical. For such a group with measured values min..max, the best
single prediction is p* = 2*min*max / (min+max) and its max |relative error| over the group is
floor = (max-min) / (max+min). No deterministic model of these fields can beat that floor, so
it bounds the validation max |error| from below; this script prints it per group and per kind.

It also lists, as information, pairs of cases whose inputs differ only in `system.chip`.

Usage: python benchmarks/consistency_floor.py [CASES.yaml]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml

SHARED = Path("/work/shared/validation/cases.yaml")


def norm(v: Any) -> Any:
    """Canonical form: strings lowercased without spaces, integral floats as ints."""
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, str):
        return "".join(v.split()).lower()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def inputs(case: dict[str, Any], drop_chip: bool = False) -> str:
    """Every field a model can see, as a canonical string key."""
    model = {k: v for k, v in (case.get("model") or {}).items() if k != "name"}
    system = dict(case.get("system") or {})
    if drop_chip:
        system.pop("chip", None)
    kind = case.get("kind")
    key = {
        "kind": kind,
        "metric": (case.get("measured") or {}).get("metric"),
        "model": model,
        "system": system,
        "plan": case.get(kind) if kind in ("training", "serving") else None,
    }
    return json.dumps(norm(key), sort_keys=True, default=str)


def value(case: dict[str, Any]) -> float:
    return float(case["measured"]["value"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        path = Path(argv[1])
    elif SHARED.exists():
        path = SHARED
    else:
        from podsim.validate.runner import BUILTIN_CASES

        path = Path(BUILTIN_CASES)
    cases = [c for c in yaml.safe_load(path.read_text()) or [] if isinstance(c, dict)]
    print(f"{len(cases)} cases from {path}\n")

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        groups[inputs(c)].append(c)
    rows = []
    for g in groups.values():
        if len(g) < 2:
            continue
        vals = [value(c) for c in g]
        lo, hi = min(vals), max(vals)
        rows.append((g, lo, hi, hi / lo, (hi - lo) / (hi + lo), 2 * lo * hi / (lo + hi)))
    rows.sort(key=lambda r: r[4])

    print("Groups with identical inputs (floor = lowest achievable max |error| in the group)")
    for g, lo, hi, r, floor, pstar in rows:
        print(
            f"\n  {g[0]['kind']:8s} {g[0]['measured']['metric']:30s}"
            f" min={lo:.4g} max={hi:.4g} r={r:.3f} floor={floor:.1%} p*={pstar:.4g}"
        )
        for c in g:
            print(f"    {value(c):>12.4g}  {c['id']}")

    print(f"\nSummary: {len(rows)} groups with 2+ cases")
    for kind in ("training", "serving"):
        ks = [r for r in rows if r[0][0].get("kind") == kind]
        if ks:
            g, *_, floor, _ = max(ks, key=lambda r: r[4])
            print(f"  {kind:8s}: {len(ks)} groups, largest floor {floor:.1%} ({g[0]['id']})")
        else:
            print(f"  {kind:8s}: 0 groups, largest floor 0.0%")

    print("\nPairs whose inputs differ only in system.chip (ratio = b / a)")
    loose: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        loose[inputs(c, drop_chip=True)].append(c)
    npairs = 0
    for g in loose.values():
        for a, b in combinations(g, 2):
            ca, cb = (a.get("system") or {}).get("chip"), (b.get("system") or {}).get("chip")
            if norm(ca) == norm(cb):
                continue
            npairs += 1
            print(f"  {a['kind']:8s} {ca} -> {cb}: ratio {value(b) / value(a):.3f}")
            print(f"    a {value(a):>12.4g}  {a['id']}\n    b {value(b):>12.4g}  {b['id']}")
    print(f"  {npairs} pairs")


if __name__ == "__main__":
    main(sys.argv)
