"""`podsim goodput`: interruptions by component, checkpoint interval, lost time, ETTR, tokens/day.

Presentation only: the numbers come from podsim.reliability (and the training model)."""

from __future__ import annotations

import typer

from podsim import catalog
from podsim.cli.output import console, emit_json, table
from podsim.cli.train_options import training_spec
from podsim.errors import PlanError, SpecError
from podsim.hardware.resolve import resolve_system_arg
from podsim.reliability.checkpoint import MODES
from podsim.reliability.goodput import goodput_for_job
from podsim.reliability.params import HOURS_PER_YEAR, load_params, rate_set_names
from podsim.spec.checks import MAX_DAYS, finite_number
from podsim.units import format_quantity


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def goodput(
    model: str = typer.Option(..., help="catalog model id, model YAML or HF config.json"),
    system: str = typer.Option(..., help="catalog system id, system YAML, or id:N"),
    chips: int = typer.Option(None, help="chips used (default: the system's)"),
    days: float = typer.Option(30.0, help="length of the run in days"),
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
    uneven_pp: bool = typer.Option(False, help="allow stages with unequal layer counts"),
    checkpoint: str = typer.Option("storage", help="storage | in-memory"),
    rate_set: str = typer.Option("llama3-405b", help="failure-rate calibration"),
    recovery: str = typer.Option(None, help="recovery profile (default: llama3)"),
    trust_vendor_claims: bool = typer.Option(
        False, help="apply vendor reliability claims (e.g. UB 2.0 optics 100x)"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Failures, checkpoints and goodput of training MODEL on SYSTEM for DAYS."""
    finite_number(days, "days", "the length of the run in days", most=MAX_DAYS)
    if rate_set not in rate_set_names():
        raise SpecError(
            "unknown failure-rate set",
            field="rate-set",
            value=rate_set,
            allowed=", ".join(rate_set_names()),
        )
    if checkpoint not in MODES:
        raise SpecError(
            "unknown checkpoint mode",
            field="checkpoint",
            value=checkpoint,
            allowed=", ".join(MODES),
        )
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
    )
    params = load_params(
        rate_set=rate_set, recovery=recovery, trust_vendor_claims=trust_vendor_claims
    )
    pt, rep, spares = goodput_for_job(
        m, sysm, spec, days=days, checkpoint=checkpoint, uneven_pp=uneven_pp, params=params
    )
    if as_json:
        emit_json(
            {
                "model": m.name,
                "plan": spec.model_dump(),
                "training": pt.to_dict(),
                **rep.to_dict(),
                "spares": spares.to_dict(),
                **({} if pt.fits else {"warning": "the plan does not fit in memory"}),
            }
        )
        _fail_if_not_fit(pt.fits)
        return
    console.print(
        f"[bold]{m.name}[/] on [bold]{sysm.name}[/] ({n:,} chips) for {days:g} days; "
        f"rates: {rep.rate_set}, recovery: {rep.recovery_profile}, "
        f"vendor claims {'trusted' if rep.trust_vendor_claims else 'not trusted'}"
    )
    console.print(
        f"training model: {pt.tokens_per_s:,.0f} tokens/s "
        f"({pt.tokens_per_s_per_chip:,.1f} per chip), MFU {100 * pt.mfu:.1f}%, "
        f"step {pt.step_time_s:.3g} s" + ("" if pt.fits else " [red](does not fit)[/]")
    )
    rates = params.rates_for(sysm.id)
    total = rep.interruptions["total"]
    rows = []
    for c, cnt in rep.component_counts.items():
        k = rep.interruptions[c]
        rows.append(
            [
                c,
                f"{cnt:,.0f}",
                f"{rates[c] * HOURS_PER_YEAR:.3g}",
                f"{k:,.1f}",
                _pct(k / total) if total else "-",
                rep.blast[c].scope,
            ]
        )
    rows.append(["total", "", "", f"{total:,.1f}", "100%", ""])
    console.print(
        table(
            f"expected interruptions over {days:g} days (MTBF {rep.mtbf_h:.2f} h)",
            ["component", "count", "failures/yr each", "interruptions", "share", "blast radius"],
            rows,
        )
    )
    ck = rep.checkpoint
    crows = [
        ["mode", ck.mode],
        ["state per chip", format_quantity(ck.state_bytes_per_chip, "bytes")],
        ["blocking time per checkpoint", format_quantity(ck.cost_s, "time")],
        ["interval used (ETTR-optimal)", format_quantity(ck.interval_s, "time")],
        [
            "Young / Daly / Daly higher order",
            " / ".join(
                format_quantity(x, "time") for x in (ck.young_s, ck.daly_s, ck.daly_higher_s)
            ),
        ],
        ["reload", format_quantity(ck.reload_s, "time")],
        [
            "detection + restart per failure",
            format_quantity(rep.detect_s, "time") + " + " + format_quantity(rep.restart_s, "time"),
        ],
        ["mean loss per failure", format_quantity(rep.loss_per_failure_s, "time")],
    ]
    console.print(table("checkpoint and recovery", ["item", "value"], crows))
    lrows = [[k, _pct(v), f"{v * days * 24:,.1f}"] for k, v in rep.lost.items()]
    console.print(
        table(
            "lost time by cause", ["cause", "share of wall clock", f"hours in {days:g} days"], lrows
        )
    )
    console.print(
        f"ETTR {rep.ettr:.4f} | goodput {rep.goodput:.4f} | tokens/day "
        f"{rep.tokens_per_day:,.4g} after failures (ideal {rep.tokens_per_day_ideal:,.4g})"
        f" | tokens in {days:g} days {rep.tokens_per_day * days:,.4g}"
    )
    if spares.spare_units_per_domain is not None:
        console.print(
            f"hot spares: {spares.spare_units_per_domain} {spares.unit}(s) "
            f"({spares.spare_chips_per_domain:g} chips) per {spares.domain_chips}-chip "
            f"domain for P(shortfall) < {spares.epsilon:g} over a "
            f"{spares.repair_time_h:g} h repair; {100 * spares.spare_fraction:.2f}% extra chips"
        )
    else:
        console.print(
            f"spare pool: {spares.spare_units_cluster} servers "
            f"({spares.spare_chips_cluster:g} chips) for P(shortfall) < {spares.epsilon:g} "
            f"over a {spares.repair_time_h:g} h repair"
        )
    for note in rep.notes:
        console.print(f"[yellow]{note}[/]")
    _fail_if_not_fit(pt.fits)


def _fail_if_not_fit(fits: bool) -> None:
    """A plan that does not fit cannot run: exit 2 after the figures, as `podsim train` does."""
    if not fits:
        raise PlanError(
            "the plan does not fit in memory, so the job cannot run as planned; the figures "
            "above assume it did",
            field="plan",
        )


def register(app: typer.Typer) -> None:
    app.command("goodput")(goodput)
