"""Red-team of sweep, report, claims and validate with bad input: every mistake is a
PodsimError naming the field, the value and what is allowed (the console entry prints it as one
line, exit code 2), never a traceback or a silent wrong answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from podsim.cli.main import app
from podsim.errors import PodsimError, SpecError
from podsim.sweep import load_sweep, parse_sweep
from sweep_specs import SERVE_SWEEP

runner = CliRunner()

SERVE = SERVE_SWEEP


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


# --- claims files -----------------------------------------------------------------------------


def _claims_file(tmp_path: Path, recompute, value="1 EFLOPS", dim="flops") -> str:
    claim = {
        "id": "a",
        "subject": "dgx-h100-cluster",
        "claim": "a claim",
        "claimed": {
            "value": value,
            "dim": dim,
            "source": "nvidia-h100-datasheet",
            "basis": "vendor-claim",
        },
        "recompute": recompute,
        "tolerance": 0.05,
        "sources": ["nvidia-h100-datasheet"],
    }
    p = tmp_path / "claims.yaml"
    p.write_text(yaml.safe_dump({"claims": [claim]}))
    return str(p)


PEAK = {"formula": "peak_flops", "system": "dgx-h100-cluster", "precision": "bf16"}
CHIPS = {"formula": "chips", "system": "dgx-h100-cluster"}


@pytest.mark.parametrize(
    ("recompute", "field", "needle"),
    [
        # a misspelt optional argument was ignored: the claim was checked on the whole system
        ({**PEAK, "chps": 1024}, "claims.0.recompute.chps", "chips"),
        (
            {"formula": "peak_flops", "system": "dgx-h100-cluster"},
            "claims.0.recompute.precision",
            "precision",
        ),
        (
            {"formula": "ratio", "numerator": CHIPS, "denominator": CHIPS, "context": 5},
            "claims.0.recompute.context",
            "label",
        ),
        (
            {"formula": "ratio", "numerator": CHIPS, "denominator": CHIPS, "context": [5]},
            "claims.0.recompute.context.0",
            "label",
        ),
        (
            {"formula": "ratio", "numerator": 3, "denominator": CHIPS},
            "claims.0.recompute.numerator",
            "formula",
        ),
        (
            {"formula": "ratio", "numerator": {**CHIPS, "formula": "chipz"}, "denominator": CHIPS},
            "claims.0.recompute.numerator.formula",
            "peak_flops",
        ),
        ({**CHIPS, "fallback": 5}, "claims.0.recompute.fallback", "comparator"),
        (
            {"formula": "ratio", "numerator": CHIPS, "denominator": CHIPS, "label": "x"},
            "claims.0.recompute.label",
            "context",
        ),
    ],
)
def test_a_recompute_with_a_wrong_argument_is_named_before_checking(
    tmp_path, recompute, field, needle
):
    e = _error(["claims", "--file", _claims_file(tmp_path, recompute, "2x", "ratio")])
    assert e.field == field and needle in str(e), str(e)


def test_a_context_ratio_with_a_label_and_the_builtin_claims_still_load(tmp_path):
    ctx = [{"label": "per chip", "numerator": CHIPS, "denominator": CHIPS}]
    rec = {"formula": "ratio", "numerator": CHIPS, "denominator": CHIPS, "context": ctx}
    res = runner.invoke(
        app, ["claims", "--file", _claims_file(tmp_path, rec, "1x", "ratio"), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert "per chip: 1x" in json.loads(res.output)[0]["detail"]
    assert runner.invoke(app, ["claims", "--details"]).exit_code == 0


def test_rivals_with_an_unknown_precision_is_not_computable_not_a_traceback(tmp_path):
    rec = {"formula": "rivals", "a": "gb200-nvl72", "b": "cloudmatrix-384", "precision": "fp7"}
    res = runner.invoke(
        app, ["claims", "--file", _claims_file(tmp_path, rec, "1x", "ratio"), "--json"]
    )
    assert res.exit_code == 0, res.exception
    (r,) = json.loads(res.output)
    assert r["verdict"] == "not computable" and "fp7" in r["reason"] and "bf16" in r["reason"]


@pytest.mark.parametrize("value", ["nanx", "infx", "-inf"])
def test_a_non_finite_claimed_ratio_is_an_error(tmp_path, value):
    e = _error(["claims", "--file", _claims_file(tmp_path, CHIPS, value, "ratio")])
    assert e.field == "claims.0.claimed" and "finite" in str(e), str(e)


# --- report output folder ---------------------------------------------------------------------


def test_report_out_that_is_empty_or_a_file_names_out_before_any_section(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "afile"
    f.write_text("x")
    for out, needle in (("", "empty"), (str(f), "is a file"), (str(f / "sub"), "cannot create")):
        e = _error(["report", "--section", "roadmap", "--out", out])
        assert e.field == "--out" and needle in e.message and e.allowed, str(e)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_report_that_cannot_write_its_page_names_the_file(tmp_path):
    (tmp_path / "report.md").mkdir()
    e = _error(["report", "--section", "roadmap", "--format", "md", "--out", str(tmp_path)])
    assert e.field == "--out" and e.file == str(tmp_path / "report.md"), str(e)


def test_a_section_named_twice_is_built_once(tmp_path):
    args = ["report", "--section", "roadmap", "--section", "roadmap", "--format", "md"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    assert [s["key"] for s in json.loads(res.output)["sections"]] == ["roadmap"]
    assert (tmp_path / "report.md").read_text().count("# Ascend roadmap") == 1


# --- validate ---------------------------------------------------------------------------------


def _one_case(tmp_path: Path) -> str:
    from podsim.validate.runner import BUILTIN_CASES

    case = next(
        c for c in yaml.safe_load(Path(BUILTIN_CASES).read_text()) if c["kind"] == "serving"
    )
    p = tmp_path / "one.yaml"
    p.write_text(yaml.safe_dump([case]))
    return str(p)


def test_an_empty_case_file_is_an_error_not_zero_of_zero(tmp_path):
    p = tmp_path / "none.yaml"
    p.write_text("[]\n")
    e = _error(["validate", str(p), "--json"])
    assert e.file == str(p) and "no cases" in e.message, str(e)


def test_a_case_file_given_twice_is_an_error_not_every_case_invalid(tmp_path):
    one = _one_case(tmp_path)
    e = _error(["validate", one, str(Path(one).parent / "." / "one.yaml")])
    assert e.field == "files" and "twice" in e.message, str(e)


def test_an_empty_case_pattern_or_a_kind_that_leaves_nothing_is_an_error(tmp_path):
    one = _one_case(tmp_path)
    e = _error(["validate", one, "--case", ""])
    assert e.field == "case" and "empty" in e.message, str(e)
    e = _error(["validate", one, "--kind", "training"])
    assert e.field == "kind" and e.value == "training" and "serving" in e.allowed, str(e)
