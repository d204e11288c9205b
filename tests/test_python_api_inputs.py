"""The Python API a notebook calls beyond the planner checks its arguments: a bad input is a
PodsimError naming the field and the value, never a KeyError, IndexError, ZeroDivisionError or
numpy broadcasting error from deep inside the model, and never a silently wrong answer (a
fractional degree truncated, a zero batch predicted, a negative overhead giving a negative
time). Layouts that do not fit the model or the chips stay flagged per plan (``valid``)."""

from __future__ import annotations

import numpy as np
import pytest

from podsim import catalog
from podsim.errors import PlanError, PodsimError, SpecError
from podsim.hardware.system import resolve_system
from podsim.spec.jobs import TrainingSpec
from podsim.training.plan import check_plans, from_spec, plan_arrays
from podsim.training.step import simulate_plans

HUGE = 10**30


def _raises(fn, *args, field: str, value=None, cls=PodsimError, **kw) -> str:
    with pytest.raises(cls) as exc:
        fn(*args, **kw)
    msg = str(exc.value)
    assert exc.value.field == field, msg
    assert f"field '{field}'" in msg, msg
    if value is not None:
        assert repr(value) in msg, msg
    assert "\n" not in msg, msg
    return msg


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
    msg = _raises(plan_arrays, field=field, cls=PlanError, **{**PLAN, field: value})
    if isinstance(value, int) and not isinstance(value, bool):
        assert repr(value) in msg


def test_plan_fields_missing_unknown_and_shapes():
    _raises(plan_arrays, field="pp", cls=PlanError, tp=1)  # KeyError 'pp'
    _raises(plan_arrays, field="pipeline", cls=PlanError, **PLAN, pipeline=2)
    # a numpy broadcasting ValueError
    msg = _raises(
        plan_arrays, field="plan", cls=PlanError, **{**PLAN, "tp": [1, 2], "pp": [1, 2, 4]}
    )
    assert "tp (2,)" in msg and "pp (3,)" in msg


def test_a_plan_built_directly_is_checked(train):
    m, s = train
    from dataclasses import replace

    p = plan_arrays(**PLAN)
    _raises(simulate_plans, m, s, replace(p, tp=np.array(0)), "bf16", field="tp", value=0)
    _raises(check_plans, replace(p, pp=np.array([1.5])), m, 64, field="pp", value=1.5)
    _raises(simulate_plans, m, s, dict(PLAN), "bf16", field="plan", value="dict")


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
    _raises(simulate_plans, m, s, plan_arrays(**PLAN), field=field, value=value, **kw)


def test_simulate_plans_objects(train):
    m, s = train
    p = plan_arrays(**PLAN)
    _raises(simulate_plans, "llama3-8b", s, p, field="model", value="str")  # AttributeError
    _raises(simulate_plans, m, "dgx-h100-cluster:64", p, field="system", value="str")
    spec = TrainingSpec(seq_len=8192, global_batch=128, tp=2, pp=2)
    _raises(from_spec, spec, "64", field="chips", value="64")  # TypeError
    _raises(from_spec, spec, 0, field="chips", value=0)
    _raises(from_spec, dict(seq_len=8192), 64, field="spec", value="dict")
    _raises(check_plans, p, m, 64.0, field="chips", value=64.0)
    assert isinstance(PodsimError, type) and issubclass(SpecError, PodsimError)
