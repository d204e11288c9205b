"""The planner's Python API checks its arguments with the rules of `podsim plan train|serve`:
a bad input is a SpecError naming the field and the value, never a ZeroDivisionError,
IndexError, OverflowError, KeyError or a silently accepted wrong request."""

from __future__ import annotations

import numpy as np
import pytest

from field_error import raises_field
from podsim import catalog
from podsim.errors import PodsimError, SpecError
from podsim.hardware.system import resolve_system
from podsim.planner.pareto import training_pareto
from podsim.planner.search import default_global_batch, search_training
from podsim.planner.serve import search_serving
from podsim.planner.space import SpaceOptions
from podsim.sweep.spec import parse_sweep
from podsim_process import podsim

HUGE = 10**30


def _raises_spec(fn, *args, **kw) -> str:
    return raises_field(fn, *args, cls=SpecError, **kw)


@pytest.fixture(scope="module")
def small():
    return catalog.model("llama3-8b"), resolve_system("dgx-h100-cluster", 8)


TRAIN = dict(global_batch=64, seq_len=4096)


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        (dict(seq_len=0), "seq_len", 0),  # a ZeroDivisionError with no global batch
        (dict(seq_len=-5), "seq_len", -5),
        (dict(seq_len=HUGE), "seq_len", HUGE),  # OverflowError
        (dict(seq_len=4096.5), "seq_len", 4096.5),
        (dict(seq_len=True), "seq_len", True),
        (dict(global_batch=0), "global_batch", 0),
        (dict(global_batch=HUGE), "global_batch", HUGE),  # TypeError deep in numpy
        (dict(top=0), "top", 0),
        (dict(top=HUGE), "top", HUGE),
        (dict(precision="fp7"), "precision", "fp7"),  # KeyError
        (dict(objective="speed"), "objective", "speed"),
        (dict(moe_imbalance=float("nan")), "moe_imbalance", None),
        (dict(moe_imbalance=0.5), "moe_imbalance", 0.5),
        (dict(options=SpaceOptions(tp_cap=0)), "tp_cap", 0),  # silently searched tp 1 only
        (dict(options=SpaceOptions(tp_cap=HUGE)), "tp_cap", HUGE),
        (dict(options=SpaceOptions(pp_cap=0)), "pp_cap", 0),
        (dict(options=SpaceOptions(vpp=(0,))), "vpp.0", 0),  # divide-by-zero warnings, a plan
        (dict(options=SpaceOptions(cp=(1, 0))), "cp.1", 0),
        (dict(options=SpaceOptions(zero=(5,))), "zero.0", 5),
        (dict(options=SpaceOptions(recompute=(7,))), "recompute.0", 7),  # KeyError
        (dict(options=SpaceOptions(vpp=())), "vpp", None),
        (dict(options=SpaceOptions(micro_batch_cap=-1)), "micro_batch_cap", -1),
        (dict(options={"tp_cap": 8}), "options", None),
    ],
)
def test_search_training_rejects_bad_arguments(small, kw, field, value) -> None:
    m, s = small
    _raises_spec(search_training, m, s, **{**TRAIN, **kw}, field=field, value=value)


def test_search_training_takes_numpy_ints_and_a_default_batch(small) -> None:
    m, s = small
    r = search_training(m, s, global_batch=None, seq_len=np.int64(4096), top=np.int64(1))
    assert r.seq_len == 4096 and r.global_batch == default_global_batch(4096)
    assert len(r.best) == 1


def test_default_global_batch_checks_the_sequence_length() -> None:
    _raises_spec(default_global_batch, 0, field="seq_len", value=0)


def test_training_pareto_checks_once_before_searching(small) -> None:
    m, s = small
    # every chip count used to be an error row naming seq_len; now one SpecError up front
    _raises_spec(training_pareto, m, s, [8, 16], global_batch=64, seq_len=0, field="seq_len")


