"""Units: NaN and infinity are never quantities (a '1e400 s' target or a NaN figure was taken)."""

from __future__ import annotations

import math

import pytest

from podsim.errors import UnitError
from podsim.units import parse_quantity


@pytest.mark.parametrize(
    ("value", "dim"),
    [
        ("1e400 s", "time"),  # overflows to inf while parsing
        ("1e400", "count"),
        ("$1e400", "money"),
        ("1e308 PB", "bytes"),  # finite number, overflows once scaled by its unit
        ("-1e400 W", "power"),
        (float("nan"), "time"),
        (float("inf"), "bandwidth"),
        (float("-inf"), "bytes"),
        (10**400, "count"),  # an int beyond float range was an OverflowError traceback
    ],
)
def test_non_finite_quantity_is_an_error_naming_field_and_value(value, dim) -> None:
    with pytest.raises(UnitError) as exc:
        parse_quantity(value, dim, field="hbm_bandwidth")
    msg = str(exc.value)
    assert "field 'hbm_bandwidth'" in msg and "finite" in msg, msg
    if isinstance(value, str):
        assert repr(value) in msg, msg


@pytest.mark.parametrize("text", ["nan ms", "inf GB/s", "NaN", "-inf s"])
def test_nan_and_inf_words_are_not_numbers(text) -> None:
    with pytest.raises(UnitError) as exc:
        parse_quantity(text, "time", field="tpot")
    assert "field 'tpot'" in str(exc.value) and repr(text) in str(exc.value)


def test_largest_finite_values_still_parse() -> None:
    assert math.isfinite(parse_quantity("1.7e308", "count"))
    assert parse_quantity("1e290 PB", "bytes") == pytest.approx(1e305)
