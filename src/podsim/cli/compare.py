"""`podsim compare SYSTEM...`: systems side by side (table, JSON, PNG). Presentation only."""

from __future__ import annotations

from pathlib import Path

import typer

from podsim.cli.output import console, emit_json, table
from podsim.errors import SpecError
from podsim.facility.summary import system_summary
from podsim.hardware.resolve import resolve_many
from podsim.report.compare_view import cell, metric_order, plot_compare


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
        plot_compare(summaries, labels, plot, per_chip)
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
    for key in metric_order(summaries):
        rows_for = [s["metrics"].get(key) for s in summaries]
        label = next(r["label"] for r in rows_for if r is not None)
        rows.append([label, *[cell(r, per_chip) for r in rows_for]])
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
