"""`podsim compare SYSTEM...`: systems side by side (table, JSON, PNG). Presentation only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from podsim.cli.output import console, emit_json, table
from podsim.errors import SpecError
from podsim.hardware.resolve import resolve_many
from podsim.hardware.summary import system_summary
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


def _cell(row: dict[str, Any] | None, per_chip: bool) -> str:
    if row is None:
        return "–"
    v = row["per_chip"] if per_chip else row["total"]
    if v is None and row.get("lower_bound") is not None:
        lb = row["lower_bound_per_chip"] if per_chip else row["lower_bound"]
        return f"≥ {fmt(lb, row['dim'])}"
    return fmt(v, row["dim"])


def _metric_order(summaries: list[dict[str, Any]]) -> list[str]:
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


def _plot(summaries: list[dict[str, Any]], labels: list[str], path: Path, per_chip: bool) -> None:
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


def compare(
    systems: list[str] = typer.Argument(
        ..., metavar="SYSTEM...", help="catalog id, YAML path, or id:N (that system with N chips)"
    ),
    chips: int | None = typer.Option(
        None, "--chips", help="scale every SYSTEM given without :N to this many chips"
    ),
    per_chip: bool = typer.Option(False, "--per-chip", help="per-chip values instead of totals"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    plot: Path | None = typer.Option(
        None, "--plot", metavar="FILE.png", help="also write normalised bar charts to a PNG"
    ),
) -> None:
    """Compare systems side by side: compute, memory, bandwidth, power, space, cost."""
    if chips is not None and chips < 1:
        raise SpecError("must be at least 1", field="--chips", value=chips)
    resolved = resolve_many(systems, chips)
    labels = [label for label, _ in resolved]
    summaries = [system_summary(s) for _, s in resolved]
    if plot is not None:
        _plot(summaries, labels, plot, per_chip)
    if as_json:
        emit_json(
            {
                "per_chip": per_chip,
                "systems": [{"label": lb, **s} for lb, s in zip(labels, summaries, strict=True)],
                "plot": str(plot) if plot is not None else None,
            }
        )
        return
    rows = []
    for key in _metric_order(summaries):
        rows_for = [s["metrics"].get(key) for s in summaries]
        label = next(r["label"] for r in rows_for if r is not None)
        rows.append([label, *[_cell(r, per_chip) for r in rows_for]])
    title = "per chip" if per_chip else "whole system"
    console.print(table(f"podsim compare ({title})", ["metric", *labels], rows))
    notes = []
    for lb, s in zip(labels, summaries, strict=True):
        miss = sorted({m for r in s["metrics"].values() for m in r["missing"]} - {"reported_power"})
        if miss:
            notes.append(f"{lb}: n/a where the catalog lacks {', '.join(miss)}")
    for note in notes:
        console.print(note, style="dim", highlight=False)
    console.print(
        "bandwidths one direction; peaks dense; '–' = precision not native; "
        "'≥' = known parts only; plant figures are estimates",
        style="dim",
        highlight=False,
    )
    if plot is not None:
        console.print(f"plot written to {plot}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
