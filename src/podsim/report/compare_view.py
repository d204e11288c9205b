"""Side-by-side view of system summaries: table cells and the normalised bar-panel figure.

Presentation only (shared by ``podsim compare`` and the report): the numbers come from
``podsim.facility.summary.system_summary``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podsim.errors import SpecError
from podsim.spec.chip import PRECISIONS
from podsim.units import format_quantity

# panels of the --plot figure: (title, metric keys tried in order)
PLOT_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("BF16/FP16 peak", ("peak_flops_bf16", "peak_flops_fp16")),
    ("FP8 peak", ("peak_flops_fp8",)),
    ("HBM capacity", ("hbm_capacity",)),
    ("HBM bandwidth", ("hbm_bandwidth",)),
    ("scale-up bandwidth", ("scale_up_bandwidth",)),
    ("power (plant IT, else reported)", ("power", "reported_power")),
    ("BF16/FP16 FLOPS per W", ("flops_per_watt_bf16", "flops_per_watt_fp16")),
    ("floor area", ("floor_area",)),
)


def fmt(value: float | None, dim: str) -> str:
    """A metric value for a table cell."""
    if value is None:
        return "n/a"
    if dim == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"
    if dim == "flops_per_watt":
        return format_quantity(value, "flops") + "/W"
    if dim == "bytes_per_watt":
        return format_quantity(value, "bytes") + "/W"
    if dim == "area":
        return f"{value:,.0f} m²" if value >= 100 else f"{value:.3g} m²"
    return format_quantity(value, dim)  # type: ignore[arg-type]


def cell(row: dict[str, Any] | None, per_chip: bool) -> str:
    if row is None:
        return "–"
    v = row["per_chip"] if per_chip else row["total"]
    if v is None and row.get("lower_bound") is not None:
        lb = row["lower_bound_per_chip"] if per_chip else row["lower_bound"]
        return f"≥ {fmt(lb, row['dim'])}"
    return fmt(v, row["dim"])


def metric_order(summaries: list[dict[str, Any]]) -> list[str]:
    """Metrics in the summary's order; precision rows in the canonical precision order."""
    keys: list[str] = []
    for s in summaries:
        for k in s["metrics"]:
            if k not in keys:
                keys.append(k)

    def rank(k: str) -> tuple[int, int]:
        for prefix in ("peak_flops_", "flops_per_watt_"):
            if k.startswith(prefix):
                anchor = next(i for i, x in enumerate(keys) if x.startswith(prefix))
                p = k.removeprefix(prefix)
                return anchor, PRECISIONS.index(p) if p in PRECISIONS else len(PRECISIONS)
        return keys.index(k), 0

    return sorted(keys, key=rank)


def plot_compare(
    summaries: list[dict[str, Any]], labels: list[str], path: Path, per_chip: bool
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncol = 4
    nrow = (len(PLOT_PANELS) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    col = "per_chip" if per_chip else "total"
    for ax, (title, keys) in zip(axes.flat, PLOT_PANELS, strict=False):
        vals: list[float | None] = []
        dim = "count"
        for s in summaries:
            rows = [s["metrics"][k] for k in keys if k in s["metrics"]]
            row = next((r for r in rows if r[col] is not None), rows[0] if rows else None)
            vals.append(None if row is None else row[col])
            if row is not None:
                dim = row["dim"]
        known = [v for v in vals if v is not None]
        top = max(known) if known and max(known) > 0 else 1.0
        xs = range(len(labels))
        ax.bar(xs, [(v or 0.0) / top for v in vals], color="tab:blue")
        for x, v in zip(xs, vals, strict=True):
            txt = "n/a" if v is None else fmt(v, dim)
            y = 0.02 if v is None else v / top
            ax.text(x, y, txt, ha="center", va="bottom", fontsize=7)
        ax.set_title(title + (" / chip" if per_chip and "per W" not in title else ""), fontsize=9)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 1.18)
        ax.set_yticks([0, 0.5, 1.0])
    for ax in list(axes.flat)[len(PLOT_PANELS) :]:
        ax.axis("off")
    fig.suptitle(
        "podsim compare (bars normalised to the largest; labels are absolute)", fontsize=10
    )
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise SpecError(f"cannot write plot: {exc.strerror}", file=str(path)) from None
    finally:
        plt.close(fig)
