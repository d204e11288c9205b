"""Reliability and facility invariants a user relies on, on random inputs (hypothesis).

Not repeated here (tests/test_reliability.py, test_plant.py and test_energy.py have them): ETTR
bounded and falling with scale for one structure, the optimal interval as the brute-force argmax
of the ETTR formula, lost shares adding up for the bare formula, Poisson spares meeting epsilon,
plant power linear in chips for one synthetic system, sizing meeting its target minimally.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsim.errors import PodsimError
from podsim.facility.energy import facility_summary, train_cost
from podsim.facility.plant import plant
from podsim.facility.sizing import round_chips, size_for_target
from podsim.hardware.system import resolve_system
from podsim.reliability.checkpoint import plan_checkpoint
from podsim.reliability.failures import class_failure_rates, job_failure_rate
from podsim.reliability.goodput import ettr_at_chips, goodput_report
from podsim.reliability.params import CLASSES, load_params
from podsim.reliability.spares import plan_spares

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SYSTEM_IDS = (
    "dgx-h100-cluster",
    "gb200-nvl72-cluster",
    "cloudmatrix-384-cluster",
    "atlas-950-superpod",
    "tpu-v7-pod",
    "mi300x-cluster",
)
BASES = {sid: resolve_system(sid) for sid in SYSTEM_IDS}
P = load_params()
MODES = ("storage", "in-memory")
PARAMS = {
    (prof, rs, trust): load_params(recovery=prof, rate_set=rs, trust_vendor_claims=trust)
    for prof in ("llama3", "byterobust", "ub-mesh-baseline")
    for rs in ("llama3-405b", "aegis-h100")
    for trust in (False, True)
}


def _scaled(sid: str, n: int):
    """``sid`` at the smallest count >= n its structure accepts (whole scale-up domains)."""
    base = BASES[sid]
    return base.scaled(min(round_chips(base, n), base.max_chips or 2**40))


def _scale_rates(params, factors: dict[str, float]):
    rates = {c: v * factors.get(c, 1.0) for c, v in params.rates_per_hour.items()}
    return dataclasses.replace(params, rates_per_hour=rates)


systems = st.sampled_from(SYSTEM_IDS)
chip_counts = st.integers(1, 20_000)
states = st.sampled_from([0.0, 1e6, 1e8, 2e9, 2e10])
steps = st.sampled_from([None, 0.5, 5.0, 60.0])
param_sets = st.sampled_from(sorted(PARAMS)).map(PARAMS.__getitem__)


# ---------------------------------------------------------------- failures


@FAST
@given(sid=systems, n=chip_counts, k=st.integers(2, 64))
def test_interruption_rate_grows_with_chips_of_one_structure(sid, n, k) -> None:
    s = _scaled(sid, n)
    lam = job_failure_rate(s, np.array([n, k * n]), P)
    assert lam[1] == pytest.approx(k * lam[0])  # series system: linear in components


@FAST
@given(sid=systems, n=chip_counts, k=st.integers(1, 16))
def test_interruption_rate_grows_with_whole_domains(sid, n, k) -> None:
    """More scale-up domains of the same system: never fewer interruptions per hour."""
    a = _scaled(sid, n)
    b = _scaled(sid, a.chips * (k + 1))
    assert b.chips >= a.chips
    assert float(job_failure_rate(b, None, P)) >= float(job_failure_rate(a, None, P)) * (1 - 1e-12)


@FAST
@given(sid=systems, n=chip_counts, d1=st.floats(0.01, 400), d2=st.floats(0.01, 400))
def test_run_length_changes_totals_not_rates(sid, n, d1, d2) -> None:
    s = _scaled(sid, n)
    a = goodput_report(s, days=d1, state_bytes_per_chip=1e9)
    b = goodput_report(s, days=d2, state_bytes_per_chip=1e9)
    assert a.failure_rate_per_hour == b.failure_rate_per_hour
    assert (a.ettr, a.goodput, a.lost) == (b.ettr, b.goodput, b.lost)
    assert a.checkpoint == b.checkpoint
    for c in (*CLASSES, "total"):
        assert a.interruptions[c] / d1 == pytest.approx(b.interruptions[c] / d2)
    assert a.interruptions["total"] == pytest.approx(sum(a.interruptions[c] for c in CLASSES))
    assert a.interruptions["total"] == pytest.approx(a.failure_rate_per_hour * 24 * d1)


# ---------------------------------------------------------------- goodput


@FAST
@given(
    sid=systems,
    n=chip_counts,
    state=states,
    step=steps,
    mode=st.sampled_from(MODES),
    tps=st.floats(1.0, 1e8),
    p=param_sets,
)
def test_goodput_report_is_consistent(sid, n, state, step, mode, tps, p) -> None:
    s = _scaled(sid, n)
    kw = dict(state_bytes_per_chip=state, step_time_s=step, checkpoint=mode, params=p)
    rep = goodput_report(s, days=30, tokens_per_s=tps, **kw)
    assert 0.0 <= rep.ettr <= 1.0 and 0.0 <= rep.goodput <= 1.0
    assert rep.goodput == pytest.approx(rep.ettr * rep.scheduling_goodput)
    assert all(v >= 0 for v in rep.lost.values())
    assert rep.ettr + sum(rep.lost.values()) == pytest.approx(1.0, abs=1e-9)
    assert rep.tokens_per_day <= rep.tokens_per_day_ideal * (1 + 1e-12)
    assert rep.tokens_per_day == pytest.approx(tps * 86400 * rep.goodput)
    # the chip-count curve the sizing uses agrees with the report at the system's count
    e = float(ettr_at_chips(s, s.chips, **kw))
    assert e == pytest.approx(rep.ettr, rel=1e-12, abs=1e-15)
    # more scale-up domains of the same system never raise ETTR; trusting a vendor's claim of
    # fewer failures never lowers it
    big = _scaled(sid, s.chips * 4)
    assert goodput_report(big, days=30, **kw).ettr <= rep.ettr + 1e-12
    trusting = dataclasses.replace(p, trust_vendor_claims=True)
    assert goodput_report(s, days=30, **{**kw, "params": trusting}).ettr >= rep.ettr - 1e-12


@FAST
@given(
    sid=systems,
    n=chip_counts,
    state=states,
    step=steps,
    mode=st.sampled_from(MODES),
    cls=st.sampled_from([*CLASSES, "all"]),
    # 0 (no failures) or a real rate: a subnormal rate overflows the MTBF to infinity
    f=st.one_of(st.just(0.0), st.floats(1e-6, 50.0)),
)
def test_more_failures_never_raise_ettr(sid, n, state, step, mode, cls, f) -> None:
    s = _scaled(sid, n)
    lo, hi = sorted((1.0, f))
    kw = dict(days=30, state_bytes_per_chip=state, step_time_s=step, checkpoint=mode)

    def params(x):
        return _scale_rates(P, {c: x for c in CLASSES} if cls == "all" else {cls: x})

    a = goodput_report(s, params=params(lo), **kw)
    b = goodput_report(s, params=params(hi), **kw)
    assert a.failure_rate_per_hour <= b.failure_rate_per_hour
    assert b.ettr <= a.ettr + 1e-12
    for x in (a, b):
        assert 0.0 <= x.ettr <= 1.0
        assert x.ettr + sum(x.lost.values()) == pytest.approx(1.0, abs=1e-9)
    ea, eb = (
        float(
            ettr_at_chips(
                s,
                s.chips,
                state_bytes_per_chip=state,
                checkpoint=mode,
                step_time_s=step,
                params=params(x),
            )
        )
        for x in (lo, hi)
    )
    assert ea == pytest.approx(a.ettr) and eb == pytest.approx(b.ettr)


@FAST
@given(sid=systems, n=chip_counts, state=states, step=steps, mode=st.sampled_from(MODES))
def test_ettr_is_highest_at_the_chosen_interval(sid, n, state, step, mode) -> None:
    s = _scaled(sid, n)
    kw = dict(days=30, state_bytes_per_chip=state, step_time_s=step, checkpoint=mode)
    rep = goodput_report(s, **kw)
    t = rep.checkpoint.interval_s
    for x in (0.5, 0.9, 1.1, 2.0):
        tx = x * t
        if tx < rep.checkpoint.min_interval_s or tx <= rep.checkpoint.cost_s:
            continue
        other = goodput_report(s, checkpoint_interval_s=tx, **kw)
        assert other.ettr <= rep.ettr + 1e-12


@FAST
@given(
    c_bytes=st.floats(0.0, 5e10),
    more_bytes=st.floats(0.0, 5e10),
    m=st.floats(60.0, 1e8),
    more_m=st.floats(0.0, 1e8),
    r=st.floats(0.0, 3600.0),
    mode=st.sampled_from(MODES),
)
def test_optimal_interval_grows_with_mtbf_and_cost(c_bytes, more_bytes, m, more_m, r, mode) -> None:
    kw = dict(mode=mode, recovery_s=r, scale_out_bandwidth=50e9)
    base = plan_checkpoint(state_bytes_per_chip=c_bytes, mtbf_s=m, **kw)
    rarer = plan_checkpoint(state_bytes_per_chip=c_bytes, mtbf_s=m + more_m, **kw)
    dearer = plan_checkpoint(state_bytes_per_chip=c_bytes + more_bytes, mtbf_s=m, **kw)
    for name in ("optimal_s", "interval_s", "young_s", "daly_s"):
        assert getattr(rarer, name) >= getattr(base, name) * (1 - 1e-12), name
        assert getattr(dearer, name) >= getattr(base, name) * (1 - 1e-12), name
    assert base.interval_s >= base.cost_s


@FAST
@given(sid=systems, n=chip_counts, state=st.floats(0.0, 1e11), step=steps, p=param_sets)
def test_in_memory_never_loses_more_than_storage(sid, n, state, step, p) -> None:
    """An in-memory snapshot (host copy at 25 GB/s) blocks less than a storage write (122 MB/s per
    chip plus overhead), its copy to a peer over the scale-out network (>= 50 Gb/s per chip) is
    faster than that write too, and its reload from a peer is faster than from storage: for the
    same job it never loses more time."""
    s = _scaled(sid, n)
    kw = dict(days=30, state_bytes_per_chip=state, step_time_s=step, params=p)
    sto = goodput_report(s, checkpoint="storage", **kw)
    mem = goodput_report(s, checkpoint="in-memory", **kw)
    assert mem.checkpoint.cost_s <= sto.checkpoint.cost_s
    assert mem.checkpoint.min_interval_s <= sto.checkpoint.min_interval_s
    assert mem.checkpoint.reload_s <= sto.checkpoint.reload_s
    assert mem.ettr >= sto.ettr - 1e-12


# ---------------------------------------------------------------- spares


@FAST
@given(sid=systems, n=chip_counts, e1=st.floats(1e-6, 0.5), e2=st.floats(1e-6, 0.5))
def test_larger_epsilon_never_needs_more_spares(sid, n, e1, e2) -> None:
    s = _scaled(sid, n)
    lo, hi = sorted((e1, e2))
    strict = plan_spares(s, epsilon=lo)
    loose = plan_spares(s, epsilon=hi)
    assert loose.spare_units_cluster <= strict.spare_units_cluster
    assert loose.spare_chips_cluster <= strict.spare_chips_cluster
    assert loose.spare_fraction <= strict.spare_fraction
    if strict.spare_units_per_domain is not None:
        assert loose.spare_units_per_domain <= strict.spare_units_per_domain
        assert strict.p_exceed_per_domain < lo


@FAST
@given(sid=systems, n=chip_counts, k=st.integers(1, 16), h=st.floats(0.1, 24 * 30))
def test_more_chips_or_slower_repair_never_need_fewer_spares(sid, n, k, h) -> None:
    a = _scaled(sid, n)
    b = _scaled(sid, a.chips * (k + 1))
    pa, pb = plan_spares(a), plan_spares(b)
    assert pb.mean_out_cluster >= pa.mean_out_cluster * (1 - 1e-12)
    assert pb.spare_units_cluster >= pa.spare_units_cluster
    assert pb.spare_chips_cluster >= pa.spare_chips_cluster
    lo, hi = sorted((h, P.repair_time_h))
    fast, slow = plan_spares(a, repair_time_h=lo), plan_spares(a, repair_time_h=hi)
    assert slow.spare_units_cluster >= fast.spare_units_cluster


# ---------------------------------------------------------------- facility

FAC_IDS = (
    "dgx-h100-cluster",
    "gb200-nvl72-cluster",
    "cloudmatrix-384-cluster",
    "atlas-950-superpod",
    "tpu-v7-pod",
    "ascend-910b-cluster",
)


@FAST
@given(sid=st.sampled_from(FAC_IDS), n=chip_counts, k=st.integers(1, 16))
def test_plant_never_shrinks_with_more_chips(sid, n, k) -> None:
    if sid not in BASES:
        BASES[sid] = resolve_system(sid)
    a = _scaled(sid, n)
    b = _scaled(sid, a.chips * (k + 1))
    pa, pb = plant(a), plant(b)
    for name in (
        "compute_cabinets",
        "network_cabinets",
        "cabinets",
        "floor_area",
        "hosts",
        "switch_chips",
        "optics",
        "capital_cost",
    ):
        ea, eb = getattr(pa, name), getattr(pb, name)
        assert ea.known == eb.known, name
        if ea.known:
            assert eb.value >= ea.value, name
    for part in ("accelerators", "it", "facility"):
        ea, eb = getattr(pa.power, part), getattr(pb.power, part)
        for x, y in ((ea.value, eb.value), (ea.lower_bound, eb.lower_bound)):
            if x is not None:
                assert y >= x, part
    # PUE >= 1: the wall draws at least what the IT gear does (or its known lower bound)
    for pl in (pa, pb):
        it, fac = pl.power.it, pl.power.facility
        if pl.pue.known:
            assert pl.pue.value >= 1.0
        it_w = it.value if it.known else it.lower_bound
        fac_w = fac.value if fac.known else fac.lower_bound
        if it_w is not None and fac_w is not None:
            assert fac_w >= it_w


@FAST
@given(
    sid=st.sampled_from(FAC_IDS),
    n=chip_counts,
    tps=st.floats(1.0, 1e9),
    g=st.floats(0.01, 1.0),
    p1=st.floats(0.0, 1.0),
    p2=st.floats(0.0, 1.0),
    years=st.floats(0.5, 20.0),
)
def test_energy_and_cost_per_token(sid, n, tps, g, p1, p2, years) -> None:
    if sid not in BASES:
        BASES[sid] = resolve_system(sid)
    s = _scaled(sid, n)
    life = years * 365.25 * 86400
    lo, hi = sorted((p1, p2))
    kw = dict(tokens_per_s=tps, goodput=g, served_tokens_per_s=tps, lifetime_s=life)
    a = facility_summary(s, price_per_kwh=lo, **kw)
    b = facility_summary(s, price_per_kwh=hi, **kw)
    if a.power_w is not None:
        assert a.energy_per_token_j == pytest.approx(a.power_w / (tps * g))
        assert a.energy_per_served_token_j == pytest.approx(a.power_w / tps)
        assert a.energy_per_hour_usd == pytest.approx(a.power_w / 1000 * lo)
    if a.it_power_w is not None and a.facility_power_w is not None:
        assert a.facility_power_w >= a.it_power_w
    if a.cost_per_million_tokens_usd is not None:
        assert b.cost_per_million_tokens_usd >= a.cost_per_million_tokens_usd
        assert a.cost_per_million_tokens_usd == pytest.approx(
            a.cost_per_hour_usd / (tps * g * 3600) * 1e6
        )
    if a.cost_per_hour_usd is not None:
        assert b.cost_per_hour_usd >= a.cost_per_hour_usd
        longer = facility_summary(s, price_per_kwh=lo, **{**kw, "lifetime_s": 2 * life})
        assert longer.cost_per_hour_usd <= a.cost_per_hour_usd


# ---------------------------------------------------------------- sizing

SIZE_IDS = ("gb200-nvl72-cluster", "dgx-h100-cluster", "cloudmatrix-384-cluster")


@FAST
@given(
    sid=st.sampled_from(SIZE_IDS),
    t1=st.floats(1e9, 5e12),
    t2=st.floats(1e9, 5e12),
    days=st.floats(5, 120),
    tpc=st.floats(100, 5000),
    state=states,
    mode=st.sampled_from(MODES),
    step=steps,
    whole=st.booleans(),
)
def test_sizing_never_needs_fewer_chips_for_more(
    sid, t1, t2, days, tpc, state, mode, step, whole
) -> None:
    s = BASES[sid]
    lo, hi = sorted((t1, t2))
    kw = dict(
        days=days,
        tokens_per_s_per_chip=tpc,
        state_bytes_per_chip=state,
        checkpoint=mode,
        step_time_s=step,
        whole_domains=whole,
    )
    a = size_for_target(s, tokens=lo, **kw)
    b = size_for_target(s, tokens=hi, **kw)
    if not a.feasible:
        assert not b.feasible
        return
    if b.feasible:
        assert b.chips >= a.chips
    # more time or more throughput per chip never needs more chips
    longer = size_for_target(s, tokens=lo, **{**kw, "days": days * 1.5})
    faster = size_for_target(s, tokens=lo, **{**kw, "tokens_per_s_per_chip": tpc * 1.5})
    assert longer.feasible and longer.chips <= a.chips
    assert faster.feasible and faster.chips <= a.chips
    # more failures never need fewer chips
    worse = size_for_target(s, tokens=lo, params=_scale_rates(P, {c: 3.0 for c in CLASSES}), **kw)
    assert not worse.feasible or worse.chips >= a.chips
    # the plant and run cost are those of the chosen machine, after failures
    assert 0.0 < a.ettr <= 1.0 and a.days_needed <= days * (1 + 1e-9)
    if a.facility_power_mw is not None:
        assert a.energy_mwh == pytest.approx(a.facility_power_mw * a.days_needed * 24)
        tc = train_cost(
            lo,
            tpc * a.chips,
            goodput=a.goodput,
            facility_power_w=a.facility_power_mw * 1e6,
            capex_usd=a.capex_usd,
        )
        assert tc.time_s == pytest.approx(a.days_needed * 86400)


def test_zero_state_checkpoint_costs_nothing() -> None:
    """No state to save (e.g. ``podsim facility --tokens-per-s`` without a model) is a valid job:
    in-memory checkpoints then cost nothing and lose nothing; ETTR is set by recovery alone."""
    s = BASES["gb200-nvl72-cluster"]
    rep = goodput_report(s, days=30, state_bytes_per_chip=0.0, checkpoint="in-memory")
    lam = rep.failure_rate_per_hour / 3600
    recover = rep.detect_s + rep.restart_s + rep.checkpoint.reload_s
    assert rep.ettr == pytest.approx(1.0 / (1.0 + lam * recover))
    e = ettr_at_chips(s, [72, s.chips], state_bytes_per_chip=0.0, checkpoint="in-memory")
    assert np.all(np.isfinite(e)) and float(e[1]) == pytest.approx(rep.ettr)


def test_no_failures_means_no_loss() -> None:
    s = BASES["dgx-h100-cluster"]
    none = _scale_rates(P, {c: 0.0 for c in CLASSES})
    for mode in MODES:
        rep = goodput_report(s, days=30, state_bytes_per_chip=1e9, checkpoint=mode, params=none)
        assert rep.ettr == 1.0 and rep.failure_rate_per_hour == 0.0
        assert math.isfinite(sum(rep.lost.values()))
        e = ettr_at_chips(s, [8, 1024], state_bytes_per_chip=1e9, checkpoint=mode, params=none)
        assert np.all(e == 1.0)


def test_class_rates_have_no_negative_parts() -> None:
    for s in BASES.values():
        for v in class_failure_rates(s, None, P).values():
            assert float(v) >= 0.0
    with pytest.raises(PodsimError):
        goodput_report(BASES["dgx-h100-cluster"], days=0, state_bytes_per_chip=1.0)


@pytest.mark.parametrize("mode", MODES)
def test_facility_rows_energy_per_token_after_failures(mode) -> None:
    """``podsim facility SYSTEM --tokens-per-s X [--checkpoint in-memory] --target-tokens T``: a
    workload without a model has no checkpoint state; every row still has goodput, energy per
    token = power / (tokens/s x goodput) and a sizing that meets the target."""
    from podsim.facility.sizing import facility_rows

    sysms = [_scaled("gb200-nvl72-cluster", 1152), _scaled("dgx-h100-cluster", 1024)]
    rows = facility_rows(sysms, tokens_per_s=2e6, target_tokens=1e12, days=30, checkpoint=mode)
    for r in rows:
        assert "error" not in r, r
        assert 0.0 < r["ettr"] <= 1.0 and r["goodput"] == pytest.approx(r["ettr"])
        assert r["energy_per_token_j"] == pytest.approx(
            r["facility_power_mw"] * 1e6 / (2e6 * r["goodput"])
        )
        sz = r["sizing"]
        assert sz["feasible"] and sz["days_needed"] <= 30 * (1 + 1e-9)
