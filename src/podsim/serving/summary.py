"""A serving point as a plain dict (for the CLI, JSON, validation explanations, DataFrames)."""

from __future__ import annotations

from podsim.errors import PlanError
from podsim.serving.slo import BatchChoice, ServingConfig, choose_batch, memory_context

_PER_POINT = ("breakdown_s", "memory_bytes")


def point_dict(c: ServingConfig, point: dict, choice: BatchChoice | None) -> dict:
    """The chosen (or given) batch's latencies, throughputs per chip, memory and time breakdown
    of one serving configuration; ``choice`` None: the batch was given, and the best batch
    without latency targets is added for comparison where one fits."""
    out = {
        "batch": point["batch"],
        "batch_chosen": choice is not None,
        "ttft_s": point["ttft_s"],
        "ttft_p99_s": point["ttft_p99_s"],
        "tpot_s": point["tpot_s"],
        "iteration_s": point["iteration_s"],
        "prefill_tokens_per_s_per_chip": point["prefill_tokens_per_s_per_chip"],
        "decode_tokens_per_s_per_chip": point["decode_tokens_per_s_per_chip"],
        "tokens_per_s_per_chip": point["tokens_per_s_per_chip"],
        "memory_bytes": point["memory_bytes"],
        "fits": point["fits"],
        "overlap": c.overlap,
        "two_batch_overlap": point["two_batch_overlap"],
        "breakdown_s": point["breakdown_s"],
        "breakdown_fraction": {
            k: v / point["iteration_s"] for k, v in point["breakdown_s"].items()
        },
    }
    if choice is None:
        try:
            choice = choose_batch(c)
        except PlanError:
            choice = None
    if choice is not None:
        out["max_batch_in_memory"] = choice.limit
        out["unconstrained"] = {
            k: v for k, v in choice.unconstrained.items() if k not in _PER_POINT
        }
    out["kv_tokens_per_sequence"] = memory_context(c)
    out["kv_allocation"] = c.kv_allocation
    return out
