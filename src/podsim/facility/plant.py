"""The physical plant of a system: cabinets, floor area, IT and facility power, capital cost.

Every total is the chip count times a per-chip ratio from the system's ``physical`` spec (or the
chip's TDP), so the plant scales with the chip count the way the structure says:

- compute cabinets = ceil(chips / chips_per_compute_cabinet)
- network cabinets = ceil(compute cabinets x network_cabinets_per_compute_cabinet)
- floor area       = (compute + network cabinets) x floor_area_per_cabinet
- IT power         = accelerators (chips x TDP) + hosts + switch chips + optics + other
- facility power   = IT power x PUE
- capital cost     = chips x cost_per_chip_all_in

An input the catalog does not give is *unknown*, not zero: the output that needs it is ``None``
and names the missing input in ``missing``. A sum with unknown parts (IT power) is ``None`` too;
its ``lower_bound`` is the sum of the parts that are known. Every output is an estimate
(``basis = "estimate"``) and lists the sources of the inputs it used.

``plant(system, chips)`` evaluates any number of chip counts at once: pass an array and every
value comes back as an array of the same shape (one formula, scalar or batch).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from podsim.errors import SpecError
from podsim.hardware.system import System
from podsim.spec.figure import Figure
from podsim.spec.system import PhysicalSpec

Value = float | np.ndarray
BASIS = "estimate"

# output dimension of each kind of figure, for formatting and JSON
UNITS = {"count": "count", "power": "W", "area": "m²", "money": "USD"}


@dataclass(frozen=True)
class Estimate:
    """One plant figure: value (None when an input is unknown), what was missing, where from."""

    value: Value | None
    dim: str  # count | power | area | money
    missing: tuple[str, ...] = ()
    basis: str = BASIS
    sources: tuple[str, ...] = ()
    lower_bound: Value | None = None  # sums only: the known parts, when some parts are unknown

    @property
    def known(self) -> bool:
        return self.value is not None

    def as_dict(self) -> dict[str, Any]:
        count = self.dim == "count"
        return {
            "value": _plain(self.value, count),
            "unit": UNITS.get(self.dim, self.dim),
            "missing": list(self.missing),
            "basis": self.basis,
            "sources": list(self.sources),
            "lower_bound": _plain(self.lower_bound),
        }


@dataclass(frozen=True)
class PowerBreakdown:
    """IT power by part, IT total and facility power (IT x PUE), in watts."""

    accelerators: Estimate
    hosts: Estimate
    switches: Estimate
    optics: Estimate
    other: Estimate
    it: Estimate
    facility: Estimate

    PARTS = ("accelerators", "hosts", "switches", "optics", "other")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name).as_dict() for f in fields(self)}


@dataclass(frozen=True)
class Plant:
    """The physical plant of ``system`` at ``chips`` accelerators (a number or an array)."""

    system: str
    chips: Value
    compute_cabinets: Estimate
    network_cabinets: Estimate
    cabinets: Estimate
    floor_area: Estimate
    hosts: Estimate
    cpus: Estimate
    switch_chips: Estimate
    optics: Estimate
    power: PowerBreakdown
    pue: Estimate
    capital_cost: Estimate

    @property
    def missing(self) -> tuple[str, ...]:
        """Every input some output needed but the catalog does not give (sorted, unique)."""
        out: set[str] = set()
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Estimate):
                out.update(v.missing)
            elif isinstance(v, PowerBreakdown):
                for g in fields(v):
                    out.update(getattr(v, g.name).missing)
        return tuple(sorted(out))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"system": self.system, "chips": _plain(self.chips, True)}
        for f in fields(self)[2:]:
            out[f.name] = getattr(self, f.name).as_dict()
        out["missing"] = list(self.missing)
        return out


# ---------------------------------------------------------------- helpers


def _plain(x: Value | None, integral: bool = False) -> Any:
    """JSON-friendly: arrays to lists; whole counts to ints."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return [_plain(v, integral) for v in x.tolist()]
    x = float(x)
    return int(x) if integral and x.is_integer() else x


def _scalarise(x: np.ndarray, scalar: bool) -> Value:
    return float(x) if scalar else x


def _fig(phys: PhysicalSpec | None, name: str) -> Figure | None:
    return getattr(phys, name) if phys is not None else None


def _per_chip(
    n: np.ndarray, scalar: bool, dim: str, named: list[tuple[str, Figure | None]]
) -> Estimate:
    """chips x product of per-chip figures; None naming each missing input."""
    missing = tuple(name for name, f in named if f is None)
    sources = tuple(dict.fromkeys(f.source for _, f in named if f is not None))
    if missing:
        return Estimate(None, dim, missing, sources=sources)
    val = n.astype(float)
    for _, f in named:
        val = val * f.value
    return Estimate(_scalarise(val, scalar), dim, (), sources=sources)


def _ceil_count(x: np.ndarray) -> np.ndarray:
    # ratios like 1/3 typed as 0.3333 must not tip 12 x 0.3333 over to 4.0000001 -> 5
    return np.ceil(np.round(x, 6))


def _sum(parts: list[Estimate], dim: str, scalar: bool) -> Estimate:
    missing = tuple(dict.fromkeys(m for p in parts for m in p.missing))
    sources = tuple(dict.fromkeys(s for p in parts for s in p.sources))
    known = [np.asarray(p.value, dtype=float) for p in parts if p.value is not None]
    partial = _scalarise(np.sum(known, axis=0), scalar) if known else None
    if missing:
        return Estimate(None, dim, missing, sources=sources, lower_bound=partial)
    return Estimate(partial, dim, (), sources=sources)


