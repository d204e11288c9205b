"""Training and serving job specs (the validation-case format's `training` and `serving` blocks)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from podsim.spec.base import Spec
from podsim.spec.figure import quantity

TrainPrecision = Literal["bf16", "fp16", "fp8", "fp4"]
ServePrecision = Literal["bf16", "fp16", "fp8", "int8", "fp4"]

# Upper bounds far beyond any real job, so that an impossible number is an error naming the
# field instead of an integer overflow deep in the vectorised model.
MAX_TOKENS = 100_000_000  # a sequence, prompt or output length
MAX_SEQUENCES = 100_000_000  # a batch of sequences
MAX_DEGREE = 16_777_216  # a parallel degree (2^24 chips)
MAX_TOP = 100_000  # plans a search lists
MAX_DRAFT_TOKENS = 64  # speculative draft tokens per step
Tokens = Annotated[int, Field(ge=1, le=MAX_TOKENS)]
Sequences = Annotated[int, Field(ge=1, le=MAX_SEQUENCES)]
Degree = Annotated[int, Field(ge=1, le=MAX_DEGREE)]


class TrainingSpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    precision: TrainPrecision = "bf16"
    seq_len: Tokens
    global_batch: Sequences = Field(description="sequences per optimizer step")
    micro_batch: Sequences = 1
    tp: Degree = 1
    pp: Degree = 1
    cp: Degree = 1
    ep: Degree = 1
    dp: Degree | None = None
    vpp: Degree = 1
    sequence_parallel: bool = True
    zero: Literal[0, 1, 2, 3] = 1
    recompute: Literal["none", "selective", "full"] = "none"


class SLOSpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tpot: quantity("time") | None = None
    ttft: quantity("time") | None = None


class SpeculativeSpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    draft_tokens: int = Field(ge=1, le=MAX_DRAFT_TOKENS)
    acceptance_rate: float | None = Field(default=None, ge=0.0, le=1.0)


class ServingSpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    precision: ServePrecision = "bf16"
    kv_precision: ServePrecision | None = None
    phase: Literal["prefill", "decode", "end_to_end"] = "end_to_end"
    input_len: Tokens
    output_len: Tokens
    batch: Sequences | None = None
    tp: Degree = 1
    ep: Degree = 1
    dp: Degree = 1
    pp: Degree = 1
    slo: SLOSpec | None = None
    speculative: SpeculativeSpec | None = None


class TrainingSearchSpec(Spec):
    """What `podsim plan train` searches for: the workload and how many plans to list."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seq_len: Tokens
    global_batch: Sequences | None = Field(
        default=None, description="sequences per optimizer step (default: ~4M tokens)"
    )
    top: int = Field(default=10, ge=1, le=MAX_TOP)
    tp_cap: Degree | None = None


class ServingSearchSpec(Spec):
    """What `podsim plan serve` searches for: the workload and how many plans to list."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    input_len: Tokens
    output_len: Tokens
    draft_tokens: int = Field(default=0, ge=0, le=MAX_DRAFT_TOKENS)
    top: int = Field(default=10, ge=1, le=MAX_TOP)
    tp_cap: Degree | None = None
    slo: SLOSpec | None = None
