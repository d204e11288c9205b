"""Exact parameter counts of a decoder-only transformer, from its architecture alone.

One model at a time, plain Python integers (no numpy: counts are exact, and a model is small
data). Every formula below is a weight-matrix shape read from a public modeling file; the
docstring of each helper names it.

Conventions (what is and is not counted)
----------------------------------------
* Linear layers have **no biases**. True for Llama 2/3, Qwen3, Mixtral, DeepSeek-V3 (their HF
  configs set ``attention_bias``/``mlp_bias`` false). GPT-3, BLOOM and gpt-oss do have biases;
  ``ModelSpec`` has no field for them, and they are tiny: GPT-3 175B has 13·hidden per layer
  (15.3M, 0.009% of the total), gpt-oss-120b about 0.04B (0.03%) counting its attention sinks.
* Norms are weight-only RMSNorm: ``hidden`` each, two per layer plus the final norm. GPT-style
  LayerNorm also has a bias (another ``hidden`` per norm, <0.001% of any catalog total).
* Learned absolute position embeddings (GPT-3: 2048·12288 = 25M, 0.014%) are not counted: the
  schema assumes rotary positions, which have no parameters.
* Qwen3's per-head q/k RMSNorms (2·head_dim per layer, 12K in Qwen3-30B-A3B) and DeepSeek-V3's
  router score-correction bias (``experts`` per MoE layer) are not counted: the schema lacks them.
* ``active`` counts what one token touches in the main model: every non-expert weight (input
  embedding and LM head included), the ``top_k`` routed experts and the shared experts of each
  MoE layer. MTP modules are not active (they only run for speculative decoding / training).
  ``active_compute`` drops the input-embedding table (a row lookup, not a matmul), which is the
  convention of DeepSeek ("36.6B activated, including 0.9B output head",
  https://github.com/deepseek-ai/DeepSeek-V3/blob/main/README_WEIGHTS.md) and of OpenAI
  (gpt-oss-120b "5.13B active", https://arxiv.org/abs/2508.10925 Table 1). Qwen's "3.3B
  activated" for Qwen3-30B-A3B counts both embeddings, i.e. ``active``.
"""

from __future__ import annotations

from dataclasses import dataclass

from podsim.spec.model import ModelSpec


@dataclass(frozen=True)
class LayerParams:
    """Parameters of one transformer layer (or one MTP module), split for the memory model.

    ``expert`` (routed experts) is what expert parallelism shards; ``non_expert`` is what tensor
    parallelism shards and data parallelism replicates.
    """

    attention: int
    norms: int
    dense_ffn: int = 0
    router: int = 0
    routed_expert: int = 0  # parameters of ONE routed expert
    routed_experts: int = 0  # number of routed experts
    top_k: int = 0
    shared_experts: int = 0  # parameters of all shared experts together
    extra: int = 0  # MTP only: the 2h->h projection and the input norms

    @property
    def expert(self) -> int:
        """Routed-expert parameters of this layer."""
        return self.routed_expert * self.routed_experts

    @property
    def non_expert(self) -> int:
        return (
            self.attention
            + self.norms
            + self.dense_ffn
            + self.router
            + self.shared_experts
            + self.extra
        )

    @property
    def total(self) -> int:
        return self.non_expert + self.expert

    @property
    def active(self) -> int:
        """Parameters one token uses: everything but the routed experts it is not sent to."""
        return self.non_expert + self.top_k * self.routed_expert


@dataclass(frozen=True)
class ParamCounts:
    """Exact parameter counts of a ``ModelSpec`` (see the module docstring for conventions)."""

    embedding: int  # vocab x hidden
    lm_head: int  # hidden x vocab, 0 when tied to the embedding
    final_norm: int
    attention_per_layer: int
    norms_per_layer: int
    dense_ffn_per_layer: int  # FFN of a dense layer
    expert_ffn: int  # ONE routed expert (0 for a dense model)
    shared_experts_per_layer: int  # all shared experts of one MoE layer
    router_per_layer: int
    n_dense_layers: int
    n_moe_layers: int
    dense_layer: LayerParams
    moe_layer: LayerParams | None
    mtp_module: LayerParams | None  # one MTP module (embedding and head shared, not counted)
    mtp_modules: int
    mtp: int  # all MTP modules
    total: int  # main model + MTP modules
    active: int  # per token, main model, embeddings included
    active_compute: int  # active minus the input-embedding lookup table (kept when tied)
    expert_params: int  # routed experts, main model and MTP
    non_expert_params: int  # total - expert_params

    @property
    def main(self) -> int:
        """The main model without MTP modules (DeepSeek's published 671B for DeepSeek-V3)."""
        return self.total - self.mtp

    @property
    def total_without_embeddings(self) -> int:
        """Total minus input embedding and (untied) LM head: Kaplan's "non-embedding" count."""
        return self.total - self.embedding - self.lm_head

    @property
    def layers_total(self) -> int:
        """All decoder layers of the main model (no embeddings, final norm or MTP)."""
        moe = self.moe_layer.total if self.moe_layer is not None else 0
        return self.n_dense_layers * self.dense_layer.total + self.n_moe_layers * moe


