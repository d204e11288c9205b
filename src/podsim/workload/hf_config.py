"""A ``ModelSpec`` from a Hugging Face ``config.json`` (the dict it parses to).

Keys read (HF transformers configuration classes: ``LlamaConfig``, ``MixtralConfig``,
``Qwen3Config``, ``Qwen3MoeConfig``, ``DeepseekV3Config``, ``GptOssConfig``; GPT-2/BLOOM
spellings as aliases):

=====================  ====================================================================
ModelSpec field        config.json keys
=====================  ====================================================================
layers                 num_hidden_layers (n_layer, num_layers)
hidden                 hidden_size (n_embd, d_model)
heads                  num_attention_heads (n_head)
kv_heads               num_key_value_heads (num_kv_heads); default = heads (MHA)
head_dim               head_dim; kept only when it differs from hidden / heads; ignored for MLA
ffn                    intermediate_size (ffn_dim, n_inner; GPT-2/BLOOM without it: 4·hidden)
vocab                  vocab_size
activation             hidden_act (activation_function, hidden_activation): silu/swish -> swiglu,
                       gelu* -> gelu; Gemma's gated GELU (three matrices) -> swiglu
tied_embeddings        tie_word_embeddings; default False for the Llama/Mistral/Qwen/DeepSeek/
                       gpt-oss families (their config classes), else True (PretrainedConfig)
moe.experts            n_routed_experts (DeepSeek), num_experts (Qwen), num_local_experts
                       (Mixtral, gpt-oss); absent, null or 0 -> dense model
moe.top_k              num_experts_per_tok (experts_per_token)
moe.expert_ffn         moe_intermediate_size, else intermediate_size (Mixtral, gpt-oss)
moe.shared_experts     n_shared_experts, or shared_expert_intermediate_size / expert_ffn (Qwen2-MoE)
moe.dense_layers       first_k_dense_replace, or a leading run 0..k-1 in mlp_only_layers (Qwen)
moe.layer_freq         moe_layer_freq (DeepSeek) or decoder_sparse_step (Qwen); default 1
mla.*                  q_lora_rank (null -> 0), kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim,
                       v_head_dim (MLA when kv_lora_rank is present and not null)
mtp_layers             num_nextn_predict_layers; default 0
name                   _name_or_path, else the folder of ``file`` when it is ``config.json``
                       (else its stem), else model_type
=====================  ====================================================================

Multimodal configs whose language model sits under ``text_config`` are read from there.
Anything the schema cannot represent exactly raises ``SpecError`` rather than being
approximated silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from podsim.errors import SpecError
from podsim.spec.errors import spec_error
from podsim.spec.model import MLASpec, ModelSpec, MoESpec

# Families whose config class defaults tie_word_embeddings to False.
_UNTIED_BY_DEFAULT = (
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen3",
    "deepseek",
    "gpt_oss",
    "phi3",
)
_GATED_GELU = ("gemma",)  # GeGLU: gate, up and down projections, like SwiGLU
_SWIGLU_ACTS = ("silu", "swish", "swiglu")
_GELU_ACTS = ("gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "gelu_python", "gelu_10")


class _Reader:
    """Typed access to config keys; every error names the key and the file."""

    def __init__(self, cfg: dict[str, Any], file: str | None) -> None:
        self.cfg = cfg
        self.file = file

    def has(self, key: str) -> bool:
        return self.cfg.get(key) is not None

    def first(self, *keys: str) -> str | None:
        return next((k for k in keys if self.has(k)), None)

    def get_int(self, *keys: str, default: int | None = None, minimum: int = 1) -> int:
        """The first present key of ``keys`` as an integer >= minimum (absent -> default)."""
        key = self.first(*keys)
        if key is None:
            if default is not None:
                return default
            raise SpecError(
                "config.json is missing a required key"
                + (f" (also accepted: {', '.join(keys[1:])})" if len(keys) > 1 else ""),
                file=self.file,
                field=keys[0],
            )
        val = self.cfg[key]
        if isinstance(val, float) and val.is_integer():
            val = int(val)
        if isinstance(val, bool) or not isinstance(val, int):
            raise SpecError(
                "must be an integer",
                file=self.file,
                field=key,
                value=val,
                allowed=f"an integer >= {minimum}",
            )
        if val < minimum:
            raise SpecError(
                f"must be at least {minimum}",
                file=self.file,
                field=key,
                value=val,
                allowed=f"an integer >= {minimum}",
            )
        return val

    def get_bool(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        val = self.cfg[key]
        if not isinstance(val, bool):
            raise SpecError(
                "must be true or false", file=self.file, field=key, value=val, allowed="true, false"
            )
        return val

    def get_str(self, *keys: str) -> tuple[str, str] | None:
        key = self.first(*keys)
        if key is None:
            return None
        val = self.cfg[key]
        if not isinstance(val, str):
            raise SpecError("must be a string", file=self.file, field=key, value=val)
        return key, val


def _name(cfg: dict[str, Any], file: str | None) -> str:
    path = cfg.get("_name_or_path")
    if isinstance(path, str) and path.strip():
        return path.strip()
    if file:
        p = Path(file)
        if p.stem == "config" and p.parent.name:
            return p.parent.name
        return p.stem
    model_type = cfg.get("model_type")
    if isinstance(model_type, str) and model_type:
        return model_type
    return "hf-model"


def _activation(r: _Reader, model_type: str) -> str:
    found = r.get_str("hidden_act", "activation_function", "hidden_activation")
    if found is None:
        raise SpecError(
            "config.json is missing a required key (also accepted: activation_function, "
            "hidden_activation)",
            file=r.file,
            field="hidden_act",
        )
    key, act = found
    act_l = act.lower()
    if act_l in _SWIGLU_ACTS:
        return "swiglu"
    if act_l in _GELU_ACTS or act_l.startswith("gelu"):
        return "swiglu" if model_type.startswith(_GATED_GELU) else "gelu"
    raise SpecError(
        "activation not supported",
        file=r.file,
        field=key,
        value=act,
        allowed=f"{', '.join(_SWIGLU_ACTS)} (-> swiglu), gelu* (-> gelu)",
    )


def _moe(r: _Reader, layers: int, hidden: int, ffn: int) -> MoESpec | None:
    exp_key = r.first("n_routed_experts", "num_experts", "num_local_experts")
    if exp_key is None or r.cfg[exp_key] == 0:
        return None
    experts = r.get_int(exp_key)
    top_k = r.get_int("num_experts_per_tok", "experts_per_token")
    if top_k > experts:
        raise SpecError(
            f"exceeds the number of experts ({exp_key} = {experts})",
            file=r.file,
            field=r.first("num_experts_per_tok", "experts_per_token"),
            value=top_k,
            allowed=f"1..{experts}",
        )
    expert_ffn = r.get_int("moe_intermediate_size", default=ffn)

    if r.has("n_shared_experts"):
        shared = r.get_int("n_shared_experts", minimum=0)
    elif r.has("shared_expert_intermediate_size"):
        width = r.get_int("shared_expert_intermediate_size", minimum=0)
        if width % expert_ffn:
            raise SpecError(
                f"not a multiple of the expert width {expert_ffn}: podsim models shared experts "
                "as whole experts",
                file=r.file,
                field="shared_expert_intermediate_size",
                value=width,
            )
        shared = width // expert_ffn
    else:
        shared = 0

    dense = r.get_int("first_k_dense_replace", default=0, minimum=0)
    if r.has("mlp_only_layers"):
        only = r.cfg["mlp_only_layers"]
        if not isinstance(only, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in only
        ):
            raise SpecError(
                "must be a list of layer indices", file=r.file, field="mlp_only_layers", value=only
            )
        if sorted(only) != list(range(len(only))):
            raise SpecError(
                "dense layers that are not the leading ones cannot be represented",
                file=r.file,
                field="mlp_only_layers",
                value=only,
                allowed="[] or [0, 1, ..., k-1]",
            )
        dense = max(dense, len(only))
    if dense > layers:
        raise SpecError(
            f"exceeds num_hidden_layers ({layers})",
            file=r.file,
            field="first_k_dense_replace" if r.has("first_k_dense_replace") else "mlp_only_layers",
            value=dense,
        )

    freq_key = r.first("moe_layer_freq", "decoder_sparse_step")
    freq = r.get_int(freq_key) if freq_key is not None else 1
    if freq_key == "decoder_sparse_step" and freq > 1 and (layers - dense) % freq:
        # Qwen puts MoE at layers with (i + 1) % step == 0; podsim's layer_freq puts the first
        # one right after the dense layers. The counts agree only when step divides the rest.
        raise SpecError(
            f"does not divide the {layers - dense} non-dense layers, so the MoE layer count "
            "cannot be represented exactly",
            file=r.file,
            field=freq_key,
            value=freq,
        )
    return MoESpec(
        experts=experts,
        top_k=top_k,
        shared_experts=shared,
        expert_ffn=expert_ffn,
        dense_layers=dense,
        layer_freq=freq,
    )


def _mla(r: _Reader) -> MLASpec | None:
    if not r.has("kv_lora_rank"):
        return None
    return MLASpec(
        q_lora_rank=r.get_int("q_lora_rank", default=0, minimum=0),
        kv_lora_rank=r.get_int("kv_lora_rank"),
        qk_nope_head_dim=r.get_int("qk_nope_head_dim"),
        qk_rope_head_dim=r.get_int("qk_rope_head_dim", minimum=0),
        v_head_dim=r.get_int("v_head_dim"),
    )


def model_from_hf_config(cfg: dict, *, file: str | None = None) -> ModelSpec:
    """Map a Hugging Face ``config.json`` mapping to a ``ModelSpec`` (see the module table).

    Raises ``SpecError`` naming the config key and ``file`` when a required key is missing, a
    value has the wrong type, or the architecture cannot be represented by ``ModelSpec``.
    """
    if not isinstance(cfg, dict):
        raise SpecError(f"a config.json must be a JSON object, got {type(cfg).__name__}", file=file)
    text = cfg.get("text_config")
    if "num_hidden_layers" not in cfg and isinstance(text, dict):
        cfg = {**{k: v for k, v in cfg.items() if k != "text_config"}, **text}
    r = _Reader(cfg, file)
    model_type = cfg.get("model_type") if isinstance(cfg.get("model_type"), str) else ""

    layers = r.get_int("num_hidden_layers", "n_layer", "num_layers")
    hidden = r.get_int("hidden_size", "n_embd", "d_model")
    heads = r.get_int("num_attention_heads", "n_head")
    kv_heads = r.get_int("num_key_value_heads", "num_kv_heads", default=heads)
    if heads % kv_heads:
        raise SpecError(
            f"num_attention_heads {heads} is not a multiple of it",
            file=file,
            field=r.first("num_key_value_heads", "num_kv_heads"),
            value=kv_heads,
            allowed=f"a divisor of {heads}",
        )
    vocab = r.get_int("vocab_size")
    if r.first("intermediate_size", "ffn_dim", "n_inner") is None and (
        "n_embd" in cfg or model_type in ("gpt2", "bloom")
    ):
        ffn = 4 * hidden  # GPT-2 (n_inner null) and BLOOM: 4 x hidden
    else:
        ffn = r.get_int("intermediate_size", "ffn_dim", "n_inner")
    activation = _activation(r, model_type)
    tied = r.get_bool("tie_word_embeddings", default=not model_type.startswith(_UNTIED_BY_DEFAULT))
    mla = _mla(r)
    head_dim = None if mla is not None else r.get_int("head_dim", default=0, minimum=0) or None
    if head_dim is not None and head_dim * heads == hidden:
        head_dim = None  # the default; keeps configs with and without the key equal
    try:
        moe = _moe(r, layers, hidden, ffn)
        return ModelSpec(
            name=_name(cfg, file),
            layers=layers,
            hidden=hidden,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            ffn=ffn,
            vocab=vocab,
            activation=activation,
            tied_embeddings=tied,
            moe=moe,
            mla=mla,
            mtp_layers=r.get_int("num_nextn_predict_layers", default=0, minimum=0),
        )
    except ValidationError as exc:
        raise spec_error(exc, file=file, what="model from config.json") from None


__all__ = ["model_from_hf_config"]
