"""Validation accuracy: predicted vs measured on the built-in public cases
(``podsim.validate.runner``; the same numbers as ``podsim validate``)."""

from __future__ import annotations

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text


def summary_lines(summary: dict) -> list[str]:
    """The summary lines ``podsim validate`` prints."""
    out = []
    for k, s in summary.items():
        med, mx = s["median_abs_error"], s["max_abs_error"]
        out.append(
            f"summary {k}: {s['evaluated']}/{s['cases']} evaluated, {s['skipped']} skipped, "
            f"{s['invalid']} invalid; median |error| {fmt.pct(med)}, max |error| {fmt.pct(mx)}, "
            f"within 10%: {s['within_10pct']}"
        )
    return out


def short_label(kind: str, family: str, chip: str | None = None) -> str:
    """A table cell: the median |error| over the validated runs of the kind on ``chip`` itself
    when it has any, else on its family (the unseen runs' when there are any), or "not
    validated"."""
    from podsim.validate.accuracy import accuracy_for, chip_accuracy

    acc = accuracy_for(kind, family)
    if acc is None:
        return "not validated"
    own = chip_accuracy(kind, family, chip) if chip else None
    rec, where = (own, f"on {chip}") if own else (acc, f"{family} family")
    key = "out_of_sample" if "out_of_sample" in rec else "public"
    s = rec[key]
    seen = "unseen" if key == "out_of_sample" else "fitted-on"
    return f"{100 * s['median_abs_error']:.0f}% ({s['runs']} {seen} runs {where})"


