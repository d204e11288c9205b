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
from sweep_specs import SERVE_SWEEP

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

SERVE = SERVE_SWEEP


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


def test_a_prefix_hit_axis_is_one_point_per_value_and_a_cache_never_slows_prefill(tmp_path):
    spec = parse_sweep({**SERVE, "phase": "prefill", "prefix_hit": [0.0, 0.5]})
    df = run_sweep(spec, tmp_path / "out", workers=1).results
    assert sorted(df["prefix_hit"]) == [0.0, 0.5] and (df["status"] == "ok").all()
    by_hit = df.set_index("prefix_hit")["tokens_per_s_per_chip"]
    assert by_hit[0.5] >= by_hit[0.0]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({**TRAIN, "models": []}, "models"),
        ({**TRAIN, "seq_len": [0]}, "seq_len"),
        ({**SERVE, "prefix_hit": [1.0]}, "prefix_hit"),
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


def test_every_row_records_its_question_and_prune_keeps_only_the_spec(tmp_path):
    out = tmp_path / "out"
    run_sweep(parse_sweep(TRAIN), out, workers=1)
    three = run_sweep(parse_sweep({**TRAIN, "top": 3}), out, workers=1)
    assert three.computed == 4  # another question: three plans kept
    allrows = load_results(out)
    assert set(allrows["top"]) == {2, 3} and allrows["podsim_fingerprint"].nunique() == 1
    pruned = run_sweep(parse_sweep({**TRAIN, "top": 3}), out, workers=1, prune=True)
    assert pruned.pruned == 4 and pruned.computed == 0
    assert set(load_results(out)["top"]) == {3}


def test_an_edited_model_file_is_recomputed_in_the_same_process(tmp_path):
    m = yaml.safe_load((catalog.DATA / "models" / "llama3-8b.yaml").read_text())
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(m))
    spec = {**TRAIN, "models": [str(path)], "systems": ["gb200-nvl72:16"], "precision": "bf16"}
    first = run_sweep(parse_sweep(spec), tmp_path / "out", workers=1).results
    path.write_text(yaml.safe_dump({**m, "layers": 2 * m["layers"]}))
    second = run_sweep(parse_sweep(spec), tmp_path / "out", workers=1)
    assert second.computed == 1
    t1 = first[first["rank"] == 1]["tokens_per_s_per_chip"].item()
    t2 = second.results[second.results["rank"] == 1]["tokens_per_s_per_chip"].item()
    assert t2 < 0.7 * t1  # twice the layers: far fewer tokens per second


def test_a_directory_name_with_glob_characters_reads_only_its_own_files(tmp_path):
    run_sweep(parse_sweep(SERVE), tmp_path / "run1", workers=1)
    run_sweep(parse_sweep(TRAIN), tmp_path / "run[1]", workers=1)
    kinds = query(tmp_path / "run[1]", "select distinct kind from results")
    assert kinds["kind"].tolist() == ["training"]


def test_a_damaged_point_file_counts_as_missing(tmp_path):
    out = tmp_path / "out"
    run_sweep(parse_sweep(TRAIN), out, workers=1)
    victim = sorted((out / "points").glob("*.parquet"))[0]
    victim.write_bytes(b"")
    again = run_sweep(parse_sweep(TRAIN), out, workers=1)
    assert again.computed == 1 and again.reused == 3 and again.database is not None
    assert len(query(out, "select * from results")) == 8


def test_temporary_files_of_a_live_writer_are_kept(tmp_path):
    import os

    from podsim.sweep.store import ResultStore

    store = ResultStore(tmp_path)
    store.prepare()
    mine = store.points / f".tmp-{os.getpid()}-abc.parquet"
    dead = store.points / ".tmp-999999999-abc.parquet"
    mine.write_bytes(b"x")
    dead.write_bytes(b"x")
    store.clear_partial()
    assert mine.exists() and not dead.exists()


def test_query_json_handles_any_sql_type_and_empty_sql_is_an_error(tmp_path):
    out = tmp_path / "out"
    run_sweep(parse_sweep(TRAIN), out, workers=1)
    res = runner.invoke(
        app,
        [
            "sweep",
            "query",
            "select now() as t, interval 1 day as d, uuid() as u",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    row = json.loads(res.output)[0]
    assert set(row) == {"t", "d", "u"}
    with pytest.raises(SpecError):
        query(out, "  ")


def test_relative_files_in_a_spec_are_found_beside_it(tmp_path, monkeypatch):
    m = yaml.safe_load((catalog.DATA / "models" / "llama3-8b.yaml").read_text())
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "mine.yaml").write_text(yaml.safe_dump(m))
    spec_file = tmp_path / "specs" / "s"  # no suffix: a file is a file
    spec_file.write_text(yaml.safe_dump({**TRAIN, "models": ["mine.yaml"]}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    spec = load_sweep(str(spec_file))
    assert spec.source == str(spec_file)
    assert expand(spec, file=spec.source)
    # a file that is nowhere: the error names the spec file, the field and the value
    missing = parse_sweep({**TRAIN, "models": ["nope.yaml"]}, file=str(spec_file))
    with pytest.raises(SpecError) as exc:
        expand(missing, file=str(spec_file))
    assert exc.value.field == "models" and "nope.yaml" in str(exc.value)
    assert str(spec_file) in str(exc.value)
    with pytest.raises(SpecError):
        load_sweep("../models/llama3-8b")  # built-in names are names, not paths


def test_workers_are_capped_by_the_points_and_not_mixed_with_ray(tmp_path):
    run = run_sweep(parse_sweep(TRAIN), tmp_path / "out", workers=64)
    assert run.workers == 4
    with pytest.raises(SpecError):
        run_sweep(parse_sweep(TRAIN), tmp_path / "out", workers=2, backend="ray")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({**TRAIN, "seq_len": [True]}, "seq_len"),
        ({**TRAIN, "top": True}, "top"),
        ({**TRAIN, "models": None}, "models"),
        ({**TRAIN, "seqlen": 4096}, "seqlen"),
    ],
)
def test_booleans_nulls_and_typos_are_named(raw, field):
    with pytest.raises(SpecError) as exc:
        parse_sweep(raw)
    assert exc.value.field.startswith(field)
    if field == "seqlen":
        assert "seq_len" in exc.value.allowed


def test_a_spec_round_trips_through_python():
    spec = load_sweep("supernodes-serving")
    assert parse_sweep(spec.model_dump()).model_dump() == spec.model_dump()


def test_run_json_keeps_whole_numbers_whole_when_a_point_has_no_plan(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                **TRAIN,
                "models": ["llama3-8b", "llama3.1-405b"],
                "systems": ["dgx-h100-cluster:8"],
                "precision": "bf16",
            }
        )
    )
    res = runner.invoke(app, ["sweep", "run", str(spec), "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 0, res.output
    best = json.loads(res.output)["best"]
    ok = next(b for b in best if b["status"] == "ok")
    assert isinstance(ok["tp"], int) and isinstance(ok["dp"], int)
    assert any(b["status"] == "no plan" for b in best)


def test_cli_shows_a_target_only_where_the_point_has_one(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**SERVE, "tpot": ["20 ms", None]}))
    res = runner.invoke(app, ["sweep", "run", str(spec), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "TPOT 20 ms" in res.output and "TPOT - ms" not in res.output


def test_on_start_gets_the_number_of_points(tmp_path):
    seen = []
    run_sweep(parse_sweep(TRAIN), tmp_path / "o", workers=1, on_start=seen.append)
    assert seen == [4]
