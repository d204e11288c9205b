"""The validated-accuracy summary printed beside predictions: it is what the model and the
cases give today (never a stale or hand-typed figure), it separates fitted-on from unseen runs,
and train/serve say so plainly where nothing has been validated."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from podsim.cli.main import app
from podsim.validate.accuracy import (
    SETS,
    accuracy_for,
    chip_accuracy,
    compute_accuracy,
    load_accuracy,
    summarise_by_family,
)
from podsim.validate.runner import CaseResult

runner = CliRunner()


def _close(a, b) -> bool:
    """Equal, up to the last rounded digit of an error (floating point across machines)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 0.0015
    return a == b


def test_the_shipped_summary_is_what_the_model_gives_on_the_cases_today() -> None:
    assert _close(load_accuracy(), compute_accuracy()), (
        "catalog/data/validation/accuracy.yaml is stale: the model or the cases changed; "
        "regenerate it with `python -m podsim.validate.accuracy --write`"
    )


def test_groups_count_each_evaluated_run_once_per_set_and_order_the_statistics() -> None:
    def r(cid, kind, chip, err, status="ok"):
        measured = 100.0
        pred = None if err is None else measured * (1 + err)
        return CaseResult(cid, kind, "m", measured, pred, status, chip=chip)

    out = summarise_by_family(
        {
            "public": [
                r("a", "training", "h100-sxm", 0.10),
                r("b", "training", "h200", -0.30),
                r("c", "training", "h100-sxm", None, "skipped"),
                r("d", "serving", "b200", 0.05),
            ],
            "out_of_sample": [r("e", "training", "h20", 0.02)],
        }
    )
    assert set(out) == {"training hopper", "serving blackwell"}
    hopper = out["training hopper"]
    assert hopper["chips"] == {"h100-sxm": 1, "h20": 1, "h200": 1}  # the skipped run is not one
    assert hopper["public"]["runs"] == 2 and hopper["out_of_sample"]["runs"] == 1
    for s in SETS:
        st = hopper[s]
        assert 0 <= st["median_abs_error"] <= st["p90_abs_error"] <= st["max_abs_error"]
    assert hopper["public"]["max_abs_error"] == 0.3
    assert "out_of_sample" not in out["serving blackwell"]
    # each chip of the family has its own record, so a chip the model misses is not hidden
    assert set(hopper["by_chip"]) == {"h100-sxm", "h20", "h200"}
    assert hopper["by_chip"]["h20"] == {"out_of_sample": _stats_of([0.02])}
    assert hopper["by_chip"]["h100-sxm"]["public"]["runs"] == 1
    assert hopper["by_chip"]["h200"]["public"]["median_error"] == -0.3  # signed: below measured


def _stats_of(errors: list[float]) -> dict:
    from podsim.validate.accuracy import _stats

    return _stats(errors)


def test_train_and_serve_show_the_record_or_say_the_prediction_is_not_validated() -> None:
    assert accuracy_for("training", "hopper") is not None
    assert accuracy_for("training", "ascend-950") is None
    res = runner.invoke(
        app,
        [
            "train",
            "--model",
            "llama3-8b",
            "--system",
            "dgx-h100-cluster:8",
            "--tp",
            "2",
            "--precision",
            "fp8",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "validated on published training runs on hopper chips" in res.output
    assert "On h100-sxm itself: fitted-on runs median" in " ".join(res.output.split())
    res = runner.invoke(
        app,
        ["train", "--model", "llama3-8b", "--system", "atlas-950-superpod:8", "--json"],
    )
    assert res.exit_code == 0, res.output
    v = json.loads(res.output)["validation"]
    assert v == {
        "kind": "training",
        "chip_family": "ascend-950",
        "accuracy": None,
        "chip": "ascend-950dt",
        "chip_accuracy": None,
    }
    res = runner.invoke(app, ["train", "--model", "llama3-8b", "--system", "atlas-950-superpod:8"])
    assert "not validated" in res.output
    res = runner.invoke(
        app,
        [
            "serve",
            "--model",
            "llama3-70b",
            "--system",
            "dgx-h100-cluster:8",
            "--tp",
            "8",
            "--precision",
            "fp8",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    v = json.loads(res.output)["validation"]
    assert v["chip_family"] == "hopper" and v["accuracy"]["public"]["runs"] >= 1


def test_the_report_cell_names_the_chip_when_it_has_runs_and_the_family_otherwise() -> None:
    from podsim.report.validation import short_label

    # H20 serving: its own unseen runs, not the Hopper family's much better median
    own = chip_accuracy("serving", "hopper", "h20")
    assert own is not None and "public" not in own
    cell = short_label("serving", "hopper", "h20")
    assert (
        cell.endswith("on h20)")
        and f"{100 * own['out_of_sample']['median_abs_error']:.0f}%" in cell
    )
    # a Hopper chip without runs of its own falls back to the family
    assert chip_accuracy("serving", "hopper", "h800") is None
    assert short_label("serving", "hopper", "h800").endswith("hopper family)")
    assert short_label("training", "ascend-950", "ascend-950dt") == "not validated"


def test_the_line_names_a_chip_the_family_record_would_hide_or_says_it_has_no_runs() -> None:
    from podsim.cli.validated import validation_line

    h20 = validation_line("serving", "hopper", "h20")
    own = chip_accuracy("serving", "hopper", "h20")["out_of_sample"]
    assert f"On h20 itself: unseen runs median {100 * own['median_abs_error']:.0f}%" in h20
    assert "(model below measured)" in h20.split("On h20 itself")[1]  # the H20 runs: too slow
    assert validation_line("serving", "hopper", "h800").endswith("None on h800 itself")
    # a family of one chip says it once
    assert "itself" not in validation_line("serving", "blackwell-ultra", "gb300")


def test_a_target_the_model_cannot_meet_on_a_chip_it_underrates_says_so() -> None:
    """On the H20 the model has run ~56% below measured: an unmet TPOT target there names that,
    while on a chip without such a record the error stays as it was."""
    from podsim.cli.validated import too_slow_note
    from podsim.errors import PlanError

    assert too_slow_note("serving", "hopper", "h20") is not None
    assert too_slow_note("serving", "hopper", "h100-sxm") is None
    assert too_slow_note("serving", "hopper", "h800") is None
    args = ["serve", "--model", "deepseek-r1", "--ep", "16", "--dp", "16", "--phase", "decode"]
    args += ["--input-len", "4096", "--output-len", "1536", "--precision", "fp8"]
    res = runner.invoke(app, [*args, "--system", "hgx-h20-cluster:16", "--tpot", "5 ms"])
    assert isinstance(res.exception, PlanError) and res.exception.field == "slo"
    assert "below measured" in str(res.exception) and "\n" not in str(res.exception)
    res = runner.invoke(app, [*args, "--system", "dgx-h100-cluster:16", "--tpot", "5 ms"])
    assert isinstance(res.exception, PlanError) and "below measured" not in str(res.exception)
