"""Validation case: one published measured run (format: shared/validation/FORMAT.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from podsim.spec.base import Spec
from podsim.spec.figure import quantity
from podsim.spec.jobs import ServingSpec, TrainingSpec
from podsim.spec.model import ModelSpec

TRAINING_METRICS = ("tokens_per_s_per_chip", "step_time_s", "mfu")
SERVING_METRICS = (
    "prefill_tokens_per_s_per_chip",
    "decode_tokens_per_s_per_chip",
    "ttft_s",
    "tpot_s",
    "tokens_per_s_per_chip",
)


class CaseSystem(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    chip: str
    chips: int = Field(ge=1)
    scale_up_domain: int = Field(ge=1)
    scale_up_bandwidth: quantity("bandwidth") | None = None
    scale_out_bandwidth: quantity("bandwidth") | None = None


class Measured(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str
    value: float = Field(gt=0)


class Reported(Spec):
    model_config = ConfigDict(extra="allow", frozen=True)
    metric: str | None = None
    value: float | None = None
    conversion: str | None = None


class ValidationCase(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    source: str
    source_url: str | None = None
    trust: Literal["high", "medium", "low"]
    kind: Literal["training", "serving"]
    model: ModelSpec
    system: CaseSystem
    training: TrainingSpec | None = None
    serving: ServingSpec | None = None
    measured: Measured
    reported: Reported | None = None
    notes: str | None = None
    # fields the case gives that FORMAT.md does not define, which the reader set aside
    # (podsim.validate.runner.parse_case); empty for a case read strictly
    _ignored: tuple[str, ...] = PrivateAttr(default=())

    @property
    def ignored_fields(self) -> tuple[str, ...]:
        return self._ignored

    @model_validator(mode="after")
    def _kind(self) -> ValidationCase:
        if self.kind == "training":
            if self.training is None:
                raise ValueError("a training case needs a 'training' block")
            if self.measured.metric not in TRAINING_METRICS:
                raise ValueError(
                    f"measured.metric '{self.measured.metric}' is not a training metric "
                    f"(allowed: {', '.join(TRAINING_METRICS)})"
                )
        else:
            if self.serving is None:
                raise ValueError("a serving case needs a 'serving' block")
            if self.measured.metric not in SERVING_METRICS:
                raise ValueError(
                    f"measured.metric '{self.measured.metric}' is not a serving metric "
                    f"(allowed: {', '.join(SERVING_METRICS)})"
                )
        return self
