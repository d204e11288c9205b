"""The Python API a notebook calls beyond the planner checks its arguments: a bad input is a
PodsimError naming the field and the value, never a KeyError, IndexError, ZeroDivisionError or
numpy broadcasting error from deep inside the model, and never a silently wrong answer (a
fractional degree truncated, a zero batch predicted, a negative overhead giving a negative
time). Layouts that do not fit the model or the chips stay flagged per plan (``valid``)."""

from __future__ import annotations

import numpy as np
import pytest

from field_error import raises_field
from podsim import catalog
from podsim.errors import PlanError, PodsimError, SpecError
from podsim.hardware.system import resolve_system
from podsim.spec.jobs import TrainingSpec
from podsim.training.plan import check_plans, from_spec, plan_arrays
from podsim.training.step import simulate_plans

HUGE = 10**30


@pytest.fixture(scope="module")
def train():
    return catalog.model("llama3-8b"), resolve_system("dgx-h100-cluster", 64)


PLAN = dict(
    tp=2,
    pp=2,
    vpp=1,
    cp=1,
    ep=1,
    dp=16,
    zero=1,
    recompute=0,
    micro_batch=1,
    global_batch=128,
    seq_len=8192,
    sequence_parallel=True,
    uneven_pp=False,
)


def test_plan_arrays_matches_from_spec(train):
    m, s = train
    a = simulate_plans(m, s, plan_arrays(**PLAN), "bf16")
    spec = TrainingSpec(seq_len=8192, global_batch=128, tp=2, pp=2)
    b = simulate_plans(m, s, from_spec(spec, 64), "bf16")
    assert bool(a.valid) and float(a.step_time) == float(b.step_time)
    # numpy scalars and whole floats are whole numbers
    c = plan_arrays(**{**PLAN, "tp": np.int32(2), "dp": 16.0, "seq_len": np.float64(8192)})
    assert float(simulate_plans(m, s, c, "bf16").step_time) == float(a.step_time)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tp", 0),  # a SpecError about a collective's 'nbytes'
        ("pp", 0),
        ("ep", 0),
        ("tp", -2),
        ("vpp", 0),  # predicted as if vpp were 1, valid
        ("micro_batch", 0),  # predicted, valid
        ("global_batch", 0),  # valid, 0 tokens/s
        ("global_batch", -128),  # valid, negative tokens/s
        ("seq_len", 0),
        ("seq_len", HUGE),  # OverflowError
        ("seq_len", 2**40),  # valid, absurd
        ("recompute", 3),  # silently taken as no recompute
        ("recompute", -1),
        ("tp", 2.5),  # truncated to 2
        ("tp", float("nan")),  # ValueError from numpy
        ("seq_len", float("inf")),  # OverflowError
        ("tp", "2"),  # read as 2
        ("recompute", "full"),
        ("tp", None),  # TypeError
        ("tp", True),
        ("sequence_parallel", "no"),  # read as True
    ],
)
def test_plan_field_values(train, field, value):
    msg = raises_field(plan_arrays, field=field, cls=PlanError, **{**PLAN, field: value})
    if isinstance(value, int) and not isinstance(value, bool):
        assert repr(value) in msg


def test_plan_fields_missing_unknown_and_shapes():
    raises_field(plan_arrays, field="pp", cls=PlanError, tp=1)  # KeyError 'pp'
    raises_field(plan_arrays, field="pipeline", cls=PlanError, **PLAN, pipeline=2)
    # a numpy broadcasting ValueError
    msg = raises_field(
        plan_arrays, field="plan", cls=PlanError, **{**PLAN, "tp": [1, 2], "pp": [1, 2, 4]}
    )
    assert "tp (2,)" in msg and "pp (3,)" in msg


def test_a_plan_built_directly_is_checked(train):
    m, s = train
    from dataclasses import replace

    p = plan_arrays(**PLAN)
    raises_field(simulate_plans, m, s, replace(p, tp=np.array(0)), "bf16", field="tp", value=0)
    raises_field(check_plans, replace(p, pp=np.array([1.5])), m, 64, field="pp", value=1.5)
    raises_field(simulate_plans, m, s, dict(PLAN), "bf16", field="plan", value="dict")


