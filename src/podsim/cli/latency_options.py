"""Latency targets on the command line: one reading for `podsim serve` and `podsim plan serve`.

A target takes a unit (``'50 ms'``, ``'0.05 s'``, ``'2s'``); a bare number is read in the unit a
user quotes that target in -- milliseconds for TPOT, seconds for TTFT -- the same in every
command, so ``--tpot 50`` never means fifty seconds in one place and fifty milliseconds in
another.
"""

from __future__ import annotations

import re

from podsim.units import parse_quantity

TPOT_HELP = "TPOT target, e.g. '50 ms' (a bare number is milliseconds)"
TTFT_HELP = "TTFT target, e.g. '2 s' (a bare number is seconds)"
_BARE_UNIT = {"tpot": "ms", "ttft": "s"}


def latency_target(text: str | None, field: str) -> float | None:
    """Seconds for a ``--tpot`` / ``--ttft`` option (``None`` when not given)."""
    if text is None:
        return None
    t = str(text).strip()
    if re.fullmatch(r"[0-9.eE+-]+", t):
        t = f"{t} {_BARE_UNIT[field]}"  # parsed as written, so an error shows what was typed
    return parse_quantity(t, "time", field=field)
