"""Bad input gets a one-line error naming the field and the value, exit code 2, no traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from podsim.catalog import DATA
from podsim_process import podsim as _podsim

SYSTEM = yaml.safe_load((DATA / "systems" / "dgx-h100-cluster.yaml").read_text())


def _check(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr.strip()
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)


def _write_system(tmp_path: Path, doc: dict) -> str:
    p = tmp_path / "system.yaml"
    p.write_text(yaml.safe_dump(doc))
    return str(p)


def test_system_yaml_missing_field(tmp_path: Path) -> None:
    doc = dict(SYSTEM)
    del doc["chip"]
    _check(_podsim("compare", _write_system(tmp_path, doc)), "chip", "missing")


def test_negative_bandwidth(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(SYSTEM))
    doc["levels"][0]["bandwidth"]["value"] = "-450 GB/s"
    _check(_podsim("compare", _write_system(tmp_path, doc)), "levels.0.bandwidth", "-450 GB/s")


def test_unit_typo(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(SYSTEM))
    doc["levels"][0]["bandwidth"]["value"] = "1.6 TBs"
    _check(_podsim("compare", _write_system(tmp_path, doc)), "levels.0.bandwidth", "1.6 TBs")


def test_unknown_chip_id_in_a_system_file(tmp_path: Path) -> None:
    doc = dict(SYSTEM, chip="h999")
    _check(_podsim("compare", _write_system(tmp_path, doc)), "h999", "chip")


def test_unknown_system_id() -> None:
    _check(_podsim("train", "--model", "llama3-8b", "--system", "nvl9000"), "nvl9000", "system")


def test_file_that_is_not_yaml(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("levels: [unclosed\n  - : :\n")
    _check(_podsim("compare", str(p)), "not valid YAML", str(p))


def test_model_config_json_missing_num_hidden_layers(tmp_path: Path) -> None:
    cfg = {
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "intermediate_size": 14336,
        "vocab_size": 128256,
        "hidden_act": "silu",
    }
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    _check(
        _podsim("train", "--model", str(p), "--system", "dgx-h100-cluster", "--chips", "8"),
        "num_hidden_layers",
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--tp", "3"), "tp*pp*cp*dp"),
        (("--tp", "16", "--chips", "16"), "kv_heads 8 not divisible by tp 16"),
        (("--pp", "5", "--chips", "40"), "layers 32 not divisible by pp*vpp"),
        (("--recompute", "sometimes"), "recompute"),
    ],
)
def test_impossible_training_plans_are_reported_with_the_reason(args, needle) -> None:
    base = ["train", "--model", "llama3-8b", "--system", "dgx-h100-cluster"]
    if "--chips" not in args:
        base += ["--chips", "8"]
    _check(_podsim(*base, *args), needle)


def test_ctrl_c_is_one_line_and_exit_code_130(tmp_path):
    """Ctrl-C during a long command: one line on stderr, no traceback, the shell's 130."""
    import signal
    import subprocess
    import sys
    import time

    # a user's shell delivers Ctrl-C to a process that handles it; a test runner started in the
    # background (a non-interactive shell's '&') passes SIGINT on ignored, so restore it
    proc = subprocess.Popen(
        [sys.executable, "-m", "podsim.cli.main", "report", "--out", str(tmp_path / "r")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # interrupt the report at work: once it has made its output folder (under load that can take
    # seconds; a fixed wait could land anywhere), then a moment later
    deadline = time.monotonic() + 60
    while not (tmp_path / "r").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "the report ended before it could be interrupted"
    # once in a clean-clone CI run under load, a single Ctrl-C was consumed (the report then
    # finished with exit 0; not reproduced since, cause not found): a user presses it again, so
    # the test does too, and still requires one line and exit 130
    for _ in range(5):
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        proc.kill()
        raise AssertionError("the report did not stop after five Ctrl-C")
    assert proc.returncode == 130
    assert "podsim: interrupted" in err and "Traceback" not in err
