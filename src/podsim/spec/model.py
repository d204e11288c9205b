"""Transformer model architecture spec (the validation-case format, which the catalog also uses)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from podsim.spec.base import Spec
from podsim.spec.errors import FieldError

# Upper bounds far beyond any published model, so that a mistyped size is an error naming the
# field instead of an integer overflow or a silently meaningless answer deep in the model.
MAX_LAYERS = 100_000
MAX_WIDTH = 10_000_000  # hidden, ffn, expert_ffn, heads, head dims, MLA ranks
MAX_VOCAB = 100_000_000
MAX_EXPERTS = 10_000_000  # routed experts per layer (PEER-style models use ~1M)
MAX_PARAMS = 1e15  # total parameters (the largest published models have ~2e12)
Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]


class MoESpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    experts: int = Field(ge=1, le=MAX_EXPERTS, description="routed experts per MoE layer")
    top_k: int = Field(ge=1, le=MAX_EXPERTS)
    shared_experts: int = Field(default=0, ge=0, le=MAX_EXPERTS)
    expert_ffn: Width
    dense_layers: int = Field(default=0, ge=0, le=MAX_LAYERS)
    layer_freq: int = Field(
        default=1, ge=1, le=MAX_LAYERS, description="every Nth layer after the dense ones is MoE"
    )

    @model_validator(mode="after")
    def _k(self) -> MoESpec:
        if self.top_k > self.experts:
            raise FieldError(
                f"top_k {self.top_k} exceeds experts {self.experts}: a token cannot be routed "
                "to more experts than the layer has",
                field="top_k",
                value=self.top_k,
                allowed=f"1 to experts ({self.experts})",
            )
        return self


class MLASpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    q_lora_rank: int | None = Field(
        ge=0,
        le=MAX_WIDTH,
        description="0 or null: no low-rank query projection (DeepSeek-V2-Lite's config.json "
        "writes null)",
    )
    kv_lora_rank: Width
    qk_nope_head_dim: Width
    qk_rope_head_dim: int = Field(ge=0, le=MAX_WIDTH)
    v_head_dim: Width

    @field_validator("q_lora_rank", mode="after")
    @classmethod
    def _full_rank_query(cls, v: int | None) -> int:
        return 0 if v is None else v


class ModelSpec(Spec):
    """A decoder-only transformer: dense or MoE, MHA/GQA or MLA, optional MTP modules."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    layers: int = Field(ge=1, le=MAX_LAYERS)
    hidden: Width
    heads: Width
    kv_heads: Width
    head_dim: Width | None = None
    ffn: Width
    vocab: int = Field(ge=1, le=MAX_VOCAB)
    activation: Literal["swiglu", "gelu"] = "swiglu"
    tied_embeddings: bool = False
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    mtp_layers: int = Field(default=0, ge=0, le=MAX_LAYERS)
    # catalog-only metadata (optional in validation cases)
    source: str | None = None
    published_params: float | None = Field(
        default=None, gt=0, description="published total parameters"
    )
    published_active_params: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if self.heads % self.kv_heads != 0:
            raise FieldError(
                f"heads {self.heads} is not a multiple of kv_heads {self.kv_heads}: each key/value "
                "head must serve the same number of query heads",
                field="kv_heads",
                value=self.kv_heads,
                allowed=f"a divisor of heads ({self.heads}): {_divisors_text(self.heads)}",
            )
        # without head_dim a head has hidden // heads dimensions (Hugging Face's default, which
        # floors too); more heads than hidden would give heads of zero size
        if self.mla is None and self.head_dim is None and self.heads > self.hidden:
            raise FieldError(
                f"{self.heads} heads of a {self.hidden}-wide hidden state leave each head "
                "hidden // heads = 0 dimensions",
                field="heads",
                value=self.heads,
                allowed=f"1 to hidden ({self.hidden}), or give head_dim explicitly",
            )
        if self.moe is not None and self.moe.dense_layers >= self.layers:
            raise FieldError(
                f"moe.dense_layers {self.moe.dense_layers} leaves no MoE layer among the "
                f"{self.layers} layers (for a dense model, leave out the moe block)",
                field="moe.dense_layers",
                value=self.moe.dense_layers,
                allowed=f"0 to layers - 1 ({self.layers - 1})",
            )
        from podsim.workload.params import param_counts

        pc = param_counts(self)
        if pc.total > MAX_PARAMS:
            parts = {
                "vocab": pc.embedding + pc.lm_head,
                "moe.experts": pc.expert_params,
                "mtp_layers": pc.mtp,
            }
            field = max(parts, key=parts.__getitem__)
            if parts[field] < pc.total / 2:  # the decoder layers: too many, or too wide
                field = "hidden" if pc.layers_total / self.layers > 1e12 else "layers"
            value = (
                self.moe.experts if field == "moe.experts" and self.moe else getattr(self, field)
            )
            raise FieldError(
                f"the model has {pc.total:.3g} parameters, beyond the {MAX_PARAMS:.0e} podsim "
                f"models (the largest published models have about 2e12)",
                field=field,
                value=value,
                allowed=f"sizes that give at most {MAX_PARAMS:.0e} parameters",
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


def _divisors_text(n: int) -> str:
    """The divisors of ``n`` as text, the first and last few when there are many."""
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    divs = sorted({*small, *(n // d for d in small)})
    if len(divs) > 12:
        return ", ".join(map(str, divs[:6])) + ", ..., " + ", ".join(map(str, divs[-3:]))
    return ", ".join(map(str, divs))
