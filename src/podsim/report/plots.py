"""Matplotlib helpers for the report (Agg backend, deterministic PNGs)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from podsim.report.section import Figure, ReportContext  # noqa: E402

DPI = 100
# no timestamps or software versions inside the PNGs: the same inputs give the same bytes
PNG_METADATA: dict[str, Any] = {"Software": None}

VERDICT_COLOURS = {
    "consistent": "tab:green",
    "inconsistent": "tab:red",
    "not computable": "tab:olive",
}
SYSTEM_COLOURS = {
    "huawei": "tab:red",
    "nvidia": "tab:green",
    "google": "tab:blue",
    "amd": "tab:orange",
}


# applied around each section's build (matplotlib.rc_context), never set globally
RC = {"font.size": 8, "axes.titlesize": 9}


def new(ncols: int = 1, nrows: int = 1, *, width: float = 7.5, height: float = 3.6, **kw):
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kw)


def save(fig, ctx: ReportContext, name: str, caption: str) -> Figure:
    """Write ``fig`` to ``figures/<name>`` and close it."""
    path, rel = ctx.figure_path(name)
    try:
        fig.tight_layout()
        fig.savefig(path, dpi=DPI, metadata=PNG_METADATA)
    finally:
        plt.close(fig)
    return Figure(rel, caption)


def close(fig) -> None:
    plt.close(fig)
