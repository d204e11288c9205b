"""Accuracy on the built-in out-of-sample cases (src/podsim/catalog/data/validation/out_of_sample/):
published runs gathered after the calibration was fitted, never used by it (the fits read only
the public cases.yaml). ``podsim validate --out-of-sample`` gives the case-by-case table.

Prints the error summary per file and per chip, then overall per kind. A benchmark, not a test.

Usage: python benchmarks/out_of_sample.py [FILE.yaml ...]   (default: the built-in out-of-sample files)
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from podsim.validate.runner import out_of_sample_files, run_file


def _line(label: str, errs: list[float]) -> str:
    a = np.abs(np.asarray(errs, dtype=float))
    if not a.size:
        return f"{label:34s} no evaluated case"
    return (
        f"{label:34s} n={a.size:3d}  median {np.median(a):6.1%}  max {a.max():7.1%}  "
        f"within 10%: {int((a <= 0.10).sum()):3d}  within 20%: {int((a <= 0.20).sum()):3d}  "
        f"beyond 35%: {int((a > 0.35).sum()):2d}"
    )


def main(argv: list[str]) -> None:
    paths = [Path(a) for a in argv] or out_of_sample_files()
    by_file: dict[str, list[float]] = defaultdict(list)
    by_chip: dict[str, list[float]] = defaultdict(list)
    by_kind: dict[str, list[float]] = defaultdict(list)
    not_ok = []
    for path in paths:
        for r in run_file(path):
            if r.error is None:
                not_ok.append(f"{path.name} {r.id}: {r.status} {r.reason or ''}")
                continue
            by_file[path.name].append(r.error)
            by_chip[f"{r.kind} {r.chip}"].append(r.error)
            by_kind[r.kind].append(r.error)
    print("per file")
    for k in sorted(by_file):
        print("  " + _line(k, by_file[k]))
    print("per kind and chip")
    for k in sorted(by_chip):
        print("  " + _line(k, by_chip[k]))
    print("overall")
    for k in sorted(by_kind):
        print("  " + _line(k, by_kind[k]))
    print("  " + _line("all", [e for v in by_kind.values() for e in v]))
    for line in not_ok:
        print("not evaluated:", line)


if __name__ == "__main__":
    main(sys.argv[1:])
