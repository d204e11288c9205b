"""The out-of-sample cases in benchmarks/supplementary/ (never used by the calibration) are
well-formed: every case reads, cites its source, and none repeats a built-in case."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podsim.spec.case import ValidationCase
from podsim.validate.runner import BUILTIN_CASES, load_files

SUPPLEMENTARY = sorted(
    (Path(__file__).resolve().parents[1] / "benchmarks" / "supplementary").glob("*.yaml")
)


def test_there_are_supplementary_files():
    assert SUPPLEMENTARY, "benchmarks/supplementary/*.yaml is missing"


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
        assert "supplementary" not in f.read_text(), f
