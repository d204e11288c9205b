"""Facility plant: totals scale with chips as the per-chip ratios say; unknown inputs give None."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsim import catalog
from podsim.errors import SpecError
from podsim.facility.plant import Plant, plant
from podsim.hardware.system import resolve_system

CHIP = """\
id: test-chip
name: Test chip
vendor: nvidia
family: hopper
status: shipping
date: "2024"
dies: 1
flops:
  bf16: {value: 1000 TFLOPS, source: test, basis: assumption}
hbm_capacity: {value: 100 GB, source: test, basis: assumption}
hbm_bandwidth: {value: 4 TB/s, source: test, basis: assumption}
scale_up_bandwidth: {value: 500 GB/s, source: test, basis: assumption}
scale_up_domain: 8
scale_out_bandwidth: {value: 400 Gb/s, source: test, basis: assumption}
"""

SYSTEM = """\
id: test-system
name: Test system
vendor: nvidia
chip: {chip}
chips: 64
status: shipping
date: "2024"
kind: cluster
levels:
  - name: node
    size: 8
    scale_up: true
    bandwidth: {{value: 500 GB/s, source: test, basis: assumption}}
    latency: {{value: 2 us, source: test, basis: assumption}}
  - name: fabric
    size: 4096
    tiers: 2
    bandwidth: {{value: 400 Gb/s, source: test, basis: assumption}}
    latency: {{value: 8 us, source: test, basis: assumption}}
{physical}
"""

FULL_PHYSICAL = """\
physical:
  chips_per_compute_cabinet: {value: 32, source: test, basis: assumption}
  network_cabinets_per_compute_cabinet: {value: 0.25, source: test, basis: assumption}
  floor_area_per_cabinet: {value: 3 m2, source: test, basis: assumption}
  hosts_per_chip: {value: 0.125, source: test, basis: assumption}
  cpus_per_chip: {value: 0.25, source: test, basis: assumption}
  host_power_per_chip: {value: 150 W, source: test, basis: assumption}
  switch_chips_per_chip: {value: 0.1, source: test, basis: assumption}
  switch_chip_power: {value: 500 W, source: test, basis: assumption}
  optics_per_chip: {value: 4, source: test, basis: assumption}
  optic_power: {value: 15 W, source: test, basis: assumption}
  other_power_per_chip: {value: 50 W, source: test, basis: assumption}
  pue: {value: 1.25, source: test, basis: assumption}
  cost_per_chip_all_in: {value: "$40k", source: test, basis: assumption}
