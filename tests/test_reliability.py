"""Reliability: calibration against Llama 3, goodput bounds, optimal checkpoint interval, spares."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsim import catalog
from podsim.errors import SpecError
from podsim.hardware.system import resolve_system
from podsim.reliability.checkpoint import (
    availability_optimal_interval,
    daly_higher_order_interval,
    daly_interval,
    plan_checkpoint,
    young_interval,
)
from podsim.reliability.failures import (
    blast_radius,
    chips_per_host,
    component_counts,
    expected_interruptions,
    job_failure_rate,
    per_chip_counts,
)
from podsim.reliability.goodput import (
    availability,
    ettr,
    ettr_at_chips,
    goodput_report,
    lost_fractions,
    per_failure_loss,
)
from podsim.reliability.params import (
    CLASSES,
    HOURS_PER_YEAR,
    derive_calibration_rates,
    load_file,
    load_params,
    rate_set_names,
    rate_set_target_per_accelerator,
)
from podsim.reliability.spares import plan_spares, poisson_sf, spares_needed

LLAMA3_CHIPS = 16384
LLAMA3_DAYS = 54
LLAMA3_UNEXPECTED = 419
# Llama 3 405B state per GPU: bf16 weights + fp32 master weights and Adam moments (14 B/param),
# sharded over the 16,384 GPUs (the paper reports 1 MB-4 GB per rank, by pipeline stage).
LLAMA3_STATE_PER_CHIP = 405e9 * 14 / LLAMA3_CHIPS


@pytest.fixture(scope="module")
def h100():
    return resolve_system("dgx-h100-cluster", LLAMA3_CHIPS)


# ---------------------------------------------------------------- catalog and calibration


def test_every_class_has_a_sourced_rate() -> None:
    f = load_file()
    for c in CLASSES:
        fig = f.rates[c]
        assert fig.value > 0 and fig.basis and len(fig.source) > 3


def test_cause_table_sums_to_419() -> None:
    cal = load_file().calibration
    assert sum(c.count for c in cal.causes) == LLAMA3_UNEXPECTED
    assert cal.unexpected_interruptions.value == LLAMA3_UNEXPECTED


def test_typed_rates_match_the_documented_derivation() -> None:
    derived = derive_calibration_rates()
    typed = load_params().rates_per_hour
    for c in CLASSES:
        assert typed[c] == pytest.approx(derived[c], rel=0.005), c


def test_calibration_llama3_interruptions_and_ettr(h100) -> None:
    """The calibration check: 16,384 H100 x 54 days -> ~419 unexpected interruptions, ETTR > 0.9."""
    p = load_params(recovery="llama3")
    total = float(expected_interruptions(h100, LLAMA3_DAYS, params=p)["total"])
    assert total == pytest.approx(LLAMA3_UNEXPECTED, rel=0.15)
    rep = goodput_report(
        h100, days=LLAMA3_DAYS, state_bytes_per_chip=LLAMA3_STATE_PER_CHIP, params=p
    )
    assert rep.ettr > 0.9
    assert rep.mtbf_h == pytest.approx(1296 / LLAMA3_UNEXPECTED, rel=0.15)
    # the accelerator share dominates, as in the cause table (268 of 419)
    assert rep.interruptions["accelerator"] / rep.interruptions["total"] > 0.55


def test_meta_rsc_projection(h100) -> None:
    """r_f = 6.5 per 1000 node-days: MTTF 1.8 h at 16K GPUs and 0.225 h at 131K (reference C4)."""
    p = load_params(rate_set="meta-rsc1")
    lam = job_failure_rate(h100, np.array([16384, 131072]), p)
    assert 1 / lam[0] == pytest.approx(1.80, rel=0.1)
    assert 1 / lam[1] == pytest.approx(0.225, rel=0.1)


@pytest.mark.parametrize("name", rate_set_names())
def test_rate_sets_keep_the_mix_and_hit_their_target(name: str) -> None:
    base = load_params().rates_per_hour
    alt = load_params(rate_set=name).rates_per_hour
    ratios = {c: alt[c] / base[c] for c in CLASSES}
    assert max(ratios.values()) == pytest.approx(min(ratios.values()), rel=1e-9)
    cal = load_file().calibration
    counts = {k: v.value for k, v in cal.component_counts.items()}
    per_acc = sum(counts[c] * alt[c] for c in CLASSES) / cal.accelerators.value
    # the default set is the typed (rounded) rates themselves
    rel = 0.01 if name == "llama3-405b" else 1e-6
    assert per_acc == pytest.approx(rate_set_target_per_accelerator(name), rel=rel)


def test_aegis_is_roughly_ten_times_llama3() -> None:
    r = rate_set_target_per_accelerator("aegis-h100") / rate_set_target_per_accelerator(
        "llama3-405b"
    )
    assert 8 < r < 13


def test_vendor_claim_is_a_toggle() -> None:
    sid = "atlas-950-superpod"
    off = load_params()
    on = load_params(trust_vendor_claims=True)
    assert not off.trust_vendor_claims
    assert on.rates_for(sid)["optical_module"] == pytest.approx(
        off.rates_for(sid)["optical_module"] / 100
    )
    assert on.rates_for(sid)["accelerator"] == off.rates_for(sid)["accelerator"]
    # NVIDIA systems are not covered by Huawei's claim
    assert on.rates_for("gb200-nvl72-cluster") == off.rates_for("gb200-nvl72-cluster")


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(SpecError, match="rate_set"):
        load_params(rate_set="nope")
    with pytest.raises(SpecError, match="recovery"):
        load_params(recovery="nope")
    with pytest.raises(SpecError, match="checkpoint"):
        plan_checkpoint(mode="tape", state_bytes_per_chip=1e9, mtbf_s=1e4, recovery_s=60)


# ---------------------------------------------------------------- component counts


def test_counts_follow_structure(h100) -> None:
    c = component_counts(h100)
    assert c["accelerator"] == LLAMA3_CHIPS
    assert c["host"] == LLAMA3_CHIPS / chips_per_host(h100)
    assert c["nic"] == LLAMA3_CHIPS
    assert c["optical_module"] > 0 and c["switch_chip"] > 0
    # a single 8-GPU server has no scale-out network
    one = per_chip_counts(resolve_system("dgx-h100-cluster", 8))
    assert one["nic"] == 0 and one["optical_module"] == 0 and one["switch_chip"] == 0


def test_counts_are_linear_in_chips(h100) -> None:
    n = np.array([1024, 2048, 16384])
    c = component_counts(h100, n)
    for cls in CLASSES:
        assert np.allclose(c[cls], per_chip_counts(h100)[cls] * n)


def test_blast_radius_scopes(h100) -> None:
    b = blast_radius(h100)
    assert b["accelerator"].scope == "chip" and b["accelerator"].chips_down == 1
    assert b["host"].chips_down == chips_per_host(h100)
    assert b["software"].scope == "job"
    if "gb200-nvl72-cluster" in catalog.system_ids():
        nvl = resolve_system("gb200-nvl72-cluster")
        # NVSwitch chips are shared by the whole 72-GPU domain
        if per_chip_counts(nvl)["switch_chip"] > 0:
            assert blast_radius(nvl)["switch_chip"].chips_down in (72.0, 32.0)


# ---------------------------------------------------------------- goodput


@settings(max_examples=60, deadline=None)
@given(
    state=st.floats(1e6, 2e10),
    n1=st.integers(1, 2000),
    factor=st.integers(2, 64),
    mode=st.sampled_from(["storage", "in-memory"]),
)
def test_goodput_bounded_and_falls_with_scale(h100, state, n1, factor, mode) -> None:
    chips = np.array([8 * n1, 8 * n1 * factor])
    e = ettr_at_chips(h100, chips, state_bytes_per_chip=state, checkpoint=mode)
    assert np.all(e <= 1.0) and np.all(e >= 0.0)
    assert e[1] < e[0]


@settings(max_examples=100, deadline=None)
@given(
    c=st.floats(0.01, 3600),
    m=st.floats(60, 1e7),
    r=st.floats(0, 7200),
)
def test_optimal_interval_minimises_modelled_loss(c, m, r) -> None:
    """NVIDIA's availability-optimal interval is the argmax of the ETTR model (brute-force scan)."""
    t_opt = float(availability_optimal_interval(c, m, r))
    lam = 1.0 / m

    def model(t):
        return ettr(c, t, lam, per_failure_loss(t, 0.0, r, 0.0))

    grid = np.geomspace(c * 1.0001, max(100 * m, 10 * t_opt), 20001)
    best = float(np.max(model(grid)))
    at_opt = float(model(t_opt))
    assert at_opt >= best - 1e-12
    # the scan's argmax sits next to t_opt on the grid
    t_scan = float(grid[np.argmax(model(grid))])
    step = grid[1] / grid[0]
    assert t_scan / t_opt == pytest.approx(1.0, abs=2 * (step - 1) + 1e-6)


