"""Shared helpers for CLI output: rich tables, JSON emission."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(soft_wrap=False, width=160)


def _clean(obj: Any) -> Any:
    """Make numpy scalars/arrays and NaN JSON-friendly."""
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            obj = obj.item()
        elif isinstance(obj, np.ndarray):
            return [_clean(x) for x in obj.tolist()]
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")


def table(
    title: str | None, columns: list[str], rows: list[list[Any]], *, justify_right: bool = True
) -> Table:
    t = Table(title=title, show_lines=False, header_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, justify="right" if (justify_right and i > 0) else "left", overflow="fold")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


def breakdown_table(
    title: str, breakdown_s: dict[str, float], total_s: float, *, ms: bool
) -> Table:
    """Where the time of a step or iteration goes: each non-zero component and its share."""
    scale, unit = (1e3, "ms") if ms else (1.0, "seconds")
    return table(
        title,
        ["component", unit, "share"],
        [
            [k, f"{v * scale:.3f}" if ms else f"{v:.4f}", f"{100 * v / total_s:.1f}%"]
            for k, v in breakdown_s.items()
            if v > 0
        ],
    )


def memory_table(title: str, memory_bytes: dict[str, float]) -> Table:
    """Memory per chip, item by item."""
    from podsim.units import format_quantity

    rows = [[k, format_quantity(v, "bytes")] for k, v in memory_bytes.items()]
    return table(title, ["item", "bytes"], rows)


def cached_note(prefix_hit: float) -> str:
    """ " (50% cached)" after a prompt length when part of each prompt is in the prefix cache."""
    return f" ({100 * prefix_hit:.0f}% cached)" if prefix_hit else ""


def ms_text(seconds: float | None) -> str:
    """A latency in milliseconds for a table: "-" when undefined, "unbounded" when infinite (a
    queue without limit)."""
    if seconds is None or seconds != seconds:
        return "-"
    if math.isinf(seconds):
        return "unbounded"
    return f"{seconds * 1e3:,.2f} ms"


def caveat(text: str | None) -> None:
    """Print a caveat under a prediction (highlighted), if there is one."""
    if text:
        console.print(f"[yellow]{text}[/]")
