"""Planner: exhaustive training/serving plan search, export, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from podsim import catalog
from podsim.cli.main import app
from podsim.errors import PlanError
from podsim.hardware.system import resolve_system
from podsim.planner.export import (
    megatron_args,
    mindspeed_args,
    parse_layout,
    parse_megatron_args,
    pipeline_layout,
    sglang_args,
    vllm_args,
)
from podsim.planner.pareto import pareto_mask
from podsim.planner.search import search_training
from podsim.planner.space import SpaceOptions, divisors, training_space
from podsim.training.plan import RECOMPUTE_CODES, plan_arrays, raise_if_invalid
from podsim.training.step import simulate_plans

MODEL = "llama3-70b"
SYSTEM = "dgx-h100-cluster"
CHIPS = 64
GB, SEQ, PREC = 128, 8192, "fp8"


@pytest.fixture(scope="module")
def searched():
    m = catalog.model(MODEL)
    s = resolve_system(SYSTEM, CHIPS)
    return m, s, search_training(m, s, global_batch=GB, seq_len=SEQ, precision=PREC, top=8)


def _one(d: dict):
    d = dict(d)
    d["recompute"] = RECOMPUTE_CODES[d["recompute"]]
    return plan_arrays(**d)


def test_returned_plans_are_valid_and_fit(searched):
    m, s, r = searched
    assert r.considered >= r.valid >= r.fitting > 0
    assert len(r.best) == 8
    for b in r.best:
        p = _one(b["plan"])
        raise_if_invalid(p, m, s.chips)  # what `podsim train` checks
        res = simulate_plans(m, s, p, PREC)
        assert bool(res.fits)
        assert float(res.tokens_per_s_per_chip) == pytest.approx(
            b["metrics"]["tokens_per_s_per_chip"], rel=1e-12
        )
    tps = [b["metrics"]["tokens_per_s_per_chip"] for b in r.best]
    assert tps == sorted(tps, reverse=True)
    assert r.rejected["does not fit in memory"] == r.valid - r.fitting
    df = r.to_frame()
    assert len(df) == 8 and df["tokens_per_s_per_chip"].is_monotonic_decreasing


def test_best_beats_an_independent_random_sample(searched):
    m, s, r = searched
    rng = np.random.default_rng(7)
    n = 20_000
    pick = lambda xs: rng.choice(np.asarray(xs), n)  # noqa: E731
    div = divisors(CHIPS)
    tp, pp, cp = pick(div[div <= 16]), pick(div), pick([1, 2, 4, 8, 16])
    p = plan_arrays(
        tp=tp,
        pp=pp,
        vpp=pick([1, 2, 3, 4, 6, 8]),
        cp=cp,
        ep=1,
        dp=np.maximum(CHIPS // (tp * pp * cp), 1),
        zero=pick([0, 1, 2, 3]),
        recompute=pick([0, 1, 2]),
        micro_batch=pick([1, 2, 4, 8, 16]),
        global_batch=GB,
        seq_len=SEQ,
        sequence_parallel=tp > 1,
        uneven_pp=True,
    )
    res = simulate_plans(m, s, p, PREC)
    ok = np.asarray(res.valid) & np.asarray(res.fits)
    assert ok.sum() > 100
    best = r.best[0]["metrics"]["tokens_per_s_per_chip"]
    assert np.nanmax(res.tokens_per_s_per_chip[ok]) <= best * (1 + 1e-9)


def test_planner_matches_or_beats_a_published_plan():
    from podsim.hardware.system import system_for_case
    from podsim.training.plan import from_spec
    from podsim.validate.runner import BUILTIN_CASES, load_cases

    case = dict(load_cases(BUILTIN_CASES))["nemo-25.11-dgx-h100-llama3-70b-fp8-cs-64gpu"]
    t = case.training
    system = system_for_case(case.system)
    real = simulate_plans(
        case.model, system, from_spec(t, case.system.chips, uneven_pp=True), t.precision
    )
    assert bool(real.fits)
    for zero in ((0, 1, 2, 3), (0, 1)):
        r = search_training(
            case.model,
            system,
            global_batch=t.global_batch,
            seq_len=t.seq_len,
            precision=t.precision,
            top=1,
            options=SpaceOptions(zero=zero),
        )
        best = r.best[0]["metrics"]["tokens_per_s_per_chip"]
        assert best >= float(real.tokens_per_s_per_chip) * (1 - 1e-12)


def test_memory_limit_error():
    m = catalog.model("llama3.1-405b")
    s = resolve_system(SYSTEM, 8)
    with pytest.raises(PlanError) as ei:
        search_training(m, s, global_batch=16, seq_len=8192, precision="bf16")
    msg = str(ei.value)
    assert "fits in memory" in msg and "HBM" in msg and "per chip" in msg


def test_divisibility_error_names_the_rules():
    m = catalog.model("llama3-8b")
    s = resolve_system(SYSTEM, 7)
    with pytest.raises(PlanError) as ei:
        search_training(m, s, global_batch=4, seq_len=4096, options=SpaceOptions(uneven_pp=False))
    assert "no valid plan" in str(ei.value)


def test_whole_space_rejected_by_one_rule():
    # 2 chips, a global batch of 1: dp must be 1, so tp*pp*cp = 2; a 1-layer, 1-head model with
    # cp capped at 1 leaves no way to use the second chip
    m = catalog.model("llama3-8b").model_copy(update={"layers": 1, "heads": 1, "kv_heads": 1})
    s = resolve_system(SYSTEM, 2)
    opts = SpaceOptions(uneven_pp=False, cp=(1,))
    with pytest.raises(PlanError, match="no valid plan"):
        search_training(m, s, global_batch=1, seq_len=4096, options=opts)


def test_export_round_trip(searched):
    m, s, r = searched
    for b in r.best:
        plan = b["plan"]
        args = megatron_args(plan, layers=m.layers, precision=PREC)
        back = parse_megatron_args(args, chips=s.chips)
        assert back.pop("precision") == PREC
        assert back == plan
    ms = mindspeed_args(r.best[0]["plan"], layers=m.layers, precision="bf16")
    assert "--use-fused-rotary-pos-emb" in ms and "--bf16" in ms
    # a hand-made plan with every feature
    plan = dict(
        tp=4,
        pp=8,
        vpp=5,
        cp=2,
        ep=1,
        dp=1,
        zero=1,
        recompute="full",
        micro_batch=1,
        global_batch=128,
        seq_len=8192,
        sequence_parallel=True,
        uneven_pp=False,
    )
    args = megatron_args(plan, layers=80, precision="bf16")
    assert "--num-layers-per-virtual-pipeline-stage" in args
    assert args[args.index("--num-layers-per-virtual-pipeline-stage") + 1] == "2"
    back = parse_megatron_args(args, chips=64)
    assert back.pop("precision") == "bf16"
    assert back == plan


@pytest.mark.parametrize(
    "layers,pp,vpp,mtp",
    [(80, 8, 1, 0), (126, 16, 1, 0), (61, 4, 4, 1), (61, 16, 2, 1), (3, 4, 1, 0)],
)
def test_uneven_layout_round_trip(layers, pp, vpp, mtp):
    lay = pipeline_layout(layers, pp, vpp, mtp_layers=mtp)
    stages = parse_layout(lay)
    assert len(stages) == pp * vpp
    assert sum(st.count("t") for st in stages) == layers
    assert stages[0].startswith("E") and stages[-1].endswith("m" * mtp + "L")
    units = [
        st.count("t") + (st.count("m") + st.count("L") if i == len(stages) - 1 else 0)
        for i, st in enumerate(stages)
    ]
    assert max(units) - min(units) <= 2  # balanced to within a layer or two
    plan = dict(
        tp=1,
        pp=pp,
        vpp=vpp,
        cp=1,
        ep=8,
        dp=8,
        zero=1,
        recompute="selective",
        micro_batch=1,
        global_batch=64 * pp,
        seq_len=4096,
        sequence_parallel=False,
        uneven_pp=True,
    )
    args = megatron_args(plan, layers=layers, precision="fp8", mtp_layers=mtp)
    assert "--pipeline-model-parallel-layout" in args
    back = parse_megatron_args(args, chips=8 * pp)
    assert back.pop("precision") == "fp8"
    assert back == plan


def test_serving_export_flags():
    plan = dict(tp=1, pp=1, dp=16, ep=16, batch=64, precision="fp8", kv_precision="fp8")
    a, notes = vllm_args(plan)
    assert a[a.index("--data-parallel-size") + 1] == "16" and "--enable-expert-parallel" in a
    assert a[a.index("--max-num-seqs") + 1] == "64" and not notes
    a, _ = sglang_args(plan)
    assert a[a.index("--tp-size") + 1] == "16" and "--enable-dp-attention" in a
    assert a[a.index("--max-running-requests") + 1] == str(64 * 16)


def test_space_size_does_not_grow_with_the_cluster():
    m = catalog.model("llama3.1-405b")
    s = resolve_system("atlas-950-supercluster")
    small = training_space(m, s.scaled(1024), global_batch=2048, seq_len=8192)
    big = training_space(m, s, global_batch=2048, seq_len=8192, chips=1 << 19)
    assert big.size <= 1.2 * small.size


def test_pareto_mask():
    x = [1, 2, 3, 4, 4]
    y = [10, 9, 30, 25, 40]
    assert pareto_mask(x, y).tolist() == [True, False, True, False, True]


def test_serving_search_small():
    from podsim.planner.serve import search_serving

    m = catalog.model("llama3-8b")
    s = resolve_system(SYSTEM, 8)
    r = search_serving(m, s, input_len=1024, output_len=256, precision="fp8", tpot=0.03, top=3)
    assert r.valid > 0 and r.best
    for b in r.best:
        assert b["tpot_s"] <= 0.03 + 1e-12
    vals = [b["tokens_per_s_per_chip"] for b in r.best]
    assert vals == sorted(vals, reverse=True)
    assert list(r.to_frame()["tokens_per_s_per_chip"]) == vals


def test_disaggregated_search_with_one_target():
    from podsim.planner.serve import search_serving

    m = catalog.model("llama3-8b")
    s = resolve_system(SYSTEM, 8)
    r = search_serving(
        m, s, input_len=1024, output_len=256, phase="disaggregated", tpot=0.03, top=2
    )
    b = r.best[0]
    assert b["tpot_s"] <= 0.03 and 0 < b["pools"]["prefill_fraction"] < 1
    pools = b["pools"]
    assert pools["prefill_chips"] + pools["decode_chips"] + pools["idle_chips"] == 8
    assert pools["prefill_instances"] >= 1 and pools["decode_instances"] >= 1
    assert 0 < pools["tokens_per_s_per_chip_whole_instances"] <= b["tokens_per_s_per_chip"] + 1e-9
    assert {"prefill_tp", "decode_tp"} <= set(r.to_frame().columns)


def test_serving_search_same_with_workers():
    from podsim.planner.serve import search_serving

    m = catalog.model("qwen3-30b-a3b")
    s = resolve_system(SYSTEM, 4)
    kw = dict(input_len=1024, output_len=256, precision="fp8", tpot=0.05, top=3)
    a = search_serving(m, s, workers=1, **kw)
    b = search_serving(m, s, workers=2, **kw)
    assert [x["label"] for x in a.best] == [x["label"] for x in b.best]
    assert a.rejected == b.rejected and a.valid == b.valid > 0


def test_cli_plan_train_json():
    out = CliRunner().invoke(
        app,
        [
            "plan",
            "train",
            "--model",
            "llama3-8b",
            "--system",
            SYSTEM,
            "--chips",
            "16",
            "--global-batch",
            "64",
            "--seq-len",
            "4096",
            "--top",
            "3",
            "--export",
            "megatron",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert d["considered"] >= d["valid"] >= d["fitting"] > 0
    assert len(d["best"]) == 3
    assert "--tensor-model-parallel-size" in d["export"]["args"]


def test_cli_plan_serve_json():
    out = CliRunner().invoke(
        app,
        [
            "plan",
            "serve",
            "--model",
            "llama3-8b",
            "--system",
            SYSTEM,
            "--chips",
            "8",
            "--input-len",
            "1024",
            "--output-len",
            "256",
            "--tpot",
            "30",
            "--top",
            "2",
            "--export",
            "vllm",
            "--pareto",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert d["best"] and "--tensor-parallel-size" in d["export"][0]["args"]
    front = d["pareto_front"]
    t = [d["tpot_s"] for d in front]
    y = [d["tokens_per_s_per_chip"] for d in front]
    assert front and np.all(np.diff(t) > 0) and np.all(np.diff(y) > 0)
