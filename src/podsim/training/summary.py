"""A single plan's training result as a plain dict (for the CLI, JSON, reports, DataFrames)."""

from __future__ import annotations

import numpy as np

from podsim.training.step import TrainingResult


def _f(x) -> float:
    return float(np.asarray(x).reshape(-1)[0]) if np.size(x) else float("nan")


def result_dict(res: TrainingResult) -> dict:
    """Scalar view of a one-plan TrainingResult; fractions of the step add up to 1."""
    step = _f(res.step_time)
    br = {k: _f(v) for k, v in res.breakdown.items()}
    mem = {k: _f(v) for k, v in res.memory.as_dict().items()}
    total_mem = mem["total"]
    return {
        "step_time_s": step,
        "tokens_per_step": _f(res.tokens_per_step),
        "tokens_per_s": _f(res.tokens_per_s),
        "tokens_per_s_per_chip": _f(res.tokens_per_s_per_chip),
        "mfu": _f(res.mfu),
        "hfu": _f(res.hfu),
        "breakdown_s": br,
        "breakdown_fraction": {k: (v / step if step else float("nan")) for k, v in br.items()},
        "communication_total_s": {k: _f(v) for k, v in res.extra.items() if k.endswith("_total")},
        "memory_bytes": mem,
        "hbm_capacity_bytes": res.hbm_capacity,
        "fits": bool(total_mem <= res.hbm_capacity),
        "memory_headroom_bytes": res.hbm_capacity - total_mem,
        "checkpoint_bytes_per_chip": _f(res.checkpoint_bytes_per_chip),
        "chips": res.chips,
    }
