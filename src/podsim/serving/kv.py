"""KV-cache size from the architecture.

Per layer and token a GQA/MHA model caches K and V: ``2 * kv_heads * head_dim`` elements; an MLA
model (DeepSeek-V2/V3) caches the compressed latent and the decoupled rotary key:
``kv_lora_rank + qk_rope_head_dim`` elements, shared by all heads (DeepSeek-V2, arXiv
2405.04434, sec. 2.1.3; DeepSeek-V3, arXiv 2412.19437). The element counts come from
:func:`podsim.workload.layers.attention_projection`.

Sharding over tensor parallelism: GQA splits the KV heads over the TP ranks, and a rank never
holds less than one head (with ``tp > kv_heads`` heads are replicated, as vLLM / TensorRT-LLM
do); MLA's latent is replicated on every TP rank (one latent "head"). Pipeline parallelism
splits the layers. Multi-token-prediction modules used for speculative decoding cache their own
layer's KV too.

KV precision defaults to 16-bit (vLLM ``--kv-cache-dtype auto`` = the model's activation dtype,
TensorRT-LLM's default), whatever the weight precision.
"""

from __future__ import annotations

import numpy as np

from podsim.errors import SpecError
from podsim.spec.chip import BYTES_PER_ELEMENT
from podsim.spec.model import ModelSpec
from podsim.workload.layers import attention_projection

KV_PRECISIONS = ("bf16", "fp16", "fp8", "int8", "fp4")
DEFAULT_KV_PRECISION = "bf16"


def kv_bytes_per_element(kv_precision: str | None) -> float:
    p = kv_precision or DEFAULT_KV_PRECISION
    if p not in KV_PRECISIONS:
        raise SpecError(
            "unknown KV-cache precision",
            field="kv_precision",
            value=p,
            allowed=", ".join(KV_PRECISIONS),
        )
    return BYTES_PER_ELEMENT[p]


def kv_elems_per_layer(m: ModelSpec) -> float:
    """Elements cached per token per layer (whole model, before any sharding)."""
    return attention_projection(m)[2]


def kv_shard(m: ModelSpec, tp) -> np.ndarray:
    """Fraction of one layer's KV a TP rank holds (1 for MLA; 1/min(tp, kv_heads) for GQA)."""
    tp = np.asarray(tp, dtype=float)
    if m.mla is not None:
        return np.ones_like(tp)
    return 1.0 / np.minimum(tp, float(m.kv_heads))


def kv_layers(m: ModelSpec, *, mtp: bool = False) -> int:
    """Layers that keep a KV cache: every decoder layer, plus MTP modules when they draft."""
    return m.layers + (m.mtp_layers if mtp else 0)


def kv_bytes_per_token(
    m: ModelSpec, kv_precision: str | None = None, *, mtp: bool = False
) -> float:
    """KV bytes one token adds to the cache of the whole model (all layers, unsharded)."""
    return kv_layers(m, mtp=mtp) * kv_elems_per_layer(m) * kv_bytes_per_element(kv_precision)


def kv_bytes_per_token_per_chip(
    m: ModelSpec, kv_precision: str | None = None, *, tp=1, pp=1, mtp: bool = False
) -> np.ndarray:
    """KV bytes per token on one chip of a TP x PP replica (busiest stage: ceil(L/pp) layers)."""
    pp = np.asarray(pp, dtype=float)
    layers = np.ceil(m.layers / pp) + (m.mtp_layers if mtp else 0)
    return layers * kv_elems_per_layer(m) * kv_shard(m, tp) * kv_bytes_per_element(kv_precision)


def kv_bytes_per_sequence(
    m: ModelSpec, context, kv_precision: str | None = None, *, tp=1, pp=1, mtp: bool = False
) -> np.ndarray:
    """KV bytes of one sequence of ``context`` tokens on one chip (broadcasts)."""
    return np.asarray(context, dtype=float) * kv_bytes_per_token_per_chip(
        m, kv_precision, tp=tp, pp=pp, mtp=mtp
    )
