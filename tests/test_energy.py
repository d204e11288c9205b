"""Facility energy, cost and sizing: pure formulas, scaling with chip count, target sizing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsim import catalog
from podsim.errors import SpecError
from podsim.facility.energy import (
    HOUR,
    cost_per_hour,
    economics_defaults,
    energy_per_token,
    facility_summary,
    time_to_train,
    train_cost,
)
from podsim.facility.plant import plant
from podsim.facility.sizing import (
    CENTRAL_SYSTEMS,
    central_question,
    reference_chips,
    round_chips,
    size_for_target,
)
from podsim.hardware.system import resolve_system
from podsim.reliability.goodput import ettr_at_chips
from podsim.reliability.params import load_params

BASE = "dgx-h100-cluster"


def _nvl72():
    sid = "gb200-nvl72-cluster"
    if sid not in catalog.system_ids():
        pytest.skip(f"{sid} not in catalog")
    return resolve_system(sid)


# ---------------------------------------------------------------- pure formulas


@settings(max_examples=100, deadline=None)
@given(p=st.floats(1.0, 1e10), t=st.floats(1e-3, 1e9))
def test_energy_per_token_is_power_over_rate(p, t) -> None:
    assert float(energy_per_token(p, t)) == pytest.approx(p / t)


def test_energy_per_token_broadcasts_and_rejects_zero() -> None:
    e = energy_per_token(np.array([1e6, 2e6]), np.array([1e5, 1e5]))
    assert np.allclose(e, [10.0, 20.0])
    with pytest.raises(SpecError):
        energy_per_token(1e6, 0.0)


@settings(max_examples=50, deadline=None)
@given(
    capex=st.floats(0, 1e10),
    power=st.floats(0, 1e9),
    years=st.floats(0.5, 10),
    price=st.floats(0, 1),
)
def test_cost_per_hour_is_amortisation_plus_energy(capex, power, years, price) -> None:
    life = years * 365.25 * 86400
    c, e, tot = cost_per_hour(capex, power, lifetime_s=life, price_per_kwh=price)
    assert float(c) == pytest.approx(capex / (life / HOUR))
    assert float(e) == pytest.approx(power / 1000 * price)
    assert float(tot) == pytest.approx(float(c) + float(e))


def test_catalog_economics_are_sourced() -> None:
    price, life = economics_defaults()
    assert 0.01 < price < 0.5  # USD per kWh
    assert 3 <= life / (365.25 * 86400) <= 7


def test_train_cost_consistent() -> None:
    tc = train_cost(1e12, 1e6, goodput=0.9, facility_power_w=1e7, capex_usd=1e9)
    t = 1e12 / (1e6 * 0.9)
    assert tc.time_s == pytest.approx(t)
    assert tc.energy_j == pytest.approx(1e7 * t)
    price, life = economics_defaults()
    assert tc.energy_cost_usd == pytest.approx(1e7 * t / 3.6e6 * price)
    assert tc.capex_cost_usd == pytest.approx(1e9 * t / life)
    assert float(time_to_train(1e12, 1e6, 0.5)) == pytest.approx(2e6)
    unknown = train_cost(1e12, 1e6, facility_power_w=None, capex_usd=None)
    assert unknown.total_cost_usd is None and unknown.energy_j is None


# ---------------------------------------------------------------- scaling with the structure


@pytest.mark.parametrize("sid", [BASE, "gb200-nvl72-cluster", "cloudmatrix-384-cluster"])
def test_power_and_area_scale_with_chips(sid: str) -> None:
    if sid not in catalog.system_ids():
        pytest.skip(f"{sid} not in catalog")
    base = resolve_system(sid)
    unit = base.scale_up_domain * 64  # whole domains, many cabinets (ceil effects small)
    small = facility_summary(base.scaled(round_chips(base, unit)))
    big = facility_summary(base.scaled(round_chips(base, 4 * unit)))
    ratio = big.chips / small.chips
    assert ratio == pytest.approx(4.0)
    if small.power_w is not None:
        assert big.power_w == pytest.approx(ratio * small.power_w, rel=1e-9)
    if small.capex_usd is not None:
        assert big.capex_usd == pytest.approx(ratio * small.capex_usd, rel=1e-9)
    # cabinets and area follow the plant's per-cabinet structure (ceil per cabinet)
    for s in (small, big):
        pl = plant(base.scaled(s.chips))
        assert s.cabinets == pl.cabinets.value
        assert s.floor_area_m2 == pl.floor_area.value
    if small.floor_area_m2 is not None:
        assert big.floor_area_m2 == pytest.approx(ratio * small.floor_area_m2, rel=0.05)


def test_summary_energy_per_token_uses_power_and_goodput() -> None:
    s = resolve_system(BASE)
    fs = facility_summary(s, tokens_per_s=5e5, goodput=0.8, served_tokens_per_s=1e6)
    if fs.power_w is None:
        pytest.skip("no power figure for the base system")
    assert fs.energy_per_token_j == pytest.approx(fs.power_w / (5e5 * 0.8))
    assert fs.energy_per_served_token_j == pytest.approx(fs.power_w / 1e6)
    if fs.cost_per_hour_usd is not None:
        assert fs.cost_per_million_tokens_usd == pytest.approx(
            fs.cost_per_hour_usd / (5e5 * 0.8 * 3600) * 1e6
        )


# ---------------------------------------------------------------- sizing


def test_round_chips_whole_domains() -> None:
    s = _nvl72()
    for n in (1, 71, 72, 73, 1000):
        m = round_chips(s, n)
        assert m >= n and m % 72 == 0
        s.scaled(m)  # the structure accepts it


@settings(max_examples=25, deadline=None)
@given(tokens=st.floats(1e10, 2e12), days=st.floats(10, 90), tpc=st.floats(300, 5000))
def test_sizing_meets_target_minimally(tokens, days, tpc) -> None:
    s = _nvl72()
    state = 2e9
    res = size_for_target(
        s, tokens=tokens, days=days, tokens_per_s_per_chip=tpc, state_bytes_per_chip=state
    )
    assert res.feasible
    n = res.chips
    assert n % s.scale_up_domain == 0
    p = load_params()
    e = float(ettr_at_chips(s, n, state_bytes_per_chip=state))
    assert n * tpc * e * p.scheduling_goodput * days * 86400 >= tokens * (1 - 1e-9)
    assert res.days_needed <= days * (1 + 1e-9)
    smaller = n - s.scale_up_domain
    if smaller > 0:
        e2 = float(ettr_at_chips(s, smaller, state_bytes_per_chip=state))
        assert smaller * tpc * e2 * p.scheduling_goodput * days * 86400 < tokens


def test_sizing_reports_infeasible_beyond_system_limit() -> None:
    s = _nvl72()
    res = size_for_target(
        s, tokens=1e18, days=1, tokens_per_s_per_chip=100.0, state_bytes_per_chip=1e9
    )
    assert not res.feasible and res.reason
    with pytest.raises(SpecError):
        size_for_target(s, tokens=-1, days=1, tokens_per_s_per_chip=1.0, state_bytes_per_chip=0)


def test_sizing_ettr_falls_with_more_failures() -> None:
    s = _nvl72()
    kw = dict(tokens=1e12, days=30, tokens_per_s_per_chip=1000.0, state_bytes_per_chip=2e9)
    a = size_for_target(s, **kw)
    b = size_for_target(s, params=load_params(rate_set="aegis-h100"), **kw)
    assert b.ettr < a.ettr and b.chips >= a.chips


def test_central_question_with_given_throughputs() -> None:
    present = [sid for sid in CENTRAL_SYSTEMS if sid in catalog.system_ids()]
    tp = {sid: 1000.0 for sid in present}
    state = {sid: 2e9 for sid in present}
    rows = central_question(
        present + ["no-such-system"], throughputs=tp, state_bytes_per_chip=state
    )
    assert len(rows) == len(present) + 1
    assert rows[-1]["feasible"] is False and "no-such-system" in rows[-1]["reason"]
    for r in rows[:-1]:
        assert r["feasible"], r
        assert r["chips"] * 1000.0 * r["goodput"] * 30 * 86400 >= 1e12 * (1 - 1e-9)
        assert 0 < r["ettr"] <= 1
        assert math.isfinite(r["days_needed"])


def test_reference_chips_whole_domains() -> None:
    s = _nvl72()
    n = reference_chips(s)
    assert n >= 2048 and n % 72 == 0 and n % 256 == 0
    s.scaled(n)
