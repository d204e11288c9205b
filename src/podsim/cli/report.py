"""`podsim report`: the HTML / Markdown report on the seed's systems. Presentation only."""

from __future__ import annotations

import typer

from podsim.cli.output import console, emit_json

STATUS_STYLE = {"ok": "green", "unavailable": "yellow", "error": "red"}


def report(
    out: str = typer.Option("podsim-report", "--out", help="output folder"),
    fmt: str = typer.Option("both", "--format", help="html | md | both"),
    quick: bool = typer.Option(False, "--quick", help="smaller plan searches (faster)"),
    section: list[str] = typer.Option(
        None, "--section", help="only these sections (repeatable); default: all"
    ),
    as_json: bool = typer.Option(False, "--json", help="paths and section summaries as JSON"),
) -> None:
    """Write the report (HTML and/or Markdown with PNG plots): systems, claims, roadmap,
    training, serving, best plans, facility/goodput, validation accuracy."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from podsim.report.builder import SECTIONS, build_report, check_args, report_dir

    keys = list(dict.fromkeys(check_args(fmt, section)))  # a section named twice is built once
    out = report_dir(out)
    titles = {k: t for k, _, t, _ in SECTIONS}
    if as_json:
        result = build_report(out, fmt=fmt, quick=quick, sections=keys)
    else:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as prog:
            task = prog.add_task("report", total=len(keys))

            def progress(key: str, sec) -> None:
                if sec is None:
                    prog.update(task, description=f"report: {titles.get(key, key)}")
                else:
                    prog.advance(task)

            result = build_report(out, fmt=fmt, quick=quick, sections=keys, progress=progress)
    if as_json:
        emit_json(
            {
                "html": str(result.html_path) if result.html_path else None,
                "markdown": str(result.md_path) if result.md_path else None,
                "seconds": result.seconds,
                "sections": [
                    {
                        "key": s.key,
                        "title": s.title,
                        "status": s.status,
                        "summary": s.summary,
                        "figures": [f.path for f in s.figures],
                        "seconds": result.timings.get(s.key),
                    }
                    for s in result.sections
                ],
            }
        )
        return
    for p in result.paths:
        console.print(f"report written to {p}", highlight=False)
    for s in result.sections:
        style = STATUS_STYLE.get(s.status, "")
        mark = {"ok": "ok", "unavailable": "n/a", "error": "ERROR"}.get(s.status, s.status)
        console.print(
            f"[{style}]{mark:>5}[/{style}] [bold]{s.title}[/bold]: {s.summary}", highlight=False
        )
    console.print(f"built in {result.seconds:.1f} s", style="dim", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
