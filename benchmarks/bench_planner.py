"""Benchmark: exhaustive training-plan search (not a test).

    python benchmarks/bench_planner.py [--all-cores]

1. Llama 3.1 405B, FP8, seq 8192, on ~16K chips:
   - gb200-nvl72-cluster: the system only takes whole 72-GPU racks, so 16,384 is not allowed;
     the nearest count is 16,416 = 228 racks. Its dp sizes are multiples of 3^3 x 19, so the
     global batch is 2,052 sequences (the multiple of 513 nearest to Llama 3's 2,048);
   - atlas-950-superpod x 2 = atlas-950-supercluster:16384, global batch 2,048.
   Targets: <= 5 s wall time on 2 cores, >= 100,000 configurations evaluated per second.
2. The same search on 1,024 and on 1,048,576 chips of atlas-950-supercluster (the catalog caps
   that system at 524,288 = 64 SuperPoDs; the cap is lifted here to show that cluster size is a
   parameter, not a loop). Global batch 16,384 x 8192 tokens for both.

By default the process is pinned to 2 CPU cores (os.sched_setaffinity) to match the target.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

from podsim import catalog
from podsim.hardware.system import resolve_system
from podsim.planner.search import search_training


def pin_two_cores() -> str:
    if "--all-cores" in sys.argv or not hasattr(os, "sched_setaffinity"):
        return f"{os.cpu_count()} cores"
    cpus = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, cpus)
    return f"pinned to CPUs {cpus}"


def run(model, system, gb, seq, label, prec="fp8"):
    t0 = time.perf_counter()
    r = search_training(model, system, global_batch=gb, seq_len=seq, precision=prec, top=3)
    dt = time.perf_counter() - t0
    b = r.best[0]
    print(
        f"{label:<44} {system.chips:>9,} chips  {r.considered:>10,} plans  {r.valid:>8,} valid "
        f"{r.fitting:>8,} fit  {dt:6.2f} s  {r.considered / dt:>12,.0f} plans/s checked, "
        f"{r.valid / dt:>9,.0f} valid plans/s simulated"
    )
    m = b["metrics"]
    print(
        f"{'':<44} best: {b['label']}  {m['tokens_per_s_per_chip']:,.1f} tok/s/chip, "
        f"MFU {100 * m['mfu']:.1f}%, step {m['step_time_s']:.2f} s"
    )
    return r, dt


def main() -> None:
    print(f"bench_planner ({pin_two_cores()})")
    model = catalog.model("llama3.1-405b")
    # warm the caches (catalog, calibration, collective stages) on a small search
    search_training(
        model,
        resolve_system("dgx-h100-cluster", 1024),
        global_batch=512,
        seq_len=8192,
        precision="fp8",
        top=1,
    )
    print("\n1. Llama 3.1 405B, fp8, seq 8192 (targets: <= 5 s, >= 100,000 plans/s)")
    run(
        model,
        resolve_system("gb200-nvl72-cluster", 16_416),
        2052,
        8192,
        "gb200-nvl72-cluster:16416 (228 racks), gb 2052",
    )
    run(
        model,
        resolve_system("atlas-950-supercluster", 16_384),
        2048,
        8192,
        "atlas-950-supercluster:16384 (2 SuperPoDs)",
    )

    print("\n2. cluster size is a parameter: atlas-950-supercluster, gb 16384")
    base = resolve_system("atlas-950-supercluster")
    unbounded = replace(base, max_chips=None)
    _, t_small = run(model, base.scaled(1024), 16_384, 8192, "1,024 chips")
    _, t_big = run(
        model,
        unbounded.scaled(1 << 20),
        16_384,
        8192,
        "1,048,576 chips (128 SuperPoDs, cap lifted)",
    )
    print(f"   time ratio 1M / 1K chips: {t_big / t_small:.2f}")


if __name__ == "__main__":
    main()
