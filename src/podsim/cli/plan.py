"""`podsim plan train|serve`: exhaustive search for the best parallel plan (presentation only)."""

from __future__ import annotations

import typer

from podsim import catalog
from podsim.cli.latency_options import TPOT_HELP, TTFT_HELP, latency_target
from podsim.cli.output import breakdown_table, cached_note, caveat, console, emit_json, table
from podsim.cli.validated import precision_note, validation_line, validation_record
from podsim.errors import SpecError
from podsim.hardware.resolve import resolve_system_arg
from podsim.units import format_quantity

plan_app = typer.Typer(
    name="plan",
    help="Find the best parallel plan for training or serving by exhaustive search.",
    no_args_is_help=True,
)


def _int_list(text: str | None, field: str) -> list[int]:
    if not text:
        return []
    try:
        return [int(x.strip().replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SpecError(
            "expected comma-separated whole numbers",
            field=field,
            value=text,
            allowed="e.g. 1024,2048,4096",
        ) from None


def _write_plot(fn, *args, path: str, **kwargs) -> None:
    """Write a plot; a path that cannot be written is a one-line error naming it."""
    try:
        fn(*args, path, **kwargs)
    except OSError as exc:
        raise SpecError(
            f"cannot write the plot: {exc.strerror or exc}",
            field="plot",
            value=path,
            allowed="a PNG path in an existing, writable folder",
        ) from None


def _rejections(rejected: dict[str, int]) -> list[list]:
    return [[r, f"{c:,}"] for r, c in sorted(rejected.items(), key=lambda kv: -kv[1]) if c]


@plan_app.command("train")
def plan_train(
    model: str = typer.Option(..., help="catalog model id, model YAML or HF config.json"),
    system: str = typer.Option(..., help="catalog system id, system YAML, or id:N"),
    chips: int = typer.Option(None, help="chips used (default: the system's)"),
    global_batch: int = typer.Option(None, help="sequences per step (default: ~4M tokens)"),
    seq_len: int = typer.Option(4096),
    precision: str = typer.Option("bf16", help="bf16 | fp16 | fp8 | fp4"),
    top: int = typer.Option(10, help="how many plans to show"),
    objective: str = typer.Option("throughput", help="throughput | mfu | cost"),
    uneven_pp: bool = typer.Option(True, help="allow stages with unequal layer counts"),
    tp_cap: int = typer.Option(None, help="largest TP (default: min(64, 2 x scale-up domain))"),
    zero_stages: str = typer.Option("0,1,2,3", help="ZeRO stages to consider"),
    pareto_chips: str = typer.Option(None, help="also search at these chip counts: N1,N2,..."),
    plot: str = typer.Option(None, help="PNG file for the throughput-vs-chips plot"),
    export: str = typer.Option(None, help="print the best plan as megatron | mindspeed flags"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Search every TP/PP/vpp/CP/EP/DP, ZeRO, recompute and micro-batch for MODEL on SYSTEM."""
    from podsim.planner.export import FRAMEWORKS_TRAIN, as_command, megatron_args, mindspeed_args
    from podsim.planner.search import check_request, search_training
    from podsim.planner.space import SpaceOptions

    if export is not None and export not in FRAMEWORKS_TRAIN:
        raise SpecError(
            "unknown framework", field="export", value=export, allowed=", ".join(FRAMEWORKS_TRAIN)
        )
    zs = tuple(_int_list(zero_stages, "zero_stages"))
    if not zs or any(z not in (0, 1, 2, 3) for z in zs):
        raise SpecError(
            "ZeRO stages must be among 0-3",
            field="zero_stages",
            value=zero_stages,
            allowed="e.g. 0,1",
        )
    # the planner's own check of its arguments, before the model and system are loaded
    req, opts = check_request(
        seq_len=seq_len,
        global_batch=global_batch,
        precision=precision,
        objective=objective,
        top=top,
        options=SpaceOptions(uneven_pp=uneven_pp, tp_cap=tp_cap, zero=zs),
    )
    m = catalog.model(model)
    sysm = resolve_system_arg(system, chips)
    res = search_training(
        m,
        sysm,
        global_batch=req.global_batch,  # None: the planner's default (~4M tokens per step)
        seq_len=seq_len,
        precision=precision,
        objective=objective,
        top=top,
        options=opts,
    )
    out = res.as_dict()
    gb = res.global_batch
    flags = None
    if export:
        fn = megatron_args if export == "megatron" else mindspeed_args
        flags = fn(
            res.best[0]["plan"], layers=m.layers, precision=precision, mtp_layers=m.mtp_layers
        )
        out["export"] = {"framework": export, "args": flags, "command": as_command(flags)}
    pareto = None
    if pareto_chips:
        from podsim.planner.pareto import training_pareto

        pareto = training_pareto(
            m,
            sysm,
            _int_list(pareto_chips, "pareto_chips"),
            global_batch=gb,
            seq_len=seq_len,
            precision=precision,
            objective=objective,
            options=opts,
        )
        out["pareto"] = pareto
        if plot:
            from podsim.planner.plot import plot_training_pareto

            _write_plot(
                plot_training_pareto,
                pareto,
                path=plot,
                title=f"{m.name} on {sysm.id} ({precision})",
            )
            out["plot"] = plot
    elif plot:
        raise SpecError("--plot needs --pareto-chips", field="plot", value=plot)
    out["validation"] = validation_record("training", sysm.chip.family, sysm.chip.id)
    out["precision_note"] = precision_note(sysm.chip, precision)
    if as_json:
        emit_json(out)
        return
    console.print(
        f"[bold]{m.name}[/] on [bold]{sysm.name}[/] ({res.chips:,} chips), {precision}, "
        f"global batch {gb} x seq {seq_len}, objective {objective}"
    )
    console.print(
        f"considered {res.considered:,} plans, valid {res.valid:,}, fit in memory "
        f"{res.fitting:,} ({res.seconds:.2f} s, {res.evaluated_per_s:,.0f} plans/s)"
    )
    cols = ["#", "plan", "step s", "tokens/s/chip", "MFU", "mem/chip", "headroom"]
    if res.cost_per_hour_usd is not None:
        cols.append("$/Mtok")
    rows = []
    for i, b in enumerate(res.best, 1):
        met = b["metrics"]
        row = [
            i,
            b["label"],
            f"{met['step_time_s']:.3f}",
            f"{met['tokens_per_s_per_chip']:,.1f}",
            f"{100 * met['mfu']:.1f}%",
            format_quantity(met["memory_bytes"]["total"], "bytes"),
            format_quantity(met["memory_headroom_bytes"], "bytes"),
        ]
        if "usd_per_million_tokens" in b:
            row.append(f"{b['usd_per_million_tokens']:.3f}")
        rows.append(row)
    console.print(table(f"top {len(rows)} plans", cols, rows))
    console.print(validation_line("training", sysm.chip.family, sysm.chip.id))
    caveat(out["precision_note"])
    best = res.best[0]["metrics"]
    console.print(
        breakdown_table(
            "best plan: time per step", best["breakdown_s"], best["step_time_s"], ms=False
        )
    )
    console.print(
        table(
            "rejected (a plan may break several rules)",
            ["reason", "plans"],
            _rejections(res.rejected),
        )
    )
    if pareto:
        prow = [
            [
                r["chips"],
                r.get("label", r.get("error", "")),
                f"{r['tokens_per_s']:,.0f}" if "tokens_per_s" in r else "-",
                f"{r['tokens_per_s_per_chip']:,.1f}" if "tokens_per_s" in r else "-",
                "*" if r.get("on_front") else "",
            ]
            for r in pareto
        ]
        console.print(
            table(
                "best plan per chip count",
                ["chips", "plan", "tokens/s", "tokens/s/chip", "front"],
                prow,
            )
        )
    if flags:
        console.print(f"[bold]{export}[/]: {as_command(flags)}")


@plan_app.command("serve")
def plan_serve(
    model: str = typer.Option(..., help="catalog model id, model YAML or HF config.json"),
    system: str = typer.Option(..., help="catalog system id, system YAML, or id:N"),
    chips: int = typer.Option(None, help="chips used (default: the system's)"),
    input_len: int = typer.Option(4096, help="prompt tokens"),
    output_len: int = typer.Option(1024, help="generated tokens"),
    precision: str = typer.Option("bf16", help="weights: bf16 | fp16 | fp8 | int8 | fp4"),
    kv_precision: str = typer.Option(None, help="KV cache (default: 16-bit)"),
    tpot: str = typer.Option(None, help=TPOT_HELP),
    ttft: str = typer.Option(None, help=TTFT_HELP),
    phase: str = typer.Option("end_to_end", help="end_to_end | decode | prefill | disaggregated"),
    draft_tokens: int = typer.Option(0, help="speculative (MTP) draft tokens"),
    output_cv: float = typer.Option(
        0.0, help="output-length std / mean (0: fixed; ~1 for long-tailed answers)"
    ),
    prefix_hit: float = typer.Option(
        0.0,
        help="fraction of each prompt found in the prefix cache (shared system prompt, earlier "
        "turns): its KV is read, not recomputed; throughputs still count every prompt token",
    ),
    kv_allocation: str = typer.Option(
        "reserved",
        help="reserved: KV for each request's prompt and whole output held from admission "
        "(TensorRT-LLM's no-evict scheduler); paged: allocated as sequences grow (vLLM, SGLang)",
    ),
    max_output_len: int = typer.Option(
        None, help="with reserved KV: output tokens reserved per request; default: --output-len"
    ),
    objective: str = typer.Option("chip", help="tokens/s per: chip | kw | dollar"),
    top: int = typer.Option(10),
    tp_cap: int = typer.Option(None),
    plot: str = typer.Option(None, help="PNG file: tokens/s/chip vs TPOT with the Pareto front"),
    pareto: bool = typer.Option(False, help="list the throughput-vs-TPOT Pareto front"),
    export: str = typer.Option(None, help="print the best plan as vllm | sglang flags"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Search TP, EP, attention DP, PP and batch (and disaggregated pools) for MODEL on SYSTEM."""
    from podsim.planner.export import FRAMEWORKS_SERVE, as_command, sglang_args, vllm_args
    from podsim.planner.serve import check_request, search_serving

    if export is not None and export not in FRAMEWORKS_SERVE:
        raise SpecError(
            "unknown framework", field="export", value=export, allowed=", ".join(FRAMEWORKS_SERVE)
        )
    t_tpot, t_ttft = latency_target(tpot, "tpot"), latency_target(ttft, "ttft")
    request = dict(
        input_len=input_len,
        output_len=output_len,
        precision=precision,
        kv_precision=kv_precision,
        tpot=t_tpot,
        ttft=t_ttft,
        phase=phase,
        draft_tokens=draft_tokens,
        output_cv=output_cv,
        max_output_len=max_output_len,
        kv_allocation=kv_allocation,
        prefix_hit=prefix_hit,
        objective=objective,
        top=top,
        tp_cap=tp_cap,
    )
    check_request(**request)  # the planner's own check, before the model and system are loaded
    m = catalog.model(model)
    sysm = resolve_system_arg(system, chips)
    res = search_serving(m, sysm, **request, keep_points=plot is not None or pareto)
    out = res.as_dict()
    flags = notes = None
    if export:
        b = res.best[0]
        plans = [b["decode"], b["prefill"]] if phase == "disaggregated" else [b]
        fn = vllm_args if export == "vllm" else sglang_args
        out["export"] = []
        for pl in plans:
            flags, notes = fn({**pl["plan"], "precision": precision, "kv_precision": kv_precision})
            out["export"].append(
                {
                    "framework": export,
                    "role": pl.get("role", "instance"),
                    "args": flags,
                    "command": as_command(flags),
                    "notes": notes,
                }
            )
    if plot:
        from podsim.planner.plot import plot_serving_pareto

        _write_plot(
            plot_serving_pareto,
            res.points,
            path=plot,
            title=f"{m.name} on {sysm.id} ({precision})",
        )
        out["plot"] = plot
    pts = out.pop("points", None) or {}
    front = [
        {"plan": pl, "tpot_s": t, "tokens_per_s_per_chip": y}
        for pl, t, y, on in zip(
            pts.get("plan", []),
            pts.get("tpot_s", []),
            pts.get("tokens_per_s_per_chip", []),
            pts.get("on_front", []),
            strict=True,
        )
        if on
    ]
    front.sort(key=lambda d: d["tpot_s"])
    if pareto:
        out["pareto_front"] = front
    out["validation"] = validation_record("serving", sysm.chip.family, sysm.chip.id)
    out["precision_note"] = precision_note(sysm.chip, precision)
    if as_json:
        emit_json(out)
        return
    targets = (
        ", ".join(
            s
            for s in (
                f"TPOT <= {1e3 * t_tpot:g} ms" if t_tpot else "",
                f"TTFT <= {t_ttft:g} s" if t_ttft else "",
            )
            if s
        )
        or "no latency target"
    )
    console.print(
        f"[bold]{m.name}[/] on [bold]{sysm.name}[/] ({sysm.chips:,} chips), {precision}, "
        f"{input_len} in{cached_note(prefix_hit)} / {output_len} out, {phase}, {targets}, per {objective}"
        + (
            f", KV reserved for {max_output_len or output_len:,} output tokens"
            if kv_allocation == "reserved"
            else ", KV paged"
        )
    )
    console.print(
        f"considered {res.considered:,} plans, valid {res.valid:,}, fit in memory "
        f"{res.fitting:,}, meet targets {res.meeting:,} ({res.seconds:.2f} s)"
    )
    rows = []
    for i, b in enumerate(res.best, 1):
        rows.append(
            [
                i,
                b["label"],
                f"{b['tokens_per_s_per_chip']:,.1f}",
                f"{1e3 * b['tpot_s']:.1f}" if b.get("tpot_s") == b.get("tpot_s") else "-",
                f"{b['ttft_s']:.2f}",
                *([] if objective == "chip" else [f"{b['objective_value']:,.4g}"]),
            ]
        )
    unit = {"kw": "tokens/s per kW", "dollar": "tokens per dollar"}.get(objective)
    console.print(
        table(
            f"top {len(rows)} plans",
            ["#", "plan", "tokens/s/chip", "TPOT ms", "TTFT s", *([unit] if unit else [])],
            rows,
        )
    )
    console.print(validation_line("serving", sysm.chip.family, sysm.chip.id))
    caveat(out["precision_note"])
    pools = res.best[0].get("pools")
    if pools:
        console.print(
            f"best split in whole instances: {pools['prefill_instances']} prefill "
            f"({pools['prefill_chips']} chips) + {pools['decode_instances']} decode "
            f"({pools['decode_chips']} chips), {pools['idle_chips']} idle: "
            f"{pools['tokens_per_s_per_chip_whole_instances']:,.1f} tokens/s/chip"
        )
    console.print(table("rejected", ["reason", "plans"], _rejections(res.rejected)))
    if pareto and front:
        step = max(len(front) // 12, 1)
        frows = [
            [d["plan"], f"{1e3 * d['tpot_s']:.1f}", f"{d['tokens_per_s_per_chip']:,.1f}"]
            for d in front[::step]
        ]
        console.print(
            table(
                f"Pareto front ({len(front)} points, every {step})",
                ["instance", "TPOT ms", "tokens/s/chip"],
                frows,
            )
        )
    for e in out.get("export", []):
        console.print(f"[bold]{export}[/] ({e['role']}): {e['command']}")
        for n in e["notes"]:
            console.print(f"  note: {n}")


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")
