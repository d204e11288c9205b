"""Energy per token, cost per hour, and the time and cost to train a token budget.

Built on ``podsim.facility.plant`` (cabinets, floor area, IT and facility power, capital cost):

- energy per token (J) = facility power (W) / tokens per second; "after failures" divides by
  tokens/s x goodput, since a cluster draws power while it recovers;
- cost per hour = capital cost / hardware lifetime (straight-line amortisation) + facility power x
  electricity price; lifetime and price are sourced parameters in ``catalog/data/reliability.yaml``
  (``economics``: 5 years, US industrial average 8.06 c/kWh), and every function takes overrides;
- time to train N tokens = N / (tokens/s x goodput); its cost = hours x cost per hour.

All functions broadcast over numpy arrays. Where the plant does not know a figure (``None``), the
outputs that need it are ``None`` and ``missing`` names the inputs; where only the facility power
is unknown but its lower bound (the known parts) is, energy and cost use the lower bound and
``power_is_lower_bound`` says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from podsim.errors import SpecError
from podsim.hardware.system import System

HOUR = 3600.0
KWH = 3.6e6  # J


def energy_per_token(power_w, tokens_per_s):
    """Joules per token: power / tokens per second (broadcasts)."""
    tps = np.asarray(tokens_per_s, dtype=float)
    if np.any(tps <= 0):
        raise SpecError("tokens per second must be positive", field="tokens_per_s")
    return np.asarray(power_w, dtype=float) / tps


def economics_defaults() -> tuple[float, float]:
    """(electricity price in USD per kWh, hardware lifetime in seconds) from the catalog."""
    from podsim.reliability.params import economics

    price, life = economics()
    return price.value, life.value


def cost_per_hour(capex_usd, facility_power_w, *, lifetime_s=None, price_per_kwh=None):
    """(amortised capital per hour, energy per hour, total per hour) in USD (broadcasts)."""
    price0, life0 = economics_defaults()
    price = price0 if price_per_kwh is None else price_per_kwh
    life = life0 if lifetime_s is None else lifetime_s
    if np.any(np.asarray(life) <= 0):
        raise SpecError("hardware lifetime must be positive", field="lifetime", value=life)
    if np.any(np.asarray(price) < 0):
        raise SpecError("electricity price must not be negative", field="price", value=price)
    capex_h = np.asarray(capex_usd, dtype=float) / (np.asarray(life, dtype=float) / HOUR)
    energy_h = np.asarray(facility_power_w, dtype=float) / 1000.0 * price
    return capex_h, energy_h, capex_h + energy_h


def time_to_train(tokens, tokens_per_s, goodput=1.0):
    """Wall-clock seconds to train ``tokens`` at ``tokens_per_s`` and ``goodput``."""
    eff = np.asarray(tokens_per_s, dtype=float) * np.asarray(goodput, dtype=float)
    if np.any(eff <= 0):
        raise SpecError("effective tokens per second must be positive", field="tokens_per_s")
    return np.asarray(tokens, dtype=float) / eff


@dataclass(frozen=True)
class TrainCost:
    tokens: float
    time_s: float
    energy_j: float | None
    energy_cost_usd: float | None
    capex_cost_usd: float | None  # amortised capital over the run
    total_cost_usd: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def train_cost(
    tokens: float,
    tokens_per_s: float,
    *,
    goodput: float = 1.0,
    facility_power_w: float | None,
    capex_usd: float | None,
    lifetime_s: float | None = None,
    price_per_kwh: float | None = None,
) -> TrainCost:
    """Time, energy and cost to train a token budget on a machine (None where unknown)."""
    t = float(time_to_train(tokens, tokens_per_s, goodput))
    price0, life0 = economics_defaults()
    price = price0 if price_per_kwh is None else price_per_kwh
    life = life0 if lifetime_s is None else lifetime_s
    energy = facility_power_w * t if facility_power_w is not None else None
    e_cost = energy / KWH * price if energy is not None else None
    c_cost = capex_usd * t / life if capex_usd is not None else None
    total = e_cost + c_cost if e_cost is not None and c_cost is not None else None
    return TrainCost(float(tokens), t, energy, e_cost, c_cost, total)


@dataclass(frozen=True)
class FacilitySummary:
    system: str
    name: str
    chips: int
    cabinets: float | None
    floor_area_m2: float | None
    it_power_w: float | None
    facility_power_w: float | None
    facility_power_lower_bound_w: float | None
    pue: float | None
    capex_usd: float | None
    capex_per_hour_usd: float | None
    energy_per_hour_usd: float | None
    cost_per_hour_usd: float | None
    electricity_price_per_kwh: float
    lifetime_years: float
    tokens_per_s: float | None = None
    goodput: float = 1.0
    energy_per_token_j: float | None = None  # trained, after failures (goodput)
    cost_per_million_tokens_usd: float | None = None
    served_tokens_per_s: float | None = None
    energy_per_served_token_j: float | None = None
    power_is_lower_bound: bool = False  # energy and cost figures use the plant's lower bound
    missing: list[str] = field(default_factory=list)
    accelerator_power_w: float | None = None  # the accelerators alone (chip TDP x chips)

    @property
    def power_w(self) -> float | None:
        """Facility power used for energy and cost: the full figure, else its lower bound."""
        return (
            self.facility_power_w
            if self.facility_power_w is not None
            else (self.facility_power_lower_bound_w)
        )

    @property
    def facility_power_mw(self) -> float | None:
        return self.power_w / 1e6 if self.power_w is not None else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["facility_power_mw"] = self.facility_power_mw
        return d


def _val(est) -> float | None:
    v = getattr(est, "value", None)
    return None if v is None else float(np.asarray(v, dtype=float))


def facility_summary(
    system: System,
    *,
    tokens_per_s: float | None = None,
    goodput: float = 1.0,
    served_tokens_per_s: float | None = None,
    lifetime_s: float | None = None,
    price_per_kwh: float | None = None,
) -> FacilitySummary:
    """Power at the wall, cabinets, area, capital cost, cost per hour and, given a workload's
    tokens/s, energy and cost per token for ``system`` at its chip count."""
    from podsim.facility.plant import plant

    pl = plant(system)
    price0, life0 = economics_defaults()
    price = price0 if price_per_kwh is None else price_per_kwh
    life = life0 if lifetime_s is None else lifetime_s
    fac_full = _val(pl.power.facility)
    lb = pl.power.facility.lower_bound
    lb = None if lb is None else float(np.asarray(lb, dtype=float))
    fac = fac_full if fac_full is not None else lb
    capex = _val(pl.capital_cost)
    cap_h = en_h = tot_h = None
    if capex is not None or fac is not None:
        c, e, _ = cost_per_hour(capex or 0.0, fac or 0.0, lifetime_s=life, price_per_kwh=price)
        cap_h = float(c) if capex is not None else None
        en_h = float(e) if fac is not None else None
    if cap_h is not None and en_h is not None:
        tot_h = cap_h + en_h
    ept = cpmt = None
    if tokens_per_s is not None and fac is not None:
        ept = float(energy_per_token(fac, tokens_per_s * goodput))
    if tokens_per_s is not None and tot_h is not None:
        cpmt = tot_h / (tokens_per_s * goodput * HOUR) * 1e6
    eps = None
    if served_tokens_per_s is not None and fac is not None:
        eps = float(energy_per_token(fac, served_tokens_per_s))
    return FacilitySummary(
        system=system.id,
        name=system.name,
        chips=system.chips,
        cabinets=_val(pl.cabinets),
        floor_area_m2=_val(pl.floor_area),
        it_power_w=_val(pl.power.it),
        facility_power_w=fac_full,
        facility_power_lower_bound_w=lb,
        pue=_val(pl.pue),
        capex_usd=capex,
        capex_per_hour_usd=cap_h,
        energy_per_hour_usd=en_h,
        cost_per_hour_usd=tot_h,
        electricity_price_per_kwh=price,
        lifetime_years=life / (365.25 * 86400.0),
        tokens_per_s=tokens_per_s,
        goodput=goodput,
        energy_per_token_j=ept,
        cost_per_million_tokens_usd=cpmt,
        served_tokens_per_s=served_tokens_per_s,
        energy_per_served_token_j=eps,
        power_is_lower_bound=fac_full is None and lb is not None,
        missing=list(pl.missing),
        accelerator_power_w=_val(pl.power.accelerators),
    )
