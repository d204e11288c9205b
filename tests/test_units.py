"""Units: decimal vs binary prefixes, bits vs bytes, clear errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podsim.errors import UnitError
from podsim.units import format_quantity, parse_quantity


@pytest.mark.parametrize(
    ("text", "dim", "si"),
    [
        ("1.6 TB/s", "bandwidth", 1.6e12),
        ("144 GB", "bytes", 144e9),
        ("64 GiB", "bytes", 64 * 2**30),
        ("2 PFLOPS", "flops", 2e15),
        ("400 Gb/s", "bandwidth", 50e9),
        ("400 Gbps", "bandwidth", 50e9),
        ("50 ms", "time", 0.05),
        ("1.2 us", "time", 1.2e-6),
        ("559 kW", "power", 559e3),
        ("1000 m2", "area", 1000.0),
        ("1,000 m²", "area", 1000.0),
        ("$3.1M", "money", 3.1e6),
        ("54 days", "time", 54 * 86400.0),
    ],
)
def test_parse_known_spellings(text: str, dim: str, si: float) -> None:
    assert parse_quantity(text, dim) == pytest.approx(si)


def test_bits_and_bytes_differ_by_eight() -> None:
    assert parse_quantity("8 Gb/s", "bandwidth") == parse_quantity("1 GB/s", "bandwidth")


def test_binary_and_decimal_prefixes_are_kept_apart() -> None:
    assert parse_quantity("1 GiB", "bytes") / parse_quantity("1 GB", "bytes") == pytest.approx(
        2**30 / 1e9
    )


@pytest.mark.parametrize(
    ("text", "dim"),
    [("1.6 TBs", "bandwidth"), ("144 GB", "bandwidth"), ("fast", "flops"), ("12", "power")],
)
def test_bad_units_name_the_value_and_the_allowed_spellings(text: str, dim: str) -> None:
    with pytest.raises(UnitError) as exc:
        parse_quantity(text, dim, field="hbm_bandwidth")
    msg = str(exc.value)
    assert "hbm_bandwidth" in msg and text in msg and "allowed" in msg


@given(st.floats(min_value=1e-3, max_value=1e24, allow_nan=False))
def test_format_then_parse_round_trips(x: float) -> None:
    text = format_quantity(x, "flops", digits=12)
    assert parse_quantity(text, "flops") == pytest.approx(x, rel=1e-9)
