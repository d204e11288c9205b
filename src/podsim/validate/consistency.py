"""How consistent the validation cases are with each other.

A model that sees only a case's inputs (the ``model`` block without ``name``, ``system``, the
``training`` / ``serving`` block, ``kind`` and ``measured.metric``) gives one prediction ``p`` to
every case whose inputs are identical. For such a group with measured values ``lo..hi`` the best
single prediction is ``p* = 2 lo hi / (lo + hi)`` and its max |relative error| over the group is
``floor = (hi - lo) / (hi + lo)``: no deterministic model of these fields can do better on that
group, so the floor bounds a validation max |error| from below.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any


def _norm(v: Any) -> Any:
    """Canonical form: strings lowercased without spaces, integral floats as ints."""
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, str):
        return "".join(v.split()).lower()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def input_key(case: dict[str, Any], *, drop_chip: bool = False) -> str:
    """Every field a model can see, as a canonical string."""
    model = {k: v for k, v in (case.get("model") or {}).items() if k != "name"}
    system = dict(case.get("system") or {})
    if drop_chip:
        system.pop("chip", None)
    kind = case.get("kind")
    key = {
        "kind": kind,
        "metric": (case.get("measured") or {}).get("metric"),
        "model": model,
        "system": system,
        "plan": case.get(kind) if kind in ("training", "serving") else None,
    }
    return json.dumps(_norm(key), sort_keys=True, default=str)


def _value(case: dict[str, Any]) -> float:
    return float(case["measured"]["value"])


@dataclass(frozen=True)
class Group:
    """Cases with identical inputs and their measured spread."""

    kind: str
    metric: str
    ids: tuple[str, ...]
    values: tuple[float, ...]

    @property
    def ratio(self) -> float:
        return max(self.values) / min(self.values)

    @property
    def floor(self) -> float:
        lo, hi = min(self.values), max(self.values)
        return (hi - lo) / (hi + lo)

    @property
    def best_prediction(self) -> float:
        lo, hi = min(self.values), max(self.values)
        return 2.0 * lo * hi / (lo + hi)


def identical_input_groups(cases: list[dict[str, Any]]) -> list[Group]:
    """Groups of two or more cases with identical inputs, smallest floor first."""
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        by_key[input_key(c)].append(c)
    out = [
        Group(
            str(g[0].get("kind")),
            str(g[0]["measured"]["metric"]),
            tuple(str(c["id"]) for c in g),
            tuple(_value(c) for c in g),
        )
        for g in by_key.values()
        if len(g) >= 2
    ]
    return sorted(out, key=lambda g: g.floor)


def chip_only_pairs(cases: list[dict[str, Any]]) -> list[tuple[dict, dict]]:
    """Pairs of cases whose inputs differ only in ``system.chip``."""
    loose: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        loose[input_key(c, drop_chip=True)].append(c)
    pairs = []
    for g in loose.values():
        for a, b in combinations(g, 2):
            ca, cb = (a.get("system") or {}).get("chip"), (b.get("system") or {}).get("chip")
            if _norm(ca) != _norm(cb):
                pairs.append((a, b))
    return pairs


# a group whose floor is below this is measurement noise, not a contradiction worth naming
NAMED_FLOOR = 0.05


def contradicting_groups(cases: list) -> list[Group]:
    """Groups of parsed cases (:class:`podsim.spec.case.ValidationCase`) with identical inputs
    whose measurements disagree by more than ``NAMED_FLOOR``, largest floor first: the max
    |error| of any model of the case fields is at least each group's floor."""
    dumped = [c.model_dump(mode="json") for c in cases]
    groups = [g for g in identical_input_groups(dumped) if g.floor > NAMED_FLOOR]
    return sorted(groups, key=lambda g: -g.floor)
