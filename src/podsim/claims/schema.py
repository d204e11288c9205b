"""Schema of ``catalog/data/claims.yaml``: vendor claims and the comparator figures they use.

A claim names the figure the vendor published (a sourced figure with a dimension), the recompute
(a formula key of :mod:`podsim.claims.check` plus its arguments), a tolerance and how to compare
(``approx``: within ±tolerance; ``at_least`` / ``at_most`` for "over a million cards").
Comparators are figures of machines that are not in the catalog (e.g. NVIDIA's Vera Rubin NVL144
as Huawei quoted it), stored as sourced figures so that comparisons can be recomputed.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podsim.errors import UnitError
from podsim.spec.figure import Basis
from podsim.units import parse_quantity

ClaimDim = Literal["count", "flops", "bytes", "bandwidth", "power", "area", "money", "ratio"]
VERDICTS = ("consistent", "inconsistent", "not computable")


def parse_claim_value(raw: str | int | float, dim: str) -> float:
    """SI value of a claimed figure; ratios accept '6.7x' or '6.7'."""
    if dim == "ratio":
        text = str(raw).strip().rstrip("xX×").strip().replace(",", "")
        try:
            value = float(text)
        except ValueError:
            raise UnitError("not a ratio", value=raw, allowed="'6.7x', '15', '2.0'") from None
        if not math.isfinite(value):
            raise UnitError("must be a finite number", value=raw, allowed="'6.7x', '15', '2.0'")
        return value
    return parse_quantity(raw, dim)  # type: ignore[arg-type]


class ClaimFigure(BaseModel):
    """A figure as the vendor (or analyst) published it, with its dimension and source."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: str | int | float
    dim: ClaimDim
    source: str = Field(min_length=3)
    basis: Basis
    note: str | None = None

    @model_validator(mode="after")
    def _parses(self) -> ClaimFigure:
        try:
            parse_claim_value(self.value, self.dim)
        except UnitError as exc:
            msg = f"value {self.value!r}: {exc.message}"
            raise ValueError(msg + (f"; allowed: {exc.allowed}" if exc.allowed else "")) from None
        return self

    @property
    def si(self) -> float:
        return parse_claim_value(self.value, self.dim)

    @property
    def text(self) -> str:
        return str(self.value)


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    subject: str = Field(description="what the claim is about: a catalog system or chip id")
    claim: str = Field(min_length=3, description="the claim in words, as published")
    claimed: ClaimFigure
    recompute: dict[str, Any] = Field(description="{formula: <key>, ...arguments}")
    tolerance: float = Field(ge=0.0, description="relative, e.g. 0.05 = ±5 %")
    comparison: Literal["approx", "at_least", "at_most"] = "approx"
    sources: tuple[str, ...] = Field(min_length=1)
    note: str | None = None

    @field_validator("recompute")
    @classmethod
    def _has_formula(cls, v: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(v.get("formula"), str):
            raise ValueError("recompute needs a 'formula' key naming a recompute formula")
        return v


class ClaimsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    comparators: dict[str, ClaimFigure] = Field(default_factory=dict)
    claims: tuple[Claim, ...] = Field(min_length=1)

    @field_validator("claims")
    @classmethod
    def _unique(cls, v: tuple[Claim, ...]) -> tuple[Claim, ...]:
        seen: set[str] = set()
        for c in v:
            if c.id in seen:
                raise ValueError(f"claim id '{c.id}' appears twice")
            seen.add(c.id)
        return v
