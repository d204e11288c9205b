"""A sweep: the axes a user varies, as a validated YAML spec.

One spec names the models, the systems (catalog id, YAML path or ``id:N``) and lists of workload
settings; the sweep evaluates every combination (a *point*) with the planner, which searches the
whole parallel-plan space of that point (:mod:`podsim.planner`). Example::

    kind: training
    models: [llama3.1-405b, deepseek-v3]
    systems: [gb200-nvl72-cluster:8064, cloudmatrix-384-cluster:8064, atlas-950-superpod]
    precision: [fp8]
    seq_len: [8192]
    global_batch: [2048]
    top: 3

Serving sweeps vary ``input_len``, ``output_len``, ``precision``, ``kv_precision``, ``tpot`` /
``ttft`` targets (``null`` for none), ``phase`` and ``draft_tokens``. Every list is an axis;
a scalar is a one-value axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from podsim.errors import SpecError
from podsim.io import read_mapping_file
from podsim.spec.errors import spec_error
from podsim.spec.figure import quantity


def _listify(v: Any) -> Any:
    """A scalar axis is a one-value list."""
    return v if isinstance(v, list) else [v]


def axis(item):
    """A non-empty list of ``item`` (a scalar is accepted as a one-value list)."""
    return Annotated[list[item], BeforeValidator(_listify), Field(min_length=1)]


TrainPrecision = Literal["bf16", "fp16", "fp8", "fp4"]
ServePrecision = Literal["bf16", "fp16", "fp8", "int8", "fp4"]
Time = quantity("time")


class SweepSpec(BaseModel):
    """The axes of a sweep (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["training", "serving"]
    models: axis(str)
    systems: axis(str)
    precision: axis(str) = ["bf16"]
    top: int = Field(default=1, ge=1, le=100, description="best plans kept per point")
    # training
    seq_len: axis(Annotated[int, Field(ge=1)]) = [4096]
    global_batch: axis(Annotated[int, Field(ge=1)] | None) = [None]  # None: ~4M tokens
    objective: str | None = None  # training: throughput | mfu | cost; serving: chip | kw | dollar
    # serving
    input_len: axis(Annotated[int, Field(ge=1)]) = [4096]
    output_len: axis(Annotated[int, Field(ge=1)]) = [1024]
    kv_precision: axis(ServePrecision | None) = [None]
    tpot: axis(Time | None) = [None]
    ttft: axis(Time | None) = [None]
    phase: axis(Literal["end_to_end", "decode", "prefill", "disaggregated"]) = ["end_to_end"]
    draft_tokens: axis(Annotated[int, Field(ge=0)]) = [0]

    def check_kind(self, raw: dict) -> None:
        """Axes of the other kind are an error (they would silently do nothing)."""
        serving_only = {"input_len", "output_len", "kv_precision", "tpot", "ttft", "phase"}
        serving_only |= {"draft_tokens"}
        training_only = {"seq_len", "global_batch"}
        wrong = (serving_only if self.kind == "training" else training_only) & set(raw)
        if wrong:
            name = sorted(wrong)[0]
            raise SpecError(
                f"not an axis of a {self.kind} sweep",
                field=name,
                allowed=", ".join(
                    sorted(training_only if self.kind == "training" else serving_only)
                ),
            )
        allowed = TRAIN_PRECISIONS if self.kind == "training" else SERVE_PRECISIONS
        for p in self.precision:
            if p not in allowed:
                raise SpecError(
                    f"unknown {self.kind} precision",
                    field="precision",
                    value=p,
                    allowed=", ".join(allowed),
                )
        objectives = TRAIN_OBJECTIVES if self.kind == "training" else SERVE_OBJECTIVES
        if self.objective is not None and self.objective not in objectives:
            raise SpecError(
                f"unknown {self.kind} objective",
                field="objective",
                value=self.objective,
                allowed=", ".join(objectives),
            )

    @property
    def goal(self) -> str:
        """The objective, or the kind's default."""
        if self.objective is not None:
            return self.objective
        return "throughput" if self.kind == "training" else "chip"


TRAIN_PRECISIONS = ("bf16", "fp16", "fp8", "fp4")
SERVE_PRECISIONS = ("bf16", "fp16", "fp8", "int8", "fp4")
TRAIN_OBJECTIVES = ("throughput", "mfu", "cost")
SERVE_OBJECTIVES = ("chip", "kw", "dollar")


def builtin_sweeps() -> list[str]:
    from podsim.catalog import DATA

    return sorted(p.stem for p in (DATA / "sweeps").glob("*.yaml"))


def load_sweep(ref: str | Path) -> SweepSpec:
    """A sweep spec from a YAML file, or a built-in one by name (``catalog/data/sweeps``)."""
    from podsim.catalog import DATA

    path = Path(ref)
    if not path.suffix:
        builtin = DATA / "sweeps" / f"{ref}.yaml"
        if not builtin.exists():
            raise SpecError(
                "unknown sweep: neither a YAML file nor a built-in sweep",
                field="sweep",
                value=str(ref),
                allowed=", ".join(builtin_sweeps()) + ", or a path to a .yaml spec",
            )
        path = builtin
    raw = read_mapping_file(path, what="sweep spec")
    return parse_sweep(raw, file=str(path))


def parse_sweep(raw: Any, *, file: str | None = None) -> SweepSpec:
    """Validate a sweep mapping; every problem names the field and what is allowed."""
    if not isinstance(raw, dict):
        raise SpecError("a sweep spec must be a mapping of axes", file=file)
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise spec_error(exc, file=file, what="sweep") from None
    try:
        spec.check_kind(raw)
    except SpecError as exc:
        raise exc.with_file(file) if file else exc from None
    return spec
