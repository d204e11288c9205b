"""Best plans: the planner's top plans for each training run of the Training section
(``podsim.planner.search.search_training``), with how the search space was pruned."""

from __future__ import annotations

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text
from podsim.report.workloads import training_runs

TOP = 5
# serving searches (full mode only): DeepSeek-R1 decode at TPOT 50 ms; the Atlas 950 SuperPoD is
# searched on a 512-card slice (the instance space of 8,192 cards is large; per-chip rates of an
# instance do not depend on how many instances run)
SERVE_MODEL = "deepseek-r1"
SERVE_TPOT = 0.050
SERVE_CHIPS = {"atlas-950-superpod": 512}


def _serving_plans(ctx: ReportContext, sec: Section) -> None:
    """The serving planner's best decode plans for DeepSeek-R1 (skipped in quick mode)."""
    if ctx.quick:
        sec.add(Note("Serving plan searches are skipped in quick mode."))
        return
    try:
        from podsim.planner.serve import search_serving
    except ImportError:
        sec.add(Note("The serving planner is not available in this version."))
        return
    from podsim import catalog
    from podsim.errors import PodsimError
    from podsim.hardware.resolve import resolve_system_arg
    from podsim.report.serving import INPUT_LEN, OUTPUT_LEN, SERVE_SYSTEMS, serving_rows

    m = catalog.model(SERVE_MODEL)
    fixed = {r.system: r for r in serving_rows(ctx) if r.model == SERVE_MODEL}
    rows = []
    for sid, label, prec, _ in SERVE_SYSTEMS:
        n = SERVE_CHIPS.get(sid)
        ref = f"{sid}:{n}" if n else sid
        f = fixed.get(sid)
        fpt = f.decode.get(SERVE_TPOT) if f is not None else None
        ftxt = (
            f"{fmt.num(fpt['decode_tokens_per_s_per_chip'])} ({f.decode_plan[SERVE_TPOT]})"
            if fpt
            else fmt.NA
        )
        try:
            r = search_serving(
                m,
                resolve_system_arg(ref),
                input_len=INPUT_LEN,
                output_len=OUTPUT_LEN,
                precision=prec,
                kv_precision=prec,
                tpot=SERVE_TPOT,
                phase="decode",
                draft_tokens=1 if m.mtp_layers > 0 else 0,
                top=3,
            )
        except PodsimError as exc:
            rows.append([label, ref, fmt.NA, str(exc), fmt.NA, fmt.NA, ftxt])
            continue
        b = r.best[0]
        rows.append(
            [
                label,
                ref,
                fmt.num(r.considered),
                b["label"],
                fmt.num(b["tokens_per_s_per_chip"]),
                f"{1e3 * b['tpot_s']:.1f} ms",
                ftxt,
            ]
        )
    ctx.cache["serving_searches"] = sum(r[2] != fmt.NA for r in rows)
    sec.add(
        Table(
            [
                "system",
                "searched on",
                "instances",
                "best decode plan (batch)",
                "tokens/s/chip",
                "TPOT",
                "Serving section's deployment",
            ],
            rows,
            caption=(
                f"{m.name} decode at TPOT {SERVE_TPOT * 1e3:.0f} ms: the serving planner's "
                f"best plan ({INPUT_LEN:,}-token prompts, {prec_note()})"
            ),
            left=(0, 1, 3),
        )
    )


def prec_note() -> str:
    return "INT8 on the 910C, FP8 elsewhere, one MTP draft token"


def build(ctx: ReportContext) -> Section:
    import podsim.planner.search  # noqa: F401  (the backing model: ImportError -> not available)

    runs = [r for r in training_runs(ctx) if r.search is not None]
    sec = Section("plans", "Best plans (planner)")
    sec.add(
        Text(
            "For every training run above, the planner enumerates parallel plans (TP, PP, "
            "virtual stages, CP, EP, DP, ZeRO stage, recompute, micro-batch), rejects the invalid "
            "ones with a reason, drops those that do not fit in HBM and ranks the rest by "
            "tokens/s per chip with the same step model as `podsim train`."
            + (
                " Quick mode: a reduced space (no CP, ZeRO-1 only, micro-batch up to 2)."
                if ctx.quick
                else ""
            )
        )
    )
    stats = []
    total_plans = 0
    for r in runs:
        s = r.search
        total_plans += s.considered
        rej = sorted(((n, k) for k, n in s.rejected.items() if n), reverse=True)[:2]
        stats.append(
            [
                r.workload.label,
                r.system_label,
                fmt.num(s.considered),
                fmt.num(s.valid),
                fmt.num(s.fitting),
                "; ".join(f"{k} ({n:,})" for n, k in rej),
            ]
        )
    sec.add(
        Table(
            [
                "model",
                "system",
                "plans",
                "valid",
                "fit in HBM",
                "most common rejections",
            ],
            stats,
            caption="Search spaces",
            left=(0, 1, 5),
        )
    )
    for r in runs:
        rows = []
        for i, b in enumerate(r.search.best[:TOP], 1):
            m = b["metrics"]
            rows.append(
                [
                    str(i),
                    b["label"],
                    fmt.num(m["tokens_per_s_per_chip"]),
                    fmt.pct(m["mfu"]),
                    f"{m['step_time_s']:.2f} s",
                    fmt.q(m["memory_bytes"]["total"], "bytes"),
                    fmt.q(m["memory_headroom_bytes"], "bytes"),
                ]
            )
        sec.add(
            Table(
                ["#", "plan", "tokens/s/chip", "MFU", "step time", "memory/chip", "headroom"],
                rows,
                caption=(
                    f"{r.workload.label} on {r.system_label} ({r.system.chips:,} chips, "
                    f"{r.precision.upper()}, global batch {r.search.global_batch:,} x "
                    f"{r.search.seq_len:,})"
                ),
                left=(1,),
            )
        )
    if not runs:
        sec.add(Note("No planner search ran (see the Training section's notes)."))
    _serving_plans(ctx, sec)
    sec.add(
        Note(
            "Reproduce one search with `podsim plan train` (same model, system, batch and "
            "sequence length)."
        )
    )
    n_serve = ctx.cache.get("serving_searches", 0)
    sec.summary = (
        f"{len(runs)} training searches over {total_plans:,} plans"
        + (f"; {n_serve} serving searches" if n_serve else "")
        + (" (quick)" if ctx.quick else "")
    )
    return sec
