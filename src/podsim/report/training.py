"""Training: Llama 3.1 405B and DeepSeek-V3 on CloudMatrix 384 clusters, the Atlas 950 SuperPoD
and GB200/GB300 NVL72 clusters of similar size: step time, MFU, tokens/s per chip and per kW,
and where the time goes (``podsim.training`` through the planner's best plan)."""

from __future__ import annotations

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text
from podsim.report.validation import short_label
from podsim.report.workloads import (
    TRAIN_SYSTEMS,
    TRAIN_WORKLOADS,
    TrainRun,
    per_kw,
    planner_available,
    power_per_chip,
    training_runs,
)

BREAKDOWN_LABELS = {
    "compute_forward": "forward",
    "compute_backward": "backward",
    "compute_recompute": "recompute",
    "host_bound": "host-bound (kernel launches)",
    "lm_head_and_mtp": "LM head + MTP",
    "tp_exposed": "TP comm (exposed)",
    "cp_exposed": "CP comm (exposed)",
    "ep_exposed": "EP all-to-all (exposed)",
    "pp_p2p_exposed": "PP send/recv (exposed)",
    "pipeline_bubble": "pipeline bubble",
    "dp_exposed": "DP/ZeRO comm (exposed)",
    "optimizer": "optimizer",
    "overhead": "overhead",
}


def kw_cell(value: float | None, basis: str) -> str:
    """Tokens/s per kW; '≤' when the power is only a lower bound (the rate is then an upper one)."""
    if basis == "plant lower bound":
        return f"≤ {fmt.num(value)}"
    return fmt.num(value) + ("" if basis == "plant IT" else f" ({basis})")


def _label(key: str) -> str:
    return BREAKDOWN_LABELS.get(key, key.replace("_", " "))


def results_table(runs: list[TrainRun]) -> Table:
    rows = []
    for r in runs:
        if not r.ok:
            rows.append(
                [
                    r.workload.label,
                    r.system_label,
                    fmt.NA,
                    r.precision,
                    r.error or "",
                    *[fmt.NA] * 7,
                ]
            )
            continue
        m = r.metrics
        w, basis = power_per_chip(r.system)
        tpc = m["tokens_per_s_per_chip"]
        kw = per_kw(tpc, w)
        rows.append(
            [
                r.workload.label,
                r.system_label,
                fmt.num(r.system.chips),
                r.precision.upper(),
                f"{r.plan_label} ({r.source})",
                f"{m['step_time_s']:.2f} s",
                fmt.pct(m["mfu"]),
                fmt.num(tpc),
                kw_cell(kw, basis),
                fmt.q(m["memory_bytes"]["total"], "bytes"),
                "yes" if m["fits"] else "NO",
                short_label("training", r.system.chip.family, r.system.chip.id),
            ]
        )
    return Table(
        [
            "model",
            "system",
            "chips",
            "precision",
            "plan",
            "step time",
            "MFU",
            "tokens/s/chip",
            "tokens/s per kW",
            "memory/chip",
            "fits",
            "model's median |error| on this chip",
        ],
        rows,
        caption="Training step on each system (best plan); the last column: how far the model "
        "has been from published training runs on that chip (on its family where the chip has none; `podsim validate`)",
        left=(0, 1, 3, 4, 10, 11),
    )


def breakdown_table(runs: list[TrainRun]) -> Table:
    ok = [r for r in runs if r.ok]
    keys = [
        k
        for k in BREAKDOWN_LABELS
        if any(r.metrics["breakdown_fraction"].get(k, 0) > 5e-4 for r in ok)
    ]
    extra = sorted({k for r in ok for k in r.metrics["breakdown_fraction"]} - set(BREAKDOWN_LABELS))
    keys += [k for k in extra if any(r.metrics["breakdown_fraction"].get(k, 0) > 5e-4 for r in ok)]
    rows = [
        [
            f"{r.workload.label} / {r.system_label}",
            *[fmt.pct(r.metrics["breakdown_fraction"].get(k, 0.0)) for k in keys],
        ]
        for r in ok
    ]
    return Table(
        ["run", *[_label(k) for k in keys]], rows, caption="Where the time goes (share of the step)"
    )


