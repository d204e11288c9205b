"""A sourced figure: a value with its unit, where it comes from and what kind of figure it is."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from podsim.errors import UnitError
from podsim.units import Dimension, parse_quantity

Basis = Literal["vendor-claim", "measured", "analyst-estimate", "derived", "assumption"]
BASIS_VALUES = "vendor-claim, measured, analyst-estimate, derived, assumption"


class Alternative(BaseModel):
    """A value another source gives, recorded where sources disagree."""

    model_config = ConfigDict(extra="forbid")
    value: str | float
    source: str
    note: str | None = None


class Figure(BaseModel):
    """One catalog number. ``value`` is SI (bytes, B/s, FLOP/s, W, m², s, USD); ``text`` as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float
    text: str
    dim: str
    source: str = Field(min_length=3)
    basis: Basis
    note: str | None = None
    alternatives: tuple[Alternative, ...] = ()

    @property
    def is_claim(self) -> bool:
        return self.basis == "vendor-claim"


def _to_figure(raw: Any, dim: Dimension, nonnegative: bool = True) -> Any:
    if isinstance(raw, Figure):
        return raw
    if not isinstance(raw, dict):
        raise ValueError(
            f"a catalog figure must be a mapping with 'value', 'source' and 'basis' (got {raw!r})"
        )
    if "value" not in raw:
        raise ValueError("figure is missing 'value'")
    try:
        si = parse_quantity(raw["value"], dim)
    except UnitError as exc:
        raise ValueError(
            f"{exc.message} (got {raw['value']!r})"
            + (f"; allowed: {exc.allowed}" if exc.allowed else "")
        ) from None
    if not math.isfinite(si):
        raise ValueError(f"must be a finite number (got {raw['value']!r})")
    if nonnegative and si < 0:
        raise ValueError(f"must not be negative (got {raw['value']!r})")
    out = dict(raw)
    out["text"] = str(raw["value"])
    out["value"] = si
    out["dim"] = dim
    return out


def figure(dim: Dimension, *, positive: bool = False, most: float | None = None, unit: str = ""):
    """An annotated Figure type that parses its value with the given dimension; ``most`` (SI,
    written ``unit`` in messages) bounds it where a larger value would overflow the model."""

    def _v(raw: Any) -> Any:
        out = _to_figure(raw, dim)
        if positive and isinstance(out, dict) and out["value"] <= 0:
            raise ValueError(f"must be positive (got {raw.get('value')!r})")
        if most is not None and isinstance(out, dict) and out["value"] > most:
            raise ValueError(f"must be at most {most:g}{unit} (got {raw.get('value')!r})")
        return out

    return Annotated[Figure, BeforeValidator(_v)]


def quantity(dim: Dimension, *, positive: bool = True):
    """An annotated float parsed from a quantity string ('450 GB/s') or a number already in SI."""

    def _v(raw: Any) -> float:
        try:
            si = parse_quantity(raw, dim)
        except UnitError as exc:
            raise ValueError(
                f"{exc.message} (got {raw!r})"
                + (f"; allowed: {exc.allowed}" if exc.allowed else "")
            ) from None
        if not math.isfinite(si):
            raise ValueError(f"must be a finite number (got {raw!r})")
        if positive and si <= 0:
            raise ValueError(f"must be positive (got {raw!r})")
        if not positive and si < 0:
            raise ValueError(f"must not be negative (got {raw!r})")
        return si

    return Annotated[float, BeforeValidator(_v)]
