"""Claims check: one result per claim, verdicts from the allowed set, conventions, CLI JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from podsim import catalog
from podsim.claims import FORMULAS, check_claims, load_claims
from podsim.claims.schema import VERDICTS
from podsim.cli.main import app
from podsim.errors import SpecError

runner = CliRunner()
FIELDS = {
    "id",
    "subject",
    "claim",
    "claimed",
    "claimed_text",
    "recomputed",
    "recomputed_text",
    "unit",
    "verdict",
    "tolerance",
    "detail",
    "sources",
}


@pytest.fixture(scope="module")
def results():
    return {r.id: r for r in check_claims()}


def _raw_claims() -> list[dict]:
    return yaml.safe_load((catalog.DATA / "claims.yaml").read_text())["claims"]


def _need(results, *ids: str) -> None:
    """Skip when a claim is not computable because a catalog file is still missing."""
    for i in ids:
        r = results[i]
        if r.verdict == "not computable" and "unknown" in (r.reason or ""):
            pytest.skip(f"{i}: {r.reason}")


def test_one_result_per_claim(results) -> None:
    raw = _raw_claims()
    assert [c["id"] for c in raw] == list(results)
    assert len(raw) >= 25


def test_every_claim_has_verdict_and_sources(results) -> None:
    for r in results.values():
        assert r.verdict in VERDICTS
        assert r.sources and all(len(s) > 3 for s in r.sources)
        # every source key resolved to a citation (a URL or a paper)
        assert all("http" in s or "arXiv" in s for s in r.sources), r.sources
        assert r.detail
        if r.verdict == "not computable":
            assert r.recomputed is None and r.reason
        else:
            assert r.recomputed is not None and r.recomputed > 0


def test_required_claims_present(results) -> None:
    for cid in (
        "atlas950-superpod-cards",
        "atlas950-superpod-fp8",
        "atlas950-superpod-fp4",
        "atlas950-superpod-hbm",
        "atlas950-superpod-ub-bandwidth",
        "atlas950-superpod-cabinets",
        "atlas950-superpod-floor-area",
        "atlas950-supercluster-pods",
        "atlas950-supercluster-cards",
        "atlas950-supercluster-fp8",
        "atlas950-supercluster-fp4",
        "atlas960-superpod-cards",
        "atlas960-superpod-fp8",
        "atlas960-superpod-fp4",
        "atlas960-superpod-hbm",
        "atlas960-superpod-ub-bandwidth",
        "atlas960-supercluster-cards",
        "atlas960-supercluster-fp4",
        "cloudmatrix384-npus",
        "cloudmatrix384-bf16",
        "cloudmatrix384-rivals-nvl72",
        "atlas950-vs-nvl144-compute",
        "atlas950-vs-nvl144-memory",
        "atlas950-vs-nvl144-bandwidth",
        "ascend-roadmap-910c-to-950",
        "ascend-roadmap-950-to-960",
        "ascend-roadmap-960-to-970",
    ):
        assert cid in results


def test_known_good_claims_consistent(results) -> None:
    _need(results, "atlas950-superpod-cards", "atlas950-superpod-fp8")
    for cid in (
        "atlas950-superpod-cards",
        "atlas950-superpod-fp8",
        "atlas950-superpod-fp4",
        "atlas950-supercluster-fp8",
        "atlas960-superpod-cards",
        "cloudmatrix384-npus",
        "ascend-roadmap-950-to-960",
    ):
        assert results[cid].verdict == "consistent", results[cid].detail
    assert results["atlas950-superpod-cards"].recomputed == 8192
    assert results["atlas950-superpod-fp8"].recomputed == pytest.approx(8.192e18)


def test_memory_conventions(results) -> None:
    _need(results, "atlas950-superpod-hbm", "atlas960-superpod-hbm")
    a950 = results["atlas950-superpod-hbm"]
    assert a950.verdict == "consistent"
    assert "1,024 GB" in a950.convention
    readings = {a["convention"].split(" (")[0]: a["value"] for a in a950.alternatives}
    assert readings["1 TB = 10^12 B"] == pytest.approx(8192 * 144e9)
    a960 = results["atlas960-superpod-hbm"]
    assert a960.verdict == "consistent"
    assert "decimal" in a960.convention


def test_bandwidth_counted_both_directions(results) -> None:
    _need(results, "atlas950-superpod-ub-bandwidth")
    r = results["atlas950-superpod-ub-bandwidth"]
    assert r.verdict == "consistent" and "both directions" in r.convention
    assert r.recomputed == pytest.approx(8192 * 2e12, rel=0.01)


def test_roadmap_steps(results) -> None:
    _need(results, "ascend-roadmap-910c-to-950")
    first = results["ascend-roadmap-910c-to-950"]
    assert first.verdict == "inconsistent"  # 1 PF FP8 vs 752 TF BF16: 1.33x, not 2x
    assert "no FP8" in first.detail
    assert first.recomputed == pytest.approx(1000 / 752, rel=1e-3)


def test_rivals_reports_ratios(results) -> None:
    _need(results, "cloudmatrix384-rivals-nvl72")
    r = results["cloudmatrix384-rivals-nvl72"]
    assert r.verdict in ("consistent", "inconsistent")
    for word in ("BF16 compute", "HBM capacity", "scale-up bandwidth"):
        assert word in r.detail


def test_nvl144_comparisons_say_what_was_compared(results) -> None:
    _need(results, "atlas950-vs-nvl144-compute")
    r = results["atlas950-vs-nvl144-compute"]
    assert r.verdict == "consistent"
    assert "training" in r.detail
    mem = results["atlas950-vs-nvl144-memory"]
    assert "LPDDR" in mem.detail


# ---------------------------------------------------------------- the checker on small files


def _claims_file(tmp: Path, claims: list[dict], comparators: dict | None = None) -> Path:
    p = tmp / "claims.yaml"
    p.write_text(yaml.safe_dump({"comparators": comparators or {}, "claims": claims}))
    return p


def _claim(cid: str, value, dim: str, recompute: dict, **kw) -> dict:
    return {
        "id": cid,
        "subject": "dgx-h100-cluster",
        "claim": f"test claim {cid}",
        "claimed": {
            "value": value,
            "dim": dim,
            "source": "nvidia-h100-datasheet",
            "basis": "vendor-claim",
        },
        "recompute": recompute,
        "tolerance": kw.pop("tolerance", 0.05),
        "sources": ["nvidia-h100-datasheet"],
        **kw,
    }


def _bare_system(tmp: Path) -> str:
    """dgx-h100-cluster without its physical plant figures, as a YAML path."""
    doc = yaml.safe_load((catalog.DATA / "systems" / "dgx-h100-cluster.yaml").read_text())
    doc.pop("physical", None)
    doc["id"] = "bare-h100-cluster"
    p = tmp / "bare.yaml"
    p.write_text(yaml.safe_dump(doc))
    return str(p)


def test_verdicts_on_a_small_file(tmp_path: Path) -> None:
    path = _claims_file(
        tmp_path,
        [
            _claim(
                "good",
                "1 EFLOPS",
                "flops",
                {"formula": "peak_flops", "system": "dgx-h100-cluster", "precision": "bf16"},
            ),
            _claim(
                "bad",
                "2 EFLOPS",
                "flops",
                {"formula": "peak_flops", "system": "dgx-h100-cluster", "precision": "bf16"},
            ),
            _claim("missing", 8, "count", {"formula": "chips", "system": "no-such-system"}),
            _claim(
                "no-area",
                "100 m2",
                "area",
                {"formula": "floor_area", "system": _bare_system(tmp_path)},
            ),
            _claim(
                "least",
                1000,
                "count",
                {"formula": "chips", "system": "dgx-h100-cluster"},
                comparison="at_least",
                tolerance=0,
            ),
            _claim(
                "ratio",
                "2x",
                "ratio",
                {
                    "formula": "ratio",
                    "numerator": {"formula": "chips", "system": "dgx-h100-cluster"},
                    "denominator": {"comparator": "half"},
                },
            ),
        ],
        {
            "half": {
                "value": 512,
                "dim": "count",
                "source": "nvidia-h100-datasheet",
                "basis": "assumption",
            }
        },
    )
    res = {r.id: r for r in check_claims(path)}
    assert res["good"].verdict == "consistent"
    assert res["bad"].verdict == "inconsistent" and res["bad"].deviation == pytest.approx(
        -0.4936, abs=1e-3
    )
    assert res["missing"].verdict == "not computable" and "no-such-system" in res["missing"].reason
    assert (
        res["no-area"].verdict == "not computable"
        and "floor_area_per_cabinet" in res["no-area"].reason
    )
    assert res["least"].verdict == "consistent"
    assert res["ratio"].verdict == "consistent" and res["ratio"].recomputed == pytest.approx(2.0)
    assert res["good"].sources[0].startswith("https://")


def test_bad_claims_file(tmp_path: Path) -> None:
    path = _claims_file(tmp_path, [_claim("x", 8, "count", {"formula": "nonsense"})])
    with pytest.raises(SpecError, match="nonsense"):
        load_claims(path)
    path = _claims_file(tmp_path, [_claim("x", "8 parsecs", "flops", {"formula": "chips"})])
    with pytest.raises(SpecError, match="claimed"):
        load_claims(path)


def test_registry_has_the_formulas() -> None:
    for key in (
        "chips",
        "peak_flops",
        "hbm_total",
        "scale_up_total_bandwidth",
        "cabinets",
        "floor_area",
        "ratio",
        "rivals",
        "chip_peak_flops",
    ):
        assert key in FORMULAS


# ---------------------------------------------------------------- CLI


def test_cli_json() -> None:
    res = runner.invoke(app, ["claims", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert isinstance(doc, list) and len(doc) == len(_raw_claims())
    for entry in doc:
        assert FIELDS <= set(entry)
        assert entry["verdict"] in VERDICTS
        assert entry["sources"]


def test_cli_table() -> None:
    res = runner.invoke(app, ["claims"])
    assert res.exit_code == 0, res.output
    assert "consistent" in res.output and "claimed" in res.output
    assert "Atlas 950 SuperPoD" in res.output
