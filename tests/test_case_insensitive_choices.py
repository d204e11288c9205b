"""Catalog ids are lowercase words, so the same word in another case (``H100-SXM``) names exactly
one entry. A validation case, a record written down by someone else, also reads its fixed choices
in any case (``FP8``, ``Full``, ``High``); a command line or Python call gets an error naming the
field instead, since its caller goes on with the value it passed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from podsim import catalog
from podsim.cli.main import app
from podsim.errors import PodsimError
from podsim.validate.runner import run_files

CASES = Path(__file__).resolve().parents[1] / "src/podsim/catalog/data/validation/cases.yaml"
runner = CliRunner()


def test_catalog_ids_in_another_case() -> None:
    assert catalog.chip("H100-SXM").id == "h100-sxm"
    assert catalog.system("GB200-NVL72").id == catalog.system("gb200-nvl72").id
    assert catalog.model("Llama3-70B").name == catalog.model("llama3-70b").name
    with pytest.raises(PodsimError):
        catalog.chip("h100")  # not a case difference: no guess between H100 parts


def test_a_case_written_in_capitals_predicts_the_same(tmp_path: Path) -> None:
    cases = yaml.safe_load(CASES.read_text())
    plain = next(c for c in cases if c["kind"] == "training" and c["system"]["chip"] == "h100-sxm")
    loud = copy.deepcopy(plain)
    loud["id"] += "-caps"
    loud["trust"] = loud["trust"].capitalize()
    loud["system"]["chip"] = loud["system"]["chip"].upper()
    loud["training"]["precision"] = loud["training"]["precision"].upper()
    loud["training"]["recompute"] = loud["training"]["recompute"].title()
    loud["model"]["activation"] = loud["model"]["activation"].upper()
    bad = copy.deepcopy(plain)
    bad["id"] += "-bad"
    bad["training"]["precision"] = "FP9"
    p = tmp_path / "cases.yaml"
    p.write_text(yaml.safe_dump([plain, loud, bad], sort_keys=False))
    a, b, c = run_files([p])
    assert a.status == b.status == "ok" and b.predicted == a.predicted
    assert b.chip == a.chip == "h100-sxm"  # per-chip summaries count the chip once
    assert c.status == "invalid" and "precision" in c.reason


def test_the_command_line_names_a_choice_in_another_case() -> None:
    base = ["train", "--model", "LLAMA3-8B", "--system", "DGX-H100-cluster", "--chips", "8"]
    ok = runner.invoke(app, [*base, "--precision", "fp8", "--recompute", "full", "--json"])
    assert ok.exit_code == 0, ok.output  # ids in any case
    for cmd in (
        [*base, "--precision", "FP8"],
        [
            "plan",
            "train",
            "--model",
            "llama3-8b",
            "--system",
            "dgx-h100-cluster:16",
            "--precision",
            "FP8",
        ],
        [
            "plan",
            "serve",
            "--model",
            "llama3-8b",
            "--system",
            "dgx-h100-cluster:8",
            "--precision",
            "FP8",
        ],
    ):
        r = runner.invoke(app, cmd)
        assert isinstance(r.exception, PodsimError), (cmd, r.exception)
        assert r.exception.field == "precision"