def test_plan_rows_that_do_not_fit_stay_flagged(train):
    m, s = train
    p = plan_arrays(**{**PLAN, "tp": [1, 2, 4, 3], "dp": [64, 16, 4, 10], "zero": [1, 1, 1, 7]})
    res = simulate_plans(m, s, p, "bf16")
    assert res.valid.tolist() == [False, True, False, False]
    assert np.isnan(res.step_time[[0, 2, 3]]).all() and np.isfinite(res.step_time[1])
    empty = plan_arrays(**{**PLAN, "tp": np.array([], dtype=int)})
    assert simulate_plans(m, s, empty, "bf16").to_frame(empty).empty


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        (dict(precision="BF16"), "precision", "BF16"),  # KeyError
        (dict(precision="fp32"), "precision", "fp32"),  # predicted; not a training precision
        (dict(precision="int8"), "precision", "int8"),
        (dict(precision=None), "precision", None),
        (dict(moe_imbalance=0.0), "moe_imbalance", 0.0),  # silently used
        (dict(moe_imbalance=float("nan")), "moe_imbalance", None),
        (dict(moe_imbalance="2"), "moe_imbalance", "2"),
    ],
)
def test_simulate_plans_arguments(train, kw, field, value):
    m, s = train
    kw = {"precision": "bf16", **kw}
    raises_field(simulate_plans, m, s, plan_arrays(**PLAN), field=field, value=value, **kw)


def test_simulate_plans_objects(train):
    m, s = train
    p = plan_arrays(**PLAN)
    raises_field(simulate_plans, "llama3-8b", s, p, field="model", value="str")  # AttributeError
    raises_field(simulate_plans, m, "dgx-h100-cluster:64", p, field="system", value="str")
    spec = TrainingSpec(seq_len=8192, global_batch=128, tp=2, pp=2)
    raises_field(from_spec, spec, "64", field="chips", value="64")  # TypeError
    raises_field(from_spec, spec, 0, field="chips", value=0)
    raises_field(from_spec, dict(seq_len=8192), 64, field="spec", value="dict")
    raises_field(check_plans, p, m, 64.0, field="chips", value=64.0)
    assert isinstance(PodsimError, type) and issubclass(SpecError, PodsimError)


# ---------------------------------------------------------------- serving


@pytest.fixture(scope="module")
def serve():
    from podsim.serving.predict import config_for
    from podsim.spec.jobs import ServingSpec

    m = catalog.model("llama3-70b")
    s = resolve_system("dgx-h100-cluster", 16)
    spec = ServingSpec(precision="fp8", phase="decode", input_len=2048, output_len=512, tp=8)
    return m, s, spec, config_for(m, s, spec)


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        (dict(step_overhead=-1.0), "step_overhead", -1.0),  # IndexError in choose_batch
        (dict(step_overhead=float("nan")), "step_overhead", None),  # IndexError
        (dict(step_overhead=float("inf")), "step_overhead", None),  # batch 1, TPOT inf
        (dict(step_overhead="1 ms"), "step_overhead", "1 ms"),  # ValueError from float()
        (dict(moe_imbalance="2"), "moe_imbalance", "2"),  # TypeError
        (dict(output_cv=None), "output_cv", None),  # TypeError
        (dict(output_cv="0.5"), "output_cv", "0.5"),
        (dict(prefix_hit=None), "prefix_hit", None),
        (dict(max_output_len="4k"), "max_output_len", "4k"),
    ],
)
def test_simulate_keywords(serve, kw, field, value):
    from podsim.serving.predict import simulate

    m, s, spec, _ = serve
    raises_field(simulate, m, s, spec, field=field, value=value, cls=SpecError, **kw)


