"""Training and serving job specs (the validation-case format's `training` and `serving` blocks)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, ValidationError

from podsim.spec.base import Spec
from podsim.spec.errors import spec_error
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
MAX_MOE_IMBALANCE = 64.0  # expert load imbalance, max/mean tokens per expert
Tokens = Annotated[int, Field(ge=1, le=MAX_TOKENS)]
# a mean length over a workload's requests (FORMAT.md: "prompt tokens (mean)"), e.g. MLPerf
# DeepSeek-R1's 803.79 input tokens: a whole number stays one
MeanTokens = Annotated[int | float, Field(ge=1, le=MAX_TOKENS)]
Sequences = Annotated[int, Field(ge=1, le=MAX_SEQUENCES)]
Degree = Annotated[int, Field(ge=1, le=MAX_DEGREE)]
DraftTokens = Annotated[int, Field(ge=0, le=MAX_DRAFT_TOKENS)]  # 0: no speculation


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
    input_len: MeanTokens
    output_len: MeanTokens
    batch: Sequences | None = None
    tp: Degree = 1
    ep: Degree = 1
    dp: Degree = 1
    pp: Degree = 1
    slo: SLOSpec | None = None
    speculative: SpeculativeSpec | None = None


class _SearchSpec(Spec):
    """A planner request: :meth:`checked` is the one check the CLI and the planner's Python API
    (``search_training`` / ``search_serving``) both run, so they accept the same inputs."""

    what: ClassVar[str] = "search"

    @classmethod
    def checked(cls, **fields) -> Self:
        """The request, validated: a mistake is a SpecError naming the field, the value and
        what is allowed (never a pydantic traceback)."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise spec_error(exc, what=cls.what) from None


Degrees = Annotated[tuple[Degree, ...], Field(min_length=1)]


class TrainingSearchSpec(_SearchSpec):
    """What a training plan search (``podsim plan train``, ``search_training``) is asked: the
    workload, how many plans to list and the search options (``None``: the planner's default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    what: ClassVar[str] = "training search"
    seq_len: Tokens
    global_batch: Sequences | None = Field(
        default=None, description="sequences per optimizer step (default: ~4M tokens)"
    )
    precision: TrainPrecision = "bf16"
    top: int = Field(default=10, ge=1, le=MAX_TOP)
    tp_cap: Degree | None = None
    pp_cap: Degree | None = None
    vpp: Degrees | None = None
    cp: Degrees | None = None
    zero: Annotated[tuple[Literal[0, 1, 2, 3], ...], Field(min_length=1)] | None = None
    recompute: Annotated[tuple[Literal[0, 1, 2], ...], Field(min_length=1)] | None = Field(
        default=None, description="0: none, 1: selective, 2: full"
    )
    micro_batch_cap: Sequences | None = None
    moe_imbalance: float | None = Field(default=None, ge=1.0, le=MAX_MOE_IMBALANCE)


class ServingSearchSpec(_SearchSpec):
    """What a serving plan search (``podsim plan serve``, ``search_serving``) is asked: the
    workload, the targets, how many plans to list and the search caps."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    what: ClassVar[str] = "serving search"
    input_len: Tokens
    output_len: Tokens
    precision: ServePrecision = "bf16"
    kv_precision: ServePrecision | None = None
    draft_tokens: DraftTokens = 0
    acceptance: float | None = Field(default=None, ge=0.0, le=1.0)
    top: int = Field(default=10, ge=1, le=MAX_TOP)
    tp_cap: Degree | None = None
    pp_cap: Degree | None = None
    slo: SLOSpec | None = None
