"""The points of a sweep: every combination of its axes, each with a stable key.

A point's key is a hash of what it asks -- kind, workload settings, objective, plans kept, and
the *content* of its model and system (the resolved architecture, chip and levels, so an edited
YAML file or a chip file a system names counts, not only its path) -- and of the podsim code and
catalog that answer it. A results store can then tell which points it already holds:
re-running a sweep computes only the points it lacks, a grown spec (another model, another
system) reuses every point already done, and a changed model, file or calibration recomputes
them. The key is computed once, when the spec is expanded, and travels with the point to the
worker that evaluates it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from podsim import catalog
from podsim.errors import PodsimError, SpecError
from podsim.hardware.resolve import resolve_system_arg
from podsim.sweep.spec import SweepSpec

TRAINING_AXES = ("model", "system", "precision", "seq_len", "global_batch")
SERVING_AXES = (
    "model",
    "system",
    "precision",
    "kv_precision",
    "input_len",
    "output_len",
    "tpot",
    "ttft",
    "phase",
    "draft_tokens",
    "prefix_hit",
)
# presentation and validation data do not change a prediction
_NOT_MODEL = ("cli", "report", "validation", "__pycache__")


@functools.cache
def model_fingerprint() -> str:
    """A hash of the podsim modelling code and catalog data (part of every point's key): a
    result computed by another version of the model or of the catalog is not reused."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix in (".py", ".yaml", ".json") and not set(rel.parts) & set(_NOT_MODEL):
            h.update(str(rel).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Point:
    """One evaluation of a sweep: the settings of every axis, what to keep, and its key."""

    kind: str
    settings: tuple[tuple[str, object], ...]  # (axis, value) in axis order
    objective: str
    top: int
    key: str

    @property
    def values(self) -> dict[str, object]:
        return dict(self.settings)


def _digest(obj: object) -> str:
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


def resolve_contents(spec: SweepSpec, file: str | None = None) -> dict[str, str]:
    """{model or system reference: hash of what it resolves to}. Files are read afresh (the
    catalog caches files by path), and an unknown id or unreadable file is reported with the
    spec's field before any work."""
    catalog.clear_cache()
    out: dict[str, str] = {}
    for field, refs, resolve in (
        ("models", spec.models, lambda r: catalog.model(r)),
        ("systems", spec.systems, lambda r: resolve_system_arg(r, None)),
    ):
        for ref in refs:
            try:
                out[ref] = _digest(resolve(ref))
            except PodsimError as exc:
                raise SpecError(
                    exc.message, file=file, field=field, value=ref, allowed=exc.allowed
                ) from None
    return out


def expand(spec: SweepSpec, *, file: str | None = None) -> list[Point]:
    """Every distinct combination of the spec's axes, in the spec's order (see the module
    docstring). ``file``: the spec's file, for error messages."""
    contents = resolve_contents(spec, file)
    if spec.kind == "training":
        axes = TRAINING_AXES
        lists = (spec.models, spec.systems, spec.precision, spec.seq_len, spec.global_batch)
    else:
        axes = SERVING_AXES
        lists = (
            spec.models,
            spec.systems,
            spec.precision,
            spec.kv_precision,
            spec.input_len,
            spec.output_len,
            spec.tpot,
            spec.ttft,
            spec.phase,
            spec.draft_tokens,
            spec.prefix_hit,
        )
    fingerprint = model_fingerprint()
    points: dict[str, Point] = {}  # a value listed twice on an axis is one point
    for combo in itertools.product(*lists):
        settings = tuple(zip(axes, combo, strict=True))
        values = dict(settings)
        doc = {
            "kind": spec.kind,
            "objective": spec.goal,
            "top": spec.top,
            "podsim": fingerprint,
            **values,
            "model_content": contents[str(values["model"])],
            "system_content": contents[str(values["system"])],
        }
        key = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
        points.setdefault(key[:20], Point(spec.kind, settings, spec.goal, spec.top, key[:20]))
    return list(points.values())
