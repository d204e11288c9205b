"""A validation case that carries fields FORMAT.md does not define (an annotated or newer copy of
the format) is still evaluated, as if they were absent, and its result names them; anything else
wrong with a case (a missing field, a bad value) still makes it invalid with the reason."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from podsim.validate.runner import run_files

CASES = Path(__file__).resolve().parents[1] / "src/podsim/catalog/data/validation/cases.yaml"


def _first(kind: str) -> dict:
    return next(c for c in yaml.safe_load(CASES.read_text()) if c["kind"] == kind)


def _run(tmp_path: Path, cases: list[dict]):
    p = tmp_path / "cases.yaml"
    p.write_text(yaml.safe_dump(cases, sort_keys=False))
    return run_files([p])


@pytest.mark.parametrize("kind", ["training", "serving"])
def test_unknown_fields_are_set_aside_and_named(tmp_path: Path, kind: str) -> None:
    plain = _first(kind)
    extra = copy.deepcopy(plain)
    extra["id"] = plain["id"] + "-annotated"
    extra["framework"] = "some-engine 1.2"
    extra[kind]["launcher_flags"] = "--foo"
    extra["model"]["rope_theta"] = 500000
    a, b = _run(tmp_path, [plain, extra])
    assert a.status == b.status == "ok"
    assert b.predicted == a.predicted
    assert a.note is None or "ignored" not in a.note
    for field in ("framework", f"{kind}.launcher_flags", "model.rope_theta"):
        assert field in b.note


def test_an_unknown_field_beside_a_missing_one_is_still_invalid(tmp_path: Path) -> None:
    case = copy.deepcopy(_first("training"))
    case["training"]["framework"] = "x"
    del case["training"]["seq_len"]
    (r,) = _run(tmp_path, [case])
    assert r.status == "invalid" and r.predicted is None
