"""Transformer model architecture spec (the validation-case format, which the catalog also uses)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from podsim.spec.base import Spec


class MoESpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    experts: int = Field(ge=1, description="routed experts per MoE layer")
    top_k: int = Field(ge=1)
    shared_experts: int = Field(default=0, ge=0)
    expert_ffn: int = Field(ge=1)
    dense_layers: int = Field(default=0, ge=0)
    layer_freq: int = Field(
        default=1, ge=1, description="every Nth layer after the dense ones is MoE"
    )

    @model_validator(mode="after")
    def _k(self) -> MoESpec:
        if self.top_k > self.experts:
            raise ValueError(f"top_k {self.top_k} exceeds experts {self.experts}")
        return self


class MLASpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    q_lora_rank: int = Field(ge=0, description="0 = no low-rank query projection")
    kv_lora_rank: int = Field(ge=1)
    qk_nope_head_dim: int = Field(ge=1)
    qk_rope_head_dim: int = Field(ge=0)
    v_head_dim: int = Field(ge=1)


class ModelSpec(Spec):
    """A decoder-only transformer: dense or MoE, MHA/GQA or MLA, optional MTP modules."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    layers: int = Field(ge=1)
    hidden: int = Field(ge=1)
    heads: int = Field(ge=1)
    kv_heads: int = Field(ge=1)
    head_dim: int | None = Field(default=None, ge=1)
    ffn: int = Field(ge=1)
    vocab: int = Field(ge=1)
    activation: Literal["swiglu", "gelu"] = "swiglu"
    tied_embeddings: bool = False
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    mtp_layers: int = Field(default=0, ge=0)
    # catalog-only metadata (optional in validation cases)
    source: str | None = None
    published_params: float | None = Field(
        default=None, gt=0, description="published total parameters"
    )
    published_active_params: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if self.heads % self.kv_heads != 0:
            raise ValueError(f"heads {self.heads} is not a multiple of kv_heads {self.kv_heads}")
        if self.moe is not None and self.moe.dense_layers > self.layers:
            raise ValueError(
                f"moe.dense_layers {self.moe.dense_layers} exceeds layers {self.layers}"
            )
        return self

    @property
    def head_size(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads

    @property
    def moe_layers(self) -> int:
        if self.moe is None:
            return 0
        rest = self.layers - self.moe.dense_layers
        return (
            (rest + self.moe.layer_freq - 1) // self.moe.layer_freq
            if self.moe.layer_freq > 1
            else rest
        )

    @property
    def dense_layers(self) -> int:
        return self.layers - self.moe_layers
