"""Memory of a serving replica per chip, and the largest batch that fits.

    HBM = runtime reserve + weights + activation workspace + batch x KV per sequence

* Weights (busiest pipeline stage): the non-expert weights of the stage's layers split by TP,
  the routed experts split over all ``tp x dp`` chips of the instance (``ep`` expert-parallel
  ranks, each sharding its experts ``tp x dp / ep`` ways), embedding and LM head vocab-parallel
  over TP in 16-bit (quantised checkpoints keep them in BF16: NVIDIA ModelOpt FP8/NVFP4
  ``exclude_modules``, DeepSeek-V3 FP8 checkpoint), MTP modules when they draft. Weight bytes per
  element follow the precision; FP4 adds NVFP4's one FP8 scale per 16 elements (NVIDIA,
  "Introducing NVFP4", 2025: 4.5 bits per value).
* Runtime reserve: a fixed fraction of HBM for the CUDA/CANN context, communication buffers,
  graphs and allocator slack -- vLLM's default ``gpu_memory_utilization = 0.9`` and TensorRT-LLM's
  default ``kv_cache_free_gpu_mem_fraction = 0.9`` both leave about 10%.
* Activation workspace: the step's tokens times the widest intermediate (estimate).
* KV: :mod:`podsim.serving.kv`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podsim.serving.kv import kv_bytes_per_sequence
from podsim.spec.chip import BYTES_PER_ELEMENT, ChipSpec
from podsim.spec.model import ModelSpec
from podsim.workload.params import param_counts

RESERVE_FRACTION = 0.10
FP4_SCALE_BYTES = 1.0 / 16.0  # NVFP4: one E4M3 scale per 16 FP4 values
WEIGHT_PRECISIONS = ("bf16", "fp16", "fp8", "int8", "fp4")


def weight_bytes_per_element(precision: str) -> float:
    if precision not in WEIGHT_PRECISIONS:
        from podsim.errors import SpecError

        raise SpecError(
            "unknown serving precision",
            field="precision",
            value=precision,
            allowed=", ".join(WEIGHT_PRECISIONS),
        )
    b = BYTES_PER_ELEMENT[precision]
    return b + (FP4_SCALE_BYTES if precision == "fp4" else 0.0)


def expert_shards(tp, dp, ep) -> np.ndarray:
    """Chips one routed expert's weights are spread over: ep ranks x (tp*dp/ep) expert-TP."""
    return np.asarray(tp, dtype=float) * np.asarray(dp, dtype=float)


def weight_bytes_per_chip(
    m: ModelSpec, precision: str, *, tp=1, ep=1, dp=1, pp=1, mtp: bool = False
) -> np.ndarray:
    """Weight bytes on one chip of the busiest pipeline stage (broadcasts over the plan)."""
    pc = param_counts(m)
    wb = weight_bytes_per_element(precision)
    tp, ep, dp, pp = (np.asarray(x, dtype=float) for x in (tp, ep, dp, pp))
    # busiest stage: ceil(layers / pp) layers; MoE layers count as MoE where the stage has them
    per_stage = np.ceil(m.layers / pp)
    n_moe = np.minimum(per_stage, pc.n_moe_layers)
    n_dense = per_stage - n_moe
    ne = n_dense * pc.dense_layer.non_expert
    ex = np.zeros_like(ne)
    if pc.moe_layer is not None:
        ne = ne + n_moe * pc.moe_layer.non_expert
        ex = n_moe * pc.moe_layer.expert
    if mtp and pc.mtp_module is not None:
        ne = ne + pc.mtp_modules * pc.mtp_module.non_expert
        ex = ex + pc.mtp_modules * pc.mtp_module.expert
    emb_head = np.where(pp > 1, max(pc.embedding, pc.lm_head), pc.embedding + pc.lm_head)
    # FP4 MLA models keep the attention projections at FP8 (podsim.serving.step
    # attention_precision): their bytes differ from the rest of the non-expert weights
    att = per_stage * pc.attention_per_layer
    if mtp and pc.mtp_module is not None:
        att = att + pc.mtp_modules * pc.mtp_module.attention
    att_extra = att * (weight_bytes_per_element(_attention_precision(m, precision)) - wb)
    return ne / tp * wb + att_extra / tp + ex / expert_shards(tp, dp, ep) * wb + emb_head / tp * 2.0


def _attention_precision(m: ModelSpec, precision: str) -> str:
    """See :func:`podsim.serving.step.attention_precision` (defined here, where step imports)."""
    return "fp8" if precision == "fp4" and m.mla is not None else precision


def activation_bytes_per_token(m: ModelSpec, tp=1) -> np.ndarray:
    """Workspace per token in flight in one step (16-bit): residual stream, attention and the
    widest FFN intermediate (routed experts: top_k copies), on one TP rank. An estimate."""
    tp = np.asarray(tp, dtype=float)
    h = m.hidden
    inter = float(m.ffn)
    if m.moe is not None:
        inter = max(inter, (m.moe.top_k + m.moe.shared_experts) * m.moe.expert_ffn * 1.0)
        inter += m.moe.top_k * h  # dispatched copies
    return (8.0 * h + 3.0 * inter / tp) * 2.0


