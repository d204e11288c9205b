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
``ttft`` targets (with a unit, ``'50 ms'``, or ``null`` for none), ``phase``, ``draft_tokens`` and ``prefix_hit`` (the
fraction of each prompt in the prefix cache). Every list is an axis;
a scalar is a one-value axis. Model and system files named with a relative path are looked up
beside the spec file first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_serializer,
)

from podsim.errors import SpecError
from podsim.io import read_mapping_file
from podsim.planner.search import OBJECTIVES as TRAIN_OBJECTIVES
from podsim.planner.serve import OBJECTIVES as SERVE_OBJECTIVES
from podsim.planner.serve import PHASES as SERVE_PHASES
from podsim.spec import jobs
from podsim.spec.errors import spec_error
from podsim.spec.figure import quantity
from podsim.spec.jobs import ServePrecision, TrainPrecision


def _listify(v: Any) -> Any:
    """A scalar axis is a one-value list (a mapping is neither: it is reported as it is)."""
    return v if isinstance(v, list | dict) else [v]


def axis(item):
    """A non-empty list of ``item`` (a scalar is accepted as a one-value list)."""
    return Annotated[list[item], BeforeValidator(_listify), Field(min_length=1)]


# whole numbers only (YAML's true/false are not counts), in the ranges the planner accepts
Tokens = Annotated[jobs.Tokens, Field(strict=True)]
Sequences = Annotated[jobs.Sequences, Field(strict=True)]
DraftTokens = Annotated[jobs.DraftTokens, Field(strict=True)]
Fraction = Annotated[float, Field(ge=0.0, lt=1.0, strict=True, allow_inf_nan=False)]
Time = quantity("time")
# a bare number is seconds in a spec file but milliseconds for `--tpot`: a target needs its unit
LATENCY_FIELDS = ("tpot", "ttft")
LATENCY_EXAMPLE = {"tpot": "'50 ms'", "ttft": "'2 s'"}

