"""Checks of single numbers given on the command line or to the Python API, outside any spec
file: one place for what a finite, real, in-range number or a whole number is."""

from __future__ import annotations

import math

import numpy as np

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


def is_real(value) -> bool:
    """A real number (Python or numpy), not a boolean, text or None."""
    return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)


def _finite(value) -> bool:
    """Whether a real number is finite (Python integers of any size are)."""
    return isinstance(value, int | np.integer) or math.isfinite(value)


def check_number(
    value, field: str, what: str, *, low: float, high: float, allowed: str, low_open: bool = False
) -> float:
    """``value`` as a float if it is a finite real number in [low, high] ((low, high] with
    ``low_open``); anything else (text, None, NaN, out of range) is a SpecError naming it."""
    ok = (
        is_real(value)
        and _finite(value)
        and (value > low if low_open else value >= low)
        and value <= high
    )
    if not ok:
        raise SpecError(what, field=field, value=value, allowed=allowed)
    return float(value)


def check_whole(value, field: str, what: str, *, low: int, high: int) -> int:
    """``value`` as an int if it is a whole number (an integer, or a float with a whole
    value) in [low, high]; anything else is a SpecError naming it."""
    ok = (
        is_real(value)
        and _finite(value)
        and (isinstance(value, int | np.integer) or float(value).is_integer())
        and low <= value <= high
    )
    if not ok:
        raise SpecError(
            what, field=field, value=value, allowed=f"a whole number, {low} to {high:,}"
        )
    return int(value)


def check_choice(value: object, choices: tuple[str, ...], field: str, what: str) -> None:
    """A SpecError ``what`` naming ``field``, the value and the choices unless ``value`` is one
    of ``choices``."""
    if value not in choices:
        raise SpecError(what, field=field, value=value, allowed=", ".join(choices))


# how a Python caller makes each object the model functions take
MAKE_MODEL = "podsim.catalog.model(id or path)"
MAKE_SYSTEM = "podsim.hardware.resolve.resolve_system_arg('id:N', None)"


def check_type(value: object, cls: type, field: str, how: str) -> None:
    """A SpecError naming ``field`` unless ``value`` is a ``cls`` (a dict, a str or None passed
    where an object is expected would otherwise fail later as an AttributeError); ``how``
    says how to make one."""
    if not isinstance(value, cls):
        raise SpecError(
            f"expected a {cls.__name__}", field=field, value=type(value).__name__, allowed=how
        )
