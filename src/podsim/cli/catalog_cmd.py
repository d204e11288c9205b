"""`podsim catalog`: list the built-in chips, systems, models and sweeps with their headline
figures."""

from __future__ import annotations

import typer

from podsim import catalog
from podsim.cli.output import console, emit_json, table
from podsim.hardware.system import resolve_system
from podsim.units import format_quantity
from podsim.workload.params import param_counts

app = typer.Typer(
    help="List the built-in catalog: chips, systems, models, sweeps.", no_args_is_help=True
)


@app.command("chips")
def chips(as_json: bool = typer.Option(False, "--json")) -> None:
    """Chips with dense peaks, HBM, links, power and status."""
    rows, out = [], []
    for cid in catalog.chip_ids():
        c = catalog.chip(cid)
        flops = {p: f.value for p, f in c.flops.items()}
        item = {
            "id": cid,
            "name": c.name,
            "status": c.status,
            "date": c.date,
            "family": c.family,
            "flops": flops,
            "hbm_bytes": c.hbm_capacity.value,
            "hbm_bandwidth": c.hbm_bandwidth.value,
            "scale_up_bandwidth": c.scale_up_bandwidth.value,
            "scale_up_domain": c.scale_up_domain,
            "scale_out_bandwidth": c.scale_out_bandwidth.value,
            "tdp_w": c.tdp.value if c.tdp else None,
        }
        out.append(item)
        best = max(flops.values())
        rows.append(
            [
                cid,
                c.status,
                c.date,
                format_quantity(flops.get("bf16", flops.get("fp16", 0)), "flops"),
                format_quantity(best, "flops"),
                format_quantity(c.hbm_capacity.value, "bytes"),
                format_quantity(c.hbm_bandwidth.value, "bandwidth"),
                format_quantity(c.scale_up_bandwidth.value, "bandwidth"),
                str(c.scale_up_domain),
                format_quantity(c.tdp.value, "power") if c.tdp else "-",
            ]
        )
    if as_json:
        emit_json(out)
        return
    console.print(
        table(
            "chips (dense peaks; bandwidth per chip, one direction)",
            [
                "id",
                "status",
                "date",
                "bf16",
                "best",
                "HBM",
                "HBM BW",
                "scale-up BW",
                "domain",
                "TDP",
            ],
            rows,
        )
    )


@app.command("systems")
def systems(as_json: bool = typer.Option(False, "--json")) -> None:
    """Systems with their chip, chip count, levels and status."""
    rows, out = [], []
    for sid in catalog.system_ids():
        s = resolve_system(sid)
        levels = " > ".join(f"{lv.name}({lv.size}, {lv.kind})" for lv in s.levels)
        out.append(
            {
                "id": sid,
                "name": s.name,
                "chip": s.chip.id,
                "chips": s.chips,
                "status": s.status,
                "levels": [lv.__dict__ for lv in s.levels],
            }
        )
        rows.append([sid, s.chip.id, f"{s.chips:,}", s.status, str(s.scale_up_domain), levels])
    if as_json:
        emit_json(out)
        return
    console.print(table("systems", ["id", "chip", "chips", "status", "scale-up", "levels"], rows))


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json")) -> None:
    """Models with their parameter counts, computed from the architecture."""
    rows, out = [], []
    for mid in catalog.model_ids():
        m = catalog.model(mid)
        pc = param_counts(m)
        out.append(
            {
                "id": mid,
                "layers": m.layers,
                "hidden": m.hidden,
                "total_params": pc.total,
                "active_params": pc.active,
                "published_params": m.published_params,
                "moe": m.moe is not None,
                "mla": m.mla is not None,
            }
        )
        rows.append(
            [
                mid,
                str(m.layers),
                str(m.hidden),
                f"{pc.main / 1e9:,.1f}B",
                f"{pc.mtp / 1e9:,.1f}B" if pc.mtp else "-",
                f"{pc.active / 1e9:,.1f}B",
                f"{m.published_params / 1e9:,.1f}B" if m.published_params else "-",
                "MoE" if m.moe else "dense",
                "MLA" if m.mla else "GQA",
            ]
        )
    if as_json:
        emit_json(out)
        return
    console.print(
        table(
            "models (parameters computed from the architecture)",
            ["id", "layers", "hidden", "main", "+MTP", "active", "published", "kind", "attention"],
            rows,
        )
    )


@app.command("sweeps")
def sweeps(as_json: bool = typer.Option(False, "--json")) -> None:
    """Built-in sweep specs (`podsim sweep run NAME`): their kind, axes and number of points."""
    from podsim.sweep.points import expand
    from podsim.sweep.spec import builtin_sweeps, load_sweep

    rows, out = [], []
    for name in builtin_sweeps():
        s = load_sweep(name)
        n = len(expand(s))
        item = {"id": name, "kind": s.kind, "models": s.models, "systems": s.systems, "points": n}
        out.append(item)
        rows.append([name, s.kind, ", ".join(s.models), ", ".join(s.systems), str(n)])
    if as_json:
        emit_json(out)
        return
    console.print(table("sweeps", ["id", "kind", "models", "systems", "points"], rows))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="catalog")
