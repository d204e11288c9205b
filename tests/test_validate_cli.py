"""`podsim validate`: one or several case files, JSON fields, malformed and duplicate cases
reported as invalid (never dropped, never a traceback), the kind filter."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from podsim.cli.main import app
from podsim.validate.runner import BUILTIN_CASES
from podsim_process import podsim as _podsim

runner = CliRunner()


def _builtin(*ids: str) -> list[dict]:
    cases = {c["id"]: c for c in yaml.safe_load(BUILTIN_CASES.read_text())}
    return [cases[i] for i in ids]


TRAIN = "nemo-25.11-dgx-h100-llama3-70b-fp8-cs-64gpu"
SERVE = "mlperf-inf-v4.1-llama2-70b-99-offline-nvidia-GH200-GraceHopper-Superchip_GH200-144GB_aarch64x1_TRT"


def _write(tmp_path: Path, name: str, cases: list[dict]) -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cases, sort_keys=False))
    return p


def _json(*args: str) -> dict:
    res = runner.invoke(app, ["validate", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_json_reports_each_case_and_the_summary(tmp_path):
    f = _write(tmp_path, "a.yaml", _builtin(TRAIN, SERVE))
    out = _json(str(f))
    assert [c["id"] for c in out["cases"]] == [TRAIN, SERVE]
    for c in out["cases"]:
        assert c["status"] == "ok"
        assert c["error"] == (c["predicted"] - c["measured"]) / c["measured"]
    s = out["summary"]
    assert s["overall"]["evaluated"] == 2
    assert s["training"]["cases"] == 1 and s["serving"]["cases"] == 1
    worst = max(abs(c["error"]) for c in out["cases"])
    assert s["overall"]["max_abs_error"] == worst


def test_several_files_are_evaluated_together(tmp_path):
    a = _write(tmp_path, "a.yaml", _builtin(TRAIN))
    b = _write(tmp_path, "b.yaml", _builtin(SERVE))
    out = _json(str(a), str(b))
    assert out["files"] == [str(a), str(b)]
    assert [c["id"] for c in out["cases"]] == [TRAIN, SERVE]
    # the same predictions as each file alone
    alone = _json(str(a))["cases"][0]
    assert out["cases"][0]["predicted"] == alone["predicted"]


def test_a_repeated_id_is_invalid_not_counted_twice(tmp_path):
    a = _write(tmp_path, "a.yaml", _builtin(TRAIN))
    b = _write(tmp_path, "b.yaml", _builtin(TRAIN, SERVE))
    out = _json(str(a), str(b))
    status = [(c["id"], c["status"]) for c in out["cases"]]
    assert status == [(TRAIN, "ok"), (TRAIN, "invalid"), (SERVE, "ok")]
    reason = out["cases"][1]["reason"]
    assert "duplicate case id" in reason and str(a) in reason and "'id'" in reason
    assert out["summary"]["overall"]["evaluated"] == 2
    assert out["summary"]["overall"]["invalid"] == 1


def test_a_malformed_case_is_listed_with_the_field(tmp_path):
    bad = _builtin(TRAIN)[0]
    bad = {**bad, "id": "broken", "training": {**bad["training"], "tp": "four"}}
    f = _write(tmp_path, "a.yaml", [bad, *_builtin(SERVE)])
    res = runner.invoke(app, ["validate", str(f)])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    out = _json(str(f))
    broken = out["cases"][0]
    assert broken["status"] == "invalid" and "tp" in broken["reason"]
    assert out["cases"][1]["status"] == "ok"


def test_kind_filters_and_an_unknown_kind_is_a_clear_error(tmp_path):
    f = _write(tmp_path, "a.yaml", _builtin(TRAIN, SERVE))
    out = _json(str(f), "--kind", "serving")
    assert [c["id"] for c in out["cases"]] == [SERVE]
    res = _podsim("validate", str(f), "--kind", "inference")
    assert res.returncode == 2
    err = res.stderr
    assert "'kind'" in err and "inference" in err and "training, serving" in err
    assert "Traceback" not in err


def test_a_file_that_is_not_a_list_is_a_clear_error(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("id: not-a-list\n")
    res = _podsim("validate", str(f))
    assert res.returncode == 2
    assert "YAML list" in res.stderr and str(f) in res.stderr and "Traceback" not in res.stderr


def test_by_chip_splits_the_summary_per_kind_and_chip(tmp_path):
    f = _write(tmp_path, "a.yaml", _builtin(TRAIN, SERVE))
    out = _json(str(f), "--by-chip")
    per = out["summary_by_chip"]
    assert set(per) == {"training h100-sxm", "serving gh200"}
    assert sum(s["evaluated"] for s in per.values()) == out["summary"]["overall"]["evaluated"]
    assert {c["chip"] for c in out["cases"]} == {"h100-sxm", "gh200"}
    text = runner.invoke(app, ["validate", str(f), "--by-chip"]).output
    assert "per kind and chip" in text and "serving gh200" in text


def test_a_measured_batch_the_memory_model_rejects_is_still_predicted(tmp_path):
    """A case's batch ran, so a memory model that says it does not fit must not skip the case:
    it is predicted and carries a note naming the shortfall (as training cases are predicted
    whatever their memory estimate); the serve command still rejects such a plan."""
    from podsim.spec.case import ValidationCase
    from podsim.validate.runner import run_case

    raw = yaml.safe_load(BUILTIN_CASES.read_text())
    base = next(c for c in raw if c["kind"] == "serving" and c["serving"].get("batch"))
    ok = run_case(ValidationCase.model_validate(base))
    assert ok.status == "ok" and ok.note is None
    big = dict(base, serving=dict(base["serving"], batch=base["serving"]["batch"] * 1_000_000))
    r = run_case(ValidationCase.model_validate(big))
    assert r.status == "ok"
    assert r.predicted is not None and r.predicted > 0
    assert r.note is not None and "exceeds the memory model" in r.note
    case = _json(str(_write(tmp_path, "big.yaml", [big])))["cases"][0]
    assert case["status"] == "ok" and "exceeds the memory model" in case["note"]


def test_a_run_whose_latency_target_the_model_cannot_meet_is_predicted_closest_to_it(tmp_path):
    """A run met its TPOT target; where the model's one-sequence floor is above it, the case is
    predicted at the batch that comes closest (with a note), not skipped -- while `serve` with
    the same target is a plan error."""
    from podsim.spec.case import ValidationCase
    from podsim.validate.runner import run_case

    raw = yaml.safe_load(BUILTIN_CASES.read_text())
    base = next(
        c for c in raw if c["kind"] == "serving" and (c["serving"].get("slo") or {}).get("tpot")
    )
    tight = dict(base, serving=dict(base["serving"], slo={"tpot": "0.01 ms"}))
    r = run_case(ValidationCase.model_validate(tight))
    assert r.status == "ok" and r.predicted is not None and r.predicted > 0
    assert r.note is not None and "latency targets the model cannot" in r.note
    ok = run_case(ValidationCase.model_validate(base))
    assert ok.note is None
    # the closest batch to an impossible target is the fastest one: never more throughput than
    # the run's own (met) target allows
    if r.metric.endswith("per_chip"):
        assert r.predicted <= ok.predicted * (1 + 1e-9)


def test_case_selects_by_glob_or_part_of_the_id_and_none_matching_is_a_clear_error(tmp_path):
    f = _write(tmp_path, "a.yaml", _builtin(TRAIN, SERVE))
    assert [c["id"] for c in _json(str(f), "--case", "GH200")["cases"]] == [SERVE]
    assert [c["id"] for c in _json(str(f), "--case", "nemo-*-h100-*")["cases"]] == [TRAIN]
    both = _json(str(f), "--case", "GH200", "--case", "nemo-*")["cases"]
    assert [c["id"] for c in both] == [TRAIN, SERVE]  # file order, each case once
    res = _podsim("validate", str(f), "--case", "no-such-run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "'case'" in res.stderr and "no-such-run" in res.stderr and TRAIN in res.stderr


def test_explain_takes_each_prediction_apart_consistently_with_it(tmp_path):
    """--explain shows what is behind each predicted number: the parts of the step (training)
    or iteration (serving) add up to its time, the metric it reports is the predicted one, and
    the memory items add up to the total; the table shows the same."""
    f = _write(tmp_path, "a.yaml", _builtin(TRAIN, SERVE))
    out = _json(str(f), "--explain")
    train, serve = out["cases"]
    for case, total in ((train, "step_time_s"), (serve, "iteration_s")):
        x = case["explain"]
        assert abs(sum(x["breakdown_s"].values()) - x[total]) <= 1e-9 * x[total]
        assert x[case["metric"]] == case["predicted"]
        mem = x["memory_bytes"]
        parts = sum(v for k, v in mem.items() if k not in ("total", "capacity"))
        assert abs(parts - mem["total"]) <= 1e-6 * mem["total"]
    assert train["explain"]["micro_batches"] >= 1 and serve["explain"]["batch"] >= 1
    assert "explain" not in _json(str(f))["cases"][0]
    text = runner.invoke(app, ["validate", str(f), "--explain"]).output
    for part in ("time per step", "time per iteration", "memory per chip", "TPOT", "MFU"):
        assert part in text
