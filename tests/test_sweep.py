"""Sweeps: every combination evaluated once, results equal to the planner's, a re-run or an
interrupted run computes only what is missing, the store answers SQL, bad specs name the field."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from podsim import catalog
from podsim.cli.main import app
from podsim.errors import PodsimError, SpecError
from podsim.hardware.resolve import resolve_system_arg
from podsim.planner.search import search_training
from podsim.sweep import load_results, load_sweep, parse_sweep, query, run_sweep
from podsim.sweep.points import expand
from podsim.sweep.spec import builtin_sweeps

runner = CliRunner()

TRAIN = {
    "kind": "training",
    "models": ["llama3-8b"],
    "systems": ["dgx-h100-cluster:16", "gb200-nvl72:16"],
    "precision": ["bf16", "fp8"],
    "seq_len": 4096,
    "global_batch": [64],
    "top": 2,
}


def test_every_combination_is_one_point_with_a_distinct_key():
    spec = parse_sweep(TRAIN)
    points = expand(spec)
    assert len(points) == 1 * 2 * 2 * 1 * 1
    assert len({p.key for p in points}) == len(points)
    # the same question asked again has the same key; a value listed twice is one point
    assert [p.key for p in expand(parse_sweep(TRAIN))] == [p.key for p in points]
    twice = parse_sweep({**TRAIN, "precision": ["bf16", "fp8", "bf16"]})
    assert [p.key for p in expand(twice)] == [p.key for p in points]


def test_results_are_the_planners_best_plans(tmp_path):
    run = run_sweep(parse_sweep(TRAIN), tmp_path / "out", workers=1)
    assert run.points == 4 and run.computed == 4 and run.reused == 0 and run.no_plan == 0
    df = run.results
    assert len(df) == 4 * 2 and set(df["rank"]) == {1, 2}
    row = df[(df["system"] == "gb200-nvl72:16") & (df["precision"] == "fp8") & (df["rank"] == 1)]
    res = search_training(
        catalog.model("llama3-8b"),
        resolve_system_arg("gb200-nvl72:16", None),
        global_batch=64,
        seq_len=4096,
        precision="fp8",
        top=2,
    )
    best = res.best[0]
    assert row["label"].item() == best["label"]
    assert row["tokens_per_s_per_chip"].item() == pytest.approx(
        best["metrics"]["tokens_per_s_per_chip"], rel=1e-12
    )
    assert row["tokens_per_s"].item() == pytest.approx(16 * row["tokens_per_s_per_chip"].item())
    # ranks are ordered by the objective within each point
    for _, g in df.groupby("key"):
        t = g.sort_values("rank")["tokens_per_s_per_chip"].tolist()
        assert t == sorted(t, reverse=True)


def test_a_rerun_reuses_every_point_and_a_grown_spec_computes_only_the_new_ones(tmp_path):
    out = tmp_path / "out"
    first = run_sweep(parse_sweep(TRAIN), out, workers=1)
    again = run_sweep(parse_sweep(TRAIN), out, workers=1)
    assert again.computed == 0 and again.reused == first.points
    assert again.results.equals(first.results)
    grown = parse_sweep({**TRAIN, "models": ["llama3-8b", "llama2-70b"]})
    g = run_sweep(grown, out, workers=1)
    assert g.reused == 4 and g.computed == 4
    fresh = run_sweep(parse_sweep(TRAIN), out, workers=1, fresh=True)
    assert fresh.computed == 4 and fresh.reused == 0


def test_an_interrupted_sweep_keeps_finished_points_and_resumes(tmp_path):
    out = tmp_path / "out"
    spec = parse_sweep(TRAIN)
    seen = []

    def stop_after_two(point):
        seen.append(point.key)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, workers=1, progress=stop_after_two)
    # a half-written file from a crash is not taken for a result
    (out / "points" / ".tmp-deadbeef.parquet").write_bytes(b"partial")
    resumed = run_sweep(spec, out, workers=1)
    assert resumed.reused == 2 and resumed.computed == 2
    assert not list((out / "points").glob(".tmp-*"))


def test_local_processes_give_the_same_rows_as_one_process(tmp_path):
    one = run_sweep(parse_sweep(TRAIN), tmp_path / "a", workers=1).results
    two = run_sweep(parse_sweep(TRAIN), tmp_path / "b", workers=2).results
    cols = [c for c in one.columns if c != "search_seconds"]
    assert one[cols].equals(two[cols])


def test_a_point_without_a_plan_is_stored_with_the_reason(tmp_path):
    spec = parse_sweep(
        {
            **TRAIN,
            "models": ["llama3.1-405b"],
            "systems": ["dgx-h100-cluster:8"],
            "precision": ["bf16"],
        }
    )
    run = run_sweep(spec, tmp_path / "out", workers=1)
    assert run.no_plan == 1
    row = run.results.iloc[0]
    assert row["status"] == "no plan" and "memory" in row["reason"]
    assert run_sweep(spec, tmp_path / "out", workers=1).computed == 0  # not retried


def test_the_store_answers_sql_and_loads_as_a_dataframe(tmp_path):
    out = tmp_path / "out"
    run_sweep(parse_sweep(TRAIN), out, workers=1)
    best = query(out, "select system, max(tokens_per_s_per_chip) as t from results group by 1")
    assert set(best["system"]) == {"dgx-h100-cluster:16", "gb200-nvl72:16"}
    assert len(load_results(out)) == 8
    import duckdb

    con = duckdb.connect(str(out / "results.duckdb"))
    assert con.execute("select count(*) from results").fetchone()[0] == 8
    con.close()


def test_a_serving_sweep_keeps_the_latency_target_and_meets_it(tmp_path):
    spec = parse_sweep(
        {
            "kind": "serving",
            "models": ["llama3-8b"],
            "systems": ["dgx-h100-cluster:8"],
            "precision": ["fp8"],
            "input_len": 1024,
            "output_len": 256,
            "tpot": ["20 ms", None],
            "top": 1,
        }
    )
    df = run_sweep(spec, tmp_path / "out", workers=1).results
    assert len(df) == 2 and (df["status"] == "ok").all()
    tight = df[df["tpot"].notna()].iloc[0]
    assert float(tight["tpot"]) == pytest.approx(0.020)
    assert tight["tpot_s"] <= 0.020 + 1e-12
    free = df[df["tpot"].isna()].iloc[0]
    assert free["tokens_per_s_per_chip"] >= tight["tokens_per_s_per_chip"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({**TRAIN, "models": []}, "models"),
        ({**TRAIN, "seq_len": [0]}, "seq_len"),
        ({**TRAIN, "input_len": [1024]}, "input_len"),
        ({**TRAIN, "precision": ["int8"]}, "precision"),
        ({**TRAIN, "objective": "kw"}, "objective"),
        ({**TRAIN, "sytems": ["x"]}, "sytems"),
        (
            {
                "kind": "serving",
                "models": ["llama3-8b"],
                "systems": ["gb200-nvl72"],
                "tpot": ["fast"],
            },
            "tpot",
        ),
    ],
)
def test_a_bad_spec_names_the_field(raw, field):
    with pytest.raises(SpecError) as exc:
        parse_sweep(raw)
    assert exc.value.field is not None and exc.value.field.startswith(field)


def test_unknown_models_and_systems_are_reported_before_any_work(tmp_path):
    with pytest.raises(PodsimError) as exc:
        run_sweep(parse_sweep({**TRAIN, "systems": ["dgx-h100-cluster:16", "nope"]}), tmp_path)
    assert "nope" in str(exc.value)
    assert not (tmp_path / "points").exists()


def test_builtin_sweeps_parse_and_expand():
    names = builtin_sweeps()
    assert {"supernodes-training", "supernodes-serving"} <= set(names)
    for n in names:
        assert expand(load_sweep(n))


def test_cli_runs_a_spec_file_resumes_and_queries(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(TRAIN))
    out = tmp_path / "out"
    res = runner.invoke(app, ["sweep", "run", str(spec), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["points"] == 4 and doc["computed"] == 4 and len(doc["best"]) == 4
    res = runner.invoke(app, ["sweep", "run", str(spec), "--out", str(out)])
    assert res.exit_code == 0 and "4 reused" in res.output
    res = runner.invoke(
        app, ["sweep", "query", "select count(*) as n from results", "--out", str(out), "--json"]
    )
    assert json.loads(res.output) == [{"n": 8}]


def test_cli_bad_query_is_one_clear_error(tmp_path):
    from podsim_process import podsim

    out = tmp_path / "out"
    run_sweep(parse_sweep(TRAIN), out, workers=1)
    r = podsim("sweep", "query", "select nope from results", "--out", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "field 'sql'" in r.stderr and "nope" in r.stderr


def test_without_ray_the_ray_backend_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SpecError) as exc:
        run_sweep(parse_sweep(TRAIN), tmp_path / "out", backend="ray")
    assert exc.value.field == "backend" and "podsim[ray]" in str(exc.value)
    with pytest.raises(SpecError):
        run_sweep(parse_sweep(TRAIN), tmp_path / "out", backend="slurm")


def test_the_ray_backend_gives_the_local_rows(tmp_path):
    ray = pytest.importorskip("ray")  # the optional podsim[ray] extra
    local = run_sweep(parse_sweep(TRAIN), tmp_path / "a", workers=1).results
    try:
        remote = run_sweep(parse_sweep(TRAIN), tmp_path / "b", backend="ray").results
    finally:
        ray.shutdown()
    cols = [c for c in local.columns if c != "search_seconds"]
    assert local[cols].equals(remote[cols])


def test_catalog_lists_the_builtin_sweeps():
    res = runner.invoke(app, ["catalog", "sweeps", "--json"])
    assert res.exit_code == 0, res.output
    listed = {d["id"]: d for d in json.loads(res.output)}
    assert set(listed) == set(builtin_sweeps())
    assert listed["supernodes-training"]["points"] == len(expand(load_sweep("supernodes-training")))
