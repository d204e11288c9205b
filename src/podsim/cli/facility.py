"""`podsim facility SYSTEM...`: power at the wall, cabinets, area, MW, capex, cost per hour,
energy per token (given a workload) and, with --target-tokens, the machine a target needs.

Presentation only: the numbers come from podsim.facility (plant, energy, sizing)."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from podsim import catalog
from podsim.cli.output import console, emit_json, table
from podsim.errors import PodsimError, SpecError
from podsim.facility.sizing import facility_rows
from podsim.hardware.resolve import resolve_many
from podsim.reliability.checkpoint import MODES
from podsim.reliability.params import load_params
from podsim.spec.checks import MAX_DAYS, finite_number
from podsim.spec.errors import spec_error
from podsim.spec.jobs import TrainingSpec
from podsim.units import format_quantity


def _q(v, dim: str, lower: bool = False) -> str:
    if v is None:
        return "n/a"
    s = f"{v:,.0f}" if dim == "count" else format_quantity(v, dim)  # type: ignore[arg-type]
    return ("≥ " + s) if lower else s


PLAN_OPTIONS = (
    "tp",
    "pp",
    "vpp",
    "cp",
    "ep",
    "zero",
    "recompute",
    "micro_batch",
    "global_batch",
    "seq_len",
    "precision",
    "uneven_pp",
)


def facility(
    ctx: typer.Context,
    systems: list[str] = typer.Argument(..., help="catalog system ids, YAML paths, or id:N"),
    chips: int = typer.Option(None, help="chips for every system without :N"),
    model: str = typer.Option(
        None, help="a training workload: catalog model id (with the plan options)"
    ),
    tp: int = typer.Option(1),
    pp: int = typer.Option(1),
    vpp: int = typer.Option(1),
    cp: int = typer.Option(1),
    ep: int = typer.Option(1),
    zero: int = typer.Option(1),
    recompute: str = typer.Option("none"),
    micro_batch: int = typer.Option(1),
    global_batch: int = typer.Option(None),
    seq_len: int = typer.Option(4096),
    precision: str = typer.Option("bf16"),
    uneven_pp: bool = typer.Option(False, help="allow stages with unequal layer counts"),
    tokens_per_s: float = typer.Option(
        None, help="training tokens/s of the whole system (instead of --model)"
    ),
    served_tokens_per_s: float = typer.Option(
        None, help="serving tokens/s, for energy per served token"
    ),
    target_tokens: float = typer.Option(
        None, help="size the machine to train this many tokens in --days"
    ),
    days: float = typer.Option(30.0, help="run length for goodput and --target-tokens"),
    checkpoint: str = typer.Option("storage", help="storage | in-memory"),
    price: float = typer.Option(None, help="electricity USD per kWh (default: catalog)"),
    lifetime_years: float = typer.Option(
        None, help="hardware amortisation years (default: catalog)"
    ),
    trust_vendor_claims: bool = typer.Option(False, help="apply vendor reliability claims"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Plant, power, cost and energy per token of each SYSTEM."""
    finite_number(days, "days", "the length of the run in days", most=MAX_DAYS)
    finite_number(price, "price", "electricity price in USD per kWh", zero_ok=True)
    finite_number(
        lifetime_years, "lifetime-years", "hardware amortisation in years", most=MAX_DAYS / 365.25
    )
    finite_number(tokens_per_s, "tokens-per-s", "training tokens/s of the whole system")
    finite_number(served_tokens_per_s, "served-tokens-per-s", "serving tokens/s")
    finite_number(target_tokens, "target-tokens", "tokens to train")
    if target_tokens is not None and model is None and tokens_per_s is None:
        raise SpecError(
            "sizing for a target needs a workload",
            field="target-tokens",
            value=target_tokens,
            allowed="--target-tokens with --model (and a plan) or --tokens-per-s",
        )
    if model is None:
        # the plan options describe the --model workload; without one they would be ignored
        given = [
            p
            for p in PLAN_OPTIONS
            if getattr(ctx.get_parameter_source(p), "name", None) == "COMMANDLINE"
        ]
        if given:
            raise SpecError(
                "plan options describe a --model workload, and none is given",
                field=given[0].replace("_", "-"),
                value=ctx.params[given[0]],
                allowed="--model M with the plan options, or no plan options",
            )
    if checkpoint not in MODES:
        raise SpecError(
            "unknown checkpoint mode",
            field="checkpoint",
            value=checkpoint,
            allowed=", ".join(MODES),
        )
    resolved = resolve_many(systems, chips)
    m = catalog.model(model) if model else None
    plan = None
    if m is not None:
        try:
            plan = (
                TrainingSpec(
                    precision=precision,
                    seq_len=seq_len,
                    global_batch=global_batch or 1,
                    micro_batch=micro_batch,
                    tp=tp,
                    pp=pp,
                    cp=cp,
                    ep=ep,
                    vpp=vpp,
                    zero=zero,
                    recompute=recompute,
                )
                if global_batch
                else None
            )
        except ValidationError as exc:
            raise spec_error(exc, what="training plan") from None
        if plan is None:
            raise SpecError("a training workload needs --global-batch", field="global-batch")
    params = load_params(trust_vendor_claims=trust_vendor_claims)
    rows = facility_rows(
        [s for _, s in resolved],
        model=m,
        plan=plan,
        uneven_pp=uneven_pp,
        tokens_per_s=tokens_per_s,
        served_tokens_per_s=served_tokens_per_s,
        target_tokens=target_tokens,
        days=days,
        checkpoint=checkpoint,
        price_per_kwh=price,
        lifetime_s=lifetime_years * 365.25 * 86400 if lifetime_years else None,
        params=params,
    )
    for (label, _), r in zip(resolved, rows, strict=True):
        r["label"] = label
    if as_json:
        emit_json(rows)
        _raise_if_failed(rows)
        return
    labels = [r["label"] for r in rows]

    def line(name, fn):
        return [name] + [("error" if "error" in r else fn(r)) for r in rows]

    body = [
        line("chips", lambda r: f"{r['chips']:,}"),
        line("cabinets", lambda r: _q(r["cabinets"], "count")),
        line("floor area", lambda r: _q(r["floor_area_m2"], "area")),
        line("IT power", lambda r: _q(r["it_power_w"], "power")),
        line(
            "power at the wall",
            lambda r: _q(
                r["facility_power_w"]
                if r["facility_power_w"] is not None
                else r["facility_power_lower_bound_w"],
                "power",
                r["power_is_lower_bound"],
            ),
        ),
        line("PUE", lambda r: "n/a" if r["pue"] is None else f"{r['pue']:.2f}"),
        line("capital cost", lambda r: _q(r["capex_usd"], "money")),
        line("capex per hour", lambda r: _q(r["capex_per_hour_usd"], "money")),
        line(
            "energy per hour",
            lambda r: _q(r["energy_per_hour_usd"], "money", r["power_is_lower_bound"]),
        ),
        line(
            "cost per hour",
            lambda r: _q(r["cost_per_hour_usd"], "money", r["power_is_lower_bound"]),
        ),
    ]
    if any(r.get("tokens_per_s") for r in rows):
        body += [
            line("training tokens/s", lambda r: _q(r.get("tokens_per_s"), "count")),
            line(
                "ETTR (goodput)", lambda r: "n/a" if r.get("ettr") is None else f"{r['ettr']:.4f}"
            ),
            line(
                "energy per token",
                lambda r: _q(r.get("energy_per_token_j"), "energy", r["power_is_lower_bound"]),
            ),
            line(
                "cost per 1M tokens",
                lambda r: _q(
                    r.get("cost_per_million_tokens_usd"), "money", r["power_is_lower_bound"]
                ),
            ),
        ]
    if any(r.get("served_tokens_per_s") for r in rows):
        body.append(
            line(
                "energy per served token",
                lambda r: _q(
                    r.get("energy_per_served_token_j"), "energy", r["power_is_lower_bound"]
                ),
            )
        )
    if target_tokens is not None:

        def sz(key, dim):
            def f(r):
                s = r.get("sizing")
                if not s:
                    return "n/a"
                if not s["feasible"]:
                    return "infeasible"
                return _q(s[key], dim) if dim != "raw" else f"{s[key]:.4f}"

            return f

        body += [
            line(
                f"target: chips for {target_tokens:.3g} tokens in {days:g} d", sz("chips", "count")
            ),
            line("target: cabinets", sz("cabinets", "count")),
            line("target: floor area", sz("floor_area_m2", "area")),
            line(
                "target: MW at the wall",
                lambda r: (
                    "n/a"
                    if not r.get("sizing") or r["sizing"].get("facility_power_mw") is None
                    else f"{r['sizing']['facility_power_mw']:,.2f}"
                ),
            ),
            line("target: capital cost", sz("capex_usd", "money")),
            line("target: run cost", sz("run_cost_usd", "money")),
            line("target: ETTR", sz("ettr", "raw")),
        ]
    console.print(table("facility", ["", *labels], body))
    for r in rows:
        use = r.get("domain_use")
        if use:
            console.print(
                f"{r['label']}: {r['chips']:,} chips spread over {use['domains']:,} scale-up "
                f"domains of {use['domain_size']:,}, {use['chips_per_domain']:,} used in each; "
                f"the figures count the chips used, not the {use['idle_chips']:,} idle ones a "
                "buyer of whole domains also pays for"
            )
    for r in rows:
        if "error" in r:
            console.print(f"[red]{r['label']}: {r['error']}[/]")
        elif r.get("missing"):
            console.print(
                f"{r['label']}: unknown inputs {', '.join(r['missing'])}"
                + (" (power shown is a lower bound)" if r["power_is_lower_bound"] else "")
            )
    _raise_if_failed(rows)


def _raise_if_failed(rows: list[dict]) -> None:
    """A system that could not be evaluated makes the command fail (exit code 2), after the
    others are shown."""
    failed = [r for r in rows if "error" in r]
    if failed:
        raise PodsimError(
            f"{len(failed)} of {len(rows)} systems could not be evaluated; "
            f"{failed[0]['label']}: {failed[0]['error']}"
        )


def register(app: typer.Typer) -> None:
    app.command("facility")(facility)
