"""Parse quantities with units into SI floats.

Bits and bytes are kept apart (``b`` = bit, ``B`` = byte) and so are decimal (k, M, G, T, P, E, Z:
powers of 10) and binary (Ki, Mi, Gi, Ti, Pi: powers of 2) prefixes. Results are SI:
bytes, bytes/s, FLOP/s, FLOP, seconds, watts, square metres, metres, US dollars.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from podsim.errors import UnitError

Dimension = Literal[
    "bytes",
    "bandwidth",
    "flops",
    "flop",
    "time",
    "power",
    "area",
    "length",
    "money",
    "count",
    "energy",
    "frequency",
]

_DECIMAL = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Z": 1e21,
}
_BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60}

# unit (without prefix) -> (dimension, factor to SI)
_BASE_UNITS: dict[str, tuple[Dimension, float]] = {
    "B": ("bytes", 1.0),
    "b": ("bytes", 1.0 / 8.0),
    "bit": ("bytes", 1.0 / 8.0),
    "B/s": ("bandwidth", 1.0),
    "Bps": ("bandwidth", 1.0),
    "b/s": ("bandwidth", 1.0 / 8.0),
    "bps": ("bandwidth", 1.0 / 8.0),
    "FLOPS": ("flops", 1.0),
    "FLOP/s": ("flops", 1.0),
    "OPS": ("flops", 1.0),
    "OP/s": ("flops", 1.0),
    "FLOP": ("flop", 1.0),
    "W": ("power", 1.0),
    "J": ("energy", 1.0),
    "Wh": ("energy", 3600.0),
    "Hz": ("frequency", 1.0),
    "m": ("length", 1.0),
    "m2": ("area", 1.0),
    "m^2": ("area", 1.0),
    "m²": ("area", 1.0),
}
_TIME_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "day": 86400.0,
    "days": 86400.0,
    "year": 365.25 * 86400.0,
    "years": 365.25 * 86400.0,
}
_MONEY_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9}
_EXAMPLES: dict[str, str] = {
    "bytes": "'144 GB', '64 GiB', '80GB'",
    "bandwidth": "'1.6 TB/s', '400 Gb/s', '392 GB/s'",
    "flops": "'2 PFLOPS', '989 TFLOPS', '1.5 POPS'",
    "flop": "'1.2e18 FLOP', '3 PFLOP'",
    "time": "'50 ms', '2 s', '1.2 us', '3 h', '54 days'",
    "power": "'559 kW', '700 W', '1.2 MW'",
    "area": "'1000 m2', '1,000 m²'",
    "length": "'100 m'",
    "money": "'$3.1M', '3100000 USD', '21000'",
    "count": "'384', '1,024'",
    "energy": "'1.5 MWh', '3 J'",
    "frequency": "'1.8 GHz'",
}

_NUM = r"[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QTY_RE = re.compile(rf"^\s*(?P<num>{_NUM})\s*(?P<unit>[^\d\s].*?)?\s*$")


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("_", ""))


def _unit_table() -> dict[str, tuple[Dimension, float]]:
    table: dict[str, tuple[Dimension, float]] = {}
    for base, (dim, factor) in _BASE_UNITS.items():
        if dim in ("area", "length"):
            table[base] = (dim, factor)
            continue
        for p, mult in _DECIMAL.items():
            table[p + base] = (dim, factor * mult)
        if dim in ("bytes", "bandwidth"):
            for p, mult in _BINARY.items():
                table[p + base] = (dim, factor * mult)
    for u, f in _TIME_UNITS.items():
        table[u] = ("time", f)
    table["km"] = ("length", 1e3)
    table["cm"] = ("length", 1e-2)
    table["mm"] = ("length", 1e-3)
    table["km2"] = ("area", 1e6)
    table["ft2"] = ("area", 0.09290304)
    table["sqft"] = ("area", 0.09290304)
    # "m" clashes with milli; lengths are rare, keep "m" as metre.
    return table


_UNITS = _unit_table()
# 'Tbps' etc. are common spellings of Tb/s
for _p, _mult in _DECIMAL.items():
    _UNITS[_p + "bps"] = ("bandwidth", _mult / 8.0)
    _UNITS[_p + "Bps"] = ("bandwidth", _mult)


def allowed_units(dim: Dimension) -> str:
    """A short human list of spellings accepted for a dimension."""
    return _EXAMPLES.get(dim, dim)


def parse_quantity(value: object, dim: Dimension, *, field: str | None = None) -> float:
    """Parse ``value`` (a string with unit, or a plain number already in SI) into an SI float.

    Raises UnitError naming the field, the value and the allowed spellings; NaN and infinity
    (``float('nan')``, ``'1e400 s'``, a number that overflows its unit) are never quantities.
    """
    si = _parse(value, dim, field)
    if not math.isfinite(si):
        raise UnitError(
            "must be a finite number", field=field, value=value, allowed=allowed_units(dim)
        )
    return si


def _parse(value: object, dim: Dimension, field: str | None) -> float:
    if isinstance(value, bool):
        raise UnitError(
            f"expected a {dim} quantity, not a boolean",
            field=field,
            value=value,
            allowed=allowed_units(dim),
        )
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range
            return math.inf
    if not isinstance(value, str):
        raise UnitError(
            f"expected a {dim} quantity", field=field, value=value, allowed=allowed_units(dim)
        )
    text = value.strip()
    if dim == "money":
        m = re.fullmatch(rf"\s*(?:\$|USD\s*)?({_NUM})\s*(k|K|M|B|bn)?\s*(?:USD|\$)?\s*", text)
        if not m:
            raise UnitError(
                "not a money amount", field=field, value=value, allowed=allowed_units(dim)
            )
        return _number(m.group(1)) * _MONEY_SUFFIX[m.group(2) or ""]
    m = _QTY_RE.match(text)
    if not m:
        raise UnitError(
            f"not a {dim} quantity", field=field, value=value, allowed=allowed_units(dim)
        )
    num = _number(m.group("num"))
    unit = (m.group("unit") or "").strip()
    if dim == "count":
        if unit:
            raise UnitError(
                "a count takes no unit", field=field, value=value, allowed=allowed_units(dim)
            )
        return num
    if not unit:
        raise UnitError(
            f"a {dim} quantity needs a unit", field=field, value=value, allowed=allowed_units(dim)
        )
    if unit not in _UNITS:
        raise UnitError(
            f"unknown unit '{unit}'", field=field, value=value, allowed=allowed_units(dim)
        )
    got_dim, factor = _UNITS[unit]
    if got_dim != dim:
        raise UnitError(
            f"unit '{unit}' is a {got_dim}, expected a {dim}",
            field=field,
            value=value,
            allowed=allowed_units(dim),
        )
    return num * factor


# SI unit symbol of each dimension (and of the derived ratios reports print), for labels
SI_UNITS: dict[str, str] = {
    "count": "",
    "ratio": "x",
    "flops": "FLOP/s",
    "bytes": "B",
    "bandwidth": "B/s",
    "power": "W",
    "area": "m²",
    "money": "USD",
    "flops_per_watt": "FLOP/s/W",
    "bytes_per_watt": "B/W",
}


def format_quantity(si: float, dim: Dimension, digits: int = 3) -> str:
    """Format an SI value with a decimal prefix, e.g. 1.6e12 B/s -> '1.6 TB/s'."""
    unit = {
        "bytes": "B",
        "bandwidth": "B/s",
        "flops": "FLOPS",
        "flop": "FLOP",
        "power": "W",
        "energy": "J",
        "frequency": "Hz",
    }.get(dim)
    if dim == "time":
        for u, f in (
            ("days", 86400.0),
            ("h", 3600.0),
            ("min", 60.0),
            ("s", 1.0),
            ("ms", 1e-3),
            ("us", 1e-6),
            ("ns", 1e-9),
        ):
            if abs(si) >= f:
                return f"{si / f:.{digits}g} {u}"
        return f"{si:.{digits}g} s"
    if dim == "area":
        return f"{si:,.{digits}g} m²"
    if dim == "money":
        for u, f in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
            if abs(si) >= f:
                return f"${si / f:.{digits}g}{u}"
        return f"${si:.{digits}g}"
    if unit is None:
        return f"{si:.{digits}g}"
    for p, f in (
        ("Z", 1e21),
        ("E", 1e18),
        ("P", 1e15),
        ("T", 1e12),
        ("G", 1e9),
        ("M", 1e6),
        ("k", 1e3),
    ):
        if abs(si) >= f:
            return f"{si / f:.{digits}g} {p}{unit}"
    return f"{si:.{digits}g} {unit}"
