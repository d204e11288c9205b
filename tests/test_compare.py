"""`podsim compare`: table, JSON, PNG, id:N scaling, and one-line errors for unknown systems."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podsim import catalog
from podsim.cli.main import app, run
from podsim.errors import CatalogError, SpecError
from podsim.facility.summary import system_summary
from podsim.hardware.resolve import parse_system_ref, resolve, resolve_many

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
BASE = "dgx-h100-cluster"  # in the catalog from the start
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _other() -> str:
    """A second catalog system to compare with (any other one present)."""
    for sid in ("gb200-nvl72", "cloudmatrix-384", "atlas-950-superpod"):
        if sid in catalog.system_ids():
            return sid
    return f"{BASE}:16"


def _invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, (res.output, res.exception)
    return res


# ---------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("text", "name", "chips"),
    [
        ("gb200-nvl72-cluster:9216", "gb200-nvl72-cluster", 9216),
        ("atlas-950-superpod:1,024", "atlas-950-superpod", 1024),
        ("dgx-h100-cluster:2_048", "dgx-h100-cluster", 2048),
        ("dgx-h100-cluster", "dgx-h100-cluster", None),
        ("/tmp/my:dir/system.yaml", "/tmp/my:dir/system.yaml", None),
        ("systems/x.yaml", "systems/x.yaml", None),
        ("my/sys.yaml:64", "my/sys.yaml", 64),
    ],
)
def test_parse_system_ref(text: str, name: str, chips: int | None) -> None:
    ref = parse_system_ref(text)
    assert (ref.name, ref.chips) == (name, chips)


@pytest.mark.parametrize("bad", ["dgx-h100-cluster:abc", "dgx-h100-cluster:0", "", "x:-4"])
def test_bad_refs(bad: str) -> None:
    with pytest.raises(SpecError):
        parse_system_ref(bad)


def test_resolve_scales() -> None:
    assert resolve(f"{BASE}:16").chips == 16
    assert resolve(BASE, 32).chips == 32
    assert resolve(f"{BASE}:16", 16).chips == 16  # the same count twice agrees
    # one system with two different counts: an error naming both, never one silently dropped
    with pytest.raises(SpecError, match=r"two chip counts: .*:16 and --chips 32") as exc:
        resolve(f"{BASE}:16", 32)
    assert exc.value.field == "chips"
    labels = [lb for lb, _ in resolve_many([BASE, f"{BASE}:64"], None)]
    assert labels == [BASE, f"{BASE}:64"]
    # several systems: --chips sizes those without :N, an explicit :N keeps its own
    sized = [s.chips for _, s in resolve_many([BASE, f"{BASE}:64"], 32)]
    assert sized == [32, 64]
    with pytest.raises(CatalogError, match="no-such-system"):
        resolve("no-such-system:8")


# ---------------------------------------------------------------- summary


def test_summary_totals_are_per_chip_times_chips() -> None:
    s = resolve(f"{BASE}:64")
    out = system_summary(s)
    assert out["chips"] == 64
    m = out["metrics"]
    for key in ("hbm_capacity", "hbm_bandwidth", "scale_up_bandwidth", "scale_out_bandwidth"):
        assert m[key]["total"] == pytest.approx(64 * m[key]["per_chip"])
    for p in out["precisions"]:
        assert m[f"peak_flops_{p}"]["total"] == pytest.approx(64 * s.chip.peak_flops(p))
    # only native precisions get a peak row
    assert set(out["precisions"]) == set(s.chip.flops)
    # unknown figures are None and say what is missing, never 0
    for row in m.values():
        if row["total"] is None:
            assert row["missing"]
        else:
            assert row["total"] != 0 or row["label"].startswith("bisection")


# ---------------------------------------------------------------- CLI


def test_table_two_systems() -> None:
    other = _other()
    res = _invoke("compare", BASE, other)
    assert BASE in res.output and other in res.output
    for label in ("chips", "HBM capacity", "scale-up bandwidth", "IT power", "floor area"):
        assert label in res.output


def test_per_chip_table() -> None:
    res = _invoke("compare", BASE, f"{BASE}:16", "--per-chip")
    assert "per chip" in res.output
    assert "80 GB" in res.output  # H100 HBM per chip, whatever the system size


def test_json_two_systems() -> None:
    other = _other()
    res = _invoke("compare", BASE, other, "--json")
    doc = json.loads(res.stdout)
    labels = [s["label"] for s in doc["systems"]]
    assert labels == [BASE, other]
    for s in doc["systems"]:
        assert s["chips"] >= 1
        for key in ("chips", "hbm_capacity", "hbm_bandwidth", "scale_up_domain", "power"):
            row = s["metrics"][key]
            assert {"total", "per_chip", "unit", "missing"} <= set(row)
        assert any(k.startswith("peak_flops_") for k in s["metrics"])


def test_chips_option_and_id_n() -> None:
    doc = json.loads(_invoke("compare", BASE, f"{BASE}:16", "--chips", "64", "--json").stdout)
    assert [s["chips"] for s in doc["systems"]] == [64, 16]
    assert [s["label"] for s in doc["systems"]] == [f"{BASE}:64", f"{BASE}:16"]


def test_yaml_path_system() -> None:
    path = str(catalog.DATA / "systems" / f"{BASE}.yaml")
    doc = json.loads(_invoke("compare", path, BASE, "--json").stdout)
    a, b = doc["systems"]
    assert a["metrics"]["hbm_capacity"]["total"] == b["metrics"]["hbm_capacity"]["total"]


def test_plot_writes_png(tmp_path: Path) -> None:
    out = tmp_path / "cmp.png"
    _invoke("compare", BASE, _other(), "--plot", str(out))
    assert out.exists() and out.read_bytes()[:8] == PNG_MAGIC
    out2 = tmp_path / "cmp2.png"
    _invoke("compare", BASE, f"{BASE}:16", "--per-chip", "--json", "--plot", str(out2))
    assert out2.read_bytes()[:8] == PNG_MAGIC


def _run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["podsim", *args])
    with pytest.raises(SystemExit) as exc:
        run()
    return exc.value.code, capsys.readouterr().err


def test_unknown_system_exit_2_one_line(monkeypatch, capsys) -> None:
    code, err = _run_main(monkeypatch, capsys, "compare", BASE, "no-such-system")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no-such-system" in lines[0]
    assert "Traceback" not in err


def test_bad_count_exit_2(monkeypatch, capsys) -> None:
    # 13 GPUs of 8-GPU nodes: neither whole nodes nor an even share of two
    code, err = _run_main(monkeypatch, capsys, "compare", f"{BASE}:13")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "13" in err
    code, err = _run_main(monkeypatch, capsys, "compare", f"{BASE}:lots")
    assert code == 2 and "lots" in err


def test_unknown_system_subprocess() -> None:
    exe = ROOT / ".venv" / "bin" / "podsim"
    if not exe.exists():
        pytest.skip("no .venv/bin/podsim entry point")
    proc = subprocess.run(
        [str(exe), "compare", "no-such-system:64", BASE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-system" in lines[0]
