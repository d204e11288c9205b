"""The compare metrics of a system, whole-system and per chip, recomputed from per-chip figures.

``system_summary(system)`` returns a plain dict (JSON-ready)::

    {"id", "name", "chip", "chip_name", "chips", "kind", "status", "precisions",
     "metrics": {key: {"label", "dim", "unit", "total", "per_chip", "missing", "note"}}}

Peak FLOPS rows exist only for the precisions the chip runs natively (``peak_flops_fp8`` is absent
for an Ascend 910C). Bandwidths are one direction. "power" is all-in IT power from the plant
model; FLOPS/W and HBM/W divide by it, or, where the plant lacks an input, by the published
("reported") power of the default configuration scaled per chip (the row's note says which). A figure the catalog cannot give is ``None`` with the
inputs it lacks in ``missing`` (never 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podsim.hardware.system import System
from podsim.spec.chip import PRECISIONS
from podsim.units import SI_UNITS

if TYPE_CHECKING:
    from podsim.facility.plant import Estimate


def _row(
    label: str,
    dim: str,
    total: float | None,
    per_chip: float | None,
    *,
    missing: tuple[str, ...] | list[str] = (),
    note: str | None = None,
    lower_bound: float | None = None,
    chips: int = 1,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "label": label,
        "dim": dim,
        "unit": SI_UNITS[dim],
        "total": total,
        "per_chip": per_chip,
        "missing": list(missing),
        "note": note,
    }
    if lower_bound is not None:
        row["lower_bound"] = lower_bound
        row["lower_bound_per_chip"] = lower_bound / chips
    return row


def _est(e: Estimate) -> float | None:
    return None if e.value is None else float(e.value)


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _scale_out_per_chip(system: System) -> tuple[float, str | None]:
    if any(not lv.scale_up for lv in system.levels):
        return system.scale_out_bandwidth, None
    return (
        system.chip.scale_out_bandwidth.value,
        "no scale-out level in this system: the chip's NIC bandwidth",
    )


def _reported_power(system: System) -> tuple[float | None, str | None]:
    """The published all-in power of the catalog's default configuration, scaled per chip."""
    rep = system.physical.reported_power if system.physical is not None else None
    if rep is None:
        return None, None
    from podsim import catalog
    from podsim.errors import PodsimError

    try:
        default = catalog.system(system.id).chips
    except PodsimError:
        return None, "reported power: default chip count unknown (not a catalog system)"
    note = f"{rep.text} published for {default:,} chips ({rep.basis}), scaled per chip"
    return rep.value * system.chips / default, note


def system_summary(system: System) -> dict[str, Any]:
    """Compare metrics of ``system`` at its chip count: totals and per-chip values."""
    # facility is a later layer than hardware: imported here, not at module level
    from podsim.facility.plant import plant

    n = system.chips
    chip = system.chip
    pl = plant(system)
    m: dict[str, dict[str, Any]] = {}

    m["chips"] = _row("chips", "count", float(n), 1.0)
    precisions = [p for p in PRECISIONS if chip.native(p)]
    for p in precisions:
        per = chip.peak_flops(p)
        m[f"peak_flops_{p}"] = _row(f"peak {p.upper()} (dense)", "flops", n * per, per)
    m["hbm_capacity"] = _row("HBM capacity", "bytes", system.hbm_capacity, chip.hbm_capacity.value)
    m["hbm_bandwidth"] = _row(
        "HBM bandwidth", "bandwidth", system.hbm_bandwidth, chip.hbm_bandwidth.value
    )
    dom = float(system.scale_up_domain)
    m["scale_up_domain"] = _row(
        "scale-up domain", "count", dom, dom, note="chips per scale-up domain (same both columns)"
    )
    m["scale_up_bandwidth"] = _row(
        "scale-up bandwidth (1 dir)",
        "bandwidth",
        system.scale_up_aggregate_bandwidth,
        system.scale_up_bandwidth,
        note="total = sum over chips",
    )
    bis = system.bisection_bandwidth()
    m["bisection_bandwidth"] = _row("bisection bandwidth (1 dir)", "bandwidth", bis, bis / n)
    so, so_note = _scale_out_per_chip(system)
    m["scale_out_bandwidth"] = _row(
        "scale-out bandwidth (1 dir)", "bandwidth", n * so, so, note=so_note
    )

    it = pl.power.it
    it_w = _est(it)
    lb = None if it.lower_bound is None else float(it.lower_bound)
    m["power"] = _row(
        "IT power (all-in)",
        "power",
        it_w,
        _div(it_w, n),
        missing=it.missing,
        note="accelerators + hosts + switches + optics + other",
        lower_bound=lb,
        chips=n,
    )
    fac = pl.power.facility
    fac_w = _est(fac)
    m["facility_power"] = _row(
        "facility power (IT x PUE)",
        "power",
        fac_w,
        _div(fac_w, n),
        missing=fac.missing,
        lower_bound=None if fac.lower_bound is None else float(fac.lower_bound),
        chips=n,
    )
    rep_w, rep_note = _reported_power(system)
    m["reported_power"] = _row(
        "reported power (scaled)",
        "power",
        rep_w,
        _div(rep_w, n),
        missing=() if rep_w is not None else ("reported_power",),
        note=rep_note,
    )
    # per-watt figures: the plant's IT power when complete, else the published figure
    if it_w is not None:
        watts, w_note, w_missing = it_w, "per watt of plant IT power", ()
    elif rep_w is not None:
        watts, w_note, w_missing = rep_w, "per watt of the reported power (plant incomplete)", ()
    else:
        watts, w_note, w_missing = None, None, (*it.missing, "reported_power")
    for p in precisions:
        v = _div(chip.peak_flops(p) * n, watts)
        m[f"flops_per_watt_{p}"] = _row(
            f"{p.upper()} FLOPS per watt", "flops_per_watt", v, v, missing=w_missing, note=w_note
        )
    v = _div(system.hbm_capacity, watts)
    m["hbm_per_watt"] = _row("HBM per watt", "bytes_per_watt", v, v, missing=w_missing, note=w_note)
    area = _est(pl.floor_area)
    m["floor_area"] = _row("floor area", "area", area, _div(area, n), missing=pl.floor_area.missing)
    cab = _est(pl.cabinets)
    m["cabinets"] = _row("cabinets", "count", cab, _div(cab, n), missing=pl.cabinets.missing)
    cost = _est(pl.capital_cost)
    m["capital_cost"] = _row(
        "capital cost (all-in)", "money", cost, _div(cost, n), missing=pl.capital_cost.missing
    )
    return {
        "id": system.id,
        "name": system.name,
        "chip": chip.id,
        "chip_name": chip.name,
        "chips": n,
        "kind": system.kind,
        "status": system.status,
        "precisions": precisions,
        "metrics": m,
    }
