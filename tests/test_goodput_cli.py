"""`podsim goodput` and `podsim facility`: JSON content, tables, one-line errors."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from podsim import catalog
from podsim.cli.main import app, run

runner = CliRunner()
BASE = "dgx-h100-cluster"


def _invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def _run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["podsim", *args])
    with pytest.raises(SystemExit) as exc:
        run()
    return exc.value.code, capsys.readouterr().err


GOODPUT = (
    "goodput",
    "--model",
    "llama3-8b",
    "--system",
    f"{BASE}:64",
    "--days",
    "7",
    "--tp",
    "8",
    "--global-batch",
    "64",
    "--seq-len",
    "4096",
)


def test_goodput_json() -> None:
    out = json.loads(_invoke(*GOODPUT, "--json").output)
    assert 0 < out["ettr"] <= 1 and out["goodput"] <= out["ettr"] + 1e-12
    assert out["chips"] == 64
    assert out["interruptions"]["total"] == pytest.approx(
        sum(v for k, v in out["interruptions"].items() if k != "total")
    )
    assert out["tokens_per_day"] == pytest.approx(
        out["training"]["tokens_per_s"] * 86400 * out["goodput"]
    )
    assert out["checkpoint"]["interval_s"] > out["checkpoint"]["cost_s"]
    assert set(out["lost"]) == {"checkpoint", "lost_work", "detection", "restart", "reload"}


def test_goodput_table_and_in_memory() -> None:
    res = _invoke(*GOODPUT, "--checkpoint", "in-memory")
    assert "ETTR" in res.output and "expected interruptions" in res.output


def test_goodput_bad_checkpoint_exit_2(monkeypatch, capsys) -> None:
    code, err = _run_main(monkeypatch, capsys, *GOODPUT, "--checkpoint", "tape")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "tape" in err


def test_goodput_bad_rate_set_exit_2(monkeypatch, capsys) -> None:
    code, err = _run_main(monkeypatch, capsys, *GOODPUT, "--rate-set", "nope")
    assert code == 2 and "nope" in err and "meta-rsc1" in err


def test_facility_json_and_energy_per_token() -> None:
    out = json.loads(
        _invoke("facility", BASE, f"{BASE}:2048", "--tokens-per-s", "1e6", "--json").output
    )
    assert [r["chips"] for r in out] == [catalog.system(BASE).chips, 2048]
    for r in out:
        assert r["cabinets"] is None or r["cabinets"] > 0
        if r["facility_power_mw"] is not None:
            assert r["energy_per_token_j"] == pytest.approx(
                r["facility_power_mw"] * 1e6 / (1e6 * r["goodput"])
            )


def test_facility_table_with_target() -> None:
    res = _invoke(
        "facility", BASE, "--tokens-per-s", "1e6", "--target-tokens", "1e12", "--days", "30"
    )
    assert "target: chips" in res.output


def test_facility_unknown_system_exit_2(monkeypatch, capsys) -> None:
    code, err = _run_main(monkeypatch, capsys, "facility", "no-such-system")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no-such-system" in err
