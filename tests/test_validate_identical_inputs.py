"""`podsim validate` names cases whose inputs are identical but whose measurements disagree (two
software releases of one benchmark): no model of the case fields can be within the group's floor
of all of them, which bounds the max |error| a user reads in the summary."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from podsim.cli.main import app

runner = CliRunner()
CASES = Path(__file__).resolve().parents[1] / "src/podsim/catalog/data/validation/cases.yaml"


def _pair(tmp_path: Path, factor: float) -> Path:
    a = next(c for c in yaml.safe_load(CASES.read_text()) if c["kind"] == "training")
    b = copy.deepcopy(a)
    b["id"] += "-again"
    b["source"] = "a later release"
    b["measured"]["value"] = a["measured"]["value"] * factor
    p = tmp_path / "cases.yaml"
    p.write_text(yaml.safe_dump([a, b], sort_keys=False))
    return p


@pytest.mark.parametrize(("factor", "named"), [(2.0, True), (1.05, False)])
def test_disagreeing_twins_are_named_with_their_floor(tmp_path: Path, factor, named) -> None:
    p = _pair(tmp_path, factor)
    out = json.loads(runner.invoke(app, ["validate", str(p), "--json"]).output)
    groups = out["identical_inputs"]
    assert bool(groups) is named
    if named:
        (g,) = groups
        assert len(g["ids"]) == 2
        assert g["floor"] == pytest.approx((factor - 1) / (factor + 1))
        # no prediction beats the floor: the summary's max |error| is at least it
        assert out["summary"]["overall"]["max_abs_error"] >= g["floor"] - 1e-12
        text = runner.invoke(app, ["validate", str(p)]).output
        assert "identical inputs" in " ".join(text.split())
