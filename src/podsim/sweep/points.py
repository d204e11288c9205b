"""The points of a sweep: every combination of its axes, each with a stable key.

A point's key is a hash of what it asks (kind, model, system and chip count, workload settings,
objective, plans kept) and of the podsim code and catalog that answer it, so a results store can
tell which points it already holds: re-running a sweep computes only the points it lacks, a grown
spec (another model, another system) reuses every point already done, and a changed model or
catalog recomputes them all.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from podsim import catalog
from podsim.hardware.resolve import parse_system_ref, resolve_system_arg
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
)


@functools.cache
def model_fingerprint() -> str:
    """A hash of the podsim code and catalog data that produce a result (part of every point's
    key): a result computed by another version of the model or of the catalog is not reused."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".json") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Point:
    """One evaluation of a sweep: the settings of every axis, and what to keep."""

    kind: str
    settings: tuple[tuple[str, object], ...]  # (axis, value) in axis order
    objective: str
    top: int

    @property
    def values(self) -> dict[str, object]:
        return dict(self.settings)

    @property
    def key(self) -> str:
        doc = {
            "kind": self.kind,
            "objective": self.objective,
            "top": self.top,
            "podsim": model_fingerprint(),
            **self.values,
            # a model or system given as a file: its content, not only its name
            "files": [_file_hash(self.values["model"]), _file_hash(self.values["system"])],
        }
        text = json.dumps(doc, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def _file_hash(ref: object) -> str | None:
    name = parse_system_ref(str(ref)).name if ":" in str(ref) else str(ref)
    path = Path(name)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return None


def expand(spec: SweepSpec) -> list[Point]:
    """Every distinct combination of the spec's axes, in the spec's order. Models and systems
    are resolved first, so an unknown id is reported before any work."""
    for m in spec.models:
        catalog.model(m)
    for s in spec.systems:
        resolve_system_arg(s, None)
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
        )
    points: dict[str, Point] = {}  # a value listed twice on an axis is one point
    for combo in itertools.product(*lists):
        p = Point(spec.kind, tuple(zip(axes, combo, strict=True)), spec.goal, spec.top)
        points.setdefault(p.key, p)
    return list(points.values())
