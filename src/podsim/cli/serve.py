"""`podsim serve`: TTFT, TPOT, throughput per chip / system / kW / dollar-hour, memory, breakdown."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from podsim import catalog
from podsim.cli.latency_options import TPOT_HELP, TTFT_HELP, latency_target
from podsim.cli.output import (
    breakdown_table,
    cached_note,
    caveat,
    console,
    emit_json,
    memory_table,
    ms_text,
    table,
)
from podsim.cli.validated import (
    precision_note,
    too_slow_note,
    validation_line,
    validation_record,
)
from podsim.errors import PlanError, SpecError
from podsim.hardware.resolve import resolve_system_arg
from podsim.serving.step import DEFAULT_ACCEPTANCE
from podsim.spec.errors import spec_error
from podsim.spec.jobs import ServingSpec
from podsim.units import format_quantity


def _plant_figures(sysm, tokens_per_s_system: float) -> dict:
    """tokens/s per kW (IT and facility power) and per dollar-hour, None where unknown."""
    from podsim.facility.energy import facility_summary

    fs = facility_summary(sysm, served_tokens_per_s=tokens_per_s_system)
    acc = fs.accelerator_power_w
    it, fac, cost_h = fs.it_power_w, fs.facility_power_w, fs.cost_per_hour_usd
    return {
        "it_power_w": it,
        "facility_power_w": fac,
        "accelerator_power_w": acc,
        "capital_cost_usd": fs.capex_usd,
        "cost_per_hour_usd": cost_h,
        "tokens_per_s_per_kw_it": tokens_per_s_system / (it / 1e3) if it else None,
        "tokens_per_s_per_kw_facility": tokens_per_s_system / (fac / 1e3) if fac else None,
        "tokens_per_s_per_kw_accelerators": tokens_per_s_system / (acc / 1e3) if acc else None,
        "tokens_per_dollar_hour": tokens_per_s_system * 3600.0 / cost_h if cost_h else None,
        "amortisation_years": fs.lifetime_years,
        "plant_missing": list(fs.missing),
    }


def serve(
    model: str = typer.Option(..., help="catalog model id, model YAML or HF config.json"),
    system: str = typer.Option(..., help="catalog system id, system YAML, or id:N"),
    chips: int = typer.Option(None, help="chips used (default: the system's)"),
    tp: int = typer.Option(1, help="tensor parallel"),
    ep: int = typer.Option(1, help="expert parallel (MoE)"),
    dp: int = typer.Option(1, help="attention data-parallel ranks per instance"),
    pp: int = typer.Option(1, help="pipeline stages"),
    batch: int = typer.Option(
        None, help="sequences per attention group (TP x PP chips); default: chosen"
    ),
    input_len: int = typer.Option(1024, help="prompt tokens"),
    output_len: int = typer.Option(1024, help="generated tokens"),
    phase: str = typer.Option("end_to_end", help="end_to_end | prefill | decode"),
    precision: str = typer.Option("bf16", help="bf16 | fp16 | fp8 | int8 | fp4"),
    kv_precision: str = typer.Option(None, help="KV-cache precision (default bf16)"),
    tpot: str = typer.Option(None, help=TPOT_HELP),
    ttft: str = typer.Option(None, help=TTFT_HELP),
    draft_tokens: int = typer.Option(0, help="speculative (MTP) draft tokens per step"),
    acceptance: float = typer.Option(
        None,
        help=f"mean fraction of draft tokens accepted (default: {DEFAULT_ACCEPTANCE:g} for one "
        "draft, each later draft compounding it)",
    ),
    moe_imbalance: float = typer.Option(
        None, help="tokens on the busiest EP rank / mean (default 1.1)"
    ),
    output_cv: float = typer.Option(
        0.0,
        help="output-length std / mean of the workload (0: fixed; ~1 for long-tailed answers): "
        "long answers stay in the batch longer, so the mean KV context grows",
    ),
    prefix_hit: float = typer.Option(
        0.0,
        help="fraction of each prompt found in the prefix cache (shared system prompt, earlier "
        "turns): its KV is read, not recomputed; throughputs still count every prompt token",
    ),
    kv_allocation: str = typer.Option(
        None,
        help="how the engine holds the KV cache: reserved (a request is admitted only if its "
        "prompt and whole output fit, as TensorRT-LLM's default no-evict scheduler does) or "
        "paged (pages allocated as sequences grow, as vLLM and SGLang do); default: reserved "
        "for a chosen batch, paged for a given --batch",
    ),
    max_output_len: int = typer.Option(
        None,
        help="with reserved KV: the output tokens reserved per request (the engine's output "
        "limit, e.g. max_new_tokens); default: --output-len",
    ),
    overlap: str = typer.Option(
        "auto",
        help="MoE with EP: two-batch overlap of the expert all-to-all with the other half "
        "batch's compute (SGLang --enable-two-batch-overlap, DeepSeek dual micro-batch): auto "
        "(where it is faster), tbo (always) or none (the all-to-all in line)",
    ),
    disaggregate: bool = typer.Option(
        False, help="size prefill and decode pools (same plan for both) instead"
    ),
    kv_network: str = typer.Option(
        "scale_up", help="disaggregated KV transfer: scale_up | scale_out"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Predict serving MODEL on SYSTEM: latency, throughput, memory and where the time goes."""
    from podsim.serving.disagg import disaggregate as run_disagg
    from podsim.serving.predict import check_plan, config_for, simulate
    from podsim.serving.summary import point_dict

    m = catalog.model(model)
    sysm = resolve_system_arg(system, chips)
    n = sysm.chips
    t_tpot, t_ttft = latency_target(tpot, "tpot"), latency_target(ttft, "ttft")
    if acceptance is not None and not draft_tokens:
        raise SpecError(
            "an acceptance rate needs speculative decoding",
            field="acceptance",
            value=acceptance,
            allowed="--acceptance with --draft-tokens N (N >= 1)",
        )
    try:
        spec = ServingSpec(
            precision=precision,
            kv_precision=kv_precision,
            phase=phase,
            input_len=input_len,
            output_len=output_len,
            batch=batch,
            tp=tp,
            ep=ep,
            dp=dp,
            pp=pp,
            slo=(
                {"tpot": t_tpot, "ttft": t_ttft}
                if (t_tpot is not None or t_ttft is not None)
                else None
            ),
            speculative=(
                {"draft_tokens": draft_tokens, "acceptance_rate": acceptance}
                if draft_tokens
                else None
            ),
        )
    except ValidationError as exc:
        raise spec_error(exc, what="serving plan") from None
    head = {
        "model": m.name,
        "system": sysm.id,
        "chips": n,
        "plan": spec.model_dump(mode="json"),
        "validation": validation_record("serving", sysm.chip.family, sysm.chip.id),
        "precision_note": precision_note(sysm.chip, spec.precision),
    }
    # the engine options every configuration takes, and those of decoding sequences' KV cache
    engine = dict(moe_imbalance=moe_imbalance, prefix_hit=prefix_hit, overlap=overlap)
    decoding = dict(output_cv=output_cv, max_output_len=max_output_len, kv_allocation=kv_allocation)
    if disaggregate:
        check_plan(m, n, spec)
        pre = config_for(
            m, sysm, spec.model_copy(update={"phase": "prefill", "batch": None}), **engine
        )
        dec = config_for(
            m,
            sysm,
            spec.model_copy(update={"phase": "decode", "batch": None}),
            **engine,
            **decoding,
        )
        res = run_disagg(pre, dec, tpot=t_tpot, ttft=t_ttft, network=kv_network, chips=n)
        out = {**head, "disaggregated": res.as_dict()}
        whole = res.tokens_per_s_per_chip_whole_instances  # the pools as deployed on n chips
        tps_sys = (whole if whole is not None else res.tokens_per_s_per_chip) * n
        out["tokens_per_s_system"] = tps_sys
        out.update(_plant_figures(sysm, tps_sys))
        if as_json:
            emit_json(out)
            return
        console.print(
            f"[bold]{m.name}[/] on [bold]{sysm.name}[/] ({n:,} chips), disaggregated "
            f"prefill/decode, {input_len} in{cached_note(prefix_hit)} / {output_len} out, {precision}"
        )
        rows = [
            ["prefill : decode chips", f"{res.prefill_chips_per_decode_chip:.3f} : 1"],
            ["prefill share of chips", f"{100 * res.prefill_fraction:.1f}%"],
            [
                "prefill / decode chips (whole instances)",
                f"{res.prefill_chips} / {res.decode_chips}"
                + (f", {res.idle_chips} idle" if res.idle_chips else "")
                if whole is not None
                else f"none: one instance of each needs {res.min_chips:,} chips",
            ],
            [
                "prefill batch / tok/s/chip",
                f"{res.prefill['batch']} / {res.prefill['prefill_tokens_per_s_per_chip']:,.0f}",
            ],
            [
                "decode batch / tok/s/chip",
                f"{res.decode['batch']} / {res.decode['decode_tokens_per_s_per_chip']:,.0f}",
            ],
            ["TTFT (prefill + KV transfer)", f"{res.ttft_s * 1e3:,.1f} ms"],
            [
                "KV per request / transfer",
                f"{format_quantity(res.kv_bytes_per_request, 'bytes')}"
                f" / {res.kv_transfer_s * 1e3:.2f} ms ({kv_network})",
            ],
            ["TPOT", f"{res.tpot_s * 1e3:,.2f} ms"],
            ["tokens/s per chip (in+out), ideal split", f"{res.tokens_per_s_per_chip:,.1f}"],
            [
                "tokens/s per chip (in+out), whole instances",
                f"{whole:,.1f}" if whole is not None else "-",
            ],
            [
                "tokens/s system (in+out)" + (", ideal split" if whole is None else ""),
                f"{tps_sys:,.0f}",
            ],
        ]
        console.print(table(None, ["", "value"], rows))
        console.print(validation_line("serving", sysm.chip.family, sysm.chip.id))
        caveat(head["precision_note"])
        return
    try:
        c, point, choice = simulate(m, sysm, spec, **engine, **decoding)
    except PlanError as exc:
        note = too_slow_note("serving", sysm.chip.family, sysm.chip.id)
        if exc.field != "slo" or note is None:
            raise
        raise PlanError(
            f"{exc.message} ({note})", field=exc.field, value=exc.value, allowed=exc.allowed
        ) from None
    tps_sys = point["tokens_per_s_per_chip"] * n
    out = {
        **head,
        **point_dict(c, point, choice),
        "tokens_per_s_system": tps_sys,
        "decode_tokens_per_s_system": point["decode_tokens_per_s_per_chip"] * n,
        "replicas": n // (tp * dp * pp),
    }
    out.update(_plant_figures(sysm, tps_sys))
    if as_json:
        emit_json(out)
        return
    console.print(
        f"[bold]{m.name}[/] on [bold]{sysm.name}[/] ({n:,} chips), tp{tp} ep{ep} dp{dp} pp{pp}, "
        f"{phase}, {input_len} in{cached_note(prefix_hit)} / {output_len} out, {precision} (KV {kv_precision or 'bf16'})"
        + (f", {draft_tokens} draft tokens" if draft_tokens else "")
    )
    rows = [
        ["batch per attention group", f"{out['batch']}" + (" (chosen)" if batch is None else "")],
        [
            "TTFT (mean / p99 under load)",
            f"{ms_text(out['ttft_s'])} / {ms_text(out['ttft_p99_s'])}",
        ],
        ["TPOT", ms_text(out["tpot_s"])],
        ["prefill tokens/s per chip", f"{out['prefill_tokens_per_s_per_chip']:,.1f}"],
        ["decode tokens/s per chip", f"{out['decode_tokens_per_s_per_chip']:,.1f}"],
        ["tokens/s per chip (in+out)", f"{out['tokens_per_s_per_chip']:,.1f}"],
        ["tokens/s system (in+out)", f"{tps_sys:,.0f}"],
    ]
    if m.moe is not None and ep > 1:
        used = "on" if out["two_batch_overlap"] else "off"
        rows.append(["two-batch overlap", f"{used} ({overlap})"])
    if phase != "prefill":
        held = f"{out['kv_tokens_per_sequence']:,.0f} tokens"
        held += (
            f" (reserved: {input_len:,} in + {out['kv_tokens_per_sequence'] - input_len:,.0f} out)"
            if c.kv_allocation == "reserved"
            else " (mean context, paged)"
        )
        rows.append(["KV cache held per sequence", held])
    if "max_batch_in_memory" in out:
        rows.append(["largest batch in memory", f"{out['max_batch_in_memory']:,}"])
    for key, label in (
        ("tokens_per_s_per_kw_it", "tokens/s per kW (IT)"),
        ("tokens_per_s_per_kw_facility", "tokens/s per kW (facility)"),
        ("tokens_per_dollar_hour", "tokens per $-hour (capital + energy)"),
    ):
        v = out.get(key)
        rows.append([label, f"{v:,.1f}" if v is not None else "unknown"])
    console.print(table(None, ["", "value"], rows))
    console.print(validation_line("serving", sysm.chip.family, sysm.chip.id))
    caveat(head["precision_note"])
    console.print(
        breakdown_table("time per iteration", out["breakdown_s"], out["iteration_s"], ms=True)
    )
    console.print(memory_table("memory per chip", out["memory_bytes"]))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
