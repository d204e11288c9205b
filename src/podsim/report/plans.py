"""Best plans: the planner's top plans for each training run of the Training section
(``podsim.planner.search.search_training``), with how the search space was pruned."""

from __future__ import annotations

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text
from podsim.report.workloads import training_runs

TOP = 5


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
    total_s = 0.0
    for r in runs:
        s = r.search
        total_plans += s.considered
        total_s += s.seconds
        rej = sorted(((n, k) for k, n in s.rejected.items() if n), reverse=True)[:2]
        stats.append(
            [
                r.workload.label,
                r.system_label,
                fmt.num(s.considered),
                fmt.num(s.valid),
                fmt.num(s.fitting),
                "; ".join(f"{k} ({n:,})" for n, k in rej),
                f"{s.seconds:.2f} s",
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
                "search time",
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
    sec.add(
        Note(
            "Reproduce one search with `podsim plan train` (same model, system, batch and "
            "sequence length)."
        )
    )
    sec.summary = f"{len(runs)} searches, {total_plans:,} plans considered in {total_s:.1f} s" + (
        " (quick)" if ctx.quick else ""
    )
    return sec