def ffn_params(hidden: int, ffn: int, activation: str) -> int:
    """One feed-forward block (no biases).

    swiglu: gate_proj, up_proj (hidden x ffn) and down_proj (ffn x hidden) = 3·hidden·ffn
    (``LlamaMLP`` / ``MixtralBlockSparseTop2MLP`` / ``DeepseekV3MLP`` in HF transformers;
    Shazeer 2020, "GLU Variants Improve Transformer").
    gelu: fc_in (hidden x ffn) and fc_out (ffn x hidden) = 2·hidden·ffn (GPT-2/GPT-3 ``MLP``,
    Radford et al. 2019; Brown et al. 2020).
    """
    if activation == "swiglu":
        return 3 * hidden * ffn
    if activation == "gelu":
        return 2 * hidden * ffn
    raise ValueError(f"unknown activation {activation!r}")


def attention_params(model: ModelSpec) -> int:
    """Attention weights of one layer (no biases).

    GQA/MHA (HF ``LlamaAttention``; Ainslie et al. 2023, GQA): q_proj hidden x heads·d,
    k_proj and v_proj hidden x kv_heads·d, o_proj heads·d x hidden, with d = ``head_size``
    (``head_dim`` when given, as in Qwen3 and gpt-oss, else hidden / heads).

    MLA (HF ``DeepseekV3Attention``; DeepSeek-V2 paper arXiv:2405.04434 §2.1, DeepSeek-V3
    arXiv:2412.19437 §2.1), with qk = nope + rope:
      q_a_proj hidden x q_lora_rank, q_a_layernorm q_lora_rank,
      q_b_proj q_lora_rank x heads·qk — or q_proj hidden x heads·qk when q_lora_rank = 0;
      kv_a_proj_with_mqa hidden x (kv_lora_rank + rope), kv_a_layernorm kv_lora_rank,
      kv_b_proj kv_lora_rank x heads·(nope + v_head_dim), o_proj heads·v_head_dim x hidden.
    """
    h, heads = model.hidden, model.heads
    mla = model.mla
    if mla is None:
        d = model.head_size
        return h * heads * d + 2 * h * model.kv_heads * d + heads * d * h
    qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    if mla.q_lora_rank > 0:
        q = h * mla.q_lora_rank + mla.q_lora_rank + mla.q_lora_rank * heads * qk
    else:
        q = h * heads * qk
    kv = (
        h * (mla.kv_lora_rank + mla.qk_rope_head_dim)
        + mla.kv_lora_rank
        + mla.kv_lora_rank * heads * (mla.qk_nope_head_dim + mla.v_head_dim)
    )
    o = heads * mla.v_head_dim * h
    return q + kv + o


def dense_layer_params(model: ModelSpec) -> LayerParams:
    """One dense decoder layer: attention, FFN of width ``ffn``, two norms (HF
    ``LlamaDecoderLayer``: input_layernorm and post_attention_layernorm)."""
    return LayerParams(
        attention=attention_params(model),
        norms=2 * model.hidden,
        dense_ffn=ffn_params(model.hidden, model.ffn, model.activation),
    )


def moe_layer_params(model: ModelSpec) -> LayerParams | None:
    """One MoE decoder layer, or None for a dense model.

    Router: hidden x experts, no bias (HF ``MixtralSparseMoeBlock.gate``,
    ``Qwen3MoeSparseMoeBlock.gate``, DeepSeek ``MoEGate.weight``). Routed experts: ``experts``
    FFNs of width ``expert_ffn``. Shared experts: ``shared_experts`` FFNs of width
    ``expert_ffn`` (DeepSeek builds them as one MLP of width expert_ffn·n_shared, same count).
    """
    moe = model.moe
    if moe is None:
        return None
    return LayerParams(
        attention=attention_params(model),
        norms=2 * model.hidden,
        router=model.hidden * moe.experts,
        routed_expert=ffn_params(model.hidden, moe.expert_ffn, model.activation),
        routed_experts=moe.experts,
        top_k=moe.top_k,
        shared_experts=moe.shared_experts
        * ffn_params(model.hidden, moe.expert_ffn, model.activation),
    )