def test_simulate_objects_and_unvalidated_specs(serve):
    from podsim.serving.predict import simulate

    m, s, spec, _ = serve
    raises_field(simulate, "llama3-70b", s, spec, field="model", value="str")  # AttributeError
    raises_field(simulate, m, "dgx-h100-cluster:16", spec, field="system", value="str")
    raises_field(simulate, m, s, dict(input_len=2048, output_len=512), field="spec", value="dict")
    # model_copy(update=...) skips pydantic's validation: the config still checks
    bad = spec.model_copy(update=dict(phase="decod"))
    raises_field(simulate, m, s, bad, field="phase", value="decod")  # predicted as end_to_end
    raises_field(simulate, m, s, spec.model_copy(update=dict(batch=0)), field="batch", value=0)


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        (dict(phase="decod"), "phase", "decod"),
        (dict(precision="fp9"), "precision", "fp9"),  # KeyError in evaluate
        (dict(kv_precision="int4"), "kv_precision", "int4"),
        (dict(tp=0), "tp", 0),  # ValueError: cannot convert NaN to integer
        (dict(tp=2.5), "tp", 2.5),  # predicted with 2.5 chips
        (dict(tp="8"), "tp", "8"),
        (dict(dp=0), "dp", 0),
        (dict(ep=0), "ep", 0),  # silently predicted
        (dict(input_len=0), "input_len", 0),  # silently predicted
        (dict(output_len=float("nan")), "output_len", None),  # NaN points, then ValueError
        (dict(input_len="2048"), "input_len", "2048"),
        (dict(draft_tokens=-1), "draft_tokens", -1),  # a batch of 6 chosen
        (dict(acceptance=1.5), "acceptance", 1.5),
        (dict(moe_imbalance=0.0), "moe_imbalance", 0.0),
        (dict(step_overhead=-1.0), "step_overhead", -1.0),  # negative TPOT
        (dict(kv_allocation="x"), "kv_allocation", "x"),  # silently reserved
        (dict(prefix_hit=1.0), "prefix_hit", 1.0),
        (dict(output_cv=float("nan")), "output_cv", None),
        (dict(max_output_len=1.0), "max_output_len", 1.0),
    ],
)
def test_serving_config_fields(serve, kw, field, value):
    from dataclasses import replace

    c = serve[3]
    raises_field(replace, c, field=field, value=value, cls=SpecError, **kw)


@pytest.mark.parametrize(
    "batch", [0, [0], -1, [float("nan")], [float("inf")], 2.5, "8", None, 1e12, [True]]
)
def test_evaluate_batches(serve, batch):
    from podsim.serving.slo import evaluate

    raises_field(evaluate, serve[3], batch, field="batch", cls=SpecError)


def test_evaluate_valid_batches(serve):
    from podsim.serving.slo import evaluate

    c = serve[3]
    a = evaluate(c, [1, 8])
    b = evaluate(c, np.array([1.0, 8.0]))
    assert np.array_equal(a.tpot_s, b.tpot_s)
    assert float(evaluate(c, np.int64(8)).tpot_s[0]) == float(a.tpot_s[1])
    assert evaluate(c, []).tpot_s.size == 0
    raises_field(evaluate, "config", [1], field="config", value="str")


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        (dict(tpot=0), "tpot", 0),  # a divide-by-zero warning and a "reason"
        (dict(tpot=-1), "tpot", -1),
        (dict(tpot=float("nan")), "tpot", None),  # ValueError: All-NaN slice
        (dict(tpot="50 ms"), "tpot", "50 ms"),  # numpy UFuncTypeError
        (dict(ttft=0.0), "ttft", 0.0),
        (dict(ttft=float("inf")), "ttft", None),
    ],
)
def test_choose_batch_targets(serve, kw, field, value):
    from podsim.serving.slo import choose_batch

    raises_field(choose_batch, serve[3], field=field, value=value, cls=SpecError, **kw)


def test_choose_batch_numpy_target(serve):
    from podsim.serving.slo import choose_batch

    c = serve[3]
    a = choose_batch(c, tpot=0.05)
    b = choose_batch(c, tpot=np.float64(0.05))
    assert a.constrained == b.constrained and a.constrained is not None


@pytest.fixture(scope="module")
def pools(serve):
    from dataclasses import replace

    c = serve[3]
    return replace(c, phase="prefill"), c


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        (dict(chips=0), "chips", 0),  # ZeroDivisionError
        (dict(chips=-16), "chips", -16),  # silently no pools
        (dict(chips=16.5), "chips", 16.5),  # TypeError
        (dict(chips="16"), "chips", "16"),
        (dict(chips=True), "chips", True),  # read as 1 chip
        (dict(chips=HUGE), "chips", HUGE),  # a loop over 10**29 instances
        (dict(tpot=float("nan")), "tpot", None),
    ],
)
def test_disaggregate_arguments(pools, kw, field, value):
    from podsim.serving.disagg import disaggregate

    raises_field(disaggregate, *pools, field=field, value=value, cls=SpecError, **kw)