@settings(max_examples=50, deadline=None)
@given(c=st.floats(0.1, 60), m=st.floats(3600, 1e7))
def test_interval_formulas_agree_when_checkpoints_are_cheap(c, m) -> None:
    y = float(young_interval(c, m))
    assert float(daly_interval(c, m, 0.0)) == pytest.approx(y)
    assert float(daly_higher_order_interval(c, m)) == pytest.approx(y, rel=0.1)
    assert float(availability_optimal_interval(c, m, 0.0)) == pytest.approx(y, rel=0.1)


def test_daly_higher_order_caps_at_mtbf() -> None:
    assert float(daly_higher_order_interval(1000.0, 400.0)) == 400.0


@settings(max_examples=100, deadline=None)
@given(
    c=st.floats(0, 600),
    extra=st.floats(1, 1e5),
    lam=st.floats(0, 1e-2),
    d=st.floats(0, 3600),
    rs=st.floats(0, 3600),
    rl=st.floats(0, 3600),
)
def test_lost_time_by_cause_adds_up(c, extra, lam, d, rs, rl) -> None:
    t = c + extra
    e = float(ettr(c, t, lam, per_failure_loss(t, d, rs, rl)))
    parts = lost_fractions(c, t, lam, d, rs, rl)
    assert 0.0 <= e <= 1.0
    assert e + sum(float(v) for v in parts.values()) == pytest.approx(1.0)