def mtp_module_params(model: ModelSpec) -> LayerParams | None:
    """One multi-token-prediction module (DeepSeek-V3 arXiv:2412.19437 §2.2 and
    https://github.com/deepseek-ai/DeepSeek-V3/blob/main/README_WEIGHTS.md), or None.

    enorm and hnorm (hidden each), eh_proj (2·hidden x hidden), one full transformer layer —
    a MoE layer when the model has MoE layers (DeepSeek-V3's ``model.layers.61``), else dense —
    and the output head's norm (``shared_head.norm``, hidden). The embedding and the output
    head are shared with the main model and not counted again (the HF checkpoint stores copies:
    +2·vocab·hidden, which is why DeepSeek quotes 685B = 671B + 14B, not 671B + 11.5B).
    """
    if model.mtp_layers == 0:
        return None
    moe = moe_layer_params(model)
    layer = moe if moe is not None and model.moe_layers > 0 else dense_layer_params(model)
    h = model.hidden
    return LayerParams(
        attention=layer.attention,
        norms=layer.norms,
        dense_ffn=layer.dense_ffn,
        router=layer.router,
        routed_expert=layer.routed_expert,
        routed_experts=layer.routed_experts,
        top_k=layer.top_k,
        shared_experts=layer.shared_experts,
        extra=2 * h * h + 3 * h,
    )


def layer_params(model: ModelSpec) -> tuple[LayerParams, ...]:
    """Every decoder layer of the main model, in order (for pipeline-stage memory).

    The first ``moe.dense_layers`` layers are dense; after them every ``moe.layer_freq``-th
    layer is MoE, starting with the first — the same count as ``ModelSpec.moe_layers``.
    """
    dense = dense_layer_params(model)
    moe = moe_layer_params(model)
    if moe is None or model.moe is None:
        return (dense,) * model.layers
    first, freq = model.moe.dense_layers, model.moe.layer_freq
    return tuple(
        moe if i >= first and (i - first) % freq == 0 else dense for i in range(model.layers)
    )


def param_counts(model: ModelSpec) -> ParamCounts:
    """Exact parameter counts of ``model``: totals, active per token, expert split, per layer.

    Embedding vocab x hidden; LM head hidden x vocab unless tied (HF ``tie_word_embeddings``);
    final norm hidden; layers per ``dense_layer_params`` / ``moe_layer_params``; MTP modules
    per ``mtp_module_params``.
    """
    h = model.hidden
    embedding = model.vocab * h
    lm_head = 0 if model.tied_embeddings else model.vocab * h
    final_norm = h
    dense = dense_layer_params(model)
    moe = moe_layer_params(model)
    n_moe = model.moe_layers if moe is not None else 0
    n_dense = model.layers - n_moe
    mtp_module = mtp_module_params(model)
    n_mtp = model.mtp_layers
    mtp = n_mtp * mtp_module.total if mtp_module is not None else 0

    moe_total = n_moe * moe.total if moe is not None else 0
    moe_active = n_moe * moe.active if moe is not None else 0
    outer = embedding + lm_head + final_norm
    total = outer + n_dense * dense.total + moe_total + mtp
    active = outer + n_dense * dense.total + moe_active
    active_compute = active - (embedding if lm_head else 0)
    expert = (n_moe * moe.expert if moe is not None else 0) + (
        n_mtp * mtp_module.expert if mtp_module is not None else 0
    )
    return ParamCounts(
        embedding=embedding,
        lm_head=lm_head,
        final_norm=final_norm,
        attention_per_layer=dense.attention,
        norms_per_layer=dense.norms,
        dense_ffn_per_layer=dense.dense_ffn,
        expert_ffn=moe.routed_expert if moe is not None else 0,
        shared_experts_per_layer=moe.shared_experts if moe is not None else 0,
        router_per_layer=moe.router if moe is not None else 0,
        n_dense_layers=n_dense,
        n_moe_layers=n_moe,
        dense_layer=dense,
        moe_layer=moe,
        mtp_module=mtp_module,
        mtp_modules=n_mtp,
        mtp=mtp,
        total=total,
        active=active,
        active_compute=active_compute,
        expert_params=expert,
        non_expert_params=total - expert,
    )


__all__ = [
    "LayerParams",
    "ParamCounts",
    "attention_params",
    "dense_layer_params",
    "ffn_params",
    "layer_params",
    "moe_layer_params",
    "mtp_module_params",
    "param_counts",
]