"""

# per-chip IT watts of FULL_PHYSICAL with a 700 W chip: 700 + 150 + 0.1*500 + 4*15 + 50
IT_PER_CHIP = 700 + 150 + 50 + 60 + 50


def _write(tmp: Path, name: str, physical: str, tdp: bool = True) -> str:
    chip = tmp / f"{name}-chip.yaml"
    chip.write_text(
        CHIP + ("tdp: {value: 700 W, source: test, basis: assumption}\n" if tdp else "")
    )
    sysf = tmp / f"{name}.yaml"
    sysf.write_text(SYSTEM.format(chip=str(chip), physical=physical))
    return str(sysf)


@pytest.fixture(scope="module")
def full_system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plant")
    return resolve_system(_write(tmp, "full", FULL_PHYSICAL))


@pytest.fixture(scope="module")
def bare_system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plant-bare")
    return resolve_system(_write(tmp, "bare", ""))


@pytest.fixture(scope="module")
def no_tdp_system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plant-notdp")
    return resolve_system(_write(tmp, "notdp", FULL_PHYSICAL, tdp=False))


def test_full_plant_values(full_system) -> None:
    p = plant(full_system)
    assert isinstance(p, Plant)
    assert p.chips == 64
    assert p.compute_cabinets.value == 2
    assert p.network_cabinets.value == 1  # ceil(2 x 0.25)
    assert p.cabinets.value == 3
    assert p.floor_area.value == pytest.approx(9.0)
    assert p.hosts.value == 8 and p.cpus.value == 16
    assert p.power.accelerators.value == pytest.approx(64 * 700)
    assert p.power.hosts.value == pytest.approx(64 * 150)
    assert p.power.switches.value == pytest.approx(64 * 0.1 * 500)
    assert p.power.optics.value == pytest.approx(64 * 4 * 15)
    assert p.power.other.value == pytest.approx(64 * 50)
    assert p.power.it.value == pytest.approx(64 * IT_PER_CHIP)
    assert p.power.facility.value == pytest.approx(64 * IT_PER_CHIP * 1.25)
    assert p.capital_cost.value == pytest.approx(64 * 40e3)
    assert p.missing == ()
    assert p.power.it.basis == "estimate" and p.power.it.sources


def test_unknown_inputs_are_none_not_zero(bare_system) -> None:
    p = plant(bare_system)
    # the accelerators' power is known from the chip's TDP ...
    assert p.power.accelerators.value == pytest.approx(64 * 700)
    # ... everything that needs a physical ratio is unknown, and says which input is missing
    for est, name in [
        (p.compute_cabinets, "chips_per_compute_cabinet"),
        (p.cabinets, "chips_per_compute_cabinet"),
        (p.floor_area, "floor_area_per_cabinet"),
        (p.power.hosts, "host_power_per_chip"),
        (p.power.switches, "switch_chip_power"),
        (p.power.optics, "optic_power"),
        (p.power.other, "other_power_per_chip"),
        (p.capital_cost, "cost_per_chip_all_in"),
        (p.power.facility, "pue"),
    ]:
        assert est.value is None
        assert name in est.missing
    # a sum with unknown parts is None, its known part a lower bound
    assert p.power.it.value is None
    assert p.power.it.lower_bound == pytest.approx(64 * 700)
    assert p.power.facility.lower_bound == pytest.approx(64 * 700)
    assert "pue" in p.missing and "chip.tdp" not in p.missing
    d = p.as_dict()
    assert d["power"]["it"]["value"] is None and d["floor_area"]["value"] is None


def test_missing_tdp(no_tdp_system) -> None:
    p = plant(no_tdp_system)
    assert p.power.accelerators.value is None
    assert "chip.tdp" in p.power.accelerators.missing
    assert p.power.it.value is None and "chip.tdp" in p.power.it.missing
    # the other parts are still known, and so is the area
    assert p.power.hosts.value == pytest.approx(64 * 150)
    assert p.floor_area.value == pytest.approx(9.0)


def test_vectorised_matches_scalar(full_system) -> None:
    counts = np.array([1, 8, 33, 64, 1000, 4096])
    pv = plant(full_system, counts)
    assert isinstance(pv.power.it.value, np.ndarray)
    for i, n in enumerate(counts):
        ps = plant(full_system, int(n))
        assert pv.power.it.value[i] == pytest.approx(ps.power.it.value)
        assert pv.cabinets.value[i] == ps.cabinets.value
        assert pv.floor_area.value[i] == pytest.approx(ps.floor_area.value)
        assert pv.capital_cost.value[i] == pytest.approx(ps.capital_cost.value)
    assert pv.as_dict()["cabinets"]["value"] == [float(x) for x in pv.cabinets.value]


@pytest.mark.parametrize("bad", [0, -8, 1.5])
def test_bad_chip_counts(full_system, bad) -> None:
    with pytest.raises(SpecError, match="chips"):
        plant(full_system, bad)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 2_000_000), k=st.integers(1, 64))
def test_power_linear_in_chips(full_system, n: int, k: int) -> None:
    a, b = plant(full_system, n), plant(full_system, n * k)
    for part in ("accelerators", "hosts", "switches", "optics", "other", "it", "facility"):
        pa, pb = getattr(a.power, part).value, getattr(b.power, part).value
        assert pb == pytest.approx(k * pa, rel=1e-12)
    assert a.power.it.value == pytest.approx(n * IT_PER_CHIP, rel=1e-12)
    assert b.capital_cost.value == pytest.approx(k * a.capital_cost.value, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 2_000_000))
def test_cabinets_and_area_follow_structure(full_system, n: int) -> None:
    p, q = plant(full_system, n), plant(full_system, n + 1)
    compute = math.ceil(n / 32)
    assert p.compute_cabinets.value == compute
    assert p.network_cabinets.value == math.ceil(compute * 0.25)
    assert p.cabinets.value == compute + math.ceil(compute * 0.25)
    assert p.floor_area.value == pytest.approx(p.cabinets.value * 3.0)
    assert q.cabinets.value >= p.cabinets.value  # never fewer cabinets for more chips
    # whole cabinets: area is exactly linear in chips when n fills whole groups of 128
    m = 128 * (n % 1000 + 1)
    assert plant(full_system, 2 * m).floor_area.value == pytest.approx(
        2 * plant(full_system, m).floor_area.value
    )


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 100_000))
def test_unknown_stays_unknown_at_any_size(bare_system, n: int) -> None:
    p = plant(bare_system, n)
    assert p.floor_area.value is None and p.power.it.value is None
    assert p.power.it.lower_bound == pytest.approx(n * 700)


@pytest.mark.parametrize("sid", catalog.system_ids())
def test_catalog_systems_have_a_plant(sid: str) -> None:
    s = resolve_system(sid)
    p = plant(s)
    for est in (p.cabinets, p.floor_area, p.power.it, p.power.facility, p.capital_cost):
        assert est.value is None or est.value > 0
        assert (est.value is None) == bool(est.missing)
