"""`podsim sweep run|query`: run a sweep spec into a results store, and query it with SQL
(presentation only)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from podsim.cli.output import console, emit_json, table

sweep_app = typer.Typer(
    name="sweep",
    help="Run many planner searches (models x systems x workloads) into a resumable results "
    "store, and query it with SQL.",
    no_args_is_help=True,
)


def _out_dir(out: str) -> Path:
    """The results directory of ``--out`` (an empty value is not the current directory)."""
    from podsim.errors import SpecError

    if not out.strip():
        raise SpecError(
            "empty results directory",
            field="out",
            value=out,
            allowed="a directory path (use . for the current directory)",
        )
    return Path(out)


def _num(x, fmt: str = "{:,.1f}") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(v) else fmt.format(v)


def _workload(r) -> str:
    if r["kind"] == "training":
        return f"{r['precision']}, seq {int(r['seq_len']):,}, batch {_num(r['global_batch'], '{:,.0f}')}"
    parts = [str(r["precision"]), f"{int(r['input_len']):,}/{int(r['output_len']):,}", r["phase"]]
    # a missing target is None in one point's file and NaN once points are stored together
    if _num(r.get("tpot")) != "-":
        parts.append(f"TPOT {_num(float(r['tpot']) * 1e3, '{:g}')} ms")
    if _num(r.get("ttft")) != "-":
        parts.append(f"TTFT {_num(r['ttft'], '{:g}')} s")
    return ", ".join(parts)


@sweep_app.command("run")
def sweep_run(
    spec: str = typer.Argument(
        ...,
        help="sweep spec: a YAML file, or a built-in sweep (podsim catalog sweeps)",
    ),
    out: str = typer.Option("podsim-sweep", help="results directory (created; resumed)"),
    workers: int = typer.Option(None, help="local worker processes (default: one per CPU, <= 8)"),
    backend: str = typer.Option("local", help="local | ray (pip install the ray extra of podsim)"),
    fresh: bool = typer.Option(False, help="recompute the spec's points already stored"),
    prune: bool = typer.Option(False, help="remove stored points this spec does not ask"),
    as_json: bool = typer.Option(False, "--json", help="the run and the best plan per point"),
) -> None:
    """Run every combination of a sweep's models, systems and workloads through the planner;
    results go to Parquet files with a DuckDB view, and a re-run computes only what is missing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from podsim.errors import Interrupted
    from podsim.sweep import load_sweep, run_sweep

    out = _out_dir(out)
    s = load_sweep(spec)
    kw = dict(workers=workers, backend=backend, fresh=fresh, prune=prune)
    finished = 0

    def count(_p) -> None:
        nonlocal finished
        finished += 1

    try:
        if as_json:
            run = run_sweep(s, out, progress=count, **kw)
        else:
            with Progress(
                TextColumn("sweep"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as prog:
                task = prog.add_task("sweep", total=None)

                def advance(p) -> None:
                    count(p)
                    prog.advance(task)

                run = run_sweep(
                    s,
                    out,
                    progress=advance,
                    on_start=lambda n: prog.update(task, total=n),
                    **kw,
                )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: {finished} points are stored in {out}; "
            "run the same command again to compute the rest"
        ) from None
    best = run.results[run.results["rank"] == 1] if len(run.results) else run.results
    if as_json:
        emit_json({**run.as_dict(), "best": _records(best)})
        return
    training = s.kind == "training"
    cols = ["model", "system", "chips", "workload", "best plan", "tokens/s/chip", "tokens/s"]
    cols.append("MFU" if training else "TPOT ms")
    rows = []
    for r in best.to_dict("records"):
        ok = r["status"] == "ok"
        rows.append(
            [
                r["model"],
                r["system"],
                _num(r.get("chips"), "{:,.0f}"),
                _workload(r),
                r["label"] if ok else f"no plan: {r['reason']}",
                _num(r.get("tokens_per_s_per_chip")) if ok else "-",
                _num(r.get("tokens_per_s"), "{:,.0f}") if ok else "-",
                (_num(100 * r["mfu"], "{:.1f}%") if training else _num(1e3 * r["tpot_s"]))
                if ok
                else "-",
            ]
        )
    console.print(table(f"sweep: best plan of each point ({s.kind}, per {s.goal})", cols, rows))
    how = (
        f"{run.computed} computed ({run.workers} {run.backend} workers)"
        if run.computed
        else "nothing to compute"
    )
    console.print(
        f"{run.points} points: {how}, {run.reused} reused from {out}"
        + (f", {run.pruned} stale points pruned" if run.pruned else "")
        + f"; {run.no_plan} without a plan; {run.seconds:.1f} s"
    )
    console.print(f"results: {out}/points/*.parquet (the {s.top} best plans of each point)")
    example = "select model, system, label, tokens_per_s_per_chip from results where rank = 1"
    console.print(f'SQL: podsim sweep query "{example}" --out {out}')
    if run.database:
        console.print(f"DuckDB: {run.database} (view results)")
    else:
        console.print(f"DuckDB view not written: {run.database_problem}")
    console.print(f"Python: podsim.sweep.load_results('{out}')")


def _records(frame) -> list[dict]:
    """Rows as JSON-ready dicts: whole-number columns stay integers where a missing value
    made them float, dates as ISO text, any other type as text."""
    if not len(frame):
        return []
    return json.loads(
        frame.convert_dtypes().to_json(orient="records", date_format="iso", default_handler=str)
    )


@sweep_app.command("query")
def sweep_query(
    sql: str = typer.Argument(..., help="SQL over the table 'results' (DuckDB dialect)"),
    out: str = typer.Option("podsim-sweep", help="results directory of a sweep"),
    limit: int = typer.Option(50, help="rows to print (all with --json)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run SQL over a sweep's stored results: the kept plans of every point, one row each."""
    from podsim.errors import SpecError
    from podsim.sweep import query

    if limit < 1:
        raise SpecError("must be at least 1", field="limit", value=limit)
    frame = query(_out_dir(out), sql)
    if as_json:
        emit_json(_records(frame))
        return
    shown = frame.head(limit)
    rows = [[_cell(v) for v in rec] for rec in shown.itertuples(index=False)]
    title = f"{len(frame):,} rows" + (f" (first {limit})" if len(frame) > limit else "")
    console.print(table(title, [str(c) for c in frame.columns], rows))
    if len(frame.columns) > MAX_TABLE_COLUMNS:
        console.print(
            f"{len(frame.columns)} columns do not fit a table: select fewer "
            "(e.g. model, system, label, tokens_per_s_per_chip) or use --json"
        )


MAX_TABLE_COLUMNS = 12


def _cell(v) -> str:
    if isinstance(v, float):
        return _num(v, "{:,.4g}")
    return "-" if v is None else str(v)


def register(app: typer.Typer) -> None:
    app.add_typer(sweep_app, name="sweep")
