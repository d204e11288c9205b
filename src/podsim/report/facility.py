"""Facility and goodput: power, floor area, cost, energy per token, failures, and the central
question: what it takes to train DeepSeek-V3 on 1 trillion tokens in 30 days on each system
(``podsim.facility.sizing.central_question``, ``facility_summary``, ``goodput_report``)."""

from __future__ import annotations

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text
from podsim.report.workloads import TrainRun, training_runs

DAYS = 30.0


def _base_id(ref: str) -> str:
    return ref.split(":", 1)[0]


def _dsv3_runs(ctx: ReportContext) -> dict[str, TrainRun]:
    """DeepSeek-V3 runs of the Training section by base system id (ok runs only)."""
    out = {}
    for r in training_runs(ctx):
        if r.workload.model == "deepseek-v3" and r.ok and r.metrics.get("fits", False):
            out[_base_id(r.system_ref)] = r
    return out


def _central(ctx: ReportContext, runs: dict[str, TrainRun]):
    from podsim.facility.sizing import (
        CENTRAL_DAYS,
        CENTRAL_MODEL,
        CENTRAL_SYSTEMS,
        CENTRAL_TOKENS,
        central_question,
    )
    from podsim.report.workloads import extra_run

    runs = dict(runs)
    for sid in CENTRAL_SYSTEMS:  # the same search on central systems the Training section lacks
        if sid not in runs:
            r = extra_run(ctx, "deepseek-v3", sid)
            if r.ok and r.metrics.get("fits", False):
                runs[sid] = r
    thr = {k: r.metrics["tokens_per_s_per_chip"] for k, r in runs.items() if k in CENTRAL_SYSTEMS}
    state = {
        k: r.metrics["checkpoint_bytes_per_chip"] for k, r in runs.items() if k in CENTRAL_SYSTEMS
    }
    rows = central_question(throughputs=thr, state_bytes_per_chip=state)
    return rows, thr, runs, (CENTRAL_MODEL, CENTRAL_TOKENS, CENTRAL_DAYS)


def _central_table(rows, thr, runs) -> Table:
    out = []
    for r in rows:
        sid = r["system"]
        if r.get("reason") and not r.get("chips"):
            out.append([sid, r.get("reason") or "", *[fmt.NA] * 10])
            continue
        src = (
            _source(runs[sid])
            if sid in thr
            else "facility reference plan: " + _plan_text(r.get("plan"))
        )
        lb = "≥ " if r.get("power_is_lower_bound") else ""
        out.append(
            [
                sid,
                src,
                fmt.num(r.get("tokens_per_s_per_chip")),
                fmt.num(r.get("chips")) if r.get("feasible") else "infeasible",
                fmt.num(r.get("scale_up_domains")),
                fmt.num(r.get("cabinets")),
                fmt.num(r.get("floor_area_m2")),
                (lb + f"{r['facility_power_mw']:.2f}")
                if fmt.ok(r.get("facility_power_mw"))
                else fmt.NA,
                fmt.money(r.get("capex_usd")),
                fmt.money(r.get("run_cost_usd")),
                fmt.pct(r.get("ettr")),
                f"{r['days_needed']:.1f}" if fmt.ok(r.get("days_needed")) else fmt.NA,
            ]
        )
    return Table(
        [
            "system",
            "per-chip throughput from",
            "tokens/s/chip",
            "chips",
            "scale-up domains",
            "cabinets",
            "floor m²",
            "facility MW",
            "capex",
            "run cost",
            "ETTR",
            "days",
        ],
        out,
        caption="Central question: DeepSeek-V3, 1 trillion tokens in 30 days, after failures",
        left=(0, 1),
    )


def _source(run: TrainRun) -> str:
    where = "Training section" if run.system_label != run.system_ref else "same search"
    return f"{where}: {run.plan_label} on {run.system.chips:,} chips ({run.source})"


def _plan_text(plan) -> str:
    if not isinstance(plan, dict):
        return "default"
    parts = [f"{k}{plan[k]}" for k in ("tp", "pp", "ep") if plan.get(k)]
    return " ".join(parts) + f" {plan.get('precision', '')} rc={plan.get('recompute', '')}"


def _plant_table(runs: dict[str, TrainRun]) -> tuple[Table, list]:
    from podsim.facility.energy import facility_summary
    from podsim.reliability.goodput import goodput_report

    rows, reports = [], []
    for r in runs.values():
        s = r.system
        m = r.metrics
        g = goodput_report(
            s,
            days=DAYS,
            state_bytes_per_chip=m["checkpoint_bytes_per_chip"],
            tokens_per_s=m["tokens_per_s"],
            step_time_s=m["step_time_s"],
        )
        fs = facility_summary(s, tokens_per_s=m["tokens_per_s"], goodput=g.goodput)
        reports.append((r, g, fs))
        lb = "≥ " if fs.power_is_lower_bound else ""
        ept = fs.energy_per_token_j
        rows.append(
            [
                r.system_label,
                fmt.num(s.chips),
                fmt.num(fs.cabinets),
                fmt.num(fs.floor_area_m2),
                lb
                + fmt.q(
                    fs.it_power_w
                    if fs.it_power_w is not None
                    else (fs.power_w / fs.pue if fs.power_w and fs.pue else None),
                    "power",
                ),
                lb + fmt.q(fs.power_w, "power"),
                fmt.money(fs.capex_usd),
                fmt.money(fs.cost_per_hour_usd),
                (lb + f"{ept:.2f} J") if fmt.ok(ept) else fmt.NA,
                fmt.money(fs.cost_per_million_tokens_usd),
            ]
        )
    t = Table(
        [
            "system",
            "chips",
            "cabinets",
            "floor m²",
            "IT power",
            "facility power",
            "capex",
            "cost/hour",
            "energy per token",
            "$ per M tokens",
        ],
        rows,
        caption="Plant and economics of the Training section's DeepSeek-V3 clusters "
        "(energy and cost per trained token after failures)",
    )
    return t, reports


