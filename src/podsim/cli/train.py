"""`podsim train`: step time, throughput, MFU, time and memory breakdown of one plan."""

from __future__ import annotations

import typer

from podsim import catalog
from podsim.cli.output import breakdown_table, caveat, console, emit_json, memory_table
from podsim.cli.train_options import training_spec
from podsim.cli.validated import precision_note, validation_line, validation_record
from podsim.errors import PlanError
from podsim.hardware.resolve import resolve_system_arg
from podsim.training.plan import from_spec, raise_if_invalid
from podsim.training.step import simulate_plans
from podsim.training.summary import result_dict
from podsim.units import format_quantity


def train(
    model: str = typer.Option(..., help="catalog model id, model YAML or HF config.json"),
    system: str = typer.Option(..., help="catalog system id, system YAML, or id:N"),
    chips: int = typer.Option(None, help="chips used (default: the system's)"),
    tp: int = typer.Option(1),
    pp: int = typer.Option(1),
    vpp: int = typer.Option(1),
    cp: int = typer.Option(1),
    ep: int = typer.Option(1),
    dp: int = typer.Option(None),
    zero: int = typer.Option(1, help="0 none, 1 optimizer, 2 +grads, 3 +params"),
    recompute: str = typer.Option("none", help="none | selective | full"),
    micro_batch: int = typer.Option(1),
    global_batch: int = typer.Option(None),
    seq_len: int = typer.Option(None, help="default: 4096"),
    precision: str = typer.Option("bf16", help="bf16 | fp16 | fp8 | fp4"),
    sequence_parallel: bool = typer.Option(True, help="sequence parallelism with TP"),
    uneven_pp: bool = typer.Option(False, help="allow stages with unequal layer counts"),
    ep_overlap: bool = typer.Option(
        True,
        help="expert all-to-all hidden behind another micro-batch's compute "
        "(Megatron-Core --overlap-moe-expert-parallel-comm, needs PP 1 or VPP > 1); "
        "--no-ep-overlap puts it on the critical path (Megatron-Core's default)",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Predict one training step of MODEL on SYSTEM with the given parallel plan."""
    m = catalog.model(model)
    sysm = resolve_system_arg(system, chips)
    n = sysm.chips
    spec = training_spec(
        n,
        precision=precision,
        seq_len=seq_len,
        global_batch=global_batch,
        micro_batch=micro_batch,
        tp=tp,
        pp=pp,
        cp=cp,
        ep=ep,
        dp=dp,
        vpp=vpp,
        zero=zero,
        recompute=recompute,
        sequence_parallel=sequence_parallel,
    )
    plan = from_spec(spec, n, uneven_pp=uneven_pp)
    raise_if_invalid(plan, m, n)
    res = simulate_plans(m, sysm, plan, precision, ep_overlap=ep_overlap)
    out = result_dict(res)
    if not out["fits"]:
        over = -out["memory_headroom_bytes"]
        out["warning"] = (
            f"does not fit: needs {format_quantity(out['memory_bytes']['total'], 'bytes')}"
            f" per chip, {format_quantity(over, 'bytes')} over the "
            f"{format_quantity(res.hbm_capacity, 'bytes')} HBM"
        )
    out = {
        "model": m.name,
        "system": sysm.id,
        "plan": spec.model_dump(),
        "ep_overlap": ep_overlap,
        **out,
        "validation": validation_record("training", sysm.chip.family, sysm.chip.id),
        "precision_note": precision_note(sysm.chip, precision),
    }
    if as_json:
        emit_json(out)
        if out.get("warning"):  # the same exit code as without --json
            raise PlanError(out["warning"], field="plan")
        return
    console.print(
        f"[bold]{m.name}[/] on [bold]{sysm.name}[/] ({n:,} chips), "
        f"tp{tp} pp{pp} vpp{vpp} cp{cp} ep{ep} dp{plan.dp.item()} zero{zero} "
        f"recompute={recompute} mb{micro_batch} gb{spec.global_batch} seq{spec.seq_len} {precision}"
    )
    console.print(
        f"step time {out['step_time_s']:.3f} s | tokens/s/chip "
        f"{out['tokens_per_s_per_chip']:,.1f} | MFU {100 * out['mfu']:.1f}% | "
        f"HFU {100 * out['hfu']:.1f}%"
    )
    console.print(validation_line("training", sysm.chip.family, sysm.chip.id))
    caveat(out["precision_note"])
    console.print(
        breakdown_table("time per step", out["breakdown_s"], out["step_time_s"], ms=False)
    )
    console.print(
        memory_table(
            "memory per chip (busiest stage)",
            {**out["memory_bytes"], "HBM capacity": res.hbm_capacity},
        )
    )
    if out.get("warning"):
        console.print(f"[red]{out['warning']}[/]")
        raise PlanError(out["warning"], field="plan")
    console.print(f"fits, headroom {format_quantity(out['memory_headroom_bytes'], 'bytes')}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
