"""The system catalog: every system loads, totals recompute from the chip, scaling keeps the
structure, bisection stays within physics, and bad system files give one clear PodsimError."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from podsim import catalog
from podsim.cost.link_calibration import all_link_calibrations
from podsim.errors import PodsimError
from podsim.hardware.system import System, resolve_system, system_for_case
from podsim.io import read_mapping_file
from podsim.spec.case import CaseSystem

SYSTEMS_DIR = catalog.DATA / "systems"
CHIPS_DIR = catalog.DATA / "chips"

EXPECTED = [
    "cloudmatrix-384",
    "cloudmatrix-384-cluster",
    "atlas-950-superpod",
    "atlas-960-superpod",
    "atlas-950-supercluster",
    "atlas-960-supercluster",
    "gb200-nvl72",
    "gb300-nvl72",
    "gb200-nvl72-cluster",
    "gb300-nvl72-cluster",
    "dgx-h100-cluster",
    "hgx-h20-cluster",
    "dgx-b200-cluster",
    "dgx-a100-cluster",
    "mi300x-cluster",
    "tpu-v5p-pod",
    "tpu-v7-pod",
    "ascend-910b-cluster",
]
ALL = sorted(set(EXPECTED) | set(catalog.system_ids()))
# every link a system names must have its own calibration entry (never the generic fallback)
LINK_TYPES = set(all_link_calibrations()) - {"generic"}


def _chip_of(system_id: str) -> str:
    path = SYSTEMS_DIR / f"{system_id}.yaml"
    if not path.exists():
        pytest.fail(f"system file {path.name} is missing from the catalog")
    return str(read_mapping_file(path)["chip"])


def _load(system_id: str, chips: int | None = None) -> System:
    """The system, or a skip naming the chip file it still waits for."""
    chip = _chip_of(system_id)
    if not (CHIPS_DIR / f"{chip}.yaml").exists():
        pytest.skip(f"chip '{chip}' (needed by {system_id}) is not in catalog/data/chips yet")
    return resolve_system(system_id, chips)


def _spanning(s: System):
    """The innermost level whose group holds every chip: the one a halving cut severs."""
    return next(lv for lv in s.levels if lv.size >= s.chips)


# ------------------------------------------------------------------ loading


@pytest.mark.parametrize("system_id", ALL)
def test_every_system_loads(system_id: str) -> None:
    s = _load(system_id)
    spec = catalog.system(system_id)
    assert s.id == system_id == spec.id
    assert s.chips == spec.chips
    assert s.levels[-1].size == s.chips
    assert s.max_chips == spec.levels[-1].size >= spec.chips
    prev = 1
    for lv in s.levels:
        assert lv.size % prev == 0
        assert lv.bandwidth > 0 and lv.latency > 0
        assert lv.link_type in LINK_TYPES, f"{system_id}: unknown link_type {lv.link_type}"
        if lv.kind in ("torus", "nd_full_mesh") and lv.dims:
            assert math.prod(lv.dims) == lv.size
        prev = lv.size
    assert any(lv.scale_up for lv in s.levels)
    assert s.peak_flops("bf16") > 0 and s.hbm_capacity > 0 and s.hbm_bandwidth > 0


def test_expected_system_files_exist() -> None:
    missing = [i for i in EXPECTED if not (SYSTEMS_DIR / f"{i}.yaml").exists()]
    assert not missing


# ------------------------------------------------------------------ totals


def test_atlas_950_superpod_fp8_peak_matches_8_eflops() -> None:
    s = _load("atlas-950-superpod")
    assert s.chips == 8192
    assert s.peak_flops("fp8") == pytest.approx(8.19e18, rel=0.03)


def test_cloudmatrix_384_bf16_peak() -> None:
    s = _load("cloudmatrix-384")
    assert s.chips == 384
    assert s.peak_flops("bf16") == pytest.approx(384 * 752e12, rel=0.03)
    assert s.scale_up_domain == 384


def test_supercluster_sizes() -> None:
    assert _load("atlas-950-supercluster").chips == 64 * 8192
    s960 = _load("atlas-960-supercluster")
    assert s960.chips > 1_000_000 and s960.chips % 15488 == 0


@pytest.mark.parametrize(
    ("system_id", "domain"),
    [
        ("cloudmatrix-384", 384),
        ("atlas-950-superpod", 8192),
        ("atlas-960-superpod", 15488),
        ("gb200-nvl72", 72),
        ("gb300-nvl72-cluster", 72),
        ("dgx-b200-cluster", 8),
        ("tpu-v5p-pod", 8960),
        ("tpu-v7-pod", 9216),
    ],
)
def test_scale_up_domains(system_id: str, domain: int) -> None:
    assert _load(system_id).scale_up_domain == domain


# ------------------------------------------------------------------ scaling


def test_atlas_950_superpod_shrinks_in_whole_cabinets() -> None:
    s = _load("atlas-950-superpod", 1024)
    assert s.chips == 1024
    assert s.levels[0].size == 64
    assert s.levels[-1].size == 1024
    assert s.scale_up_domain == 1024
    assert s.peak_flops("fp8") == pytest.approx(
        1024 / 8192 * _load("atlas-950-superpod").peak_flops("fp8")
    )


def test_shrink_then_grow_restores_the_structure() -> None:
    full = _load("atlas-950-superpod")
    again = full.scaled(1024).scaled(8192)
    assert again.levels == full.levels
    grown = full.scaled(1024).scaled(16384)
    assert [lv.size for lv in grown.levels] == [64, 8192, 16384]


def test_128_nvl72_racks_equal_the_cluster_at_9216() -> None:
    cluster = _load("gb200-nvl72-cluster", 9216)
    rack = _load("gb200-nvl72")
    assert cluster.chips == 128 * 72
    assert cluster.levels[0].size == 72
    assert cluster.levels[-1].size // cluster.levels[0].size == 128
    assert cluster.peak_flops("bf16") == pytest.approx(128 * rack.peak_flops("bf16"))
    assert cluster.hbm_capacity == pytest.approx(128 * rack.hbm_capacity)
    assert rack.scaled(9216).levels == cluster.levels


@pytest.mark.parametrize(
    ("system_id", "chips"),
    [("atlas-950-superpod", 67), ("gb200-nvl72-cluster", 73), ("cloudmatrix-384-cluster", 392)],
)
def test_chip_count_that_does_not_fill_groups_is_rejected(system_id: str, chips: int) -> None:
    """Neither whole groups nor an even share of groups each at least half used (392 NPUs on
    CloudMatrix 384 pods: two halves of 196, not whole 8-NPU nodes)."""
    s = _load(system_id)
    with pytest.raises(PodsimError, match="chips") as err:
        s.scaled(chips)
    assert err.value.field == "chips"
    assert str(chips) in str(err.value)


@pytest.mark.parametrize(
    ("system_id", "chips", "groups", "per_group"),
    [
        ("gb200-nvl72-cluster", 256, 4, 64),  # NVIDIA's 256-GPU GB200 runs: 4 racks of 64
        ("gb200-nvl72-cluster", 5120, 80, 64),
        ("cloudmatrix-384-cluster", 400, 2, 200),  # whole 8-NPU nodes in each supernode
        ("atlas-950-superpod", 100, 2, 50),
    ],
)
def test_a_count_between_whole_groups_spreads_evenly_over_the_fewest(
    system_id: str, chips: int, groups: int, per_group: int
) -> None:
    s = _load(system_id).scaled(chips)
    assert s.chips == chips
    inner = [lv for lv in s.levels if lv.size < chips]
    assert inner[-1].size == per_group and chips // inner[-1].size == groups
    assert all(lv.size % inner[0].size == 0 for lv in s.levels)  # levels still nest
    assert s.peak_flops("bf16") == pytest.approx(chips * s.chip.peak_flops("bf16"))


def test_chip_count_above_the_structure_is_rejected() -> None:
    s = _load("gb200-nvl72-cluster")
    with pytest.raises(PodsimError, match="chips"):
        s.scaled(s.max_chips + 72)
    with pytest.raises(PodsimError, match="chips"):
        s.scaled(0)


@pytest.mark.parametrize(
    ("chips", "dims"), [(6144, (16, 16, 24)), (4096, (16, 16, 16)), (32, (2, 4, 4))]
)
def test_torus_dims_follow_the_slice(chips: int, dims: tuple[int, ...]) -> None:
    s = _load("tpu-v5p-pod", chips)
    pod = s.levels[1]
    assert pod.size == chips and pod.dims == dims


# ------------------------------------------------------------------ bisection


def _counts(s: System) -> list[int]:
    out = {s.chips}
    for lv in s.levels[:-1]:
        out.add(min(lv.size, s.chips))
    out.add(min(2 * s.levels[-2].size if len(s.levels) > 1 else 2, s.max_chips or s.chips))
    return sorted(n for n in out if n >= 2)


@pytest.mark.parametrize("system_id", ALL)
def test_bisection_is_positive_and_within_physics(system_id: str) -> None:
    base = _load(system_id)
    for n in _counts(base):
        s = base.scaled(n)
        bis = s.bisection_bandwidth()
        top = _spanning(s)
        assert bis > 0, f"{system_id} at {n}"
        # the level that spans the system carries the cut: at most half the chips at full rate
        assert bis <= s.chips * top.bandwidth / 2 * (1 + 1e-9), f"{system_id} at {n}"
        assert bis <= s.chips * max(lv.bandwidth for lv in s.levels) / 2 * (1 + 1e-9)


def test_bisection_of_clusters_is_limited_by_scale_out() -> None:
    s = _load("gb200-nvl72-cluster")
    assert s.bisection_bandwidth() == pytest.approx(s.chips * s.levels[-1].bandwidth / 2)


# ------------------------------------------------------------------ validation cases


def test_system_for_case_keeps_the_platform_structure() -> None:
    if not (CHIPS_DIR / "tpu-v5p.yaml").exists():
        pytest.skip("chip 'tpu-v5p' is not in catalog/data/chips yet")
    chip = catalog.chip("tpu-v5p")
    if chip.platform != "tpu-v5p-pod":
        pytest.skip("tpu-v5p's platform is not tpu-v5p-pod")
    s = system_for_case(CaseSystem(chip="tpu-v5p", chips=12288, scale_up_domain=6144))
    assert [lv.size for lv in s.levels] == [64, 6144, 12288]
    assert s.levels[1].dims == (16, 16, 24)


# ------------------------------------------------------------------ bad files


def _write(tmp_path: Path, doc: dict, name: str = "bad.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def _template() -> dict:
    return read_mapping_file(SYSTEMS_DIR / "dgx-h100-cluster.yaml")


def test_missing_field_names_it(tmp_path: Path) -> None:
    doc = _template()
    del doc["levels"][0]["bandwidth"]
    with pytest.raises(PodsimError, match="bandwidth") as err:
        catalog.load_system_file(_write(tmp_path, doc))
    assert "levels.0.bandwidth" in str(err.value)


def test_missing_source_names_it(tmp_path: Path) -> None:
    doc = _template()
    del doc["levels"][1]["latency"]["source"]
    with pytest.raises(PodsimError, match="source"):
        catalog.load_system_file(_write(tmp_path, doc))


def test_missing_top_level_field_names_it(tmp_path: Path) -> None:
    doc = _template()
    del doc["chip"]
    with pytest.raises(PodsimError, match="chip"):
        catalog.load_system_file(_write(tmp_path, doc))


def test_unknown_chip_names_the_value(tmp_path: Path) -> None:
    doc = _template()
    doc["chip"] = "no-such-chip"
    with pytest.raises(PodsimError, match="no-such-chip") as err:
        catalog.load_system_file(_write(tmp_path, doc))
    assert err.value.field == "chip"


def test_default_chips_above_the_outermost_level(tmp_path: Path) -> None:
    doc = _template()
    doc["chips"] = doc["levels"][-1]["size"] * 2
    path = _write(tmp_path, doc)
    with pytest.raises(PodsimError, match="chips"):
        resolve_system(path)


def test_level_sizes_must_nest(tmp_path: Path) -> None:
    doc = _template()
    doc["levels"][1]["size"] = 1020
    doc["chips"] = 1020
    with pytest.raises(PodsimError, match="size"):
        catalog.load_system_file(_write(tmp_path, doc))


def test_the_h20_cluster_is_an_h100_node_with_a_seventh_of_the_compute_and_half_the_nics() -> None:
    h20, h100 = _load("hgx-h20-cluster"), _load("dgx-h100-cluster")
    assert h20.scale_up_domain == h100.scale_up_domain == 8
    assert h20.scale_up_bandwidth == h100.scale_up_bandwidth
    assert h20.scale_out_bandwidth == pytest.approx(h100.scale_out_bandwidth / 2)
    assert h20.chip.peak_flops("fp8") / h100.chip.peak_flops("fp8") == pytest.approx(0.15, abs=0.01)
    assert h20.chip.hbm_bandwidth.value > h100.chip.hbm_bandwidth.value
