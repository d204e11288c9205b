"""Hugging Face config.json -> ModelSpec: fixtures copied from the public configs map to the
same architecture as the catalog YAML; bad configs raise SpecError naming the key and file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podsim import catalog
from podsim.errors import SpecError
from podsim.spec.model import ModelSpec
from podsim.workload.hf_config import model_from_hf_config
from podsim.workload.params import param_counts

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
FIXTURE_IDS = ["llama3-8b", "deepseek-v3", "qwen3-30b-a3b", "mixtral-8x22b"]
_META = {"name", "source", "published_params", "published_active_params"}


def _arch(m: ModelSpec) -> dict:
    return m.model_dump(exclude=_META)


def _cfg(mid: str) -> dict:
    return json.loads((FIXTURES / mid / "config.json").read_text())


@pytest.mark.parametrize("mid", FIXTURE_IDS)
def test_fixture_matches_catalog_architecture(mid: str) -> None:
    path = FIXTURES / mid / "config.json"
    loaded = catalog.load_model_file(path)
    assert _arch(loaded) == _arch(catalog.model(mid))
    assert loaded.name == mid  # from the folder name: the fixtures have no _name_or_path
    assert param_counts(loaded).total == param_counts(catalog.model(mid)).total


@pytest.mark.parametrize("mid", FIXTURE_IDS)
def test_catalog_model_by_path(mid: str) -> None:
    assert _arch(catalog.model(str(FIXTURES / mid / "config.json"))) == _arch(catalog.model(mid))


def test_missing_layers_names_key_and_file(tmp_path: Path) -> None:
    cfg = _cfg("llama3-8b")
    del cfg["num_hidden_layers"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SpecError) as err:
        catalog.load_model_file(path)
    assert "num_hidden_layers" in str(err.value)
    assert str(path) in str(err.value)


def test_missing_key_without_file() -> None:
    cfg = _cfg("llama3-8b")
    del cfg["vocab_size"]
    with pytest.raises(SpecError, match="vocab_size"):
        model_from_hf_config(cfg)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hidden_size", "4096"),
        ("num_attention_heads", 32.5),
        ("num_hidden_layers", True),
        ("num_hidden_layers", 0),
        ("tie_word_embeddings", "no"),
        ("hidden_act", 3),
        ("hidden_act", "relu"),
    ],
)
def test_wrong_type_names_key_and_file(key: str, value: object) -> None:
    cfg = {**_cfg("llama3-8b"), key: value}
    with pytest.raises(SpecError) as err:
        model_from_hf_config(cfg, file="x/config.json")
    assert key in str(err.value)
    assert "x/config.json" in str(err.value)


def test_integral_float_is_accepted() -> None:
    cfg = {**_cfg("llama3-8b"), "hidden_size": 4096.0}
    assert model_from_hf_config(cfg).hidden == 4096


def test_not_json_raises_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{ this is not json")
    with pytest.raises(SpecError) as err:
        catalog.load_model_file(path)
    assert str(path) in str(err.value)


def test_json_array_raises_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(SpecError):
        catalog.load_model_file(path)


def test_heads_not_multiple_of_kv_heads() -> None:
    cfg = {**_cfg("llama3-8b"), "num_key_value_heads": 5}
    with pytest.raises(SpecError, match="num_key_value_heads"):
        model_from_hf_config(cfg, file="c.json")


def test_defaults_and_name() -> None:
    cfg = {
        k: v
        for k, v in _cfg("llama3-8b").items()
        if k not in ("num_key_value_heads", "tie_word_embeddings")
    }
    m = model_from_hf_config({**cfg, "_name_or_path": "meta-llama/Meta-Llama-3-8B"})
    assert m.kv_heads == m.heads == 32  # MHA when num_key_value_heads is absent
    assert m.tied_embeddings is False  # LlamaConfig default
    assert m.name == "meta-llama/Meta-Llama-3-8B"
    assert model_from_hf_config(cfg).name == "llama"  # model_type without a file
    assert model_from_hf_config(cfg, file="/m/my-model.json").name == "my-model"


def test_head_dim_kept_only_when_not_default() -> None:
    cfg = _cfg("llama3-8b")
    assert model_from_hf_config({**cfg, "head_dim": 128}).head_dim is None
    assert model_from_hf_config({**cfg, "head_dim": 64}).head_dim == 64


def test_mla_without_q_lora() -> None:
    """DeepSeek-V2-Lite style: q_lora_rank null -> plain q projection."""
    m = model_from_hf_config({**_cfg("deepseek-v3"), "q_lora_rank": None})
    assert m.mla is not None and m.mla.q_lora_rank == 0


def test_gpt2_style_config() -> None:
    cfg = {
        "model_type": "gpt2",
        "n_layer": 12,
        "n_embd": 768,
        "n_head": 12,
        "n_inner": None,
        "vocab_size": 50257,
        "activation_function": "gelu_new",
    }
    m = model_from_hf_config(cfg)
    assert (m.layers, m.hidden, m.ffn, m.activation, m.tied_embeddings) == (
        12,
        768,
        3072,
        "gelu",
        True,
    )
    # GPT-2 small has 124,439,808 parameters; outside the schema are its position embeddings
    # (1024 x 768 = 786,432), linear biases (9 x 768 per layer) and LayerNorm biases (2 x 768 per
    # layer + 768 final): 12 x 11 x 768 + 768 = 102,144.
    assert param_counts(m).total == 124_439_808 - 786_432 - 102_144


def test_qwen2_moe_shared_expert_width() -> None:
    """Qwen1.5-MoE-A2.7B: one shared expert of width 5632 = 4 experts of 1408."""
    cfg = {
        **_cfg("qwen3-30b-a3b"),
        "num_experts": 60,
        "num_experts_per_tok": 4,
        "moe_intermediate_size": 1408,
        "shared_expert_intermediate_size": 5632,
    }
    moe = model_from_hf_config(cfg).moe
    assert moe is not None and moe.shared_experts == 4
    with pytest.raises(SpecError, match="shared_expert_intermediate_size"):
        model_from_hf_config({**cfg, "shared_expert_intermediate_size": 1000})


def test_sparse_layers_that_cannot_be_represented() -> None:
    cfg = _cfg("qwen3-30b-a3b")
    with pytest.raises(SpecError, match="mlp_only_layers"):
        model_from_hf_config({**cfg, "mlp_only_layers": [5, 7]})
    assert model_from_hf_config({**cfg, "mlp_only_layers": [0, 1]}).moe.dense_layers == 2
    assert model_from_hf_config({**cfg, "decoder_sparse_step": 2}).moe_layers == 24
    with pytest.raises(SpecError, match="decoder_sparse_step"):
        model_from_hf_config({**cfg, "decoder_sparse_step": 5})


def test_top_k_above_experts() -> None:
    with pytest.raises(SpecError, match="num_experts_per_tok"):
        model_from_hf_config({**_cfg("mixtral-8x22b"), "num_experts_per_tok": 9})


def test_moe_without_top_k() -> None:
    cfg = _cfg("mixtral-8x22b")
    del cfg["num_experts_per_tok"]
    with pytest.raises(SpecError, match="num_experts_per_tok"):
        model_from_hf_config(cfg, file="m/config.json")


def test_text_config_is_read() -> None:
    cfg = {"model_type": "llava", "text_config": _cfg("llama3-8b")}
    assert _arch(model_from_hf_config(cfg)) == _arch(catalog.model("llama3-8b"))