def test_disaggregate_configs(pools):
    from dataclasses import replace

    from podsim.serving.disagg import disaggregate

    pre, dec = pools
    assert disaggregate(pre, dec, chips=16).prefill_chips is not None
    # the decode pool sized for other prompts than the prefill pool computes
    raises_field(disaggregate, pre, replace(dec, input_len=100.0), field="input_len", value=100.0)
    raises_field(disaggregate, dict(phase="prefill"), dec, field="prefill", value="dict")


# ---------------------------------------------------------------- systems, goodput, sweeps


@pytest.mark.parametrize("ref", [None, 5, ["dgx-h100-cluster"]])
def test_system_reference_is_text(ref):
    from podsim.hardware.resolve import resolve_system_arg

    raises_field(resolve_system_arg, ref, None, field="system", cls=SpecError)  # AttributeError


def test_system_reference_path_object(tmp_path):
    from podsim.hardware.resolve import resolve_system_arg

    # a pathlib.Path is read as its text (a missing file is the loader's own error)
    with pytest.raises(PodsimError):
        resolve_system_arg(tmp_path / "missing.yaml", None)


@pytest.fixture(scope="module")
def job():
    return (
        catalog.model("llama3-8b"),
        resolve_system("dgx-h100-cluster", 64),
        TrainingSpec(seq_len=8192, global_batch=128, tp=2, pp=2),
    )


@pytest.mark.parametrize(
    ("days", "value"),
    [
        (0, 0.0),  # silently accepted
        (-1, -1.0),
        (float("nan"), None),
        (float("inf"), None),
        (1e9, 1e9),
        ("30", "30"),  # TypeError
        (None, None),
    ],
)
def test_goodput_days(job, days, value):
    from podsim.reliability.goodput import goodput_for_job

    raises_field(goodput_for_job, *job, days=days, field="days", value=value, cls=SpecError)


def test_goodput_objects_and_report_numbers(job):
    from podsim.reliability.goodput import goodput_for_job, goodput_report

    m, s, plan = job
    pt, rep, _ = goodput_for_job(m, s, plan, days=np.float64(30))
    assert 0 < rep.goodput <= 1 and pt.tokens_per_s > 0
    raises_field(goodput_for_job, "llama3-8b", s, plan, days=30, field="model", value="str")
    raises_field(goodput_for_job, m, s, dict(seq_len=8192), days=30, field="plan", value="dict")
    raises_field(goodput_for_job, m, s, plan, days=30, params="x", field="params", value="str")
    kw = dict(days=30, state_bytes_per_chip=1e9)
    raises_field(
        goodput_report,
        s,
        **{**kw, "state_bytes_per_chip": float("nan")},
        field="state_bytes_per_chip",
    )
    raises_field(goodput_report, s, **kw, tokens_per_s=float("nan"), field="tokens_per_s")
    raises_field(goodput_report, s, **kw, step_time_s=-1.0, field="step_time_s", value=-1.0)


def test_sweep_arguments(tmp_path):
    from podsim.sweep import load_results, query, run_sweep
    from podsim.sweep.spec import builtin_sweeps, load_sweep

    spec = load_sweep(builtin_sweeps()[0])
    out = tmp_path / "out"
    for w in (1.5, "2", True):
        raises_field(run_sweep, spec, out, workers=w, field="workers", value=w)
    raises_field(run_sweep, builtin_sweeps()[0], out, field="spec", value="str")  # AttributeError
    raises_field(run_sweep, spec, None, field="out")  # TypeError
    raises_field(load_results, 5, field="out", value=5)
    raises_field(query, None, "select 1", field="out")
    raises_field(query, tmp_path, None, field="sql")  # AttributeError
    assert not out.exists()


def test_catalog_lookups_and_validation_files_name_a_wrong_argument() -> None:
    from pathlib import Path

    from podsim import catalog
    from podsim.errors import PodsimError
    from podsim.validate.runner import BUILTIN_CASES, run_files

    for kind, bad in (("model", None), ("system", 5), ("chip", "")):
        with pytest.raises(PodsimError) as exc:
            getattr(catalog, kind)(bad)
        assert exc.value.field == kind
    assert catalog.model(Path(catalog.DATA / "models" / "llama3-8b.yaml")).name
    # one path is one file (it was read as the characters of its name)
    assert len(run_files(str(BUILTIN_CASES))) == len(run_files([BUILTIN_CASES]))
    for bad in (None, [None], 5):
        with pytest.raises(PodsimError) as exc:
            run_files(bad)
        assert exc.value.field == "files"
