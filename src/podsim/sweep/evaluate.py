"""Evaluate one sweep point: the planner's best plans for it, as result rows.

Each row is one of the point's ``top`` plans (``rank`` 1 = best) with the point's settings, the
plan, its predicted metrics and time breakdown, and how the search went (plans considered,
valid, fitting). A point with no possible plan (the model does not fit, no plan meets the
latency targets) is one row with ``status`` ``no plan`` and the reason, so it is stored and
not retried.
"""

from __future__ import annotations

import time

from podsim import catalog
from podsim.errors import PodsimError
from podsim.hardware.resolve import resolve_system_arg
from podsim.planner.search import default_global_batch
from podsim.sweep.points import Point, model_fingerprint


def evaluate_point(point: Point) -> list[dict]:
    """Result rows of one point (see the module docstring). Deterministic."""
    t0 = time.perf_counter()
    v = point.values
    base = {
        "key": point.key,
        "kind": point.kind,
        "objective": point.objective,
        "top": point.top,
        **v,
        "podsim_fingerprint": model_fingerprint(),
    }
    if point.kind == "training" and v.get("global_batch") is None:
        base["global_batch"] = default_global_batch(int(v["seq_len"]))
    try:
        model = catalog.model(str(v["model"]))
        system = resolve_system_arg(str(v["system"]), None)
        base["chips"] = system.chips
        if point.kind == "training":
            rows = _training(point, model, system, int(base["global_batch"]))
        else:
            rows = _serving(point, model, system)
    except PodsimError as exc:
        rows = [{"rank": 1, "status": "no plan", "reason": str(exc)}]
    seconds = time.perf_counter() - t0
    return [{**base, **r, "search_seconds": seconds} for r in rows]


def _training(point: Point, model, system, global_batch: int) -> list[dict]:
    from podsim.planner.search import search_training

    v = point.values
    res = search_training(
        model,
        system,
        global_batch=global_batch,
        seq_len=int(v["seq_len"]),
        precision=str(v["precision"]),
        objective=point.objective,
        top=point.top,
    )
    return _rows(res, {})


def _serving(point: Point, model, system) -> list[dict]:
    from podsim.planner.serve import search_serving

    v = point.values
    res = search_serving(
        model,
        system,
        input_len=int(v["input_len"]),
        output_len=int(v["output_len"]),
        precision=str(v["precision"]),
        kv_precision=v["kv_precision"],
        tpot=v["tpot"],
        ttft=v["ttft"],
        phase=str(v["phase"]),
        draft_tokens=int(v["draft_tokens"]),
        prefix_hit=float(v["prefix_hit"]),
        objective=point.objective,
        top=point.top,
        workers=1,  # the sweep runs points in parallel; no nested process pools
    )
    return _rows(res, {"plans_meeting_targets": res.meeting})


def _rows(res, stats: dict) -> list[dict]:
    """One row per kept plan of a planner search (training or serving): the plan, its metrics,
    its label, system tokens/s, and how the search went."""
    frame = res.to_frame().reset_index()
    stats = {
        **stats,
        "plans_considered": res.considered,
        "plans_valid": res.valid,
        "plans_fitting": res.fitting,
    }
    rows = []
    for rec, best in zip(frame.to_dict("records"), res.best, strict=True):
        rec["label"] = best["label"]
        rec["tokens_per_s"] = rec["tokens_per_s_per_chip"] * res.chips
        rows.append({**rec, **stats, "status": "ok", "reason": None})
    return rows
