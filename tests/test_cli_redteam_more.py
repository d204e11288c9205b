"""Red-team of sweep, report, claims and validate with bad input: every mistake is a
PodsimError naming the field, the value and what is allowed (the console entry prints it as one
line, exit code 2), never a traceback or a silent wrong answer."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from podsim.cli.main import app
from podsim.errors import PodsimError, SpecError
from podsim.sweep import load_sweep, parse_sweep

runner = CliRunner()

SERVE = {
    "kind": "serving",
    "models": ["llama3-8b"],
    "systems": ["dgx-h100-cluster:8"],
    "precision": "fp8",
    "input_len": 1024,
    "output_len": 256,
}


def _error(args: list[str]) -> PodsimError:
    """The PodsimError a command raises (CliRunner surfaces it instead of exit code 2)."""
    res = runner.invoke(app, args)
    assert isinstance(res.exception, PodsimError), (res.exception, res.output)
    return res.exception


# --- sweep specs ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["tpot", "ttft"])
def test_a_bare_number_latency_target_in_a_sweep_is_an_error_not_seconds(field):
    # `--tpot 50` is 50 ms; the same 50 in a sweep spec was silently read as 50 seconds
    for value in (50, [50], ["20 ms", 0.05]):
        with pytest.raises(SpecError) as exc:
            parse_sweep({**SERVE, field: value})
        e = exc.value
        assert e.field == field and "unit" in e.message and " s" in e.allowed, str(e)
    assert parse_sweep({**SERVE, field: ["50 ms", None]}).model_dump()[field][1] is None


def test_a_dumped_sweep_keeps_its_targets_and_parses_back():
    spec = load_sweep("supernodes-serving")
    dumped = spec.model_dump()
    assert all(isinstance(t, str) and t.endswith(" s") for t in dumped["tpot"])
    again = parse_sweep(dumped)
    assert again.tpot == spec.tpot == [0.05, 0.015]


@pytest.mark.parametrize("field", ["global_batch", "tpot", "ttft", "kv_precision"])
def test_an_empty_optional_axis_says_so_in_words(field):
    raw = {**SERVE, "kind": "training"} if field == "global_batch" else SERVE
    raw = {k: v for k, v in raw.items() if k not in ("input_len", "output_len")}
    with pytest.raises(SpecError) as exc:
        parse_sweep({**raw, field: []})
    assert exc.value.field == field and "at least one value" in exc.value.message


def test_a_mapping_where_an_axis_belongs_is_named():
    with pytest.raises(SpecError) as exc:
        parse_sweep({**SERVE, "input_len": {"a": 1}})
    assert exc.value.field == "input_len" and "not a mapping" in str(exc.value)


def test_an_empty_out_is_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(SERVE))
    for args in (
        ["sweep", "run", str(spec), "--out", ""],
        ["sweep", "query", "select 1", "--out", " "],
    ):
        e = _error(args)
        assert e.field == "out" and "empty" in e.message, str(e)
    assert list(tmp_path.iterdir()) == [spec]  # nothing written into the current directory
