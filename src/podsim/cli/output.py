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
