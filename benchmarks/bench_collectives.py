"""Timing of the collective cost model: 1e6 configurations in one vectorised call per collective.

Run: .venv/bin/python benchmarks/bench_collectives.py [N]
Prints microseconds per configuration for each collective on a 3-level RoCE cluster and on a
torus + switched system (the per-dimension split makes the torus the most stages).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from podsim import catalog
from podsim.cost import collectives as C
from podsim.hardware.system import Level, System


def systems() -> dict[str, System]:
    chip = catalog.chip("h100-sxm")
    roce = System(
        "bench-roce",
        "3-level RoCE",
        chip,
        24576,
        (
            Level(
                "node",
                8,
                "switched",
                True,
                1,
                450e9,
                3e-6,
                in_network_reduction=True,
                link_type="nvlink4",
            ),
            Level("pod", 3072, "switched", False, 2, 50e9, 6e-6, link_type="roce-400g"),
            Level(
                "cluster",
                24576,
                "switched",
                False,
                3,
                50e9,
                10e-6,
                oversubscription=7.0,
                link_type="roce-400g",
            ),
        ),
    )
    torus = System(
        "bench-torus",
        "torus pod + DCN",
        chip,
        16384,
        (
            Level("cube", 64, "torus", True, 1, 600e9, 1e-6, dims=(4, 4, 4), link_type="ici"),
            Level("pod", 4096, "torus", True, 1, 600e9, 1e-6, dims=(4, 4, 4), link_type="ici"),
            Level("dcn", 16384, "switched", False, 3, 6.25e9, 20e-6, link_type="dcn"),
        ),
    )
    return {"roce": roce, "torus": torus}


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    nbytes = rng.uniform(1e3, 1e10, n)
    size = 2.0 ** rng.integers(0, 12, n)
    stride = 2.0 ** rng.integers(0, 10, n)
    for name, sysm in systems().items():
        for kind in ("all_reduce", "reduce_scatter", "all_gather", "all_to_all", "send_recv"):
            fn = getattr(C, kind)
            args = (nbytes, stride, sysm) if kind == "send_recv" else (nbytes, size, stride, sysm)
            fn(*(a[:10] if isinstance(a, np.ndarray) else a for a in args))  # warm caches
            t0 = time.perf_counter()
            out = fn(*args)
            dt = time.perf_counter() - t0
            assert out.shape == (n,) and np.all(np.isfinite(out))
            print(
                f"{name:6s} {kind:15s} {n:>9,d} configs  {dt:7.3f} s  {dt / n * 1e6:7.3f} us/config"
            )


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000)
