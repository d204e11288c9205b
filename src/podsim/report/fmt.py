"""Number formatting for report tables (no computation beyond unit conversion)."""

from __future__ import annotations

import math

from podsim.units import format_quantity

NA = "n/a"


def ok(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def q(x: float | None, dim: str, digits: int = 3) -> str:
    """A quantity with its unit ("1.23 PFLOPS"); n/a when unknown."""
    return format_quantity(float(x), dim, digits) if ok(x) else NA  # type: ignore[arg-type]


def num(x: float | None, digits: int = 3) -> str:
    """A plain number: thousands separators for large ones, significant digits for small."""
    if not ok(x):
        return NA
    x = float(x)  # type: ignore[arg-type]
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:,.{digits}g}"


def pct(x: float | None, digits: int = 1) -> str:
    return f"{100 * float(x):.{digits}f}%" if ok(x) else NA  # type: ignore[arg-type]


def signed_pct(x: float | None, digits: int = 1) -> str:
    return f"{100 * float(x):+.{digits}f}%" if ok(x) else NA  # type: ignore[arg-type]


def money(x: float | None) -> str:
    if not ok(x):
        return NA
    x = float(x)  # type: ignore[arg-type]
    for div, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= div:
            return f"${x / div:,.3g}{suffix}"
    return f"${x:,.0f}" if abs(x) >= 100 else f"${x:.3g}"
