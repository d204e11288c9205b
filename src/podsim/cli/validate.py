"""`podsim validate`: predicted vs measured on published runs, with error statistics."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from podsim.cli.output import console, emit_json, table
from podsim.errors import SpecError
from podsim.validate.runner import (
    BUILTIN_CASES,
    load_files,
    out_of_sample_files,
    run_loaded,
    summarise,
    summarise_by_chip,
)

KINDS = ("training", "serving")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:,.4g}"


def validate(
    files: list[Path] = typer.Argument(
        None,
        help="cases YAML files (FORMAT.md), evaluated together; default: the built-in public cases",
    ),
    out_of_sample: bool = typer.Option(
        False,
        "--out-of-sample",
        help="the built-in out-of-sample cases: published runs gathered after the calibration "
        "was fitted and never used by it (with FILES: those too)",
    ),
    kind: str = typer.Option(None, help="only 'training' or 'serving' cases"),
    by_chip: bool = typer.Option(
        False,
        "--by-chip",
        help="also summarise per kind and chip (how well each chip is validated)",
    ),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Predict each validation case and compare with the measured value."""
    if kind is not None and kind not in KINDS:
        raise SpecError("unknown case kind", field="kind", value=kind, allowed=", ".join(KINDS))
    paths = list(files or [])
    if out_of_sample:
        paths += out_of_sample_files()
    paths = paths or [BUILTIN_CASES]
    label = " ".join(str(p) for p in paths)
    loaded = load_files(paths)
    if kind is not None:
        # cases that could not be read have no kind: keep them, they are reported as invalid
        loaded = [(i, c) for i, c in loaded if getattr(c, "kind", kind) == kind]
    if as_json:
        results = run_loaded(loaded)
    else:
        with Progress(transient=True, console=console) as prog:
            task = prog.add_task("evaluating cases", total=len(loaded))
            results = run_loaded(loaded, progress=lambda: prog.advance(task))
    summary = summarise(results)
    per_chip = summarise_by_chip(results) if by_chip else None
    if as_json:
        emit_json(
            {
                "file": label,
                "files": [str(p) for p in paths],
                "cases": [r.as_dict() for r in results],
                "summary": summary,
                **({"summary_by_chip": per_chip} if per_chip is not None else {}),
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
            (r.status if r.note is None else f"{r.status} *")
            if r.status == "ok"
            else f"{r.status}: {r.reason}",
        ]
        for r in results
    ]
    console.print(
        table(
            f"podsim validate {label}",
            ["id", "kind", "metric", "measured", "predicted", "error", "status"],
            rows,
        )
    )
    for r in results:
        if r.status == "ok" and r.note:
            console.print(f"* {r.id}: {r.note}")
    if per_chip:
        console.print(
            table(
                "per kind and chip",
                ["kind and chip", "evaluated", "median |error|", "max |error|", "within 10%"],
                [
                    [
                        k,
                        f"{s['evaluated']}/{s['cases']}",
                        _pct(s["median_abs_error"]).lstrip("+"),
                        _pct(s["max_abs_error"]).lstrip("+"),
                        str(s["within_10pct"]),
                    ]
                    for k, s in per_chip.items()
                ],
            )
        )
    from podsim.report.validation import summary_lines

    for line in summary_lines(summary):
        console.print(line)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
