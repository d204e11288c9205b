"""Benchmark: evaluate 100,000 training configurations in one vectorised call.

    python benchmarks/bench_training.py [N]

Prints the time per configuration (target: <= 50 us on 2 cores).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from podsim import catalog
from podsim.hardware.system import resolve_system
from podsim.training.plan import plan_arrays
from podsim.training.step import simulate_plans


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(0)
    model = catalog.model("llama3.1-405b")
    system = resolve_system("gb200-nvl72-cluster", 16_128)
    pick = lambda xs: rng.choice(xs, n)  # noqa: E731
    tp, pp, cp = pick([1, 2, 4, 8]), pick([1, 2, 4, 8, 16]), pick([1, 2, 4])
    plans = plan_arrays(
        tp=tp,
        pp=pp,
        vpp=pick([1, 2, 4]),
        cp=cp,
        ep=1,
        dp=np.maximum(16_128 // (tp * pp * cp), 1),
        zero=pick([0, 1, 2, 3]),
        recompute=pick([0, 1, 2]),
        micro_batch=pick([1, 2, 4]),
        global_batch=pick([1008, 2016, 4032]),
        seq_len=8192,
        sequence_parallel=tp > 1,
        uneven_pp=True,
    )
    simulate_plans(model, system, plans.take(slice(0, 100)), "fp8")  # warm caches
    t0 = time.perf_counter()
    res = simulate_plans(model, system, plans, "fp8")
    dt = time.perf_counter() - t0
    print(
        f"{n:,} configurations in {dt:.3f} s: {1e6 * dt / n:.2f} us per configuration, "
        f"{n / dt:,.0f} configurations/s ({int(res.valid.sum()):,} valid)"
    )


if __name__ == "__main__":
    main()
