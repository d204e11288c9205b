"""`podsim validate`: predicted vs measured on published runs, with error statistics."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from podsim.cli.output import breakdown_table, console, emit_json, memory_table, ms_text, table
from podsim.errors import SpecError
from podsim.units import format_quantity
from podsim.validate.consistency import contradicting_groups
from podsim.validate.runner import (
    BUILTIN_CASES,
    CaseResult,
    explain_case,
    load_files,
    out_of_sample_files,
    run_loaded,
    select_cases,
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
    case: list[str] = typer.Option(
        None,
        "--case",
        help="only cases whose id matches (a glob such as 'mlperf-inf-*GB300*', or any part of "
        "the id); repeat for more",
    ),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="also show what is behind each prediction: the time breakdown, memory per chip and "
        "(serving) the batch and latencies",
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
        if not loaded:
            raise SpecError(
                f"no {kind} cases in {label}",
                field="kind",
                value=kind,
                allowed=" or ".join(k for k in KINDS if k != kind) + ", or no --kind",
            )
    loaded = select_cases(loaded, case or [])
    if as_json:
        results = run_loaded(loaded)
    else:
        with Progress(transient=True, console=console) as prog:
            task = prog.add_task("evaluating cases", total=len(loaded))
            results = run_loaded(loaded, progress=lambda: prog.advance(task))
    summary = summarise(results)
    per_chip = summarise_by_chip(results) if by_chip else None
    cases = {cid: c for cid, c in loaded if not isinstance(c, Exception)}
    twins = contradicting_groups(list(cases.values()))
    explained = (
        {r.id: explain_case(cases[r.id]) for r in results if r.status == "ok"} if explain else {}
    )
    if as_json:
        emit_json(
            {
                "file": label,
                "files": [str(p) for p in paths],
                "cases": [
                    {**r.as_dict(), **({"explain": explained[r.id]} if r.id in explained else {})}
                    for r in results
                ],
                "summary": summary,
                **({"summary_by_chip": per_chip} if per_chip is not None else {}),
                "identical_inputs": [
                    {"ids": list(g.ids), "measured": list(g.values), "floor": g.floor}
                    for g in twins
                ],
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
            "podsim validate "
            + (label if len(paths) <= 2 else f"({len(paths)} case files, see --json 'files')"),
            ["id", "kind", "metric", "measured", "predicted", "error", "status"],
            rows,
        )
    )
    for r in results:
        if r.status == "ok" and r.note:
            console.print(f"* {r.id}: {r.note}")
    for r in results:
        if r.id in explained:
            _print_explanation(r, explained[r.id])
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
    for g in twins:
        console.print(
            f"identical inputs, measured {' / '.join(_num(v) for v in g.values)}: "
            f"{', '.join(g.ids)}; no one prediction is within {100 * g.floor:.1f}% of all"
        )
    from podsim.report.validation import summary_lines

    for line in summary_lines(summary):
        console.print(line)


def _print_explanation(r: CaseResult, x: dict) -> None:
    """One case's prediction taken apart (``--explain``)."""
    console.rule(
        f"{r.id} ({r.kind}): measured {_num(r.measured)}, predicted {_num(r.predicted)} "
        f"({_pct(r.error)})"
    )
    if "error" in x:  # pragma: no cover - an evaluated case explains
        console.print(x["error"])
        return
    fit = (
        "fits"
        if x["fits"]
        else "[red]does not fit[/] in the memory model (the run did: the model overestimates)"
    )
    if r.kind == "training":
        console.print(
            f"step {x['step_time_s']:.4g} s over {x['micro_batches']:.0f} micro-batch(es) | "
            f"tokens/s/chip {x['tokens_per_s_per_chip']:,.1f} | MFU {100 * x['mfu']:.1f}% | "
            f"HFU {100 * x['hfu']:.1f}% | {fit}, headroom "
            f"{format_quantity(x['memory_headroom_bytes'], 'bytes')}"
        )
        comm = [
            f"{k.removesuffix('_comm_total')} {v:.4g} s"
            for k, v in x["communication_total_s"].items()
            if v > 0
        ]
        if comm:
            console.print("communication per step before overlap: " + ", ".join(comm))
        console.print(
            breakdown_table("time per step", x["breakdown_s"], x["step_time_s"], ms=False)
        )
        console.print(
            memory_table(
                "memory per chip (busiest stage)",
                {**x["memory_bytes"], "HBM capacity": x["hbm_capacity_bytes"]},
            )
        )
        return
    limit = x.get("max_batch_in_memory")
    console.print(
        f"batch {x['batch']:,.0f} per attention group ({'chosen' if x['batch_chosen'] else 'given'}"
        + (f"; {limit:,} fit in memory" if limit is not None else "")
        + f") | iteration {ms_text(x['iteration_s'])} | TPOT {ms_text(x['tpot_s'])} | TTFT "
        f"{ms_text(x['ttft_s'])} (p99 {ms_text(x['ttft_p99_s'])}) | KV held per sequence "
        f"{x['kv_tokens_per_sequence']:,.0f} tokens ({x['kv_allocation']}) | {fit}"
    )
    console.print(
        breakdown_table("time per iteration", x["breakdown_s"], x["iteration_s"], ms=True)
    )
    console.print(memory_table("memory per chip", x["memory_bytes"]))


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
