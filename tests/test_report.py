"""`podsim report`: files written, figures present, every claim listed, missing models noted."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from podsim.cli.main import app
from podsim.report.builder import SECTION_KEYS, build_report, build_section
from podsim.report.section import ReportContext

runner = CliRunner()
CLAIMS = Path(__file__).resolve().parents[1] / "src/podsim/catalog/data/claims.yaml"


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "tmp"
    res = runner.invoke(app, ["report", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "report written to" in res.output
    return out


def test_writes_html_and_markdown(quick_report: Path):
    html = (quick_report / "report.html").read_text(encoding="utf-8")
    md = (quick_report / "report.md").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert md.startswith("# ")
    for title in (
        "Systems",
        "Vendor claims check",
        "Ascend roadmap",
        "Training",
        "Serving",
        "Facility and goodput",
        "Validation accuracy",
    ):
        assert f"## {title}" in md
        assert f">{title}</h2>" in html


def test_every_referenced_png_exists(quick_report: Path):
    md = (quick_report / "report.md").read_text(encoding="utf-8")
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(refs) >= 5
    for ref in refs:
        p = quick_report / ref
        assert p.is_file(), ref
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (quick_report / "report.html").read_text(encoding="utf-8")
    # self-contained: every image embedded, none pointing at a file
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == len(refs)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)


def test_claims_section_lists_every_claim(quick_report: Path):
    md = (quick_report / "report.md").read_text(encoding="utf-8")
    claims_part = md.split("## Vendor claims check", 1)[1].split("\n## ", 1)[0]
    ids = [c["id"] for c in yaml.safe_load(CLAIMS.read_text(encoding="utf-8"))["claims"]]
    assert ids
    for cid in ids:
        assert f"| {cid} |" in claims_part, cid


def test_all_sections_built_without_errors(quick_report: Path):
    md = (quick_report / "report.md").read_text(encoding="utf-8")
    assert "failed while building" not in md
    assert "could not be computed" not in md


def test_missing_backing_model_says_not_available(tmp_path, monkeypatch):
    # a None entry in sys.modules makes any import of it raise ImportError
    monkeypatch.setitem(sys.modules, "podsim.serving.predict", None)
    monkeypatch.setitem(sys.modules, "podsim.planner.search", None)
    res = build_report(
        tmp_path / "r", fmt="both", quick=True, sections=["serving", "plans", "claims"]
    )
    by = {s.key: s for s in res.sections}
    assert by["serving"].status == "unavailable"
    assert by["plans"].status == "unavailable"
    assert by["claims"].status == "ok"
    md = res.md_path.read_text(encoding="utf-8")
    assert md.count("not available in this version") >= 2
    assert "not available in this version" in res.html_path.read_text(encoding="utf-8")


def test_training_falls_back_to_hand_written_plans(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "podsim.planner.search", None)
    sec = build_section("training", ReportContext(out_dir=tmp_path, quick=True))
    assert sec.status == "ok"
    assert any("hand-written" in getattr(b, "text", "") for b in sec.blocks)


def test_failing_section_becomes_a_note(tmp_path, monkeypatch):
    import podsim.report.roadmap as roadmap

    def boom(ctx):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(roadmap, "build", boom)
    sec = build_section("roadmap", ReportContext(out_dir=tmp_path, quick=True))
    assert sec.status == "error"
    assert "simulated bug" in sec.summary


@pytest.mark.parametrize(
    "args, field",
    [(["--format", "pdf"], "--format"), (["--section", "bogus"], "--section")],
)
def test_bad_arguments_name_the_field(tmp_path, args, field):
    from podsim.errors import SpecError

    res = runner.invoke(app, ["report", *args, "--out", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert isinstance(res.exception, SpecError)
    assert field in str(res.exception)
    assert not (tmp_path / "x").exists()  # nothing written before the check


def test_deterministic_output(tmp_path):
    import datetime as dt

    day = dt.date(2026, 1, 1)
    keys = ["claims", "roadmap", "systems"]
    a = build_report(tmp_path / "a", quick=True, sections=keys, today=day)
    b = build_report(tmp_path / "b", quick=True, sections=keys, today=day)
    assert a.md_path.read_bytes() == b.md_path.read_bytes()
    # figures embedded in the HTML: same pixels and bytes (no plot settings leak between runs)
    assert a.html_path.read_bytes() == b.html_path.read_bytes()
    assert "2026-01-01" in a.md_path.read_text(encoding="utf-8")


def test_section_keys_cover_the_brief():
    assert set(SECTION_KEYS) == {
        "systems",
        "claims",
        "roadmap",
        "training",
        "serving",
        "plans",
        "facility",
        "validation",
    }


def test_validation_section_says_which_chips_rest_on_measured_runs(quick_report: Path):
    """The report shows the out-of-sample accuracy and, per chip, how many public and
    out-of-sample runs back its predictions, so a reader sees which systems are unvalidated."""
    md = (quick_report / "report.md").read_text(encoding="utf-8")
    assert "Accuracy on runs the calibration never saw" in md
    table = md.split("Validated runs per chip", 1)[1].split("\n\n**", 1)[0]
    assert "| serving ascend-910c | 3 |" in table
    assert "| training tpu-v7 | - | - | - |" in table  # out of sample only