SERVE = dict(input_len=1024, output_len=256)


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        (dict(input_len=0), "input_len", 0),  # silently evaluated
        (dict(input_len=HUGE), "input_len", HUGE),
        (dict(output_len=0), "output_len", 0),  # ZeroDivisionError
        (dict(output_len=-1), "output_len", -1),  # a misleading 'does not fit' PlanError
        (dict(top=0), "top", 0),  # IndexError
        (dict(draft_tokens=-1), "draft_tokens", -1),  # silently evaluated
        (dict(draft_tokens=1000), "draft_tokens", 1000),
        (dict(acceptance=2.0), "acceptance", 2.0),
        (dict(acceptance=float("nan"), draft_tokens=1), "acceptance", None),  # ValueError
        (dict(acceptance=0.5), "acceptance", 0.5),  # ignored without draft tokens
        (dict(tpot=0.0), "slo.tpot", 0.0),
        (dict(tpot=float("nan")), "slo.tpot", None),  # All-NaN slice ValueError
        (dict(ttft=float("inf")), "slo.ttft", None),  # taken as no target
        (dict(precision="fp7"), "precision", "fp7"),
        (dict(kv_precision="fp7"), "kv_precision", "fp7"),
        (dict(tp_cap=0), "tp_cap", 0),
        (dict(pp_cap=0), "pp_cap", 0),
        (dict(phase="both"), "phase", "both"),
        (dict(objective="speed"), "objective", "speed"),
        (dict(phase="disaggregated", network="ib"), "network", "ib"),  # 'no plan meets targets'
        (dict(workers=0), "workers", 0),
        (dict(output_cv=float("nan")), "output_cv", None),
        (dict(prefix_hit=1.0), "prefix_hit", 1.0),
        (dict(kv_allocation="lazy"), "kv_allocation", "lazy"),
    ],
)
def test_search_serving_rejects_bad_arguments(small, kw, field, value) -> None:
    m, s = small
    _raises_spec(search_serving, m, s, **{**SERVE, **kw}, field=field, value=value)


def test_search_serving_takes_numpy_ints(small) -> None:
    m, s = small
    r = search_serving(m, s, input_len=np.int64(1024), output_len=np.int64(256), top=np.int64(2))
    assert len(r.best) == 2


# --- the CLI and the sweep use the same rules --------------------------------------------------

PLAN_TRAIN = ["plan", "train", "--model", "llama3-8b", "--system", "dgx-h100-cluster", "--chips"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["8", "--precision", "fp7"], "field 'precision'"),  # was a KeyError traceback
        (["8", "--objective", "speed"], "field 'objective'"),
    ],
)
def test_cli_plan_train_uses_the_planner_check(args, needle) -> None:
    res = podsim(*PLAN_TRAIN, *args)
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert needle in err, err


@pytest.mark.parametrize(
    ("axis", "value", "field"),
    [
        ("seq_len", HUGE, "seq_len.0"),
        ("global_batch", [None, HUGE], "global_batch.1"),
    ],
)
def test_sweep_training_axes_have_the_planner_ranges(axis, value, field) -> None:
    raw = {"kind": "training", "models": "llama3-8b", "systems": "dgx-h100-cluster", axis: value}
    with pytest.raises(SpecError) as exc:
        parse_sweep(raw)
    assert f"field '{field}'" in str(exc.value), str(exc.value)


@pytest.mark.parametrize(
    ("axis", "value", "field"),
    [
        ("input_len", HUGE, "input_len.0"),
        ("output_len", [1, HUGE], "output_len.1"),
        ("draft_tokens", 1000, "draft_tokens.0"),
        ("prefix_hit", False, "prefix_hit.0"),  # a YAML boolean was read as 0.0
        ("prefix_hit", float("nan"), "prefix_hit.0"),
    ],
)
def test_sweep_serving_axes_have_the_planner_ranges(axis, value, field) -> None:
    raw = {"kind": "serving", "models": "llama3-8b", "systems": "dgx-h100-cluster", axis: value}
    with pytest.raises(SpecError) as exc:
        parse_sweep(raw)
    assert f"field '{field}'" in str(exc.value), str(exc.value)


def test_errors_are_podsim_errors() -> None:
    assert issubclass(SpecError, PodsimError)
