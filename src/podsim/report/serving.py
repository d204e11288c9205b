"""Serving: DeepSeek-R1 and Llama 3.1 405B on CloudMatrix 384, the Atlas 950 SuperPoD and
GB200/GB300 NVL72: decode tokens/s per chip at TPOT 50 ms and 15 ms, prefill tokens/s per chip,
and per kW (``podsim.serving.predict.simulate``: the serving model picks the largest batch that
meets the latency target)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text
from podsim.report.validation import short_label
from podsim.report.workloads import per_kw, power_per_chip

INPUT_LEN = 4096
OUTPUT_LEN = 1024
TPOTS = (0.050, 0.015)

# system id -> (label, precision, decode instance chips for an MoE model); a disaggregated
# deployment as in the CloudMatrix 384 paper: decode with attention DP and EP over the instance
SERVE_SYSTEMS: tuple[tuple[str, str, str, int], ...] = (
    ("cloudmatrix-384", "CloudMatrix 384", "int8", 160),
    ("atlas-950-superpod", "Atlas 950 SuperPoD", "fp8", 256),
    ("gb200-nvl72", "GB200 NVL72", "fp8", 72),
    ("gb300-nvl72", "GB300 NVL72", "fp8", 72),
)
SERVE_MODELS = (("deepseek-r1", "DeepSeek-R1"), ("llama3.1-405b", "Llama 3.1 405B"))
MOE_PREFILL_CHIPS = 16
DENSE_TP = (8, 16, 32, 64)  # tensor-parallel sizes tried for a dense model (within the domain)


@dataclass
class ServeRow:
    model: str
    model_label: str
    system: str
    system_label: str
    precision: str
    decode: dict[float, dict[str, Any] | None] = field(default_factory=dict)
    decode_plan: dict[float, str] = field(default_factory=dict)
    decode_error: dict[float, str] = field(default_factory=dict)
    prefill: dict[str, Any] | None = None
    prefill_plan: str = ""
    prefill_error: str | None = None
    watts: float | None = None
    power_basis: str = ""
    chip_family: str = ""
    chip: str = ""


def _candidates(m, domain: int, phase: str, moe_chips: int):
    """(chips, tp, ep, dp) deployments tried for one phase."""
    if m.moe is not None:
        n = moe_chips if phase == "decode" else MOE_PREFILL_CHIPS
        return [(n, 1, n, n)]
    return [(tp, tp, 1, 1) for tp in DENSE_TP if tp <= domain]


def plan_text(chips: int, tp: int, ep: int) -> str:
    return f"{chips} chips, ep{ep}" if ep > 1 else f"tp{tp}"


def _best(m, sid: str, precision: str, phase: str, tpot: float | None, moe_chips: int):
    """The deployment with the highest per-chip throughput for the phase (meeting ``tpot``)."""
    from podsim.errors import PodsimError
    from podsim.hardware.resolve import resolve_system_arg
    from podsim.serving.predict import simulate
    from podsim.spec.jobs import ServingSpec

    domain = resolve_system_arg(sid).scale_up_domain
    key = "decode_tokens_per_s_per_chip" if phase == "decode" else "prefill_tokens_per_s_per_chip"
    best, plan, err = None, "", None
    for n, tp, ep, dp in _candidates(m, domain, phase, moe_chips):
        spec = ServingSpec(
            precision=precision,
            kv_precision=precision if precision in ("fp8", "int8") else None,
            phase=phase,
            input_len=INPUT_LEN,
            output_len=OUTPUT_LEN if phase == "decode" else 1,
            tp=tp,
            ep=ep,
            dp=dp,
            slo={"tpot": tpot} if tpot is not None else None,
            speculative={"draft_tokens": 1} if m.mtp_layers > 0 and phase == "decode" else None,
        )
        try:
            _, point, _ = simulate(m, resolve_system_arg(f"{sid}:{n}"), spec)
        except PodsimError as exc:
            err = f"{plan_text(n, tp, ep)}: {exc}"  # the last (largest) deployment tried
            continue
        if best is None or point[key] > best[key]:
            best = point
            plan = plan_text(n, tp, ep)
    return best, plan, (None if best is not None else err)


def serving_rows(ctx: ReportContext) -> list[ServeRow]:
    if "serving_rows" in ctx.cache:
        return ctx.cache["serving_rows"]
    from podsim import catalog
    from podsim.hardware.resolve import resolve_system_arg

    rows = []
    for mid, mlabel in SERVE_MODELS:
        m = catalog.model(mid)
        for sid, slabel, prec, moe_chips in SERVE_SYSTEMS:
            r = ServeRow(mid, mlabel, sid, slabel, prec)
            sysm = resolve_system_arg(sid)
            r.watts, r.power_basis = power_per_chip(sysm)
            r.chip_family, r.chip = sysm.chip.family, sysm.chip.id
            for tpot in TPOTS:
                pt, plan, err = _best(m, sid, prec, "decode", tpot, moe_chips)
                r.decode[tpot] = pt
                r.decode_plan[tpot] = plan
                if err:
                    r.decode_error[tpot] = err
            r.prefill, r.prefill_plan, r.prefill_error = _best(
                m, sid, prec, "prefill", None, moe_chips
            )
            rows.append(r)
    ctx.cache["serving_rows"] = rows
    return rows


def _kw(r: ServeRow, v: float | None) -> str:
    val = per_kw(v, r.watts)
    if val is None:
        return fmt.NA
    return ("≤ " if r.power_basis == "plant lower bound" else "") + fmt.num(val)


def _cell(pt: dict | None, key: str, plan: str | None) -> str:
    if pt is None:
        return fmt.NA
    return f"{fmt.num(pt[key])} ({plan}, batch {pt['batch']})"


def _tps(pt: dict | None, key: str) -> float | None:
    return None if pt is None else pt[key]


def _plot(rows: list[ServeRow], ctx: ReportContext):
    import numpy as np

    from podsim.report import plots

    fig, axes = plots.new(len(SERVE_MODELS), 1, width=10.0, height=3.4)
    series = (
        (
            "decode @ TPOT 50 ms",
            lambda r: _tps(r.decode.get(0.050), "decode_tokens_per_s_per_chip"),
        ),
        (
            "decode @ TPOT 15 ms",
            lambda r: _tps(r.decode.get(0.015), "decode_tokens_per_s_per_chip"),
        ),
        ("prefill", lambda r: _tps(r.prefill, "prefill_tokens_per_s_per_chip")),
    )
    colours = ("tab:blue", "tab:cyan", "tab:orange")
    for ax, (mid, mlabel) in zip(axes[0], SERVE_MODELS, strict=True):
        rs = [r for r in rows if r.model == mid]
        xs = np.arange(len(rs))
        w = 0.27
        for j, ((name, get), c) in enumerate(zip(series, colours, strict=True)):
            vals = [get(r) or 0.0 for r in rs]
            ax.bar(xs + (j - 1) * w, vals, w, label=name, color=c)
            for x, v, r in zip(xs, vals, rs, strict=True):
                txt = f"{v:,.0f}" if get(r) is not None else "n/a"
                ax.text(x + (j - 1) * w, v, txt, ha="center", va="bottom", fontsize=6, rotation=90)
        ax.set_xticks(xs)
        ax.set_xticklabels([r.system_label for r in rs], fontsize=7)
        ax.set_title(f"{mlabel}: tokens/s per chip")
        top = max([get(r) or 0.0 for r in rs for _, get in series] + [1.0])
        ax.set_ylim(0, top * 1.3)
        ax.legend(fontsize=6)
    return plots.save(
        fig,
        ctx,
        "serving.png",
        "Serving throughput per chip: decode at two TPOT targets, and prefill "
        f"({INPUT_LEN:,}-token prompts).",
    )


def build(ctx: ReportContext) -> Section:
    import podsim.serving.predict  # noqa: F401  (the backing model: ImportError -> not available)

    rows = serving_rows(ctx)
    table_rows = []
    for r in rows:
        d50, d15 = r.decode.get(0.050), r.decode.get(0.015)
        table_rows.append(
            [
                r.model_label,
                r.system_label,
                r.precision.upper(),
                _cell(d50, "decode_tokens_per_s_per_chip", r.decode_plan.get(0.050)),
                _cell(d15, "decode_tokens_per_s_per_chip", r.decode_plan.get(0.015)),
                _cell(r.prefill, "prefill_tokens_per_s_per_chip", r.prefill_plan),
                _kw(r, _tps(d50, "decode_tokens_per_s_per_chip")),
                _kw(r, _tps(r.prefill, "prefill_tokens_per_s_per_chip")),
                short_label("serving", r.chip_family, r.chip),
            ]
        )
    sec = Section("serving", "Serving")
    sec.add(
        Text(
            f"Disaggregated serving, {INPUT_LEN:,}-token prompts and {OUTPUT_LEN:,}-token "
            "answers. Decode: the largest batch whose time per output token (TPOT) meets the "
            "target; prefill: the batch with the best throughput. DeepSeek-R1 (MoE): attention "
            "data parallelism with expert parallelism over the instance (decode: 160 CloudMatrix "
            "NPUs as in the CloudMatrix 384 paper, 256 Atlas 950 cards, one 72-GPU NVL72 rack; "
            f"prefill: {MOE_PREFILL_CHIPS} chips), with one MTP draft token. Llama 3.1 405B "
            "(dense): the tensor-parallel size among "
            + ", ".join(str(t) for t in DENSE_TP)
            + " with the best per-chip throughput that meets the target. INT8 weights and KV "
            "cache on the Ascend 910C (no FP8), FP8 elsewhere."
        ),
        Table(
            [
                "model",
                "system",
                "precision",
                "decode tok/s/chip @ TPOT 50 ms",
                "decode @ TPOT 15 ms",
                "prefill tok/s/chip",
                "decode tok/s per kW (50 ms)",
                "prefill tok/s per kW",
                "model's median |error| on this chip",
            ],
            table_rows,
            caption="Serving throughput per chip (deployment, batch) and per kW of IT power; the "
            "last column: how far the model has been from published serving runs on that chip (on "
            "its family where the chip has none; `podsim validate`)",
            left=(0, 1, 2, 8),
        ),
        _plot(rows, ctx),
    )
    for r in rows:
        for tpot, err in r.decode_error.items():
            sec.add(Note(f"{r.model_label} on {r.system_label}, TPOT {tpot * 1e3:.0f} ms: {err}"))
        if r.prefill_error:
            sec.add(Note(f"{r.model_label} on {r.system_label}, prefill: {r.prefill_error}"))
    sec.add(
        Note(
            "Per-kW figures divide by all-in IT power per chip (see Training); '≤' where "
            "the plant's power is a lower bound."
        )
    )
    best = {}
    for mid, mlabel in SERVE_MODELS:
        cands = [r for r in rows if r.model == mid and r.decode.get(0.050)]
        if cands:
            b = max(cands, key=lambda r: r.decode[0.050]["decode_tokens_per_s_per_chip"])
            best[mlabel] = b
    sec.summary = (
        "; ".join(
            f"{k} decode @50 ms: best {b.system_label} "
            f"{b.decode[0.050]['decode_tokens_per_s_per_chip']:,.0f} tok/s/chip"
            for k, b in best.items()
        )
        or "no serving point computed"
    )
    return sec
