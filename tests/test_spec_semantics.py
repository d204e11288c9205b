"""Spec files that parse but describe something impossible: each is an error naming the field, the
value and what is allowed (never a traceback, a NaN or a silently different model), while odd but
real configurations (a one-chip scale-up domain, a partial group, one level) stay legal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from podsim import catalog
from podsim.catalog import DATA
from podsim.cli.main import app
from podsim.errors import PodsimError, SpecError
from podsim.hardware.system import system_from_spec
from podsim.spec.case import ValidationCase
from podsim.spec.model import MAX_PARAMS
from podsim.workload.params import param_counts

FIG = {"source": "test", "basis": "assumption"}


def _doc(kind: str, base: str) -> dict[str, Any]:
    return yaml.safe_load((DATA / kind / f"{base}.yaml").read_text())


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *head, last = path.split(".")
    node: Any = doc
    for key in head:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value


def _write(tmp_path: Path, kind: str, base: str, **changes: Any) -> Path:
    doc = _doc(kind, base)
    for path, value in changes.items():
        _set(doc, path.replace("__", "."), value)
    p = tmp_path / f"{base}-edited.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def _error(load, path: Path, field: str, *needles: str) -> str:
    with pytest.raises(SpecError) as exc:
        load(path)
    err = exc.value
    assert err.field == field, str(err)
    msg = str(err)
    assert str(path) in msg and f"field '{field}'" in msg, msg
    for n in needles:
        assert n in msg, (n, msg)
    return msg


# --- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "needles"),
    [
        ({"kv_heads": 64}, "kv_heads", ("kv_heads 64", "a divisor of heads (32)")),
        ({"kv_heads": 6}, "kv_heads", ("kv_heads 6", "1, 2, 4, 8, 16, 32")),
        ({"hidden": 16}, "heads", ("32 heads", "give head_dim")),
        ({"layers": 10**6}, "layers", ("got 1000000",)),
        ({"vocab": 10**18}, "vocab", ()),
        ({"hidden": 10**9}, "hidden", ()),
        ({"heads": 2**30, "kv_heads": 2**30, "head_dim": 1}, "heads", ()),
        ({"mtp_layers": 10**6}, "mtp_layers", ()),
        ({"layers": 0}, "layers", ()),
        ({"head_dim": 0}, "head_dim", ()),
    ],
)
def test_impossible_dense_model(tmp_path: Path, changes, field, needles) -> None:
    p = _write(tmp_path, "models", "llama3-8b", **changes)
    _error(catalog.load_model_file, p, field, *needles)


@pytest.mark.parametrize(
    ("changes", "field", "needles"),
    [
        ({"moe__top_k": 300}, "moe.top_k", ("top_k 300", "1 to experts (256)")),
        ({"moe__dense_layers": 61}, "moe.dense_layers", ("leave out the moe block", "0 to")),
        ({"moe__dense_layers": 62}, "moe.dense_layers", ("dense_layers 62",)),
        ({"moe__experts": 10**9}, "moe.experts", ()),
        ({"moe__shared_experts": -1}, "moe.shared_experts", ()),
        ({"mla__kv_lora_rank": 0}, "mla.kv_lora_rank", ()),
    ],
)
def test_impossible_moe_or_mla_model(tmp_path: Path, changes, field, needles) -> None:
    p = _write(tmp_path, "models", "deepseek-v3", **changes)
    _error(catalog.load_model_file, p, field, *needles)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"layers": 100_000, "hidden": 40_000, "ffn": 40_000, "heads": 8, "kv_heads": 8}, "layers"),
        ({"hidden": 10_000_000, "vocab": 100_000_000, "heads": 8, "kv_heads": 8}, "hidden"),
    ],
)
def test_a_model_beyond_the_parameter_bound_names_its_largest_part(
    tmp_path: Path, changes, field
) -> None:
    p = _write(tmp_path, "models", "llama3-8b", **changes)
    _error(catalog.load_model_file, p, field, "parameters", f"{MAX_PARAMS:.0e}")


def test_odd_but_computable_models_stay_legal(tmp_path: Path) -> None:
    # heads that do not divide hidden: each head has hidden // heads dims (as Hugging Face)
    m = catalog.load_model_file(_write(tmp_path, "models", "llama3-8b", heads=30, kv_heads=10))
    assert m.head_size == 4096 // 30
    # more heads than hidden is fine when head_dim says how wide a head is
    m = catalog.load_model_file(_write(tmp_path, "models", "llama3-8b", hidden=16, head_dim=128))
    assert m.head_size == 128
    # a single routed expert, and MoE on every 1000th layer (one MoE layer)
    m = catalog.load_model_file(
        _write(tmp_path, "models", "deepseek-v3", moe__experts=1, moe__top_k=1)
    )
    assert m.moe_layers == 58
    m = catalog.load_model_file(_write(tmp_path, "models", "deepseek-v3", moe__layer_freq=1000))
    assert m.moe_layers == 1
    # the largest models the bounds allow still count exactly
    m = catalog.load_model_file(
        _write(tmp_path, "models", "llama3-8b", vocab=100_000_000, layers=1)
    )
    assert param_counts(m).total < MAX_PARAMS


def test_hf_config_with_more_heads_than_hidden_is_an_error(tmp_path: Path) -> None:
    cfg = {
        "model_type": "llama",
        "num_hidden_layers": 2,
        "hidden_size": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 64,
        "vocab_size": 100,
        "hidden_act": "silu",
    }
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    _error(catalog.load_model_file, p, "heads", "32 heads", "1 to hidden (16)")


def test_a_case_with_an_impossible_model_names_the_nested_field() -> None:
    case = yaml.safe_load((DATA / "validation" / "cases.yaml").read_text())
    raw = dict(case[0])
    raw["model"] = {**raw["model"], "kv_heads": 7}
    from pydantic import ValidationError

    from podsim.spec.errors import spec_error

    with pytest.raises(ValidationError) as exc:
        ValidationCase.model_validate(raw)
    err = spec_error(exc.value, what="case")
    assert err.field == "model.kv_heads" and err.value == 7, str(err)


# --- chips -----------------------------------------------------------------------------------


def test_hbm_capacity_beyond_a_petabyte_is_an_error(tmp_path: Path) -> None:
    p = _write(tmp_path, "chips", "h100-sxm", hbm_capacity={"value": "1e30 B", **FIG})
    _error(catalog.load_chip_file, p, "hbm_capacity", "1e30 B", "at most")


def test_an_unknown_platform_is_named_when_the_chip_is_read(tmp_path: Path) -> None:
    p = _write(tmp_path, "chips", "h100-sxm", platform="no-such-system")
    with pytest.raises(PodsimError) as exc:
        catalog.load_chip_file(p)
    assert exc.value.field == "platform" and "no-such-system" in str(exc.value)
    assert "dgx-h100-cluster" in str(exc.value)  # the allowed ids are listed


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hbm_capacity": {"value": "0 GB", **FIG}}, "hbm_capacity"),
        ({"hbm_bandwidth": {"value": "0 TB/s", **FIG}}, "hbm_bandwidth"),
        ({"flops__fp8": {"value": "0 TFLOPS", **FIG}}, "flops.fp8"),
        ({"tdp": {"value": "-700 W", **FIG}}, "tdp"),
        ({"dies": 0}, "dies"),
        ({"scale_up_domain": 0}, "scale_up_domain"),
        ({"price": {"value": "$0", **FIG}}, "price"),
        ({"flops__bf16": None, "flops__fp16": None}, "flops"),
    ],
)
def test_impossible_chip_figures(tmp_path: Path, changes, field) -> None:
    _error(catalog.load_chip_file, _write(tmp_path, "chips", "h100-sxm", **changes), field)


def test_a_chip_with_fp16_only_runs_bf16_at_the_fp16_rate(tmp_path: Path) -> None:
    c = catalog.load_chip_file(_write(tmp_path, "chips", "h100-sxm", flops__bf16=None))
    assert c.peak_flops("bf16") == c.flops["fp16"].value


# --- systems ---------------------------------------------------------------------------------


def _level(**kw: Any) -> dict[str, Any]:
    return {
        "name": "l",
        "size": 8,
        "bandwidth": {"value": "100 GB/s", **FIG},
        "latency": {"value": "2 us", **FIG},
        **kw,
    }


@pytest.mark.parametrize(
    ("changes", "field", "needles"),
    [
        ({"chips": 100}, "chips", ("got 100", "a multiple of 8", "at most 8")),
        ({"chips": 100_000}, "chips", ("got 100000", "1 to 65,536")),
        ({"levels__1__size": 12}, "levels.1.size", ("got 12", "a multiple of 8")),
        ({"levels__1__name": "nvlink-node"}, "levels.1.name", ("levels[0]",)),
        (
            {"levels__0__scale_up": False, "levels__1__scale_up": True},
            "levels.1.scale_up",
            ("outside the scale-out level 'nvlink-node'",),
        ),
        ({"levels__0__dims": [2, 4]}, "levels.0.dims", ("switched",)),
        ({"levels__1__bandwidth": {"value": "0 GB/s", **FIG}}, "levels.1.bandwidth", ()),
        ({"levels__1__latency": {"value": "-1 us", **FIG}}, "levels.1.latency", ()),
        ({"levels__1__oversubscription": 0.5}, "levels.1.oversubscription", ()),
        ({"levels__1__tiers": 0}, "levels.1.tiers", ()),
        ({"levels__0__size": 0}, "levels.0.size", ()),
        ({"chips": 0}, "chips", ()),
        ({"physical__pue": {"value": 0.5, **FIG}}, "physical.pue", ("never below 1", "got 0.5")),
        (
            {"physical__floor_area_per_cabinet": {"value": "0 m2", **FIG}},
            "physical.floor_area_per_cabinet",
            (),
        ),
    ],
)
def test_impossible_system(tmp_path: Path, changes, field, needles) -> None:
    p = _write(tmp_path, "systems", "dgx-h100-cluster", **changes)
    _error(catalog.load_system_file, p, field, *needles)


@pytest.mark.parametrize(
    ("dims", "field", "needles"),
    [
        ([3, 4, 4], "levels.0.dims", ("48 chips", "got [3, 4, 4]", "product is 64")),
        ([0, 8, 8], "levels.0.dims.0", ()),
        ([], "levels.0.dims", ()),
    ],
)
def test_torus_dims_must_hold_the_level(tmp_path: Path, dims, field, needles) -> None:
    p = _write(tmp_path, "systems", "tpu-v5p-pod", levels__0__dims=dims)
    _error(catalog.load_system_file, p, field, *needles)


def test_real_but_unusual_systems_stay_legal(tmp_path: Path) -> None:
    # one level; a one-chip scale-up domain (GH200-style); a partial first group; a torus
    # without dims (balanced factors are used)
    base = _doc("systems", "dgx-h100-cluster")
    for levels, chips in [
        ([_level(name="only", size=64, scale_up=True)], 64),
        ([_level(name="chip", size=1, scale_up=True), _level(name="ib", size=1024)], 1024),
        ([_level(name="node", size=8, scale_up=True), _level(name="ib", size=1024)], 4),
        ([_level(name="cube", size=64, kind="torus", scale_up=True)], 64),
        ([_level(name="a", size=8), _level(name="b", size=64)], 64),  # no scale-up level
    ]:
        doc = {**base, "levels": levels, "chips": chips}
        doc.pop("physical")
        p = tmp_path / "s.yaml"
        p.write_text(yaml.safe_dump(doc, sort_keys=False))
        spec = catalog.load_system_file(p)
        assert system_from_spec(spec).chips == chips


def test_every_catalog_file_keeps_the_rules() -> None:
    for sid in catalog.system_ids():
        catalog.system(sid)
    for cid in catalog.chip_ids():
        catalog.chip(cid)
    for mid in catalog.model_ids():
        catalog.model(mid)


# --- on the command line ---------------------------------------------------------------------


def _cli(*args: str) -> PodsimError:
    res = CliRunner().invoke(app, list(args))
    assert isinstance(res.exception, PodsimError), res.output
    return res.exception


def test_train_on_a_model_with_zero_width_heads_is_an_error_not_nan(tmp_path: Path) -> None:
    p = _write(tmp_path, "models", "llama3-8b", hidden=16)
    err = _cli("train", "--model", str(p), "--system", "dgx-h100-cluster:64", "--tp", "8")
    assert err.field == "heads" and str(p) in str(err)


def test_serve_on_a_chip_with_a_huge_hbm_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    chip = _write(tmp_path, "chips", "h100-sxm", hbm_capacity={"value": "1e30 B", **FIG})
    chip = chip.rename(tmp_path / "huge-hbm.yaml")
    sysfile = _write(tmp_path, "systems", "dgx-h100-cluster", chip=str(chip))
    err = _cli(
        "serve", "--model", "llama3-8b", "--system", f"{sysfile}:8", "--tp", "8",
        "--input-len", "1024", "--output-len", "256",
    )  # fmt: skip
    assert err.field == "hbm_capacity" and str(chip) in str(err)


def test_compare_on_a_system_with_duplicate_level_names(tmp_path: Path) -> None:
    p = _write(tmp_path, "systems", "dgx-h100-cluster", levels__1__name="nvlink-node")
    err = _cli("compare", str(p))
    assert err.field == "levels.1.name" and str(p) in str(err)