@dataclass
class ServingMemory:
    """Bytes per chip (arrays broadcast over plans / batches)."""

    weights: np.ndarray
    kv: np.ndarray
    activations: np.ndarray
    reserve: float
    capacity: float
    offloaded: float = 0.0  # weight bytes per chip kept in host memory (prefill offload)

    @property
    def total(self) -> np.ndarray:
        return self.reserve + self.weights + self.kv + self.activations

    @property
    def fits(self) -> np.ndarray:
        return self.total <= self.capacity

    @classmethod
    def from_dict(cls, d: dict) -> ServingMemory:
        """The inverse of :meth:`as_dict` (a chosen point carries its memory as a dict)."""
        return cls(
            d["weights"],
            d["kv_cache"],
            d["activations"],
            d["runtime_reserve"],
            d["capacity"],
            d.get("weights_in_host_memory", 0.0),
        )

    def as_dict(self) -> dict[str, np.ndarray | float]:
        return {
            "weights": self.weights,
            "kv_cache": self.kv,
            "activations": self.activations,
            "runtime_reserve": self.reserve,
            "total": self.total,
            "capacity": self.capacity,
            **({"weights_in_host_memory": self.offloaded} if self.offloaded > 0 else {}),
        }


def serving_memory(
    m: ModelSpec,
    chip: ChipSpec,
    *,
    precision: str,
    kv_precision: str | None,
    batch,
    context,
    tokens_per_step,
    tp=1,
    ep=1,
    dp=1,
    pp=1,
    mtp: bool = False,
    offloaded: float = 0.0,
) -> ServingMemory:
    """Memory per chip of a replica holding ``batch`` sequences of ``context`` tokens on each
    attention (TP x PP) group, ``tokens_per_step`` tokens in flight per group; ``offloaded``
    weight bytes per chip stay in host memory (not in HBM)."""
    cap = chip.hbm_capacity.value
    w = weight_bytes_per_chip(m, precision, tp=tp, ep=ep, dp=dp, pp=pp, mtp=mtp) - offloaded
    kv = np.asarray(batch, dtype=float) * kv_bytes_per_sequence(
        m, context, kv_precision, tp=tp, pp=pp, mtp=mtp
    )
    act = (
        np.asarray(tokens_per_step, dtype=float)
        / np.asarray(pp, dtype=float)
        * (activation_bytes_per_token(m, tp))
    )
    return ServingMemory(w, kv, act, RESERVE_FRACTION * cap, cap, float(offloaded))


def max_batch(
    m: ModelSpec,
    chip: ChipSpec,
    *,
    precision: str,
    kv_precision: str | None,
    context,
    tokens_per_seq,
    tp=1,
    ep=1,
    dp=1,
    pp=1,
    mtp: bool = False,
    weights=None,
) -> np.ndarray:
    """Largest number of sequences per attention group that fits (0 when the weights alone do
    not fit). ``tokens_per_seq``: tokens each sequence puts through one step (workspace);
    ``weights``: resident weight bytes per chip if not all of them (offload)."""
    cap = chip.hbm_capacity.value
    w = (
        weight_bytes_per_chip(m, precision, tp=tp, ep=ep, dp=dp, pp=pp, mtp=mtp)
        if weights is None
        else np.asarray(weights, dtype=float)
    )
    per_seq = kv_bytes_per_sequence(m, context, kv_precision, tp=tp, pp=pp, mtp=mtp) + np.asarray(
        tokens_per_seq, dtype=float
    ) / np.asarray(pp, dtype=float) * activation_bytes_per_token(m, tp)
    free = cap * (1.0 - RESERVE_FRACTION) - w
    return np.maximum(np.floor(free / per_seq), 0.0)


def why_not_fit(mem: ServingMemory, *, advice: bool = True) -> str | None:
    """A one-line reason when the (scalar) memory does not fit, else None; ``advice`` adds what
    to change (for a plan; not for a measured run, which did fit)."""
    from podsim.units import format_quantity as fq

    total = float(np.max(mem.total))
    if total <= mem.capacity:
        return None
    usable = mem.capacity - mem.reserve
    w = float(np.max(mem.weights))
    if w > usable:
        return (
            f"weights need {fq(w, 'bytes')} per chip, more than the {fq(usable, 'bytes')} left of "
            f"{fq(mem.capacity, 'bytes')} HBM after the runtime reserve"
            + ("; use more TP/PP/EP or a lower precision" if advice else "")
        )
    return (
        f"KV cache {fq(float(np.max(mem.kv)), 'bytes')} + activations "
        f"{fq(float(np.max(mem.activations)), 'bytes')} do not fit beside "
        f"{fq(w, 'bytes')} of weights in {fq(usable, 'bytes')} usable HBM per chip"
        + ("; use a smaller batch or shorter context" if advice else "")
    )
