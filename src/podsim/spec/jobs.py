"""Training and serving job specs (the validation-case format's `training` and `serving` blocks)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from podsim.spec.figure import quantity

TrainPrecision = Literal["bf16", "fp16", "fp8", "fp4"]
ServePrecision = Literal["bf16", "fp16", "fp8", "int8", "fp4"]


class TrainingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    precision: TrainPrecision = "bf16"
    seq_len: int = Field(ge=1)
    global_batch: int = Field(ge=1, description="sequences per optimizer step")
    micro_batch: int = Field(default=1, ge=1)
    tp: int = Field(default=1, ge=1)
    pp: int = Field(default=1, ge=1)
    cp: int = Field(default=1, ge=1)
    ep: int = Field(default=1, ge=1)
    dp: int | None = Field(default=None, ge=1)
    vpp: int = Field(default=1, ge=1)
    sequence_parallel: bool = True
    zero: Literal[0, 1, 2, 3] = 1
    recompute: Literal["none", "selective", "full"] = "none"


class SLOSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tpot: quantity("time") | None = None
    ttft: quantity("time") | None = None


class SpeculativeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    draft_tokens: int = Field(ge=1)
    acceptance_rate: float | None = Field(default=None, ge=0.0, le=1.0)


class ServingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    precision: ServePrecision = "bf16"
    kv_precision: ServePrecision | None = None
    phase: Literal["prefill", "decode", "end_to_end"] = "end_to_end"
    input_len: int = Field(ge=1)
    output_len: int = Field(ge=1)
    batch: int | None = Field(default=None, ge=1)
    tp: int = Field(default=1, ge=1)
    ep: int = Field(default=1, ge=1)
    dp: int = Field(default=1, ge=1)
    pp: int = Field(default=1, ge=1)
    slo: SLOSpec | None = None
    speculative: SpeculativeSpec | None = None
