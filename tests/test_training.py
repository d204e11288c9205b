"""Training model: physical bounds, memory monotonicity, valid/invalid plans, vectorisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsim import catalog
from podsim.errors import PlanError
from podsim.hardware.system import resolve_system
from podsim.spec.jobs import TrainingSpec
from podsim.training.plan import from_spec, plan_arrays, raise_if_invalid
from podsim.training.step import simulate_plans
from podsim.workload.layers import model_flops_per_token
from podsim.workload.params import param_counts

LLAMA70 = catalog.model("llama3-70b")
DSV3 = catalog.model("deepseek-v3")
H100 = resolve_system("dgx-h100-cluster")


def _plans(n_chips: int, **fixed):
    """Every combination of small degrees, as arrays (valid and invalid mixed)."""
    grid = np.array(
        np.meshgrid(
            [1, 2, 4, 8],
            [1, 2, 4, 8],
            [1, 2],
            [1, 2],
            [0, 1, 2, 3],
            [0, 1, 2],
            [1, 2],
            indexing="ij",
        )
    ).reshape(7, -1)
    tp, pp, vpp, cp, zero, rc, mb = grid
    dp = n_chips // (tp * pp * cp)
    kw = dict(
        tp=tp,
        pp=pp,
        vpp=vpp,
        cp=cp,
        ep=1,
        dp=np.maximum(dp, 1),
        zero=zero,
        recompute=rc,
        micro_batch=mb,
        global_batch=256,
        seq_len=4096,
        sequence_parallel=tp > 1,
        uneven_pp=False,
    )
    kw.update(fixed)
    return plan_arrays(**kw)


def test_no_plan_beats_peak_flops_and_valid_plans_have_finite_positive_step_time() -> None:
    system = H100.scaled(64)
    res = simulate_plans(LLAMA70, system, _plans(64), "fp8")
    v = res.valid
    assert v.any() and (~v).any()
    assert np.all(np.isfinite(res.step_time[v])) and np.all(res.step_time[v] > 0)
    assert np.all(res.hfu[v] <= 1.0) and np.all(res.mfu[v] <= res.hfu[v] + 1e-12)
    assert np.all(np.isnan(res.step_time[~v]))


@settings(max_examples=40, deadline=None)
@given(
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4]),
    mb=st.sampled_from([1, 2, 4]),
    seq=st.sampled_from([2048, 4096, 8192]),
    zero=st.integers(0, 3),
    rc=st.sampled_from(["none", "selective", "full"]),
    prec=st.sampled_from(["bf16", "fp8"]),
)
def test_model_flops_rate_never_exceeds_the_chips_peak(tp, pp, mb, seq, zero, rc, prec) -> None:
    chips = 128
    spec = TrainingSpec(
        precision=prec,
        seq_len=seq,
        global_batch=512,
        micro_batch=mb,
        tp=tp,
        pp=pp,
        zero=zero,
        recompute=rc,
    )
    plan = from_spec(spec, chips)
    res = simulate_plans(LLAMA70, H100.scaled(chips), plan, prec)
    if not bool(res.valid):
        return
    achieved = model_flops_per_token(LLAMA70, seq) * res.tokens_per_s / chips
    assert float(achieved) <= H100.chip.peak_flops(prec)
    assert 0 < float(res.step_time) < np.inf


@pytest.mark.parametrize("model", [LLAMA70, DSV3])
def test_weight_and_optimizer_memory_never_grow_with_the_zero_stage(model) -> None:
    ep = 8 if model.moe else 1
    plans = plan_arrays(
        tp=2,
        pp=4,
        vpp=1,
        cp=1,
        ep=ep,
        dp=16,
        zero=np.arange(4),
        recompute=0,
        micro_batch=1,
        global_batch=256,
        seq_len=4096,
        sequence_parallel=True,
        uneven_pp=True,
    )
    mem = simulate_plans(model, H100.scaled(128), plans, "bf16").memory
    states = mem.weights + mem.gradients + mem.optimizer
    assert np.all(np.diff(states) <= 1e-6)
    assert np.all(np.diff(mem.optimizer) <= 1e-6)


@settings(max_examples=30, deadline=None)
@given(
    dp_small=st.sampled_from([1, 2, 4, 8]),
    factor=st.sampled_from([2, 4, 8]),
    zero=st.integers(0, 3),
)
def test_more_chips_never_need_more_memory_per_chip_for_the_same_plan(dp_small, factor, zero):
    def mem(dp):
        p = plan_arrays(
            tp=4,
            pp=2,
            vpp=1,
            cp=1,
            ep=1,
            dp=dp,
            zero=zero,
            recompute=0,
            micro_batch=1,
            global_batch=dp_small * factor * 8,
            seq_len=4096,
            sequence_parallel=True,
            uneven_pp=False,
        )
        return float(simulate_plans(LLAMA70, H100.scaled(8 * dp), p, "bf16").memory.total)

    assert mem(dp_small * factor) <= mem(dp_small) + 1e-6


def test_vectorised_call_matches_scalar_calls() -> None:
    system = H100.scaled(64)
    plans = _plans(64)
    res = simulate_plans(LLAMA70, system, plans, "fp8")
    idx = np.flatnonzero(res.valid)[:: max(1, res.valid.sum() // 12)]
    for i in idx:
        one = simulate_plans(LLAMA70, system, plans.take(i), "fp8")
        assert float(one.step_time) == pytest.approx(float(res.step_time[i]), rel=1e-12)


def test_breakdown_adds_up_to_the_step_time() -> None:
    spec = TrainingSpec(
        precision="fp8",
        seq_len=4096,
        global_batch=1152,
        micro_batch=1,
        tp=2,
        pp=8,
        vpp=4,
        ep=4,
        zero=1,
        recompute="selective",
    )
    plan = from_spec(spec, 288, uneven_pp=True)
    res = simulate_plans(DSV3, resolve_system("gb200-nvl72-cluster", 288), plan, "fp8")
    total = sum(float(v) for v in res.breakdown.values())
    assert total == pytest.approx(float(res.step_time), rel=1e-9)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        (dict(tp=3), "tp*pp*cp*dp"),
        (dict(tp=16, dp=1, pp=4), "kv_heads 8 not divisible by tp 16"),
        (dict(pp=3, dp=1, tp=1), "layers 80 not divisible by pp*vpp"),
    ],
)
def test_invalid_plans_are_reported_with_the_reason(kw, reason) -> None:
    base = dict(seq_len=4096, global_batch=64)
    spec = TrainingSpec(**{**base, **kw})
    plan = from_spec(spec, 64)
    with pytest.raises(PlanError) as exc:
        raise_if_invalid(plan, LLAMA70, 64)
    assert reason in str(exc.value)


def test_heads_not_divisible_by_tp_is_named() -> None:
    m = LLAMA70.model_copy(update={"heads": 60, "kv_heads": 4})
    plan = from_spec(TrainingSpec(seq_len=4096, global_batch=64, tp=8), 64)
    with pytest.raises(PlanError, match="heads 60 not divisible by tp 8"):
        raise_if_invalid(plan, m, 64)


def test_model_flops_match_the_six_n_rule_for_a_dense_model() -> None:
    # 6 * params per token plus the attention term; attention is small at 2k context
    n = param_counts(LLAMA70).total - LLAMA70.vocab * LLAMA70.hidden  # no input embedding FLOPs
    f = float(model_flops_per_token(LLAMA70, 2048))
    assert 6 * n < f < 6 * n * 1.08


def test_scale_up_domain_helps_tensor_parallel_communication() -> None:
    """TP 16 inside a 72-GPU NVLink domain costs less exposed TP time than across 8-GPU nodes."""
    spec = TrainingSpec(
        precision="bf16", seq_len=4096, global_batch=64, tp=16, pp=1, sequence_parallel=False
    )
    big = simulate_plans(
        LLAMA70, resolve_system("gb200-nvl72-cluster", 144), from_spec(spec, 144), "bf16"
    )
    # same chip, 8-GPU scale-up domain
    from dataclasses import replace

    gb = resolve_system("gb200-nvl72-cluster", 144)
    small_levels = (
        (replace(gb.levels[0], size=8), *gb.levels[1:]) if gb.levels[0].size > 8 else gb.levels
    )
    small_levels = tuple(replace(lv, size=8) if lv.scale_up else lv for lv in small_levels)
    small = simulate_plans(LLAMA70, replace(gb, levels=small_levels), from_spec(spec, 144), "bf16")
    assert float(big.breakdown["tp_exposed"]) < float(small.breakdown["tp_exposed"])


def test_results_convert_to_a_dataframe_one_row_per_plan() -> None:
    plans = _plans(64)
    res = simulate_plans(LLAMA70, H100.scaled(64), plans, "fp8")
    df = res.to_frame(plans)
    assert len(df) == res.valid.size
    assert {"tp", "pp", "step_time_s", "mfu", "fits", "t_pipeline_bubble_s"} <= set(df.columns)
    assert df["valid"].sum() == int(res.valid.sum())


def test_small_moe_layers_are_host_bound_at_small_micro_batches() -> None:
    """A small-expert MoE model on 8 chips: the eager framework's kernel launches bound a layer,
    so one 4096-token micro-batch is no faster per token than the host allows, and a larger
    micro-batch amortises the host time (more tokens/s per chip)."""
    from podsim.cost.compute import compute_calibration
    from podsim.training import step as training_step

    qwen = catalog.model("qwen3-30b-a3b")
    system = resolve_system("dgx-b200-cluster", 8)

    def run(mb: int):
        spec = TrainingSpec(
            precision="fp8", seq_len=4096, global_batch=512, micro_batch=mb, ep=8, zero=1
        )
        return simulate_plans(qwen, system, from_spec(spec, 8), "fp8")

    one, four = run(1), run(4)
    host_mb = (
        3.0  # forward + backward (twice the kernels)
        * qwen.moe_layers
        * (
            training_step.KERNELS_DENSE_LAYER
            + training_step.KERNELS_MOE_EXTRA
            + training_step.KERNELS_PER_LOCAL_EXPERT * qwen.moe.experts / 8
        )
        * compute_calibration(system.chip.family).host_kernel_s
    )
    per_mb = float(one.step_time) / (512 / 8)  # 64 micro-batches of one sequence per chip
    assert per_mb >= host_mb
    assert float(four.tokens_per_s_per_chip) > 1.5 * float(one.tokens_per_s_per_chip)
    # the breakdown names the bound: host time beyond the GPU's work
    assert float(one.breakdown["host_bound"]) > 0.5 * float(one.step_time)
    dense = simulate_plans(LLAMA70, H100.scaled(64), _plans(64).take(0), "bf16")
    assert float(np.nan_to_num(dense.breakdown["host_bound"])) == 0.0


def test_compiled_frameworks_have_no_host_floor() -> None:
    """TPU steps are one compiled XLA program: no per-kernel host time, unlike eager GPU stacks."""
    from podsim.cost.compute import compute_calibration

    assert compute_calibration("tpu-v7").host_kernel_s == 0.0
    assert compute_calibration("hopper").host_kernel_s > 0.0


def test_expert_all_to_all_is_exposed_unless_overlapped() -> None:
    """Without ep_overlap the expert dispatch/combine is on the critical path (Megatron-Core's
    default); with it (podsim's default) it hides behind compute, never making the step
    slower."""
    spec = TrainingSpec(precision="fp8", seq_len=4096, global_batch=1024, ep=32, zero=1)
    system = H100.scaled(256)
    plan = from_spec(spec, 256)
    off = simulate_plans(DSV3, system, plan, "fp8", ep_overlap=False)
    on = simulate_plans(DSV3, system, plan, "fp8")
    assert float(off.breakdown["ep_exposed"]) > 0.0
    assert float(on.breakdown["ep_exposed"]) < float(off.breakdown["ep_exposed"])
    assert float(on.step_time) <= float(off.step_time)


def test_gemms_of_few_rows_are_less_efficient() -> None:
    """The row-fill law: efficiency factor M/(M+m0) rises with the rows (tokens), halves at m0
    and never exceeds 1."""
    from podsim.cost.compute import compute_calibration, row_fill

    m0 = compute_calibration("hopper").gemm_m0
    f = row_fill(np.array([16.0, m0, 1024.0, 65536.0]), m0)
    assert np.all(np.diff(f) > 0) and f[1] == pytest.approx(0.5) and np.all(f <= 1.0)


def test_interleaving_with_a_short_last_microbatch_group_is_a_plan_error_but_a_published_run() -> (
    None
):
    """18 micro-batches on 4 stages with vpp 2: the textbook interleaved schedule needs a
    multiple of pp, so a planned layout is rejected with the reason; a published run
    (Megatron-Core groups micro-batches per virtual stage and lets the last group be short)
    is predicted."""
    spec = TrainingSpec(seq_len=4096, global_batch=36, micro_batch=1, tp=8, pp=4, vpp=2, dp=2)
    with pytest.raises(PlanError) as exc:
        raise_if_invalid(from_spec(spec, 64), LLAMA70, 64)
    assert "micro-batches divisible by pp" in str(exc.value)
    plan = from_spec(spec, 64, uneven_pp=True)
    with pytest.raises(PlanError):  # the planner's uneven stages do not allow it
        raise_if_invalid(plan, LLAMA70, 64)
    raise_if_invalid(plan, LLAMA70, 64, published=True)
    res = simulate_plans(LLAMA70, H100.scaled(64), plan, "bf16", published=True)
    assert np.isfinite(float(res.step_time)) and float(res.step_time) > 0
    assert not bool(simulate_plans(LLAMA70, H100.scaled(64), plan, "bf16").valid)