# ---------------------------------------------------------------- the model


def plant(system: System, chips: int | npt.ArrayLike | None = None) -> Plant:
    """The physical plant of ``system`` at ``chips`` accelerators (default: the system's count).

    ``chips`` may be an array of counts; every value then is an array of the same shape.
    """
    scalar = chips is None or np.ndim(chips) == 0
    n = np.asarray(system.chips if chips is None else chips)
    if n.size and (not np.all(np.isfinite(n)) or np.any(n < 1) or np.any(n != np.floor(n))):
        raise SpecError(
            "chip counts must be whole numbers of at least 1",
            field="chips",
            value=chips if scalar else None,
        )
    n = n.astype(float)
    phys = system.physical

    def fig(name: str) -> Figure | None:
        return _fig(phys, name)

    # ---- cabinets and floor area
    cpc = fig("chips_per_compute_cabinet")
    if cpc is None:
        compute = Estimate(None, "count", ("chips_per_compute_cabinet",))
    else:
        compute = Estimate(
            _scalarise(np.ceil(n / cpc.value), scalar), "count", (), sources=(cpc.source,)
        )
    ncr = fig("network_cabinets_per_compute_cabinet")
    if compute.value is None or ncr is None:
        network = Estimate(
            None,
            "count",
            compute.missing + (("network_cabinets_per_compute_cabinet",) if ncr is None else ()),
            sources=compute.sources,
        )
    else:
        network = Estimate(
            _scalarise(_ceil_count(np.asarray(compute.value) * ncr.value), scalar),
            "count",
            (),
            sources=tuple(dict.fromkeys((*compute.sources, ncr.source))),
        )
    cabinets = _sum([compute, network], "count", scalar)
    fa = fig("floor_area_per_cabinet")
    if cabinets.value is None or fa is None:
        floor = Estimate(
            None,
            "area",
            cabinets.missing + (("floor_area_per_cabinet",) if fa is None else ()),
            sources=cabinets.sources,
        )
    else:
        floor = Estimate(
            _scalarise(np.asarray(cabinets.value) * fa.value, scalar),
            "area",
            (),
            sources=tuple(dict.fromkeys((*cabinets.sources, fa.source))),
        )

    # ---- counts of the parts around the accelerators
    hosts = _per_chip(n, scalar, "count", [("hosts_per_chip", fig("hosts_per_chip"))])
    cpus = _per_chip(n, scalar, "count", [("cpus_per_chip", fig("cpus_per_chip"))])
    switch_chips = _per_chip(
        n, scalar, "count", [("switch_chips_per_chip", fig("switch_chips_per_chip"))]
    )
    optics = _per_chip(n, scalar, "count", [("optics_per_chip", fig("optics_per_chip"))])

    # ---- power
    p_acc = _per_chip(n, scalar, "power", [("chip.tdp", system.chip.tdp)])
    p_hosts = _per_chip(n, scalar, "power", [("host_power_per_chip", fig("host_power_per_chip"))])
    p_sw = _per_chip(
        n,
        scalar,
        "power",
        [
            ("switch_chips_per_chip", fig("switch_chips_per_chip")),
            ("switch_chip_power", fig("switch_chip_power")),
        ],
    )
    p_opt = _per_chip(
        n,
        scalar,
        "power",
        [("optics_per_chip", fig("optics_per_chip")), ("optic_power", fig("optic_power"))],
    )
    p_other = _per_chip(n, scalar, "power", [("other_power_per_chip", fig("other_power_per_chip"))])
    it = _sum([p_acc, p_hosts, p_sw, p_opt, p_other], "power", scalar)
    pue_fig = fig("pue")
    pue = (
        Estimate(pue_fig.value, "count", (), basis=pue_fig.basis, sources=(pue_fig.source,))
        if pue_fig is not None
        else Estimate(None, "count", ("pue",))
    )
    if it.value is None or pue.value is None:
        lb = None
        if pue.value is not None and it.lower_bound is not None:
            lb = _scalarise(np.asarray(it.lower_bound) * pue.value, scalar)
        elif pue.value is None:
            # PUE >= 1: the IT power (or its known part) is a lower bound on facility power
            lb = it.value if it.value is not None else it.lower_bound
        facility = Estimate(
            None,
            "power",
            it.missing + pue.missing,
            sources=tuple(dict.fromkeys((*it.sources, *pue.sources))),
            lower_bound=lb,
        )
    else:
        facility = Estimate(
            _scalarise(np.asarray(it.value) * pue.value, scalar),
            "power",
            (),
            sources=tuple(dict.fromkeys((*it.sources, *pue.sources))),
        )
    power = PowerBreakdown(p_acc, p_hosts, p_sw, p_opt, p_other, it, facility)

    cost = _per_chip(n, scalar, "money", [("cost_per_chip_all_in", fig("cost_per_chip_all_in"))])
    return Plant(
        system=system.id,
        chips=int(n) if scalar else n,
        compute_cabinets=compute,
        network_cabinets=network,
        cabinets=cabinets,
        floor_area=floor,
        hosts=hosts,
        cpus=cpus,
        switch_chips=switch_chips,
        optics=optics,
        power=power,
        pue=pue,
        capital_cost=cost,
    )
