"""In a validation case, ``null`` for an optional field (``mtp_layers: null``, ``q_lora_rank: null``
as DeepSeek-V2-Lite's config.json writes it, ``dp: null``) reads as the field being absent;
``null`` for a required field is still an error naming it, and outside a case (a Python call)
``null`` stays an error. MLA's ``q_lora_rank: null`` is a full-rank query projection anywhere."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from podsim.spec.jobs import ServingSpec
from podsim.spec.model import MLASpec
from podsim.validate.runner import run_files

CASES = Path(__file__).resolve().parents[1] / "src/podsim/catalog/data/validation/cases.yaml"


def _case(kind: str, block: str) -> dict:
    return next(
        c for c in yaml.safe_load(CASES.read_text()) if c["kind"] == kind and block in c["model"]
    )


@pytest.mark.parametrize(
    ("kind", "block", "path"),
    [
        ("training", "moe", ("model", "mtp_layers")),
        ("training", "moe", ("model", "moe", "shared_experts")),
        ("training", "moe", ("training", "dp")),
        ("serving", "mla", ("serving", "pp")),
        ("serving", "mla", ("serving", "kv_precision")),
    ],
)
def test_null_for_an_optional_field_is_its_absence(tmp_path: Path, kind, block, path) -> None:
    plain = _case(kind, block)
    absent, null = copy.deepcopy(plain), copy.deepcopy(plain)
    absent["id"] += "-absent"
    null["id"] += "-null"
    a_node, n_node = absent, null
    for key in path[:-1]:
        a_node, n_node = a_node[key], n_node[key]
    a_node.pop(path[-1], None)
    n_node[path[-1]] = None
    p = tmp_path / "cases.yaml"
    p.write_text(yaml.safe_dump([absent, null], sort_keys=False))
    a, b = run_files([p])
    assert a.status == b.status == "ok"
    assert a.predicted == b.predicted


def test_null_query_rank_is_a_full_rank_query_projection() -> None:
    dims = dict(kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128)
    assert MLASpec(q_lora_rank=None, **dims) == MLASpec(q_lora_rank=0, **dims)
    assert MLASpec(q_lora_rank=None, **dims).q_lora_rank == 0
    with pytest.raises(ValidationError):
        MLASpec(**dims)  # absent is not null: FORMAT.md lists the field


def test_null_outside_a_case_is_still_an_error() -> None:
    with pytest.raises(ValidationError):
        ServingSpec(input_len=1, output_len=1, dp=None)


def test_null_for_a_required_field_is_an_error(tmp_path: Path) -> None:
    case = copy.deepcopy(_case("training", "moe"))
    case["training"]["seq_len"] = None
    p = tmp_path / "cases.yaml"
    p.write_text(yaml.safe_dump([case], sort_keys=False))
    (r,) = run_files([p])
    assert r.status == "invalid" and "seq_len" in r.reason
