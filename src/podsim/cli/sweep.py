"""`podsim sweep run|query`: run a sweep spec into a results store, and query it with SQL
(presentation only)."""

from __future__ import annotations

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
    if isinstance(r.get("tpot"), str | float) and r.get("tpot") not in (None, "None"):
        parts.append(f"TPOT {_num(float(r['tpot']) * 1e3, '{:g}')} ms")
    if isinstance(r.get("ttft"), str | float) and r.get("ttft") not in (None, "None"):
        parts.append(f"TTFT {_num(r['ttft'], '{:g}')} s")
    return ", ".join(parts)


@sweep_app.command("run")
def sweep_run(
    spec: str = typer.Argument(
        ...,
        help="sweep spec: a YAML file, or a built-in sweep: supernodes-training, "
        "supernodes-serving (catalog/data/sweeps)",
    ),
    out: Path = typer.Option(Path("podsim-sweep"), help="results directory (created; resumed)"),
    workers: int = typer.Option(None, help="local worker processes (default: one per CPU, <= 8)"),
    backend: str = typer.Option("local", help="local | ray (pip install the ray extra of podsim)"),
    fresh: bool = typer.Option(False, help="recompute the spec's points already stored"),
    as_json: bool = typer.Option(False, "--json", help="the run and the best plan per point"),
) -> None:
    """Run every combination of a sweep's models, systems and workloads through the planner;
    results go to Parquet files with a DuckDB view, and a re-run computes only what is missing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from podsim.sweep import load_sweep, run_sweep
    from podsim.sweep.points import expand

    s = load_sweep(spec)
    if as_json:
        run = run_sweep(s, out, workers=workers, backend=backend, fresh=fresh)
    else:
        total = len(expand(s))
        with Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as prog:
            task = prog.add_task("sweep", total=total)
            run = run_sweep(
                s,
                out,
                workers=workers,
                backend=backend,
                fresh=fresh,
                progress=lambda _p: prog.advance(task),
            )
    best = run.results[run.results["rank"] == 1] if len(run.results) else run.results
    if as_json:
        emit_json({**run.as_dict(), "best": best.to_dict("records")})
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
    console.print(
        f"{run.points} points: {run.computed} computed ({run.workers} {run.backend} workers), "
        f"{run.reused} reused from {out}; {run.no_plan} without a plan; {run.seconds:.1f} s"
    )
    console.print(f"results: {out}/points/*.parquet (every plan kept, one file per point)")
    console.print(
        f'SQL: podsim sweep query "select * from results" --out {out}'
        + (f"  |  DuckDB: {run.database} (view results)" if run.database else "")
        + f"  |  Python: podsim.sweep.load_results('{out}')"
    )


@sweep_app.command("query")
def sweep_query(
    sql: str = typer.Argument(..., help="SQL over the table 'results' (DuckDB dialect)"),
    out: Path = typer.Option(Path("podsim-sweep"), help="results directory of a sweep"),
    limit: int = typer.Option(50, help="rows to print (all with --json)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run SQL over a sweep's stored results: every plan kept of every point, one row each."""
    from podsim.errors import SpecError
    from podsim.sweep import query

    try:
        frame = query(out, sql)
    except SpecError:
        raise
    except Exception as exc:  # duckdb's parser and binder errors
        raise SpecError(
            f"the query failed: {str(exc).splitlines()[0]}",
            field="sql",
            value=sql,
            allowed="DuckDB SQL over the table 'results'",
        ) from None
    if as_json:
        emit_json(frame.to_dict("records"))
        return
    shown = frame.head(limit)
    rows = [[_cell(v) for v in rec] for rec in shown.itertuples(index=False)]
    console.print(
        table(
            f"{len(frame):,} rows" + (f" (first {limit})" if len(frame) > limit else ""),
            [str(c) for c in frame.columns],
            rows,
        )
    )


def _cell(v) -> str:
    if isinstance(v, float):
        return _num(v, "{:,.4g}")
    return "-" if v is None else str(v)


def register(app: typer.Typer) -> None:
    app.add_typer(sweep_app, name="sweep")