def _plot(results, ctx: ReportContext):
    from podsim.report import plots

    fig, axes = plots.new(1, 1, width=6.0, height=5.0)
    ax = axes[0][0]
    kinds = sorted({r.kind for r in results if r.error is not None})
    colours = {"training": "tab:blue", "serving": "tab:orange"}
    lo, hi = float("inf"), 0.0
    for k in kinds:
        rs = [r for r in results if r.kind == k and r.error is not None]
        xs = [r.measured for r in rs]
        ys = [r.predicted for r in rs]
        lo = min(lo, *xs, *ys)
        hi = max(hi, *xs, *ys)
        ax.scatter(xs, ys, s=12, label=f"{k} ({len(rs)})", color=colours.get(k, "grey"))
    if hi > 0:
        line = [lo, hi]
        ax.plot(line, line, "k-", lw=0.6)
        ax.plot(line, [1.1 * v for v in line], "k:", lw=0.5)
        ax.plot(line, [0.9 * v for v in line], "k:", lw=0.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured (case metric)")
    ax.set_ylabel("predicted")
    ax.set_title("Validation: predicted vs measured (dotted: ±10%)")
    ax.legend(fontsize=7)
    return plots.save(
        fig,
        ctx,
        "validation.png",
        "Each public validation case, predicted against measured (log-log).",
    )


def _contradicting_groups():
    """Built-in cases with identical inputs measured apart (podsim.validate.consistency)."""
    from podsim.validate.consistency import contradicting_groups
    from podsim.validate.runner import BUILTIN_CASES, load_cases

    return contradicting_groups(
        [c for _, c in load_cases(BUILTIN_CASES) if not isinstance(c, Exception)]
    )


SUMMARY_HEADER = [
    "kind",
    "cases",
    "evaluated",
    "skipped",
    "invalid",
    "median |error|",
    "mean |error|",
    "max |error|",
    "within 10%",
]


def _summary_rows(summary: dict) -> list[list[str]]:
    return [
        [
            k,
            fmt.num(s["cases"]),
            fmt.num(s["evaluated"]),
            fmt.num(s["skipped"]),
            fmt.num(s["invalid"]),
            fmt.pct(s["median_abs_error"]),
            fmt.pct(s["mean_abs_error"]),
            fmt.pct(s["max_abs_error"]),
            fmt.num(s["within_10pct"]),
        ]
        for k, s in summary.items()
    ]


def _by_chip_table(public: dict, oos: dict) -> Table:
    """How much of each chip's prediction rests on measured runs: cases and errors per kind and
    chip, public (fitted on) and out of sample (never fitted on)."""

    def cell(s: dict | None) -> list[str]:
        if not s or not s["evaluated"]:
            return ["-", "-", "-"]
        return [
            fmt.num(s["evaluated"]),
            fmt.pct(s["median_abs_error"]),
            fmt.pct(s["max_abs_error"]),
        ]

    rows = [[k, *cell(public.get(k)), *cell(oos.get(k))] for k in sorted(set(public) | set(oos))]
    return Table(
        [
            "kind and chip",
            "public cases",
            "median |error|",
            "max |error|",
            "out-of-sample cases",
            "median |error|",
            "max |error|",
        ],
        rows,
        caption="Validated runs per chip: a chip with no row is predicted from defaults alone",
        left=(0,),
    )


def build(ctx: ReportContext) -> Section:
    from podsim.validate.runner import (
        BUILTIN_CASES,
        out_of_sample_files,
        run_file,
        run_files,
        summarise,
        summarise_by_chip,
    )

    results = run_file(BUILTIN_CASES)
    summary = summarise(results)
    ctx.cache["validation_summary"] = summary
    rows = _summary_rows(summary)
    sec = Section("validation", "Validation accuracy")
    sec.add(
        Text(
            "podsim predicts each public validation case (published training and serving runs: "
            "MLPerf, Megatron-LM, DeepSeek, Meta, the CloudMatrix 384 paper, SGLang and others) "
            "from the fields the case carries and compares with the measured value. These are "
            "the figures of `podsim validate`."
        ),
        Table(SUMMARY_HEADER, rows, caption="Accuracy (podsim validate summary)"),
    )
    oos = out_of_sample_files()
    if oos:
        oos_results = run_files(oos)
        oos_summary = summarise(oos_results)
        ctx.cache["out_of_sample_summary"] = oos_summary
        sec.add(
            Text(
                "The calibration is fitted on those public cases. The built-in out-of-sample "
                "cases are published runs gathered afterwards and never fitted on (NeMo and "
                "TensorRT-LLM performance tables, MLPerf Training logs, SGLang blogs, TPU "
                "recipes, MindSpeed-LLM on Ascend 910B, ROCm vLLM); they show the accuracy to "
                "expect on a new run (`podsim validate --out-of-sample`)."
            ),
            Table(
                SUMMARY_HEADER,
                _summary_rows(oos_summary),
                caption="Accuracy on runs the calibration never saw (out of sample)",
            ),
            _by_chip_table(summarise_by_chip(results), summarise_by_chip(oos_results)),
        )
    errs = sorted((r for r in results if r.error is not None), key=lambda r: -abs(r.error))
    worst = errs[:8]
    if worst:
        sec.add(
            Table(
                ["case", "kind", "metric", "measured", "predicted", "error"],
                [
                    [
                        r.id,
                        r.kind,
                        r.metric,
                        fmt.num(r.measured),
                        fmt.num(r.predicted),
                        fmt.signed_pct(r.error),
                    ]
                    for r in worst
                ],
                caption="Largest errors",
                left=(0, 1, 2),
            ),
            _plot(results, ctx),
        )
    groups = _contradicting_groups()
    if groups:
        sec.add(
            Text(
                "Some public cases carry identical inputs but were measured on different "
                "software releases, so no model of the case fields can fit all of a group: its "
                "best single prediction still misses by the floor below (lowest achievable max "
                "|error|, `python benchmarks/consistency_floor.py`)."
            ),
            Table(
                ["cases (identical inputs)", "measured", "floor"],
                [
                    [
                        ", ".join(g.ids),
                        " / ".join(fmt.num(v) for v in g.values),
                        fmt.pct(g.floor),
                    ]
                    for g in groups
                ],
                caption="Consistency of the public cases",
            ),
        )
    skipped = [r for r in results if r.status != "ok"]
    for r in skipped:
        sec.add(Note(f"{r.id}: {r.status}: {r.reason}"))
    for r in results:
        if r.status == "ok" and r.note:
            sec.add(Note(f"{r.id}: predicted; {r.note}"))
    o = summary["overall"]
    sec.summary = (
        f"{o['evaluated']}/{o['cases']} cases evaluated; median |error| "
        f"{fmt.pct(o['median_abs_error'])}, within 10%: {o['within_10pct']}"
    )
    return sec
