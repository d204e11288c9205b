"""The built-in out-of-sample cases (never used by the calibration) are well-formed: every case
reads, cites its source, none repeats a public case, and `podsim validate --out-of-sample`
evaluates them all."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podsim.spec.case import ValidationCase
from podsim.validate.runner import BUILTIN_CASES, load_files, out_of_sample_files

SUPPLEMENTARY = out_of_sample_files()


def test_there_are_out_of_sample_files():
    assert SUPPLEMENTARY, "catalog/data/validation/out_of_sample/*.yaml is missing"


@pytest.mark.parametrize("path", SUPPLEMENTARY, ids=lambda p: p.name)
def test_every_case_reads_and_cites_a_source(path):
    loaded = load_files([path])
    assert loaded
    for cid, case in loaded:
        assert isinstance(case, ValidationCase), f"{path.name} {cid}: {case}"
        assert case.source and str(case.source_url).startswith("http"), cid


def test_no_id_repeats_and_none_is_a_builtin_case():
    builtin = {c["id"] for c in yaml.safe_load(BUILTIN_CASES.read_text())}
    seen: set[str] = set()
    for path in SUPPLEMENTARY:
        for raw in yaml.safe_load(path.read_text()):
            cid = raw["id"]
            assert cid not in builtin, f"{path.name}: {cid} is a built-in case"
            assert cid not in seen, f"{path.name}: {cid} repeated"
            seen.add(cid)


def test_the_calibration_does_not_read_them():
    """Out-of-sample means the fit never sees them: the fitting code reads the built-in file."""
    root = Path(__file__).resolve().parents[1]
    fitters = [root / "benchmarks" / "fit_calibration.py", *root.glob("src/podsim/**/fit*.py")]
    for f in fitters:
        text = f.read_text()
        assert "out_of_sample" not in text and "OUT_OF_SAMPLE" not in text, f


def test_validate_out_of_sample_evaluates_every_case():
    import json

    from typer.testing import CliRunner

    from podsim.cli.main import app

    res = CliRunner().invoke(app, ["validate", "--out-of-sample", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    n = sum(len(yaml.safe_load(p.read_text())) for p in SUPPLEMENTARY)
    s = out["summary"]["overall"]
    assert s["cases"] == s["evaluated"] == n
    assert out["files"] == [str(p) for p in SUPPLEMENTARY]