def _goodput_table(reports) -> Table:
    rows = []
    for r, g, _ in reports:
        cp = g.checkpoint
        rows.append(
            [
                r.system_label,
                fmt.num(g.chips),
                f"{g.mtbf_h:.2f} h",
                fmt.num(g.interruptions.get("total")),
                f"{cp.interval_s / 60:.1f} min",
                f"{cp.cost_s:.1f} s",
                fmt.pct(g.ettr),
                fmt.pct(g.goodput),
            ]
        )
    return Table(
        [
            "system",
            "chips",
            "job MTBF",
            f"interruptions in {DAYS:.0f} days",
            "checkpoint interval",
            "checkpoint cost",
            "ETTR",
            "goodput",
        ],
        rows,
        caption="Failures and goodput of the DeepSeek-V3 job over 30 days (storage checkpoints)",
    )


def _ettr_plot(runs: dict[str, TrainRun], ctx: ReportContext):
    import numpy as np

    from podsim.facility.sizing import ettr_curve
    from podsim.report import plots

    fig, axes = plots.new(1, 1, width=7.5, height=3.6)
    ax = axes[0][0]
    chips = np.unique(np.round(np.geomspace(512, 1_048_576, 60)))
    for r in runs.values():
        e = ettr_curve(
            r.system,
            chips,
            state_bytes_per_chip=r.metrics["checkpoint_bytes_per_chip"],
            step_time_s=r.metrics["step_time_s"],
        )
        style = "-" if r.system.chip.vendor == "huawei" else "--"
        ax.plot(chips, 100 * np.asarray(e), style, label=r.system_label)
    ax.set_xscale("log", base=2)
    ticks = [1024, 4096, 16384, 65536, 262144, 1048576]
    ax.set_xticks(ticks)
    ax.set_xticklabels(["1K", "4K", "16K", "64K", "256K", "1M"])
    ax.set_xlabel("chips in the job")
    ax.set_ylabel("ETTR (%)")
    ax.set_title("Effective training time ratio vs job size (DeepSeek-V3 state per chip)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return plots.save(
        fig,
        ctx,
        "facility_ettr.png",
        "ETTR at the optimal checkpoint interval as the job grows (failure rates "
        "scale with the component counts of each system).",
    )


def build(ctx: ReportContext) -> Section:
    import podsim.facility.sizing  # noqa: F401  (the backing model: ImportError -> not available)

    runs = _dsv3_runs(ctx)
    rows, thr, central_runs, (model, tokens, days) = _central(ctx, runs)
    from podsim import catalog
    from podsim.report.workloads import TRAIN_WORKLOADS

    labels = {w.model: w.label for w in TRAIN_WORKLOADS}
    model_name = labels.get(model, catalog.model(model).name)
    sec = Section("facility", "Facility and goodput")
    sec.add(
        Text(
            f"The central question: to train {model_name} on {tokens / 1e12:g} trillion tokens "
            f"in {days:.0f} days, "
            "how many chips, cabinets, m², MW and dollars does each system need once failures "
            "are counted? The chip count N is the smallest with N x (tokens/s per chip) x "
            "ETTR(N) x scheduling goodput x time >= target, rounded up to whole scale-up "
            "domains; per-chip throughput is held constant as N changes (weak scaling over "
            "data parallelism). Per-chip throughput and checkpoint state come from the Training "
            "section's plan for that system, or from the same search on a similar-size slice of "
            "a system it does not cover (else from the facility model's reference plan)."
        ),
        _central_table(rows, thr, central_runs),
    )
    for r in rows:
        for key in ("note", "warning", "reason"):
            if r.get(key):
                sec.add(Note(f"{r['system']}: {r[key]}"))
        if r.get("missing"):
            sec.add(
                Note(
                    f"{r['system']}: plant inputs missing ({', '.join(r['missing'])}); "
                    "n/a or lower bounds ('≥') where they matter"
                )
            )
    if runs:
        t, reports = _plant_table(runs)
        sec.add(t, _goodput_table(reports), _ettr_plot(runs, ctx))
    sec.add(
        Note(
            "Capital cost and electricity price are catalog assumptions (reliability.yaml "
            "economics); `podsim facility` and `podsim goodput` give the same figures with "
            "other inputs."
        )
    )
    feas = [r for r in rows if r.get("feasible")]
    sec.summary = "central question: " + "; ".join(
        f"{r['system']} {r['chips']:,} chips"
        + (f", {r['facility_power_mw']:.1f} MW" if fmt.ok(r.get("facility_power_mw")) else "")
        for r in feas
    )
    return sec
