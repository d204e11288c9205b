"""The chip catalog: every validation chip id loads, every figure is sourced, peaks are dense,
and bad chip files fail with one clear PodsimError naming the field and the value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from podsim.catalog import DATA, chip, chip_ids, load_chip_file, sources
from podsim.errors import CatalogError, PodsimError
from podsim.spec.chip import ChipSpec
from podsim.spec.figure import Figure

# The chip ids of ../shared/validation/FORMAT.md ("Chip ids"); kept here so the package tests
# run without the shared folder. test_format_md_ids_match checks the copy when the file exists.
FORMAT_IDS = [
    "a100-80gb",
    "h100-sxm",
    "h800",
    "h200",
    "h20",
    "gh200",
    "b200",
    "b300",
    "gb200",
    "gb300",
    "mi300x",
    "mi325x",
    "mi355x",
    "tpu-v5p",
    "tpu-v6e",
    "tpu-v7",
    "ascend-910b",
    "ascend-910c",
    "ascend-950pr",
    "ascend-950dt",
    "ascend-960",
    "ascend-970",
]

FAMILY = {
    "a100-80gb": "ampere",
    "h100-sxm": "hopper",
    "h800": "hopper",
    "h200": "hopper",
    "h20": "hopper",
    "gh200": "hopper",
    "b200": "blackwell",
    "gb200": "blackwell",
    "b300": "blackwell-ultra",
    "gb300": "blackwell-ultra",
    "mi300x": "cdna3",
    "mi325x": "cdna3",
    "mi355x": "cdna4",
    "tpu-v5p": "tpu-v5",
    "tpu-v6e": "tpu-v6",
    "tpu-v7": "tpu-v7",
    "ascend-910b": "ascend-910",
    "ascend-910c": "ascend-910",
    "ascend-950pr": "ascend-950",
    "ascend-950dt": "ascend-950",
    "ascend-960": "ascend-960",
    "ascend-970": "ascend-970",
}

PLATFORM = {
    "a100-80gb": "dgx-a100-cluster",
    "h100-sxm": "dgx-h100-cluster",
    "h800": "dgx-h100-cluster",
    "h200": "dgx-h100-cluster",
    "h20": "hgx-h20-cluster",  # half the NICs of an HGX H100 node (LMSYS / Ant Group)
    "gh200": "dgx-h100-cluster",
    "b200": "dgx-b200-cluster",
    "b300": "dgx-b200-cluster",
    "gb200": "gb200-nvl72-cluster",
    "gb300": "gb300-nvl72-cluster",
    "mi300x": "mi300x-cluster",
    "mi325x": "mi300x-cluster",
    "mi355x": "mi300x-cluster",
    "tpu-v5p": "tpu-v5p-pod",
    "tpu-v6e": None,
    "tpu-v7": "tpu-v7-pod",
    "ascend-910b": None,
    "ascend-910c": "cloudmatrix-384-cluster",
    "ascend-950pr": "atlas-950-superpod",
    "ascend-950dt": "atlas-950-superpod",
    "ascend-960": "atlas-960-superpod",
    "ascend-970": None,
}

# Formats a chip must not claim natively (checked so a sparse or emulated figure cannot creep in).
NOT_NATIVE = {
    "a100-80gb": {"fp8", "fp4"},
    "h100-sxm": {"fp4"},
    "h800": {"fp4"},
    "h200": {"fp4"},
    "h20": {"fp4"},
    "gh200": {"fp4"},
    "mi300x": {"fp4"},
    "mi325x": {"fp4"},
    "tpu-v5p": {"fp8", "fp4"},
    "tpu-v6e": {"fp8", "fp4"},
    "ascend-910b": {"fp8", "fp4"},
    "ascend-910c": {"fp8", "fp4"},
}

BASES = {"vendor-claim", "measured", "analyst-estimate", "derived", "assumption"}


def _figures(spec: ChipSpec) -> list[tuple[str, Figure]]:
    out: list[tuple[str, Figure]] = [(f"flops.{p}", f) for p, f in spec.flops.items()]
    for name in ChipSpec.model_fields:
        val = getattr(spec, name)
        if isinstance(val, Figure):
            out.append((name, val))
    return out


def _peak16(spec: ChipSpec) -> float:
    return spec.flops["bf16"].value if "bf16" in spec.flops else spec.flops["fp16"].value


def test_catalog_lists_every_format_id() -> None:
    assert set(FORMAT_IDS) <= set(chip_ids())


def test_format_md_ids_match() -> None:
    fmt = Path(__file__).resolve().parents[2] / "shared" / "validation" / "FORMAT.md"
    if not fmt.exists():
        pytest.skip("shared/validation/FORMAT.md not present")
    section = fmt.read_text(encoding="utf-8").split("## Chip ids", 1)[1]
    assert re.findall(r"`([a-z0-9.\-]+)`", section) == FORMAT_IDS


@pytest.mark.parametrize("chip_id", FORMAT_IDS)
def test_chip_loads_with_expected_identity(chip_id: str) -> None:
    spec = chip(chip_id)
    assert spec.id == chip_id
    assert spec.family == FAMILY[chip_id]
    assert spec.platform == PLATFORM[chip_id]
    assert spec.scale_up_domain >= 1
    assert re.fullmatch(r"\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?", spec.date)


@pytest.mark.parametrize("chip_id", FORMAT_IDS)
def test_every_figure_has_source_and_basis(chip_id: str) -> None:
    for name, fig in _figures(chip(chip_id)):
        assert fig.source.strip(), f"{chip_id}.{name} has an empty source"
        assert fig.basis in BASES, f"{chip_id}.{name} basis {fig.basis!r}"
        for alt in fig.alternatives:
            assert alt.source.strip(), f"{chip_id}.{name} alternative without source"


@pytest.mark.parametrize("chip_id", FORMAT_IDS)
def test_source_keys_resolve(chip_id: str) -> None:
    """A source is a URL, a paper, or a key of data/sources/*.yaml (a typo'd key would not resolve)."""
    raw = yaml.safe_load((DATA / "chips" / f"{chip_id}.yaml").read_text(encoding="utf-8"))
    known = sources()

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            src = node.get("source")
            if isinstance(src, str):
                looks_like_key = re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", src) is not None
                assert not looks_like_key or src in known, f"{where}: unknown source key {src!r}"
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(raw, chip_id)


@pytest.mark.parametrize("chip_id", FORMAT_IDS)
def test_peaks_are_dense(chip_id: str) -> None:
    """Dense peaks: fp8 at most 2x the 16-bit rate, fp4 at most 3x fp8 (Blackwell Ultra is 3x)."""
    spec = chip(chip_id)
    f = spec.flops
    p16 = _peak16(spec)
    if "fp8" in f:
        assert f["fp8"].value <= 2.01 * p16
    if "int8" in f:
        assert f["int8"].value <= 2.01 * p16
    if "fp4" in f:
        assert "fp8" in f, "fp4 without fp8"
        assert f["fp4"].value <= 3.01 * f["fp8"].value
    for p in NOT_NATIVE.get(chip_id, ()):
        assert not spec.native(p), f"{chip_id} must not claim native {p}"


@pytest.mark.parametrize("chip_id", FORMAT_IDS)
def test_quantities_positive_and_plausible(chip_id: str) -> None:
    spec = chip(chip_id)
    assert all(fig.value > 0 for fig in spec.flops.values())
    assert 1e14 <= _peak16(spec) <= 1e16  # 100 TFLOPS .. 10 PFLOPS per package
    assert 16e9 <= spec.hbm_capacity.value <= 1e12
    assert spec.hbm_bandwidth.value > 0
    assert spec.scale_up_bandwidth.value > 0
    assert spec.scale_out_bandwidth.value > 0
    # one direction per chip: the scale-out NIC never beats the scale-up fabric
    assert spec.scale_out_bandwidth.value <= spec.scale_up_bandwidth.value
    assert spec.scale_up_bandwidth.value < spec.hbm_bandwidth.value
    for lat in (spec.scale_up_latency, spec.scale_out_latency):
        if lat is not None:
            assert 1e-8 <= lat.value <= 1e-4


def test_known_values() -> None:
    """Spot checks of the conventions: dense, one direction, per chip."""
    assert chip("h100-sxm").flops["bf16"].value == pytest.approx(989e12)
    assert chip("gb300").flops["fp4"].value == pytest.approx(15e15)
    assert chip("gb200").scale_up_bandwidth.value == pytest.approx(900e9)
    assert chip("tpu-v5p").scale_up_bandwidth.value == pytest.approx(600e9)
    assert chip("ascend-910c").scale_up_bandwidth.value == pytest.approx(392e9)
    assert chip("ascend-950dt").scale_up_bandwidth.value == pytest.approx(1.0e12)
    assert chip("ascend-960").scale_up_bandwidth.value == pytest.approx(1.1e12)
    assert chip("ascend-970").scale_up_bandwidth.value == pytest.approx(2.0e12)
    assert chip("ascend-910c").scale_up_domain == 384
    assert chip("ascend-950dt").scale_up_domain == 8192
    assert chip("ascend-960").scale_up_domain == 15488
    assert chip("tpu-v7").scale_up_domain == 9216
    assert chip("gh200").scale_up_domain == 1


def test_assumed_bf16_rates_are_marked() -> None:
    for chip_id in ("ascend-950pr", "ascend-950dt", "ascend-960", "ascend-970"):
        fig = chip(chip_id).flops["bf16"]
        assert fig.basis == "assumption"
        assert fig.value == pytest.approx(chip(chip_id).flops["fp8"].value / 2)


def test_unknown_chip_id_lists_known_ids() -> None:
    with pytest.raises(CatalogError) as exc:
        chip("h999")
    msg = str(exc.value)
    assert "h999" in msg
    for known in ("h100-sxm", "ascend-910c", "tpu-v7"):
        assert known in msg


# ---- bad chip files -------------------------------------------------------------------------


def _template() -> dict:
    return yaml.safe_load((DATA / "chips" / "h100-sxm.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: object, name: str = "bad.yaml") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return p


def test_template_copy_loads(tmp_path: Path) -> None:
    spec = load_chip_file(_write(tmp_path, _template(), "ok.yaml"))
    assert spec.id == "h100-sxm"


def test_missing_field_is_named(tmp_path: Path) -> None:
    doc = _template()
    del doc["hbm_bandwidth"]
    with pytest.raises(PodsimError) as exc:
        load_chip_file(_write(tmp_path, doc))
    assert "hbm_bandwidth" in str(exc.value)
    assert "missing" in str(exc.value)


def test_negative_bandwidth_names_field_and_value(tmp_path: Path) -> None:
    doc = _template()
    doc["scale_up_bandwidth"]["value"] = "-450 GB/s"
    with pytest.raises(PodsimError) as exc:
        load_chip_file(_write(tmp_path, doc))
    msg = str(exc.value)
    assert "scale_up_bandwidth" in msg
    assert "-450 GB/s" in msg


def test_unit_typo_names_field_and_unit(tmp_path: Path) -> None:
    doc = _template()
    doc["hbm_bandwidth"]["value"] = "1.6 TBs"
    with pytest.raises(PodsimError) as exc:
        load_chip_file(_write(tmp_path, doc))
    msg = str(exc.value)
    assert "hbm_bandwidth" in msg
    assert "TBs" in msg
    assert "TB/s" in msg  # the allowed spellings are listed


def test_unit_typo_names_whole_value(tmp_path: Path) -> None:
    doc = _template()
    doc["hbm_bandwidth"]["value"] = "1.6 TBs"
    with pytest.raises(PodsimError) as exc:
        load_chip_file(_write(tmp_path, doc))
    assert "1.6 TBs" in str(exc.value)


def test_unit_typo_in_flops_names_precision(tmp_path: Path) -> None:
    doc = _template()
    doc["flops"]["fp8"]["value"] = "1979 TFLOP"  # a FLOP count, not a rate
    with pytest.raises(PodsimError) as exc:
        load_chip_file(_write(tmp_path, doc))
    assert "flops.fp8" in str(exc.value)


def test_figure_without_source_is_rejected(tmp_path: Path) -> None:
    doc = _template()
    del doc["hbm_capacity"]["source"]
    with pytest.raises(PodsimError) as exc:
        load_chip_file(_write(tmp_path, doc))
    assert "hbm_capacity" in str(exc.value)


def test_bad_basis_lists_allowed(tmp_path: Path) -> None:
    doc = _template()
    doc["tdp"]["basis"] = "rumour"
    with pytest.raises(PodsimError) as exc:
        load_chip_file(_write(tmp_path, doc))
    msg = str(exc.value)
    assert "tdp" in msg and "rumour" in msg and "vendor-claim" in msg


def test_not_yaml_names_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "id: h100\nflops: {bf16: [unclosed\n  - x: : y\n", "broken.yaml")
    with pytest.raises(PodsimError) as exc:
        load_chip_file(path)
    msg = str(exc.value)
    assert "broken.yaml" in msg
    assert "YAML" in msg


def test_yaml_list_is_not_a_chip(tmp_path: Path) -> None:
    path = _write(tmp_path, "- a\n- b\n", "list.yaml")
    with pytest.raises(PodsimError) as exc:
        load_chip_file(path)
    assert "list.yaml" in str(exc.value)
    assert "mapping" in str(exc.value)


def test_power_limited_chips_compute_at_their_sustained_clock() -> None:
    """MI300X (750 W) and MI325X (1000 W) share the datasheet peak but sustain different clocks
    under matrix load: compute-bound time uses the sustained peak, MFU the datasheet peak, and a
    chip without a measured clock keeps its peak."""
    a, b = chip("mi300x"), chip("mi325x")
    assert a.peak_flops("fp8") == b.peak_flops("fp8")
    assert a.sustained_flops("fp8") < b.sustained_flops("fp8") < b.peak_flops("fp8")
    assert 1.1 < b.sustained_flops("fp8") / a.sustained_flops("fp8") < 1.3
    assert chip("h100-sxm").sustained_flops("bf16") == chip("h100-sxm").peak_flops("bf16")
