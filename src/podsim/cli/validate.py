"""`podsim validate`: predicted vs measured on published runs, with error statistics."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from podsim.cli.output import console, emit_json, table
from podsim.validate.runner import BUILTIN_CASES, load_cases, run_file, summarise


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:,.4g}"


def validate(
    file: Path = typer.Argument(
        None, help="cases YAML (FORMAT.md); default: the built-in public cases"
    ),
    kind: str = typer.Option(None, help="only 'training' or 'serving' cases"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Predict each validation case and compare with the measured value."""
    path = file or BUILTIN_CASES
    n = len(load_cases(path))
    if as_json:
        results = run_file(path)
    else:
        with Progress(transient=True, console=console) as prog:
            task = prog.add_task("evaluating cases", total=n)
            results = run_file(path, progress=lambda: prog.advance(task))
    if kind:
        if kind not in ("training", "serving"):
            raise typer.BadParameter("kind must be 'training' or 'serving'")
        results = [r for r in results if r.kind == kind]
    summary = summarise(results)
    if as_json:
        emit_json(
            {
                "file": str(path),
                "cases": [
                    {
                        "id": r.id,
                        "kind": r.kind,
                        "metric": r.metric,
                        "measured": r.measured,
                        "predicted": r.predicted,
                        "error": r.error,
                        "status": r.status,
                        "reason": r.reason,
                        "trust": r.trust,
                    }
                    for r in results
                ],
                "summary": summary,
            }
        )
        return
    rows = [
        [
            r.id,
            r.kind,
            r.metric,
            _num(r.measured),
            _num(r.predicted),
            _pct(r.error),
            r.status if r.status == "ok" else f"{r.status}: {r.reason}",
        ]
        for r in results
    ]
    console.print(
        table(
            f"podsim validate {path}",
            ["id", "kind", "metric", "measured", "predicted", "error", "status"],
            rows,
        )
    )
    for k, s in summary.items():
        med = s["median_abs_error"]
        mx = s["max_abs_error"]
        console.print(
            f"summary {k}: {s['evaluated']}/{s['cases']} evaluated, {s['skipped']} skipped, "
            f"{s['invalid']} invalid; median |error| {_pct(med).lstrip('+')}, "
            f"max |error| {_pct(mx).lstrip('+')}, within 10%: {s['within_10pct']}"
        )


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
