"""Memory per chip of a training plan: weights, gradients, optimizer states, activations, logits.

Formulas (bytes per chip, vectorised over plans):
- Mixed-precision Adam (Megatron-LM): 16-bit weights (2 B/param), fp32 main gradients (4 B), fp32
  master weights + Adam m and v (12 B). ZeRO-1 (distributed optimizer) shards the 12 B over the
  data-parallel group (DP x CP in Megatron), ZeRO-2 also the gradients, ZeRO-3 also the weights
  (Rajbhandari et al. 2020, arXiv 1910.02054). FP8/FP4 training keeps an extra low-precision weight
  copy (Transformer Engine).
- Activations: the tensors each layer saves for backward (Korthikanti et al. 2022, arXiv
  2205.05198), with flash attention (no s x s score matrix is stored; Dao 2022); sequence
  parallelism divides the norm/residual tensors by TP; selective recompute drops the attention
  block's internals; full recompute keeps only each layer's input. Under 1F1B the first stage holds
  min(pp, m) micro-batches in flight, interleaved schedules add a factor 1 + (pp-1)/(pp*vpp)
  (Narayanan et al. SC21, arXiv 2104.04473).
- MoE: routed experts are sharded by EP (expert tensor parallelism 1), their optimizer states over
  the expert-data-parallel group tp*cp*dp/ep; dispatch buffers hold the k routed copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podsim.cost.compute import model_constant
from podsim.spec.chip import BYTES_PER_ELEMENT
from podsim.spec.model import ModelSpec
from podsim.training.plan import PlanArrays
from podsim.workload.params import dense_layer_params, moe_layer_params

# CUDA/CANN context, communication buffers and fragmentation per chip (catalog).
RUNTIME_RESERVED_BYTES = model_constant("runtime_reserved_bytes")


@dataclass(frozen=True)
class TrainingMemory:
    weights: np.ndarray
    gradients: np.ndarray
    optimizer: np.ndarray
    activations: np.ndarray
    logits: np.ndarray
    reserved: np.ndarray
    params_per_chip: np.ndarray  # parameters held (before ZeRO-3 sharding)
    expert_params_per_chip: np.ndarray  # of which routed-expert parameters (sharded by EP)
    checkpoint_bytes: np.ndarray  # weights + optimizer state per chip that a checkpoint saves

    @property
    def total(self) -> np.ndarray:
        return (
            self.weights
            + self.gradients
            + self.optimizer
            + self.activations
            + self.logits
            + self.reserved
        )

    def as_dict(self) -> dict[str, np.ndarray]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "activations": self.activations,
            "logits": self.logits,
            "reserved": self.reserved,
            "total": self.total,
        }


def stage_layers(m: ModelSpec, p: PlanArrays) -> tuple[np.ndarray, np.ndarray]:
    """(dense, MoE) layers held by the busiest pipeline stage."""
    per_stage = np.ceil(m.layers / p.pp)
    frac_moe = m.moe_layers / m.layers
    moe = np.ceil(per_stage * frac_moe - 1e-9) if m.moe_layers else np.zeros_like(per_stage)
    dense = np.maximum(per_stage - moe, 0)
    return dense, moe


def _layer_params(m: ModelSpec) -> tuple[float, float, float]:
    """(dense layer params, MoE layer non-expert params, MoE layer routed-expert params)."""
    dense = dense_layer_params(m).total
    moe = moe_layer_params(m)
    if moe is None:
        return float(dense), 0.0, 0.0
    return float(dense), float(moe.non_expert), float(moe.expert)


def _activation_bytes_per_token(
    m: ModelSpec, p: PlanArrays, moe: bool, gemm_in_bytes: float = 2.0
) -> np.ndarray:
    """Bytes saved per token by one layer on one chip for backward, after the recompute choice.

    Tensors are 16-bit except GEMM inputs, which low-precision training keeps in the GEMM's
    format for the weight-gradient GEMM (Transformer Engine FP8 saves the quantised inputs).
    """
    h = m.hidden
    tp = p.tp.astype(float)
    sp_div = np.where(p.sequence_parallel, tp, 1.0)
    g = gemm_in_bytes
    mats = 3 if m.activation == "swiglu" else 2
    # residual stream: two norm inputs (16-bit) and two norm outputs that feed GEMMs
    repl = (2 * h * 2.0 + 2 * h * g) / sp_div
    if m.mla is not None:
        a = m.mla
        dqk = a.qk_nope_head_dim + a.qk_rope_head_dim
        # low-rank latents feed the up-projections; q, k, v and the attention output per head
        repl = repl + (a.q_lora_rank + a.kv_lora_rank) * g + a.qk_rope_head_dim * 2.0
        attn = (m.heads * (2 * dqk + a.v_head_dim) * 2.0 + m.heads * a.v_head_dim * g) / tp
        o_in = m.heads * a.v_head_dim * g / tp
    else:
        hd = m.head_size
        attn = ((m.heads + 2 * m.kv_heads) * hd * 2.0 + m.heads * hd * g) / tp
        o_in = m.heads * hd * g / tp

    def ffn_bytes(width: float) -> float:
        # fc1 output (16-bit, gate and up for SwiGLU) and the activation output (fc2 input)
        return (mats - 1) * width * 2.0 + width * g

    if moe and m.moe is not None:
        e = m.moe
        ffn = (
            e.shared_experts * ffn_bytes(e.expert_ffn)
            + e.top_k * (h * g + ffn_bytes(e.expert_ffn))
            + h * 2.0
        ) / tp
    else:
        ffn = ffn_bytes(m.ffn) / tp
    none = repl + attn + ffn
    selective = repl + ffn + o_in  # the attention block's internals are recomputed
    full = h * 2.0 / sp_div  # only the layer input
    return np.select([p.recompute == 0, p.recompute == 1], [none, selective], full)


def training_memory(m: ModelSpec, p: PlanArrays, precision: str) -> TrainingMemory:
    """Memory per chip on the busiest stage for every plan in ``p``."""
    tp = p.tp.astype(float)
    pp = p.pp.astype(float)
    dense_l, moe_l = stage_layers(m, p)
    p_dense, p_moe_ne, p_moe_e = _layer_params(m)
    emb = m.vocab * m.hidden / tp  # embedding on stage 0 (and the LM head on the last)
    head = 0.0 if m.tied_embeddings else m.vocab * m.hidden / tp
    stage_extra = np.where(pp > 1, np.maximum(emb, head), emb + head)
    mtp = m.mtp_layers * ((p_moe_ne if m.moe else p_dense) + 2 * m.hidden * m.hidden)
    mtp_e = m.mtp_layers * p_moe_e
    non_expert = (
        (dense_l * p_dense + moe_l * p_moe_ne) / tp + stage_extra + np.where(pp > 1, 0.0, mtp / tp)
    )
    expert = (moe_l * p_moe_e + np.where(pp > 1, 0.0, mtp_e)) / p.ep
    params = non_expert + expert

    dp_ne = (p.dp * p.cp).astype(float)  # distributed optimizer shards over DP x CP
    dp_e = np.maximum((p.tp * p.cp * p.dp) / p.ep, 1.0)
    low_copy = BYTES_PER_ELEMENT.get(precision, 2.0) if precision in ("fp8", "fp4") else 0.0
    w_bytes = 2.0 + low_copy
    shard_w = lambda ne, e: np.where(p.zero >= 3, ne / dp_ne + e / dp_e, ne + e)  # noqa: E731
    shard_g = lambda ne, e: np.where(p.zero >= 2, ne / dp_ne + e / dp_e, ne + e)  # noqa: E731
    shard_o = lambda ne, e: np.where(p.zero >= 1, ne / dp_ne + e / dp_e, ne + e)  # noqa: E731
    # ZeRO-3 gathers each layer's full weights before use and prefetches the next one: two
    # layers' un-sharded 16-bit weights are live besides the shards
    gather_buf = np.where(
        p.zero >= 3, 2.0 * 2.0 * (np.maximum(p_dense, p_moe_ne) / tp + p_moe_e / p.ep), 0.0
    )
    weights = w_bytes * shard_w(non_expert, expert) + gather_buf
    grads = 4.0 * shard_g(non_expert, expert)
    opt = 12.0 * shard_o(non_expert, expert)

    tokens = (p.micro_batch * p.seq_len / p.cp).astype(float)
    g = max(BYTES_PER_ELEMENT.get(precision, 2.0), 1.0) if precision in ("fp8", "fp4") else 2.0
    per_tok = dense_l * _activation_bytes_per_token(m, p, False, g)
    if m.moe_layers:
        per_tok = per_tok + moe_l * _activation_bytes_per_token(m, p, True, g)
    act_one_mb = tokens * per_tok
    mbs = p.micro_batches.astype(float)
    inflight = np.where(pp > 1, np.minimum(pp, mbs), 1.0) * np.where(
        p.vpp > 1, 1.0 + (pp - 1) / (pp * p.vpp), 1.0
    )
    # one layer's full activations are live while it is recomputed
    recompute_ws = np.where(
        p.recompute == 2,
        tokens * _activation_bytes_per_token(m, _with_recompute(p, 0), bool(m.moe_layers), g),
        0.0,
    )
    activations = act_one_mb * inflight + recompute_ws
    # fp32 logits and their gradient on the last stage (cross-entropy), vocab split by TP
    logits = tokens * m.vocab / tp * 8.0
    reserved = np.full(np.shape(activations), RUNTIME_RESERVED_BYTES)
    # a checkpoint saves fp32 master weights + Adam m, v (12 B) and 16-bit weights (2 B) per
    # parameter; with ZeRO >= 1 each rank saves its shard.
    ckpt = 14.0 * shard_o(non_expert, expert)
    return TrainingMemory(
        weights=weights,
        gradients=grads,
        optimizer=opt,
        activations=activations,
        logits=logits,
        reserved=reserved,
        params_per_chip=params,
        expert_params_per_chip=np.broadcast_to(expert, np.shape(params)),
        checkpoint_bytes=ckpt,
    )


def _with_recompute(p: PlanArrays, code: int) -> PlanArrays:
    from dataclasses import replace

    return replace(p, recompute=np.zeros_like(p.recompute) + code)
