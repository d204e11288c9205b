"""A transformer lowered to per-layer operators: forward FLOPs and bytes per token.

Counts are exact multiply-add counts (2 FLOPs per MAC) of the matrix products of one token's
forward pass; backward is derived by the cost models (2x for GEMMs: data and weight gradients).
Attention over the context is counted with causal masking (a token attends to itself and the
tokens before it, so the mean context of a length-s sequence is (s+1)/2), which is what
flash-attention kernels compute when they skip masked blocks.

Sources: Narayanan et al. SC21 (arXiv 2104.04473) eq. 3 for the dense GEMM counts; DeepSeek-V3
technical report (arXiv 2412.19437) and its HF modeling file for MLA; Shazeer et al. 2017 /
Fedus et al. 2021 for top-k MoE; Dao 2023 (FlashAttention-2) for the attention kernel.

Everything is numpy-broadcastable in ``seq`` (context length), so one call serves many plans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podsim.spec.model import ModelSpec
from podsim.workload.params import attention_params, ffn_params


@dataclass(frozen=True)
class LayerOps:
    """Forward work of one layer, per token (arrays broadcast over the context length).

    GEMM FLOPs are split into the attention projections, the dense FFN (or the MoE experts),
    and the attention core (scores and values, which run in 16-bit flash-attention kernels).
    ``weights`` are parameter counts touched by this layer (for weight-read traffic);
    ``act_elems`` the elementwise (memory-bound) traffic in activation elements per token.
    """

    proj_flops: float  # QKV(+MLA low-rank) + output projection
    ffn_flops: float  # dense FFN, or shared experts of a MoE layer
    expert_flops: float  # routed experts (top-k) of a MoE layer
    router_flops: float
    attn_flops: np.ndarray  # attention core per token at this context, causal
    proj_weights: float
    ffn_weights: float
    expert_weights: float  # all routed experts of this layer
    act_elems: float  # elementwise traffic (reads + writes), elements per token, forward
    gemm_in_elems: float  # activation elements entering GEMMs per token (for low-precision casts)
    kv_elems: float  # K and V (or MLA latent) elements cached per token
    out_elems: float  # hidden-state elements leaving the layer per token (= hidden)
    # GEMMs as (FLOPs per token, reduction dimension K, K split by tensor parallelism?), for the
    # shape-dependent efficiency of short-K GEMMs (cost.compute.k_efficiency)
    proj_gemms: tuple[tuple[float, float, bool], ...] = ()
    ffn_gemms: tuple[tuple[float, float, bool], ...] = ()
    expert_gemms: tuple[tuple[float, float, bool], ...] = ()


def _attention_dims(m: ModelSpec) -> tuple[int, int]:
    """(query/key head dim, value head dim)."""
    if m.mla is not None:
        return m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim, m.mla.v_head_dim
    return m.head_size, m.head_size


def attention_projection(m: ModelSpec) -> tuple[float, float, float]:
    """(weights, gemm input elements per token, cached KV elements per token) of the projections.

    Weights come from :func:`podsim.workload.params.attention_params` (one formula for both).
    """
    h, H = m.hidden, m.heads
    w = float(attention_params(m))
    if m.mla is not None:
        a = m.mla
        gemm_in = h + (a.q_lora_rank or 0) + h + a.kv_lora_rank + H * a.v_head_dim
        return w, float(gemm_in), float(a.kv_lora_rank + a.qk_rope_head_dim)
    hd, kvh = m.head_size, m.kv_heads
    return w, float(h + H * hd), float(2 * kvh * hd)


def attention_core_flops(m: ModelSpec, context: np.ndarray | float) -> np.ndarray:
    """FLOPs per token of QK^T and PV over ``context`` keys (pass the mean causal context)."""
    dqk, dv = _attention_dims(m)
    return 2.0 * m.heads * (dqk + dv) * np.asarray(context, dtype=float)


def causal_context(seq: np.ndarray | float) -> np.ndarray:
    """Mean number of keys a token attends to in a causal sequence of length ``seq``."""
    return (np.asarray(seq, dtype=float) + 1.0) / 2.0


def _ffn_weights(m: ModelSpec, inter: int) -> float:
    return float(ffn_params(m.hidden, inter, m.activation))


def layer_ops(m: ModelSpec, seq: np.ndarray | float, *, moe: bool) -> LayerOps:
    """Forward operators of one dense (``moe=False``) or MoE layer, per token, causal context."""
    h = m.hidden
    pw, p_in, kv = attention_projection(m)
    attn = attention_core_flops(m, causal_context(seq))
    dqk, dv = _attention_dims(m)
    qk_elems = m.heads * dqk + (m.kv_heads if m.mla is None else 1) * dqk
    # elementwise traffic per token (elements read + written), forward:
    # 2 RMS/LayerNorms (read h, write h), 2 residual adds (2 reads + 1 write), rotary on q and k.
    act = 2 * 2 * h + 2 * 3 * h + 2 * qk_elems
    if moe and m.moe is not None:
        e = m.moe
        mats = 3 if m.activation == "swiglu" else 2
        ffn_w = _ffn_weights(m, e.expert_ffn) * e.shared_experts
        exp_w = _ffn_weights(m, e.expert_ffn) * e.experts
        ffn_f = 2.0 * ffn_w
        exp_f = 2.0 * e.top_k * mats * h * e.expert_ffn
        router = 2.0 * h * e.experts
        inter_elems = (e.top_k + e.shared_experts) * e.expert_ffn
        # activation (read gate+up, write) on expert outputs; permute + unpermute copies of the
        # k routed token copies (read + write each way), weighted sum of the k outputs.
        act += 3 * inter_elems + 4 * e.top_k * h + (e.top_k + 1) * h
        gemm_in = p_in + (e.top_k + e.shared_experts) * h + inter_elems
    else:
        ffn_w = _ffn_weights(m, m.ffn)
        exp_w = 0.0
        ffn_f = 2.0 * ffn_w
        exp_f = 0.0
        router = 0.0
        act += 3 * m.ffn if m.activation == "swiglu" else 2 * m.ffn
        gemm_in = p_in + h + m.ffn
    h, H = m.hidden, m.heads
    if m.mla is not None:
        a = m.mla
        dqk = a.qk_nope_head_dim + a.qk_rope_head_dim
        q = (
            (
                (2.0 * h * a.q_lora_rank, h, False),
                (2.0 * a.q_lora_rank * H * dqk, a.q_lora_rank, False),
            )
            if a.q_lora_rank
            else ((2.0 * h * H * dqk, h, False),)
        )
        proj_g = (
            *q,
            (2.0 * h * (a.kv_lora_rank + a.qk_rope_head_dim), h, False),
            (2.0 * a.kv_lora_rank * H * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank, False),
            (2.0 * H * a.v_head_dim * h, H * a.v_head_dim, True),
        )
    else:
        hd = m.head_size
        proj_g = ((2.0 * h * (H + 2 * m.kv_heads) * hd, h, False), (2.0 * H * hd * h, H * hd, True))
    mats = 3 if m.activation == "swiglu" else 2

    def ffn_g(width: float, copies: float) -> tuple[tuple[float, float, bool], ...]:
        return (
            (copies * 2.0 * h * width * (mats - 1), h, False),
            (copies * 2.0 * width * h, width, True),
        )

    if moe and m.moe is not None:
        ffn_gm = ffn_g(m.moe.expert_ffn, m.moe.shared_experts) if m.moe.shared_experts else ()
        exp_gm = ffn_g(m.moe.expert_ffn, m.moe.top_k)
    else:
        ffn_gm, exp_gm = ffn_g(m.ffn, 1), ()
    return LayerOps(
        proj_gemms=proj_g,
        ffn_gemms=ffn_gm,
        expert_gemms=tuple((fl, k, False) for fl, k, _ in exp_gm),
        proj_flops=2.0 * pw,
        ffn_flops=ffn_f,
        expert_flops=exp_f,
        router_flops=router,
        attn_flops=attn,
        proj_weights=pw,
        ffn_weights=ffn_w,
        expert_weights=exp_w,
        act_elems=float(act),
        gemm_in_elems=float(gemm_in),
        kv_elems=kv,
        out_elems=float(h),
    )


def head_flops(m: ModelSpec) -> float:
    """Forward FLOPs per token of the LM head (logits over the vocabulary)."""
    return 2.0 * m.hidden * m.vocab


def mtp_extra_flops(m: ModelSpec) -> float:
    """Forward GEMM FLOPs per token of one multi-token-prediction module outside its layer:
    the 2h -> h projection and its own pass through the shared LM head (DeepSeek-V3 sec. 2.2)."""
    return 2.0 * 2 * m.hidden * m.hidden + head_flops(m)


def model_flops_per_token(m: ModelSpec, seq: np.ndarray | float) -> np.ndarray:
    """Training model FLOPs per token (forward + backward = 3x forward), no recompute.

    This is the numerator of MFU. It counts every layer, the LM head, MTP modules and causal
    attention; embedding lookups are not FLOPs.
    """
    dense = layer_ops(m, seq, moe=False)
    fwd = m.dense_layers * layer_forward_flops(dense)
    if m.moe is not None and m.moe_layers:
        fwd = fwd + m.moe_layers * layer_forward_flops(layer_ops(m, seq, moe=True))
    fwd = fwd + head_flops(m)
    if m.mtp_layers:
        mtp_layer = layer_ops(m, seq, moe=m.moe is not None)
        fwd = fwd + m.mtp_layers * (layer_forward_flops(mtp_layer) + mtp_extra_flops(m))
    return 3.0 * np.asarray(fwd, dtype=float)


def layer_forward_flops(op: LayerOps) -> np.ndarray:
    """Forward FLOPs per token of one layer: every GEMM and the attention core."""
    return op.proj_flops + op.ffn_flops + op.expert_flops + op.router_flops + op.attn_flops