def _plot_throughput(runs: list[TrainRun], ctx: ReportContext):
    import numpy as np

    from podsim.report import plots

    fig, axes = plots.new(2, len(TRAIN_WORKLOADS), width=9.0, height=3.2 * len(TRAIN_WORKLOADS))
    for i, w in enumerate(TRAIN_WORKLOADS):
        rs = [r for r in runs if r.workload is w]
        labels = [r.system_label for r in rs]
        tpc = [r.metrics["tokens_per_s_per_chip"] if r.ok else 0.0 for r in rs]
        powers = [power_per_chip(r.system) if r.ok else (None, "unknown") for r in rs]
        kws = [
            per_kw(r.metrics["tokens_per_s_per_chip"], pw[0]) or 0.0 if r.ok else 0.0
            for r, pw in zip(rs, powers, strict=True)
        ]
        hatch = ["//" if pw[1] == "plant lower bound" else "" for pw in powers]
        colours = [
            "tab:red" if r.system is not None and r.system.chip.vendor == "huawei" else "tab:green"
            for r in rs
        ]
        for ax, vals, what in (
            (axes[i][0], tpc, "tokens/s per chip"),
            (axes[i][1], kws, "tokens/s per kW (IT)"),
        ):
            xs = np.arange(len(rs))
            bars = ax.bar(xs, vals, color=colours)
            upper = what.endswith("(IT)")
            for x, v, b, h in zip(xs, vals, bars, hatch, strict=True):
                if upper and h:
                    b.set_hatch(h)
                    b.set_alpha(0.6)
                prefix = "≤ " if upper and h else ""
                ax.text(x, v, f"{prefix}{v:,.0f}", ha="center", va="bottom", fontsize=7)
            ax.set_xticks(xs)
            ax.set_xticklabels(labels, rotation=15, fontsize=7)
            ax.set_title(f"{w.label}: {what}")
            ax.set_ylim(0, max(vals + [1.0]) * 1.18)
    return plots.save(
        fig,
        ctx,
        "training_throughput.png",
        "Training throughput per chip and per kW of IT power (best plan per system).",
    )


def _plot_breakdown(runs: list[TrainRun], ctx: ReportContext):
    from podsim.report import plots

    ok = [r for r in runs if r.ok]
    keys = list(BREAKDOWN_LABELS)
    keys += sorted({k for r in ok for k in r.metrics["breakdown_fraction"]} - set(keys))
    fig, axes = plots.new(1, 1, width=9.0, height=0.45 * len(ok) + 1.6)
    ax = axes[0][0]
    cmap = plots.plt.get_cmap("tab20")
    ys = list(range(len(ok)))[::-1]
    left = [0.0] * len(ok)
    for j, k in enumerate(keys):
        vals = [100 * max(r.metrics["breakdown_fraction"].get(k, 0.0), 0.0) for r in ok]
        if not any(v > 0.05 for v in vals):
            continue
        ax.barh(ys, vals, left=left, color=cmap(j % 20), label=_label(k), height=0.7)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{r.workload.label} / {r.system_label}" for r in ok], fontsize=7)
    ax.set_xlabel("% of the training step")
    ax.set_xlim(0, 100)
    ax.legend(fontsize=6, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.set_title("Where the time goes")
    return plots.save(
        fig,
        ctx,
        "training_breakdown.png",
        "Share of the training step by component (exposed communication only).",
    )


def build(ctx: ReportContext) -> Section:
    import podsim.training.step  # noqa: F401  (the backing model: ImportError -> not available)

    runs = training_runs(ctx)
    planner = planner_available()
    sec = Section("training", "Training")
    sec.add(
        Text(
            "Each model on clusters of similar size: "
            + ", ".join(f"{label} (`{ref}`)" for ref, label in TRAIN_SYSTEMS)
            + ". "
            + " ".join(f"{w.label}: {w.note}." for w in TRAIN_WORKLOADS)
        ),
        Text(
            "Plans: the planner's best plan by tokens/s per chip (`podsim plan train`; see "
            "Best plans)."
            if planner
            else "Plans: hand-written (the planner is not in this version). Llama 3.1 405B: "
            "TP8 inside a scale-up domain, DP128, PP = chips / 1,024 (uneven stages). "
            "DeepSeek-V3: TP1, PP16, EP64, DP = chips / 16 (DeepSeek's layout); global batch "
            "rounded to a multiple of DP; the least recompute (none, selective, full) that fits."
        ),
        results_table(runs),
        breakdown_table(runs),
        _plot_throughput(runs, ctx),
        _plot_breakdown(runs, ctx),
        Note(
            "MFU counts model FLOPs (6 x active parameters x tokens plus attention) against the "
            "dense peak at the training precision. Per-kW figures divide by all-in IT power per "
            "chip (accelerator, host, network share) from the facility plant; where the plant "
            "lacks an input, by the published power scaled per chip ('reported'), else by the "
            "plant's lower bound (known parts only), so the rate is an upper bound ('≤', hatched "
            "bars)."
        ),
    )
    for r in runs:
        if r.error:
            sec.add(Note(f"{r.workload.label} on {r.system_label}: {r.error}"))
    ok = [r for r in runs if r.ok]
    best = {}
    for w in TRAIN_WORKLOADS:
        rs = [r for r in ok if r.workload is w]
        if rs:
            b = max(rs, key=lambda r: r.metrics["tokens_per_s_per_chip"])
            best[w.label] = b
    sec.summary = f"{len(ok)}/{len(runs)} runs; " + "; ".join(
        f"{k}: best {b.system_label} {b.metrics['tokens_per_s_per_chip']:,.0f} tokens/s/chip, "
        f"MFU {100 * b.metrics['mfu']:.0f}%"
        for k, b in best.items()
    )
    return sec
