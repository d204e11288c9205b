"""Red-team of the CLI with bad and edge-case input: every mistake is one clear line naming the
field, the value and what is allowed, exit code 2, never a traceback or a silent wrong answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from podsim.catalog import DATA
from podsim.errors import SpecError
from podsim.io import read_mapping_file
from podsim_process import podsim


def _check(res: subprocess.CompletedProcess, *needles: str) -> str:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)
    return err


# --- duplicate keys in input files -----------------------------------------------------------


def test_duplicate_yaml_key_names_file_key_and_line(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("name: a\nlayers: 4\nhidden: 8\nlayers: 6\n")
    with pytest.raises(SpecError) as exc:
        read_mapping_file(p)
    msg = str(exc.value)
    assert str(p) in msg and "duplicate key 'layers'" in msg and "line 4" in msg, msg
    assert "line 2" in msg, msg


def test_duplicate_key_in_a_nested_mapping(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("a:\n  b: 1\n  c: 2\n  b: 3\n")
    with pytest.raises(SpecError, match=r"duplicate key 'b' at line 4"):
        read_mapping_file(p)


def test_duplicate_json_key(tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text('{"hidden_size": 8, "hidden_size": 16}')
    with pytest.raises(SpecError, match=r"duplicate key 'hidden_size'"):
        read_mapping_file(p)


def test_yaml_merge_keys_and_anchors_still_work(tmp_path: Path) -> None:
    p = tmp_path / "merge.yaml"
    p.write_text("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\ny: *b\n")
    assert read_mapping_file(p) == {
        "base": {"a": 1, "b": 2},
        "x": {"a": 1, "b": 3},
        "y": {"a": 1, "b": 2},
    }


def test_builtin_data_files_have_no_duplicate_keys() -> None:
    files = sorted(DATA.rglob("*.yaml")) + sorted(DATA.rglob("*.json"))
    assert files
    for f in files:
        read_mapping_file(f)


def test_duplicate_key_in_a_system_file_on_the_cli(tmp_path: Path) -> None:
    text = (DATA / "systems" / "dgx-h100-cluster.yaml").read_text()
    p = tmp_path / "sys.yaml"
    first = next(line for line in text.splitlines() if line and not line[0].isspace())
    p.write_text(text + "\n" + first + "\n")
    key = first.split(":")[0]
    for json_flag in ([], ["--json"]):
        _check(podsim("compare", str(p), *json_flag), str(p), f"duplicate key '{key}'")
