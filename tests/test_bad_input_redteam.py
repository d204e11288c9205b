"""Red-team of the CLI with bad and edge-case input: every mistake is one clear line naming the
field, the value and what is allowed, exit code 2, never a traceback or a silent wrong answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from podsim.catalog import DATA
from podsim.errors import PodsimError, SpecError
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


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "sys.yaml"
    p.write_bytes(b"id: x\nname: \xff\xfe\n")
    _check(podsim("compare", str(p)), str(p), "not UTF-8", "line 2")


# --- command-line numbers ----------------------------------------------------------------------

TRAIN = ("train", "--model", "llama3-8b", "--system", "dgx-h100-cluster:64")
SERVE = ("serve", "--model", "llama3-70b", "--system", "dgx-h100-cluster:8", "--tp", "8")
PLAN_TRAIN = ("plan", "train", "--model", "llama3-8b", "--system", "dgx-h100-cluster:64")
PLAN_SERVE = ("plan", "serve", "--model", "llama3-70b", "--system", "dgx-h100-cluster:8")
HUGE = "100000000000000000000"


@pytest.mark.parametrize(
    "args, needles",
    [
        # 0 was read as "not given" and silently replaced by the default
        ((*TRAIN, "--seq-len", "0"), ("'seq_len'", "got 0")),
        ((*TRAIN, "--global-batch", "0"), ("'global_batch'", "got 0")),
        ((*PLAN_TRAIN, "--global-batch", "0"), ("'global_batch'", "got 0")),
        ((*PLAN_TRAIN, "--tp-cap", "0"), ("'tp_cap'", "got 0")),
        ((*SERVE, "--tpot", "0"), ("'slo.tpot'", "positive")),
        ((*SERVE, "--ttft", "0 s"), ("'slo.ttft'", "positive")),
        # numbers beyond int64 were tracebacks (OverflowError)
        ((*TRAIN, "--global-batch", HUGE), ("'global_batch'", HUGE, "100000000")),
        ((*TRAIN, "--tp", HUGE), ("'tp'", HUGE)),
        ((*PLAN_TRAIN, "--seq-len", HUGE), ("'seq_len'", HUGE)),
        ((*PLAN_TRAIN, "--global-batch", HUGE), ("'global_batch'", HUGE)),
        # plan train --seq-len 0 was a ZeroDivisionError
        ((*PLAN_TRAIN, "--seq-len", "0"), ("'seq_len'", "got 0")),
        # plan serve took --input-len 0 and --draft-tokens -1; --output-len -1 and --top 0
        # were IndexError tracebacks
        ((*PLAN_SERVE, "--input-len", "0"), ("'input_len'", "got 0")),
        ((*PLAN_SERVE, "--output-len", "-1"), ("'output_len'", "got -1")),
        ((*PLAN_SERVE, "--top", "0"), ("'top'", "got 0")),
        ((*PLAN_SERVE, "--draft-tokens", "-1"), ("'draft_tokens'", "got -1")),
        ((*PLAN_SERVE, "--tp-cap", "-1"), ("'tp_cap'", "got -1")),
        # an infinite latency target ('1e400' is inf) was taken as no target; the option is
        # named as typed ('tpot': units.parse_quantity rejects the non-finite number)
        ((*SERVE, "--tpot", "1e400"), ("field 'tpot'", "finite")),
        ((*PLAN_SERVE, "--tpot", "1e400"), ("field 'tpot'", "finite")),
        # --acceptance without --draft-tokens was ignored
        ((*SERVE, "--acceptance", "0.5"), ("'acceptance'", "0.5", "--draft-tokens")),
        ((*SERVE, "--draft-tokens", "1000"), ("'speculative.draft_tokens'", "1000")),
    ],
)
def test_bad_numbers_on_the_command_line(args, needles) -> None:
    for json_flag in ([], ["--json"]):
        _check(podsim(*args, *json_flag), *needles)


@pytest.mark.parametrize(
    "args, needles",
    [
        # NaN and inf ran through and printed nan/inf tables with exit code 0
        (("goodput", *TRAIN[1:], "--days", "nan"), ("'days'", "nan", "36,525")),
        (("goodput", *TRAIN[1:], "--days", "inf"), ("'days'", "inf")),
        (("facility", "gb200-nvl72", "--days", "nan"), ("'days'", "nan")),
        (("facility", "gb200-nvl72", "--price", "nan"), ("'price'", "nan")),
        (("facility", "gb200-nvl72", "--lifetime-years", "nan"), ("'lifetime-years'", "nan")),
        (("facility", "gb200-nvl72", "--tokens-per-s", "inf"), ("'tokens-per-s'", "inf")),
        (("facility", "gb200-nvl72", "--tokens-per-s", "-5"), ("'tokens-per-s'", "-5")),
        (("facility", "gb200-nvl72", "--served-tokens-per-s", "nan"), ("'served-tokens-per-s'",)),
        (("facility", "gb200-nvl72", "--target-tokens", "-1"), ("'target-tokens'", "-1")),
        # a negative price was an error row in the table, with exit code 0
        (("facility", "gb200-nvl72", "--price", "-1"), ("'price'", "-1", "0 or more")),
        # --target-tokens without a workload printed n/a
        (("facility", "gb200-nvl72", "--target-tokens", "1e15"), ("'target-tokens'", "workload")),
    ],
)
def test_bad_goodput_and_facility_numbers(args, needles) -> None:
    _check(podsim(*args), *needles)


def test_facility_fails_when_a_system_cannot_be_evaluated() -> None:
    args = ("facility", "gb200-nvl72", "--model", "llama3-70b", "--global-batch", "72")
    for json_flag in ([], ["--json"]):
        res = podsim(*args, "--tp", "3", *json_flag)
        _check(res, "1 of 1 systems", "gb200-nvl72", "tp 3")


def test_train_json_exits_2_when_the_plan_does_not_fit() -> None:
    res = podsim(*TRAIN, "--seq-len", "1000000", "--global-batch", "64", "--json")
    err = _check(res, "does not fit")
    assert '"fits": false' in res.stdout, err


def test_an_unwritable_plot_path_is_a_clear_error(tmp_path: Path) -> None:
    path = str(tmp_path / "missing" / "x.png")
    res = podsim(*PLAN_TRAIN, "--top", "1", "--pareto-chips", "8", "--plot", path)
    _check(res, "'plot'", path, "No such file")


# --- spec files: NaN, infinity, booleans -------------------------------------------------------


def _write(tmp_path: Path, name: str, doc: dict) -> str:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    return str(p)


def _system(**level0) -> dict:
    doc = yaml.safe_load((DATA / "systems" / "gb200-nvl72.yaml").read_text())
    doc["levels"][0]["bandwidth"] = {**doc["levels"][0]["bandwidth"], **level0}
    return doc


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1e400 GB/s"])
def test_a_figure_that_is_not_finite_is_rejected(tmp_path: Path, value) -> None:
    # compare printed 'nan B/s' and 'inf ZB/s' with exit code 0
    f = _write(tmp_path, "s.yaml", _system(value=value))
    _check(podsim("compare", f), f, "'levels.0.bandwidth'", "finite")


def test_a_boolean_is_not_a_count(tmp_path: Path) -> None:
    # 'layers: true' was read as 1 layer
    doc = yaml.safe_load((DATA / "models" / "llama3-8b.yaml").read_text())
    f = _write(tmp_path, "m.yaml", {**doc, "layers": True})
    _check(podsim(*TRAIN[:1], "--model", f, *TRAIN[3:]), f, "'layers'", "boolean")


@pytest.mark.parametrize("value", [float("nan"), -1])
def test_published_params_must_be_a_positive_finite_number(tmp_path: Path, value) -> None:
    doc = yaml.safe_load((DATA / "models" / "llama3-8b.yaml").read_text())
    f = _write(tmp_path, "m.yaml", {**doc, "published_params": value})
    _check(podsim(*TRAIN[:1], "--model", f, *TRAIN[3:]), f, "'published_params'")


def test_an_error_states_a_value_the_message_only_seems_to_contain() -> None:
    # '0' appears inside '10 million', which hid '(got 0)'
    from podsim.errors import SpecError

    msg = str(SpecError("from the mean to 10 million tokens", field="max_output_len", value=0))
    assert "(got 0)" in msg
    assert "(got" not in str(SpecError("got -5 here", field="x", value=-5))


def test_a_spec_file_without_a_spec_extension_is_named_as_such(tmp_path: Path) -> None:
    from podsim import catalog
    from podsim.errors import CatalogError

    p = tmp_path / "mysystem"
    p.write_text("id: x\n")
    for kind, load in (("system", catalog.system), ("model", catalog.model)):
        with pytest.raises(CatalogError) as exc:
            load(str(p))
        msg = str(exc.value)
        assert "is a file" in msg and f"{kind} file named *.yaml" in msg, msg


def test_a_choice_outside_the_allowed_values_lists_them_once_and_a_bare_target_echoes_it() -> None:
    from typer.testing import CliRunner

    from podsim.cli.latency_options import latency_target
    from podsim.cli.main import app

    res = CliRunner().invoke(
        app,
        ["train", "--model", "llama3-8b", "--system", "dgx-h100-cluster:8", "--precision", "fp7"],
    )
    msg = str(res.exception)  # app() raises it; the console entry prints it as one line
    assert isinstance(res.exception, SpecError)
    assert msg.count("'fp8'") == 1 and "'fp7'" in msg, msg
    assert latency_target("50", "tpot") == pytest.approx(0.050)
    assert latency_target("2", "ttft") == pytest.approx(2.0)
    with pytest.raises(PodsimError, match="1e400 ms"):
        latency_target("1e400", "tpot")


def test_facility_plan_options_without_a_model_and_goodput_of_a_plan_that_cannot_fit() -> None:
    from typer.testing import CliRunner

    from podsim.cli.main import app
    from podsim.errors import PlanError

    run = CliRunner().invoke
    res = run(app, ["facility", "gb200-nvl72", "--tp", "8"])  # would be silently ignored
    assert isinstance(res.exception, SpecError) and res.exception.field == "tp"
    assert "--model" in str(res.exception)
    assert run(app, ["facility", "gb200-nvl72"]).exit_code == 0
    # goodput prints its figures, then fails like train: a plan that does not fit cannot run
    res = run(app, ["goodput", "--model", "llama3.1-405b", "--system", "gb200-nvl72-cluster:72"])
    assert isinstance(res.exception, PlanError) and "does not fit" in str(res.exception)
    assert "ETTR" in res.output
