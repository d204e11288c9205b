"""Benchmark: a built-in sweep from scratch, then again from its store.

    python benchmarks/bench_sweep.py [SWEEP] [--workers N]

Runs SWEEP (default ``supernodes-training``) into a temporary directory: every point is a full
planner search. Prints the wall time, points per second and parallel plans considered per second (every combination the planner enumerates, invalid ones included)
for the cold run, and the time of the re-run, which reuses every stored point.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from podsim.sweep import load_sweep, run_sweep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sweep", nargs="?", default="supernodes-training")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    spec = load_sweep(args.sweep)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        cold = run_sweep(spec, out, workers=args.workers)
        t_cold = time.perf_counter() - t0
        plans = float(cold.results.drop_duplicates("key")["plans_considered"].fillna(0).sum())
        t0 = time.perf_counter()
        warm = run_sweep(spec, out, workers=args.workers)
        t_warm = time.perf_counter() - t0
    print(
        f"{args.sweep}: {cold.points} points ({cold.no_plan} without a plan) in {t_cold:.1f} s "
        f"with {cold.workers} {cold.backend} workers: {cold.points / t_cold:.2f} points/s, "
        f"{plans / t_cold:,.0f} plans considered/s"
    )
    print(
        f"re-run from the store: {warm.reused} points reused, {warm.computed} computed, "
        f"{t_warm:.2f} s"
    )


if __name__ == "__main__":
    main()