def test_in_memory_beats_storage_for_large_state(h100) -> None:
    kw = dict(days=30, state_bytes_per_chip=4e9)
    sto = goodput_report(h100, checkpoint="storage", **kw)
    mem = goodput_report(h100, checkpoint="in-memory", step_time_s=5.0, **kw)
    assert mem.ettr > sto.ettr
    assert mem.checkpoint.interval_s >= 5.0


def test_tokens_per_day_after_failures(h100) -> None:
    rep = goodput_report(h100, days=10, state_bytes_per_chip=3e8, tokens_per_s=1e6)
    assert rep.tokens_per_day == pytest.approx(1e6 * 86400 * rep.goodput)
    assert rep.tokens_per_day < rep.tokens_per_day_ideal


# ---------------------------------------------------------------- spares


@settings(max_examples=200, deadline=None)
@given(mu=st.floats(0, 500), eps=st.floats(1e-6, 0.5))
def test_poisson_spares_meet_epsilon(mu, eps) -> None:
    s = int(spares_needed(mu, eps))
    assert float(poisson_sf(s, mu)) < eps
    if s > 0:
        assert float(poisson_sf(s - 1, mu)) >= eps


@pytest.mark.parametrize("mu", [0.0, 0.3, 2.0, 7.5])
def test_poisson_sf_exact(mu: float) -> None:
    for s in range(8):
        exact = 1 - sum(math.exp(-mu) * mu**k / math.factorial(k) for k in range(s + 1))
        assert float(poisson_sf(s, mu)) == pytest.approx(exact, abs=1e-12)


def test_spares_vectorised() -> None:
    mus = np.array([0.01, 1.0, 10.0, 100.0])
    s = spares_needed(mus, 0.01)
    assert s.shape == mus.shape and np.all(np.diff(s) >= 0)


def test_spares_for_supernode() -> None:
    sid = "cloudmatrix-384-cluster"
    if sid not in catalog.system_ids():
        pytest.skip(f"{sid} not in catalog")
    plan = plan_spares(resolve_system(sid))
    assert plan.domain_chips == 384
    assert plan.spare_units_per_domain is not None
    assert plan.p_exceed_per_domain < plan.epsilon
    # longer repairs need at least as many spares
    longer = plan_spares(resolve_system(sid), repair_time_h=240)
    assert longer.spare_units_per_domain >= plan.spare_units_per_domain


def test_rates_are_per_year_in_file() -> None:
    f = load_file()
    assert f.rates["accelerator"].value == pytest.approx(
        load_params().rates_per_hour["accelerator"] * HOURS_PER_YEAR
    )


def test_ub_mesh_availability_targets() -> None:
    """Reference C4: 8K NPUs, MTTR 75 min: Clos 13.8 h -> 91.6%, UB-Mesh 98.5 h -> 98.8%,
    99.78% with a 13-min MTTR."""
    assert float(availability(13.8, 75 / 60)) == pytest.approx(0.916, abs=0.002)
    assert float(availability(98.5, 75 / 60)) == pytest.approx(0.988, abs=0.002)
    assert float(availability(98.5, 13 / 60)) == pytest.approx(0.9978, abs=0.0005)
