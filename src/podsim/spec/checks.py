"""Checks of single numbers given on the command line, outside any spec file."""

from __future__ import annotations

import math

from podsim.errors import SpecError

MAX_DAYS = 36_525.0  # a run or a hardware lifetime: at most 100 years


def finite_number(
    value: float | None,
    field: str,
    what: str,
    *,
    zero_ok: bool = False,
    most: float | None = None,
) -> float | None:
    """``value`` unchanged if it is a finite number above zero (or zero, with ``zero_ok``) and
    at most ``most``; ``None`` passes (not given). Anything else is an error naming the field,
    the value and the allowed range."""
    if value is None:
        return None
    low = "0" if zero_ok else "more than 0"
    if most is not None:
        allowed = f"{low} up to {most:,g}"
    else:
        allowed = "a finite number, 0 or more" if zero_ok else "a finite number above 0"
    ok = (
        math.isfinite(value)
        and (value >= 0 if zero_ok else value > 0)
        and (most is None or value <= most)
    )
    if not ok:
        raise SpecError(f"{what} out of range", field=field, value=value, allowed=allowed)
    return value
