"""Pareto fronts: throughput against chips (training) and throughput against latency (serving).

A point is on the front when no other point is at least as good on both axes and better on one.
"""

from __future__ import annotations

import numpy as np

from podsim.errors import PodsimError
from podsim.hardware.system import System
from podsim.spec.model import ModelSpec


def pareto_mask(x, y, *, minimize_x: bool = True, maximize_y: bool = True) -> np.ndarray:
    """Boolean mask of the non-dominated points of (x, y) (NaNs are never on the front)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xs = x if minimize_x else -x
    ys = -y if maximize_y else y  # both axes now "smaller is better"
    ok = np.isfinite(xs) & np.isfinite(ys)
    mask = np.zeros(x.shape, dtype=bool)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return mask
    # sort by x then y; a point is on the front when its y beats every earlier point's y
    order = idx[np.lexsort((ys[idx], xs[idx]))]
    best = np.minimum.accumulate(ys[order])
    prev = np.concatenate([[np.inf], best[:-1]])
    mask[order] = ys[order] < prev
    return mask


def training_pareto(
    model: ModelSpec,
    system: System,
    chips_list: list[int],
    *,
    global_batch: int,
    seq_len: int,
    precision: str = "bf16",
    objective: str = "throughput",
    **kw,
) -> list[dict]:
    """Best plan at each chip count; ``on_front`` marks the throughput-vs-chips Pareto front.

    A chip count the system cannot take, or with no valid plan, gets ``error`` instead; a bad
    argument (the same at every chip count) is a SpecError before any search.
    """
    from podsim.planner.search import check_request, search_training

    check_request(
        seq_len=seq_len,
        global_batch=global_batch,
        precision=precision,
        objective=objective,
        top=1,
        options=kw.get("options"),
        moe_imbalance=kw.get("moe_imbalance"),
    )
    rows: list[dict] = []
    for n in chips_list:
        try:
            sysn = system.scaled(int(n))
            r = search_training(
                model,
                sysn,
                global_batch=global_batch,
                seq_len=seq_len,
                precision=precision,
                objective=objective,
                top=1,
                **kw,
            )
        except PodsimError as exc:
            rows.append({"chips": int(n), "error": str(exc), "on_front": False})
            continue
        b = r.best[0]
        met = b["metrics"]
        rows.append(
            {
                "chips": int(n),
                "label": b["label"],
                "plan": b["plan"],
                "tokens_per_s": met["tokens_per_s"],
                "tokens_per_s_per_chip": met["tokens_per_s_per_chip"],
                "step_time_s": met["step_time_s"],
                "mfu": met["mfu"],
                "considered": r.considered,
                "fitting": r.fitting,
            }
        )
    ok = [i for i, r in enumerate(rows) if "error" not in r]
    if ok:
        mask = pareto_mask([rows[i]["chips"] for i in ok], [rows[i]["tokens_per_s"] for i in ok])
        for i, m in zip(ok, mask, strict=True):
            rows[i]["on_front"] = bool(m)
    return rows