# what the jobs and the planner accept (one definition each)
TRAIN_PRECISIONS = get_args(TrainPrecision)
SERVE_PRECISIONS = get_args(ServePrecision)
COMMON_FIELDS = ("kind", "models", "systems", "precision", "top", "objective")
TRAINING_FIELDS = ("seq_len", "global_batch")
SERVING_FIELDS = ("input_len", "output_len", "kv_precision", "tpot", "ttft", "phase")
SERVING_FIELDS += ("draft_tokens", "prefix_hit")
# axes that must have values (null is a value only for targets, kv_precision, global_batch)
REQUIRED_VALUES = ("models", "systems", "precision", "seq_len", "input_len", "output_len")
REQUIRED_VALUES += ("phase", "draft_tokens", "prefix_hit")
_BUILTIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SweepSpec(BaseModel):
    """The axes of a sweep (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["training", "serving"]
    models: axis(str)
    systems: axis(str)
    precision: axis(str) = ["bf16"]
    top: Annotated[int, Field(ge=1, le=100, strict=True)] = 1  # best plans kept per point
    objective: str | None = None  # training: throughput | mfu | cost; serving: chip | kw | dollar
    # training
    seq_len: axis(Tokens) = [4096]
    global_batch: axis(Sequences | None) = [None]  # None: ~4M tokens per step
    # serving
    input_len: axis(Tokens) = [4096]
    output_len: axis(Tokens) = [1024]
    kv_precision: axis(ServePrecision | None) = [None]
    tpot: axis(Time | None) = [None]
    ttft: axis(Time | None) = [None]
    phase: axis(Literal[SERVE_PHASES]) = ["end_to_end"]
    draft_tokens: axis(DraftTokens) = [0]
    prefix_hit: axis(Fraction) = [0.0]
    _source: str | None = PrivateAttr(default=None)

    @field_serializer(*LATENCY_FIELDS)
    def _targets_with_unit(self, v: list[float | None]) -> list[str | None]:
        """Targets dump with their unit, so a dumped spec parses back to the same targets."""
        return [None if x is None else f"{x!r} s" for x in v]

    @property
    def source(self) -> str | None:
        """The file the spec was read from (None for a spec built in Python)."""
        return self._source

    def check_kind(self, raw: dict) -> None:
        """Axes of the other kind are an error (they would silently do nothing)."""
        other = SERVING_FIELDS if self.kind == "training" else TRAINING_FIELDS
        own = TRAINING_FIELDS if self.kind == "training" else SERVING_FIELDS
        defaults = SweepSpec.model_fields
        for name in sorted(set(other) & set(raw)):
            if getattr(self, name) != defaults[name].default:  # a dump's defaults are harmless
                raise SpecError(
                    f"not an axis of a {self.kind} sweep",
                    field=name,
                    allowed=", ".join(COMMON_FIELDS + own),
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


def builtin_sweeps() -> list[str]:
    from podsim.catalog import DATA

    return sorted(p.stem for p in (DATA / "sweeps").glob("*.yaml"))


def load_sweep(ref: str | Path) -> SweepSpec:
    """A sweep spec from a file, or a built-in one by name (``catalog/data/sweeps``)."""
    from podsim.catalog import DATA

    path = Path(ref)
    if not path.is_file():
        name = str(ref)
        builtin = DATA / "sweeps" / f"{name}.yaml"
        if not _BUILTIN_NAME.match(name) or not builtin.is_file():
            raise SpecError(
                "no such sweep: neither a spec file nor a built-in sweep",
                field="sweep",
                value=name,
                allowed=", ".join(builtin_sweeps()) + ", or the path of a YAML spec",
            )
        path = builtin
    raw = read_mapping_file(path, what="sweep spec")
    return parse_sweep(raw, file=str(path))


def _beside(ref: str, base: Path) -> str:
    """A relative model / system file path, resolved beside the spec when it exists there."""
    name, sep, count = ref.rpartition(":") if ":" in ref else (ref, "", "")
    if not name.endswith((".yaml", ".yml", ".json")) or Path(name).is_absolute():
        return ref
    near = base / name
    return f"{near}{sep}{count}" if near.is_file() else ref


def parse_sweep(raw: Any, *, file: str | None = None) -> SweepSpec:
    """Validate a sweep mapping; every problem names the field and what is allowed."""
    if not isinstance(raw, dict):
        raise SpecError("a sweep spec must be a mapping of axes", file=file)
    fields = tuple(SweepSpec.model_fields)
    for name in raw:
        if name not in fields:
            raise SpecError(
                "unknown field in sweep", file=file, field=str(name), allowed=", ".join(fields)
            )
    for name in (f for f in fields if f not in ("kind", "top", "objective")):  # the axes
        if name in raw and (raw[name] == [] or (raw[name] is None and name in REQUIRED_VALUES)):
            raise SpecError(
                "an axis needs at least one value"
                + ("" if name in REQUIRED_VALUES else " (null for none)"),
                file=file,
                field=name,
                value=raw[name],
            )
        if isinstance(raw[name] if name in raw else None, dict):
            raise SpecError(
                "an axis is a list of values (or one value), not a mapping",
                file=file,
                field=name,
                value=raw[name],
            )
    for name in LATENCY_FIELDS:
        vals = raw.get(name)
        for v in vals if isinstance(vals, list) else [vals]:
            if isinstance(v, int | float) and not isinstance(v, bool):
                raise SpecError(
                    "a latency target needs its unit (a bare number is seconds in a spec "
                    "file but milliseconds for --tpot on the command line)",
                    file=file,
                    field=name,
                    value=v,
                    allowed=f"a time such as {LATENCY_EXAMPLE[name]}, or null for none",
                )
    if file is not None:
        base = Path(file).parent
        raw = dict(raw)
        for name in ("models", "systems"):
            vals = raw.get(name)
            if isinstance(vals, str):
                raw[name] = _beside(vals, base)
            elif isinstance(vals, list):
                raw[name] = [_beside(v, base) if isinstance(v, str) else v for v in vals]
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise spec_error(exc, file=file, what="sweep") from None
    try:
        spec.check_kind(raw)
    except SpecError as exc:
        raise exc.with_file(file) if file else exc from None
    spec.__pydantic_private__["_source"] = file  # frozen model: private attributes stay settable
    return spec
