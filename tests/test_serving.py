"""Serving model: KV hand counts, physics bounds, monotonicity, SLO choice, errors, cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsim import catalog
from podsim.errors import PlanError, SpecError
from podsim.hardware.system import resolve_system
from podsim.serving.capacity import weight_bytes_per_chip
from podsim.serving.kv import kv_bytes_per_sequence, kv_bytes_per_token, kv_bytes_per_token_per_chip
from podsim.serving.predict import simulate
from podsim.serving.slo import ServingConfig, choose_batch, evaluate
from podsim.serving.step import serving_step
from podsim.spec.jobs import ServingSpec
from podsim.workload.params import param_counts

SYSTEMS = {
    "h100": ("dgx-h100-cluster", 8),
    "b200": ("dgx-b200-cluster", 8),
    "gb200": ("gb200-nvl72", 72),
    "mi300x": ("mi300x-cluster", 8),
    "cm384": ("cloudmatrix-384", 384),
}


def _sys(key: str, chips: int | None = None):
    sid, n = SYSTEMS[key]
    return resolve_system(sid, chips or n)


# ------------------------------------------------------------------ KV cache, hand counts


def test_kv_llama3_70b_hand_count() -> None:
    m = catalog.model("llama3-70b")
    # 80 layers x (K + V) x 8 KV heads x 128 dims x 2 bytes (bf16)
    assert kv_bytes_per_token(m, "bf16") == 80 * 2 * 8 * 128 * 2 == 327_680
    assert kv_bytes_per_token(m, "fp8") == 163_840
    # TP 8 splits the 8 KV heads; TP 16 cannot split further (a head is replicated)
    assert float(kv_bytes_per_token_per_chip(m, "bf16", tp=8)) == 327_680 / 8
    assert float(kv_bytes_per_token_per_chip(m, "bf16", tp=16)) == 327_680 / 8
    # PP 4 holds 20 layers per stage
    assert float(kv_bytes_per_token_per_chip(m, "bf16", pp=4)) == 327_680 / 4
    assert float(kv_bytes_per_sequence(m, 4096, "bf16", tp=8)) == 4096 * 327_680 / 8


def test_kv_deepseek_v3_mla_hand_count() -> None:
    m = catalog.model("deepseek-v3")
    # MLA: latent 512 + rotary key 64 per layer per token, 61 layers, shared by all heads
    assert kv_bytes_per_token(m, "bf16") == 61 * (512 + 64) * 2 == 70_272
    # the latent is replicated on every TP rank
    assert float(kv_bytes_per_token_per_chip(m, "bf16", tp=8)) == 70_272
    # MTP module caches its own layer when it drafts
    assert kv_bytes_per_token(m, "bf16", mtp=True) == (61 + m.mtp_layers) * 576 * 2


def test_weights_per_chip_llama70b_fp8_tp8() -> None:
    m = catalog.model("llama3-70b")
    w = float(weight_bytes_per_chip(m, "fp8", tp=8))
    # ~70.6e9 parameters: layers in fp8, embedding + head (2 x 128256 x 8192) in bf16, over 8
    assert 8.5e9 < w < 9.5e9


# ------------------------------------------------------------------ physics and monotonicity

dense_models = st.sampled_from(["llama3-8b", "llama3-70b", "qwen3-32b"])
systems = st.sampled_from(list(SYSTEMS))
precisions = st.sampled_from(["bf16", "fp8", "fp4"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=dense_models,
    key=systems,
    prec=precisions,
    tp=st.sampled_from([1, 2, 4, 8]),
    batch=st.integers(1, 512),
    ctx=st.integers(16, 32768),
)
def test_decode_never_beats_memory_bandwidth(model, key, prec, tp, batch, ctx) -> None:
    """Each decode step must read the chip's weights and its sequences' KV at least once."""
    m = catalog.model(model)
    sysm = _sys(key)
    st_ = serving_step(m, sysm, seqs=batch, context=ctx, tp=tp, precision=prec)
    w = float(weight_bytes_per_chip(m, prec, tp=tp))
    kv = batch * float(kv_bytes_per_sequence(m, ctx, None, tp=tp))
    floor = (w + kv) / sysm.chip.hbm_bandwidth.value
    assert float(st_.time) >= floor * (1 - 1e-9)
    per_chip = batch / float(st_.time) / tp
    assert per_chip <= batch / floor / tp * (1 + 1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(["llama3-70b", "deepseek-v3", "qwen3-30b-a3b"]),
    key=systems,
    prec=precisions,
    ctx=st.integers(128, 16384),
)
def test_moe_decode_reads_at_least_non_expert_weights(model, key, prec, ctx) -> None:
    m = catalog.model(model)
    sysm = _sys(key)
    ep = 8 if m.moe is not None else 1
    b = np.array([1.0, 16.0, 256.0])
    res = serving_step(m, sysm, seqs=b, context=ctx, ep=ep, dp=ep, precision=prec)
    from podsim.workload.params import param_counts

    pc = param_counts(m)
    non_expert = pc.non_expert_params - pc.mtp  # every layer's dense part, read each step
    floor = non_expert * 0.5 / sysm.chip.hbm_bandwidth.value  # >= half a byte per weight
    assert np.all(res.time >= floor)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(["llama3-8b", "llama3-70b", "deepseek-v3", "mixtral-8x22b"]),
    key=systems,
    prec=precisions,
    ctx=st.integers(64, 8192),
    phase=st.sampled_from(["decode", "end_to_end"]),
)
def test_tpot_grows_with_batch(model, key, prec, ctx, phase) -> None:
    m = catalog.model(model)
    sysm = _sys(key)
    moe = m.moe is not None
    c = ServingConfig(
        m,
        sysm,
        input_len=ctx,
        output_len=256,
        phase=phase,
        precision=prec,
        tp=1 if moe else 8,
        ep=8 if moe else 1,
        dp=8 if moe else 1,
    )
    b = np.arange(1, 600, 7)
    pts = evaluate(c, b)
    assert np.all(np.diff(pts.tpot_s) >= -1e-12)
    assert np.all(np.diff(pts.iteration_s) >= -1e-12)


@pytest.mark.parametrize("target_ms", [20, 40, 80, 200])
def test_chosen_batch_meets_tpot(target_ms) -> None:
    m = catalog.model("llama3-70b")
    c = ServingConfig(m, _sys("h100"), input_len=1024, output_len=512, precision="fp8", tp=8)
    try:
        ch = choose_batch(c, tpot=target_ms / 1e3)
    except PlanError:
        pytest.skip("no batch fits")
    if ch.constrained is None:
        assert ch.reason
        return
    assert ch.constrained["tpot_s"] <= target_ms / 1e3
    # one more sequence would break the target (or the memory limit)
    nxt = evaluate(c, [ch.constrained["batch"] + 1]).take(0)
    assert nxt["tpot_s"] > target_ms / 1e3 or ch.constrained["batch"] + 1 > ch.limit
    # unconstrained: the smallest batch within 1% of the best throughput in memory
    assert (
        ch.unconstrained["tokens_per_s_per_chip"] >= 0.99 * ch.constrained["tokens_per_s_per_chip"]
    )


def test_speculative_decoding_emits_more_tokens_per_step() -> None:
    m = catalog.model("deepseek-v3")
    sysm = _sys("cm384", 160)
    kw = dict(seqs=32, context=4096, ep=160, dp=160, precision="int8")
    plain = serving_step(m, sysm, **kw)
    spec = serving_step(m, sysm, draft_tokens=1, acceptance=0.8, **kw)
    assert float(spec.decode_tokens) == pytest.approx(32 * 1.8)
    assert float(spec.time) > float(plain.time)
    # verifying one more token costs far less than a second step
    assert float(spec.time) < 1.8 * float(plain.time)


def test_breakdown_sums_to_iteration() -> None:
    m = catalog.model("deepseek-v3")
    res = serving_step(
        m,
        _sys("h100"),
        seqs=np.array([1, 64, 512]),
        context=2048,
        ep=8,
        dp=8,
        precision="fp8",
        prefill_tokens=1000,
        prompt_len=2000,
    )
    assert np.allclose(sum(res.breakdown.values()), res.time)
    assert all(np.all(v >= 0) for v in res.breakdown.values())


def test_mla_kv_smaller_than_gqa_equivalent() -> None:
    """MLA's latent cache makes DeepSeek's KV read per token far smaller than MHA's would be."""
    m = catalog.model("deepseek-v3")
    mha = 61 * 2 * 128 * 128 * 2  # K and V of 128 heads x 128 dims, bf16
    assert kv_bytes_per_token(m) < mha / 50


def test_deterministic() -> None:
    m = catalog.model("llama3-70b")
    c = ServingConfig(m, _sys("b200"), input_len=512, output_len=256, precision="fp4", tp=1)
    a = choose_batch(c, tpot=0.05)
    b = choose_batch(c, tpot=0.05)
    assert a.constrained == b.constrained


# ------------------------------------------------------------------ errors


def _spec(**kw) -> ServingSpec:
    base = dict(precision="fp8", input_len=1024, output_len=256)
    base.update(kw)
    return ServingSpec(**base)


def test_batch_whose_kv_cannot_fit() -> None:
    m = catalog.model("llama3-70b")
    with pytest.raises(PlanError, match="KV cache"):
        simulate(m, _sys("h100"), _spec(tp=8, batch=100_000, input_len=32768))


def test_weights_do_not_fit() -> None:
    m = catalog.model("llama3.1-405b")
    with pytest.raises(PlanError, match="weights"):
        simulate(m, _sys("h100", 8), _spec(tp=1))


def test_ep_larger_than_experts() -> None:
    m = catalog.model("mixtral-8x22b")
    with pytest.raises(PlanError, match="experts"):
        simulate(m, _sys("gb200", 16), _spec(ep=16, dp=16))


def test_ep_on_dense_model() -> None:
    with pytest.raises(PlanError, match="mixture-of-experts"):
        simulate(catalog.model("llama3-70b"), _sys("h100"), _spec(ep=8, dp=8))


def test_chips_not_whole_instances() -> None:
    with pytest.raises(PlanError, match="instances"):
        simulate(catalog.model("llama3-70b"), _sys("h100", 8), _spec(tp=3))


def test_tpot_target_below_floor() -> None:
    m = catalog.model("llama3-70b")
    with pytest.raises(PlanError, match="floor"):
        simulate(m, _sys("h100"), _spec(tp=8, slo={"tpot": "0.1 ms"}))


# ------------------------------------------------------------------ validation cases


def test_every_public_serving_case_is_predicted() -> None:
    from pathlib import Path

    from podsim.validate.runner import run_file

    path = Path(__file__).resolve().parents[2] / "shared" / "validation" / "cases.yaml"
    if not path.exists():
        pytest.skip("shared validation cases not present")
    res = [r for r in run_file(path) if r.kind == "serving"]
    assert res
    assert all(r.status == "ok" for r in res), [(r.id, r.reason) for r in res if r.status != "ok"]


# ------------------------------------------------------------------ prefill, TTFT, disaggregation


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(["llama3-8b", "llama3-70b", "deepseek-v3", "qwen3-30b-a3b"]),
    key=systems,
    prec=precisions,
    prompt=st.integers(64, 16384),
    batch=st.integers(1, 16),
)
def test_prefill_never_beats_peak_flops(model, key, prec, prompt, batch) -> None:
    """Prefill tokens/s per chip <= peak FLOP/s / forward FLOPs per token."""
    from podsim.workload.layers import model_flops_per_token

    m = catalog.model(model)
    sysm = _sys(key)
    moe = m.moe is not None
    c = ServingConfig(
        m,
        sysm,
        input_len=prompt,
        output_len=1,
        phase="prefill",
        precision=prec,
        tp=1 if moe else 8,
        ep=8 if moe else 1,
        dp=8 if moe else 1,
    )
    pts = evaluate(c, [batch])
    fwd = float(model_flops_per_token(m, prompt)) / 3.0  # training counts fwd + bwd = 3x fwd
    peak = sysm.chip.peak_flops("fp4")  # the fastest format any GEMM could use
    assert float(pts.prefill_tokens_per_s_per_chip[0]) * fwd <= peak * (1 + 1e-9)


def test_queued_ttft_grows_with_load() -> None:
    m = catalog.model("llama3.1-405b")
    c = ServingConfig(
        m, _sys("b200"), input_len=8192, output_len=512, precision="fp4", tp=4, kv_precision="fp8"
    )
    pts = evaluate(c, np.arange(1, 120, 4))
    assert np.all(np.diff(pts.ttft_s) >= -1e-12)
    assert np.all(pts.ttft_p99_s >= pts.ttft_s)
    # a TTFT target binds before the TPOT target does at this long prompt
    ch = choose_batch(c, tpot=0.2, ttft=3.0)
    assert ch.constrained is not None and ch.constrained["ttft_p99_s"] <= 3.0


def test_disaggregation_balances_pools() -> None:
    from podsim.serving.disagg import disaggregate

    m = catalog.model("deepseek-v3")
    sysm = _sys("cm384", 384)
    kw = dict(input_len=4096, output_len=1024, precision="int8", tp=1, ep=32, dp=32)
    pre = ServingConfig(m, sysm, phase="prefill", **kw)
    dec = ServingConfig(m, sysm, phase="decode", **kw)
    r = disaggregate(pre, dec, tpot=0.05, network="scale_up", chips=384)
    # both pools serve the same request rate
    rate_p = r.prefill_fraction * r.prefill["prefill_tokens_per_s_per_chip"] / 4096
    rate_d = (1 - r.prefill_fraction) * r.decode["decode_tokens_per_s_per_chip"] / 1024
    assert rate_p == pytest.approx(rate_d, rel=1e-9)
    assert r.tokens_per_s_per_chip == pytest.approx(r.requests_per_s_per_chip * 5120)
    # deployed as whole 32-chip instances of each pool; what none fits is idle, and whole
    # instances never beat the ideal (fractional) split
    assert r.prefill_chips % 32 == 0 and r.decode_chips % 32 == 0
    assert r.prefill_chips + r.decode_chips + r.idle_chips == 384
    assert r.idle_chips < 32
    assert 0 < r.tokens_per_s_per_chip_whole_instances <= r.tokens_per_s_per_chip * (1 + 1e-12)
    # a request's KV (61 layers x 576 x 2 bytes x 4096 tokens) crosses UB faster than RoCE
    slow = disaggregate(pre, dec, tpot=0.05, network="scale_out")
    assert r.kv_bytes_per_request == pytest.approx(4096 * 70_272)
    assert slow.kv_transfer_s > r.kv_transfer_s


# ------------------------------------------------------------------ serving GEMM calibration


def test_serving_gemm_efficiency_is_the_training_fit_times_the_forward_ratio() -> None:
    """Every family's serving GEMM efficiency is its compute (training-fitted) efficiency times
    the one pooled forward ratio, at most 1 -- inference runs forward GEMMs only, so the ratio
    is above 1; a per-family serving efficiency (the rule before 2026-11-29) is rejected, not
    silently ignored."""
    from podsim.cost.compute import compute_calibration
    from podsim.serving.calibration import overridden, serving_calibration
    from podsim.serving.step import gemm_efficiency

    ratios = set()
    for fam in ("blackwell", "cdna3", "hopper", "blackwell-ultra", "ascend-910", "ampere"):
        cal = compute_calibration(fam)
        scal = serving_calibration(fam)
        ratios.add(scal.forward_gemm_ratio)
        for prec in ("bf16", "fp8", "fp4"):
            eta = gemm_efficiency(cal, prec, scal)
            assert eta == pytest.approx(
                min(1.0, cal.gemm_efficiency_for(prec) * scal.forward_gemm_ratio)
            )
            assert cal.gemm_efficiency_for(prec) < eta <= 1.0
    assert len(ratios) == 1
    with overridden("hopper", gemm_efficiency_fp8=0.42), pytest.raises(SpecError, match="forward"):
        serving_calibration("hopper")
    with overridden("hopper", forward_gemm_ratio=50.0), pytest.raises(SpecError, match="forward"):
        serving_calibration("hopper")


def test_serving_gemm_efficiency_scales_compute_bound_decode() -> None:
    """A compute-bound iteration's GEMM time grows as the serving GEMM efficiency falls (the
    forward ratio halved: at most twice the time, the memory-bound parts less); the override is
    undone on leaving the context."""
    from podsim.serving.calibration import overridden, serving_calibration

    m = catalog.model("llama3-70b")
    sys_ = _sys("b200")
    kw = dict(prefill_tokens=16384.0, prompt_len=1024.0, tp=1, precision="fp4")
    before = serving_step(m, sys_, **kw).breakdown["gemm_compute"]
    with overridden("blackwell", forward_gemm_ratio=1.5):
        half = serving_step(m, sys_, **kw).breakdown["gemm_compute"]
        with overridden("blackwell", forward_gemm_ratio=0.75):
            quarter = serving_step(m, sys_, **kw).breakdown["gemm_compute"]
    assert float(half) > 0
    assert 1.8 * float(half) < float(quarter) <= 2.0 * float(half) * (1 + 1e-9)
    assert float(serving_step(m, sys_, **kw).breakdown["gemm_compute"]) == float(before)
    assert serving_calibration("blackwell").forward_gemm_ratio != 0.75


def test_serving_fit_case_classes() -> None:
    from podsim.serving.fit import compute_bound, moe_throughput, small_batch
    from podsim.validate.runner import BUILTIN_CASES, load_cases

    cases = [c for _, c in load_cases(BUILTIN_CASES) if getattr(c, "kind", "") == "serving"]
    bound = [c for c in cases if compute_bound(c)]
    assert bound and all(c.model.moe is None and not small_batch(c) for c in bound)
    assert not any(compute_bound(c) and small_batch(c) for c in cases)
    moe = [c for c in cases if moe_throughput(c)]
    assert moe and all(c.model.moe is not None and not small_batch(c) for c in moe)
    assert not any(compute_bound(c) and moe_throughput(c) for c in cases)


def test_serving_fit_on_a_subset_uses_only_those_cases() -> None:
    """The fit works on any subset of cases (what cross-validation needs): one small-batch
    case identifies its family's step overhead and nothing else, and the fitted value predicts
    that case better than none; training cases are ignored."""
    from podsim.serving.calibration import overridden
    from podsim.serving.fit import GRID_S, fit_cases
    from podsim.serving.predict import predict_serving_case
    from podsim.validate.runner import BUILTIN_CASES, load_cases

    cases = dict(load_cases(BUILTIN_CASES))
    case = cases["cloudmatrix384-dsr1-decode-tpot15"]
    training = next(c for c in cases.values() if getattr(c, "kind", "") == "training")
    table = fit_cases([case, training])
    assert set(table) == {"ascend-910"}
    assert set(table["ascend-910"]) == {"step_overhead_s"}
    v = table["ascend-910"]["step_overhead_s"]["value"]
    assert GRID_S[0] <= v <= GRID_S[-1]

    def err(g: float) -> float:
        with overridden("ascend-910", step_overhead_s=g):
            return abs(np.log(predict_serving_case(case)[0] / case.measured.value))

    assert err(v) <= err(float(GRID_S[0])) + 1e-12
    assert err(v) < 0.05  # one parameter, one case: the grid step bounds the residual


def test_serving_forward_ratio_is_pooled_over_families() -> None:
    """The forward GEMM ratio is one value fitted over the compute-bound cases of every family
    given (no per-family GEMM efficiency), and only from at least MIN_FORWARD_CASES of them."""
    from podsim.serving.fit import GRID_FORWARD, MIN_FORWARD_CASES, compute_bound, fit_cases
    from podsim.validate.runner import BUILTIN_CASES, load_cases

    cases = [c for _, c in load_cases(BUILTIN_CASES) if getattr(c, "kind", "") == "serving"]
    by_family: dict[str, object] = {}
    for c in cases:
        if compute_bound(c):
            by_family.setdefault(catalog.chip(c.system.chip).family, c)
    picked = list(by_family.values())[:MIN_FORWARD_CASES]
    assert len({catalog.chip(c.system.chip).family for c in picked}) == MIN_FORWARD_CASES
    table = fit_cases(picked)
    row = table["default"]["forward_gemm_ratio"]
    assert row["cases"] == MIN_FORWARD_CASES
    assert GRID_FORWARD[0] <= row["value"] <= GRID_FORWARD[-1]
    assert not any(k.startswith("gemm_efficiency") for rows in table.values() for k in rows)
    assert "forward_gemm_ratio" not in fit_cases(picked[:-1]).get("default", {})


@given(st.floats(-3.0, 3.0), st.floats(0.01, 1.0))
def test_huber_loss_is_quadratic_near_zero_and_linear_beyond(e: float, delta: float) -> None:
    """The fitting loss: 0.5 e^2 within delta, delta (|e| - delta/2) beyond -- never above the
    squared loss, so an outlier pulls a fitted value with a bounded force."""
    from podsim.validate.fit_loss import huber

    v = huber(np.array([e]), delta)
    assert 0.0 <= v <= 0.5 * e * e + 1e-12
    if abs(e) <= delta:
        assert v == pytest.approx(0.5 * e * e)
    else:
        assert v == pytest.approx(delta * (abs(e) - 0.5 * delta))
    # symmetric, and the loss of a set is the sum over its members
    assert huber(np.array([-e]), delta) == pytest.approx(v)
    assert huber(np.array([e, e]), delta) == pytest.approx(2 * v)


@given(st.floats(-3.0, 3.0))
def test_tukey_loss_ignores_gross_outliers(e: float) -> None:
    """The shipped fitting loss: ~e^2/2 near zero, never above it, and the same constant for
    every case more than c off, so a software outlier cannot move a fitted value."""
    from podsim.validate.fit_loss import TUKEY_C, fit_loss, tukey

    v = tukey(np.array([e]))
    assert 0.0 <= v <= 0.5 * e * e + 1e-12
    if abs(e) >= TUKEY_C:
        assert v == pytest.approx(TUKEY_C**2 / 6.0)
        assert tukey(np.array([10.0 * e])) == pytest.approx(v)
    if abs(e) < 0.05:
        assert v == pytest.approx(0.5 * e * e, rel=0.02, abs=1e-12)
    assert fit_loss(np.array([e])) == v  # the default criterion
    with pytest.raises(ValueError):
        fit_loss(np.array([e]), "mean")


def test_fp4_mla_models_keep_attention_projections_at_fp8() -> None:
    """FP4 serving of an MLA model runs the attention projections at FP8 (time and weight
    bytes); a dense GQA model at FP4 runs every projection at FP4."""
    from podsim.serving.step import attention_precision

    ds = catalog.model("deepseek-v3")
    ll = catalog.model("llama3-70b")
    assert attention_precision(ds, "fp4") == "fp8"
    assert attention_precision(ds, "fp8") == "fp8"
    assert attention_precision(ll, "fp4") == "fp4"
    w4 = float(weight_bytes_per_chip(ds, "fp4", tp=1, ep=8, dp=8))
    w8 = float(weight_bytes_per_chip(ds, "fp8", tp=1, ep=8, dp=8))
    assert w4 < w8
    from podsim.serving import capacity
    from podsim.workload.params import param_counts

    pc = param_counts(ds)
    orig = capacity._attention_precision
    capacity._attention_precision = lambda m, p: p
    try:
        w4_all = float(weight_bytes_per_chip(ds, "fp4", tp=1, ep=8, dp=8))
    finally:
        capacity._attention_precision = orig
    att = ds.layers * pc.attention_per_layer
    assert w4 - w4_all == pytest.approx(att * (1.0 - (0.5 + 1.0 / 16.0)))
    # the step time of an FP4 MLA model's attention projections is the FP8 one
    sys_ = _sys("b200")
    kw = dict(seqs=64.0, context=1024.0, tp=1, ep=8, dp=8)
    t4 = serving_step(ds, sys_, precision="fp4", **kw).time
    t8 = serving_step(ds, sys_, precision="fp8", **kw).time
    assert float(t4) < float(t8)


def test_serving_grouped_ratio_and_tile_fill() -> None:
    """Expert GEMMs use the serving calibration's expert overhead (not the training ratio), and
    fewer tokens per expert fill the GEMM tiles less (grouped_m0): the expert GEMM compute time
    per token copy falls as the batch grows, and equals the constant-efficiency time with m0 =
    0."""
    from podsim.serving.calibration import overridden, serving_calibration

    scal = serving_calibration("hopper")
    assert scal.expert_overhead_ffn is not None and scal.expert_overhead_ffn > 0
    assert 0 < scal.expert_ratio(2048) < 1
    assert scal.grouped_m0 > 0
    m = catalog.model("deepseek-v3")
    sys_ = _sys("h100", 32)
    kw = dict(tp=1, ep=32, dp=32, precision="fp8", overlap="none", prompt_len=2000.0)

    def per_token(tokens: float, **ov) -> float:
        with overridden("hopper", **ov):
            st = serving_step(m, sys_, prefill_tokens=tokens, **kw)
            return float(st.breakdown["gemm_compute"]) / tokens

    small, big = per_token(512.0), per_token(16384.0)
    assert small > big
    flat_small, flat_big = per_token(512.0, grouped_m0=0.0), per_token(16384.0, grouped_m0=0.0)
    assert flat_small < small and flat_big < big
    assert flat_small == pytest.approx(flat_big, rel=0.05)


@settings(max_examples=30, deadline=None)
@given(st.floats(64, 32768), st.floats(64, 32768), st.floats(0, 4000))
def test_larger_experts_lose_less_to_the_moe_work_around_them(f1, f2, f0) -> None:
    """The MoE work per token copy besides the expert GEMMs scales with the hidden size, the
    GEMMs with hidden x expert size: an expert's efficiency ratio f / (f + f0) is in (0, 1],
    never falls as experts grow, and is 1 without that work."""
    from podsim.serving.calibration import overridden, serving_calibration

    with overridden("hopper", expert_overhead_ffn=f0):
        scal = serving_calibration("hopper")
        lo, hi = sorted((f1, f2))
        assert 0 < scal.expert_ratio(lo) <= scal.expert_ratio(hi) <= 1
    with overridden("hopper", expert_overhead_ffn=0.0):
        assert serving_calibration("hopper").expert_ratio(768) == 1.0


def test_one_grouped_ratio_for_every_expert_size_is_rejected_with_the_reason() -> None:
    from podsim.serving.calibration import overridden, serving_calibration

    with overridden("hopper", grouped_gemm_ratio=0.7), pytest.raises(SpecError) as err:
        serving_calibration("hopper")
    assert "expert_overhead_ffn" in str(err.value) and "grouped_gemm_ratio" in str(err.value)


def test_prefill_dispatch_is_deduplicated_per_remote_node() -> None:
    """A prefill-only iteration sends a token once per distinct remote node across the NIC
    (DeepEP normal kernels), so its expert all-to-all is no slower than one copy per destination
    rank; decode iterations keep one copy per rank (low-latency kernels)."""
    from podsim.cost import collectives as coll

    m = catalog.model("deepseek-v3")
    sys_ = _sys("h100", 32)
    kw = dict(tp=1, ep=32, dp=32, precision="fp8", overlap="none", prompt_len=2000.0)
    tokens = 8000.0
    st = serving_step(m, sys_, prefill_tokens=tokens, **kw)
    e = m.moe
    copies = 32 * (1.0 - (1.0 - 1.0 / 32) ** e.top_k)
    sent = tokens * copies * m.hidden * 1.1
    flat = float(
        coll.all_to_all(sent * 1.0, 32, 1, sys_) + coll.all_to_all(sent * 2.0, 32, 1, sys_)
    )
    per_layer = float(st.breakdown["ep_comm"]) / m.moe_layers
    assert 0 < per_layer < 0.8 * flat
    dec = serving_step(m, sys_, seqs=64.0, context=2000.0, **kw)
    sent_d = 64.0 * copies * m.hidden * 1.1
    flat_d = float(
        coll.all_to_all(sent_d * 1.0, 32, 1, sys_) + coll.all_to_all(sent_d * 2.0, 32, 1, sys_)
    )
    assert float(dec.breakdown["ep_comm"]) / m.moe_layers == pytest.approx(flat_d, rel=1e-9)


def test_output_length_spread_lengthens_the_decode_context() -> None:
    """Skewed output lengths make long sequences dominate a continuous batch: the time-mean
    context is input + out (1 + cv^2) / 2, and TPOT at a given batch grows with it."""
    m = catalog.model("llama3-70b")
    base = ServingConfig(
        model=m,
        system=_sys("h100"),
        input_len=1000.0,
        output_len=4000.0,
        tp=8,
        phase="decode",
        precision="fp8",
    )
    assert base.decode_context == 3000.0
    import dataclasses

    skew = dataclasses.replace(base, output_cv=1.0)
    assert skew.decode_context == 5000.0
    b = [16.0, 64.0]
    assert np.all(evaluate(skew, b).tpot_s > evaluate(base, b).tpot_s)


@given(seqs=st.floats(8.0, 512.0), ctx=st.floats(256.0, 8192.0), ep=st.sampled_from([8, 32, 64]))
@settings(max_examples=25, deadline=None)
def test_two_batch_overlap_hides_communication_only_phase_by_phase(seqs, ctx, ep) -> None:
    """Two-batch overlap: the iteration is never shorter than the longer of the two halves'
    compute and their communication, and never longer than running the halves one after the
    other with nothing hidden."""
    m = catalog.model("deepseek-v3")
    sys_ = _sys("h100", ep)
    kw = dict(tp=1, ep=ep, dp=ep, precision="fp8", context=ctx, prompt_len=2000.0)
    two = serving_step(m, sys_, seqs=seqs, overlap="tbo", **kw)
    half = serving_step(m, sys_, seqs=seqs / 2.0, overlap="none", **kw)
    comm_keys = ("tp_comm", "ep_comm")
    fixed = float(half.breakdown["step_overhead"])
    busy = 2.0 * (sum(float(v) for k, v in half.breakdown.items() if k not in comm_keys) - fixed)
    comm = 2.0 * sum(float(half.breakdown[k]) for k in comm_keys)
    t = float(two.time) - fixed
    assert t >= max(busy, comm) * (1 - 1e-9)
    assert t <= (busy + comm) * (1 + 1e-9)


def test_gemms_of_few_rows_run_below_the_large_gemm_efficiency() -> None:
    """A GEMM of M rows reaches eta x M / (M + m0) of the peak (partly filled tiles and waves):
    the row-fill law never speeds a step up, and slows a compute-bound step of a few hundred
    tokens more than one of many thousands."""
    from podsim.serving.calibration import overridden

    m = catalog.model("llama3-70b")
    sys_ = _sys("h100", 8)
    kw = dict(tp=8, precision="fp8", context=1024.0, prompt_len=1024.0)

    def ratio(tokens: float) -> float:
        slow = float(serving_step(m, sys_, prefill_tokens=tokens, **kw).time)
        with overridden("hopper", grouped_m0=0.0):
            fast = float(serving_step(m, sys_, prefill_tokens=tokens, **kw).time)
        assert slow >= fast
        return slow / fast

    assert ratio(512.0) > ratio(16384.0) >= 1.0


def test_long_tailed_outputs_lengthen_the_mean_context() -> None:
    """Continuous batching holds long answers longer: with output-length spread (cv > 0) the
    time-mean cached context grows (input + output (1 + cv^2) / 2), so decode throughput at the
    same TPOT target never rises; a negative spread is refused with the field named."""
    m = catalog.model("llama3-70b")
    sys_ = _sys("h100", 8)
    spec = ServingSpec(
        precision="fp8",
        phase="decode",
        input_len=1024,
        output_len=2048,
        tp=8,
        slo={"tpot": 0.05},
    )
    tput = []
    for cv in (0.0, 0.5, 1.0):
        c, point, _ = simulate(m, sys_, spec, output_cv=cv)
        assert c.decode_context == pytest.approx(1024 + 2048 * (1 + cv**2) / 2)
        tput.append(point["decode_tokens_per_s_per_chip"])
    assert tput[0] >= tput[1] >= tput[2] and tput[2] < tput[0]
    from podsim.errors import SpecError

    with pytest.raises(SpecError, match="output_cv"):
        simulate(m, sys_, spec, output_cv=-1.0)


def test_metric_a_phase_does_not_have_is_skipped_with_the_reason() -> None:
    """A prefill-phase case measured by TPOT (or a decode-phase one by prefill throughput) is
    reported as skipped, naming the metric and the metrics that phase has."""
    from podsim.validate.runner import BUILTIN_CASES, load_cases, run_case

    cases = dict(load_cases(BUILTIN_CASES))
    for cid, metric in (
        ("cloudmatrix384-dsr1-prefill-4k", "tpot_s"),
        ("cloudmatrix384-dsr1-decode-tpot50", "prefill_tokens_per_s_per_chip"),
    ):
        c = cases[cid]
        case = c.model_copy(update={"measured": c.measured.model_copy(update={"metric": metric})})
        r = run_case(case)
        assert r.status == "skipped" and r.predicted is None
        assert metric in r.reason and "phase" in r.reason and "allowed" in r.reason


def test_an_offline_ttft_the_model_cannot_bound_is_skipped_with_the_reason(monkeypatch) -> None:
    """Prompts that arrive faster than the group prefills them (rho >= 1) queue without bound,
    so TTFT is infinite; a case measured by TTFT at such a point is skipped saying so, not
    given an infinite value or a message that the phase has no TTFT."""
    import podsim.serving.predict as sp
    from podsim.serving.slo import queued_ttft
    from podsim.validate.runner import BUILTIN_CASES, load_cases, run_case

    c = ServingConfig(catalog.model("llama3-70b"), _sys("h100"), 4096.0, 16.0, tp=8)
    # a prompt adds 40 ms to a 100 ms iteration of 64 sequences emitting 1/16 of an answer each
    B, it = np.array([16.0, 64.0]), np.array([0.1, 0.1])
    mean, p99 = queued_ttft(c, B, it, it + 0.04)
    assert np.isfinite(mean[0]) and np.isfinite(p99[0]) and p99[0] >= mean[0] >= 0.14
    assert np.isinf(mean[1]) and np.isinf(p99[1])  # 4 prompts x 40 ms per 100 ms: rho 1.6

    base = dict(load_cases(BUILTIN_CASES))["cloudmatrix384-dsr1-prefill-4k"]
    case = base.model_copy(
        update={"measured": base.measured.model_copy(update={"metric": "ttft_s"})}
    )
    real = sp.simulate

    def unbounded(*a, **k):
        cfg, point, choice = real(*a, **k)
        return cfg, {**point, "ttft_s": float("inf")}, choice

    monkeypatch.setattr(sp, "simulate", unbounded)
    r = run_case(case)
    assert r.status == "skipped" and r.predicted is None
    assert "unbounded" in r.reason and "slo.ttft" in r.reason


def test_a_fit_whose_cases_are_all_outliers_keeps_the_default() -> None:
    """When every case is beyond Tukey's c at every grid value the loss is flat: the cases say
    nothing about the parameter, so the fit returns no value (the default stays) instead of
    letting the tie-break chase them."""
    from podsim.serving.fit import _best

    grid = np.linspace(0.3, 1.0, 8)
    assert _best(lambda g: np.array([3.0 + g, -2.5]), grid) is None
    value, e = _best(lambda g: np.array([g - 0.5, 0.1]), grid)
    assert abs(value - 0.5) <= 0.05 and e.shape == (2,)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["llama3-70b", "deepseek-r1"]),
    st.integers(64, 8192),
    st.integers(16, 4096),
    st.floats(1.0, 8.0),
    st.sampled_from(["decode", "end_to_end"]),
)
def test_reserving_kv_for_the_longest_output_never_admits_more(
    model: str, input_len: int, output_len: int, headroom: float, phase: str
) -> None:
    """Reserving KV for prompt + max output per request (no-evict scheduling) holds at least
    the paged mean context per sequence, so the batch in memory never grows; a longer reserved
    output never admits more; the chosen batch fits."""
    from podsim.serving.slo import batch_limit, memory_context

    m = catalog.model(model)
    moe = m.moe is not None
    kw = dict(
        input_len=float(input_len),
        output_len=float(output_len),
        phase=phase,
        precision="fp8",
        kv_precision="fp8",
        tp=1 if moe else 8,
        ep=8 if moe else 1,
        dp=8 if moe else 1,
    )
    sysm = _sys("b200")
    paged = ServingConfig(m, sysm, **kw, kv_allocation="paged")
    own = ServingConfig(m, sysm, **kw)  # reserved for the mean output (the default)
    short = ServingConfig(m, sysm, **kw, max_output_len=float(output_len) * headroom)
    long = ServingConfig(m, sysm, **kw, max_output_len=float(output_len) * headroom * 2)
    assert memory_context(short) >= memory_context(own) >= memory_context(paged)
    assert batch_limit(long) <= batch_limit(short) <= batch_limit(own) <= batch_limit(paged)
    if batch_limit(short) >= 1:
        point = choose_batch(short).unconstrained
        assert point["batch"] <= batch_limit(short)
        assert point["fits"]


def test_max_output_len_below_the_mean_is_rejected() -> None:
    from podsim.errors import SpecError as Err
    from podsim.serving.predict import simulate as sim

    spec = ServingSpec(input_len=512, output_len=1024, tp=8, precision="fp8")
    with pytest.raises(Err, match="mean output") as e:
        sim(catalog.model("llama3-70b"), _sys("h100"), spec, max_output_len=100)
    assert e.value.field == "max_output_len"


def test_the_kv_allocation_follows_the_spec() -> None:
    """A batch the model chooses is limited by the no-evict reservation; a given batch is
    checked against the KV it held (paged), unless told otherwise; a limit needs the reserved
    allocation."""
    from podsim.serving.predict import config_for

    m, sysm = catalog.model("llama3-70b"), _sys("h100")
    base = dict(input_len=1024, output_len=512, tp=8, precision="fp8")
    c = config_for(m, sysm, ServingSpec(**base))
    assert c.kv_allocation == "reserved"
    c = config_for(m, sysm, ServingSpec(**base, slo={"tpot": "50 ms"}))
    assert c.kv_allocation == "reserved"
    c = config_for(m, sysm, ServingSpec(**base, batch=16))
    assert c.kv_allocation == "paged"
    c = config_for(m, sysm, ServingSpec(**base, batch=16), kv_allocation="reserved")
    assert c.kv_allocation == "reserved"
    c = config_for(m, sysm, ServingSpec(**base, batch=16), max_output_len=2048)
    assert c.kv_allocation == "reserved"
    with pytest.raises(SpecError) as e:
        config_for(m, sysm, ServingSpec(**base), kv_allocation="paged", max_output_len=2048)
    assert e.value.field == "max_output_len"
    with pytest.raises(SpecError) as e:
        config_for(m, sysm, ServingSpec(**base), kv_allocation="static")
    assert e.value.field == "kv_allocation"


def test_default_acceptance_compounds_over_later_drafts() -> None:
    """Without a published rate, one draft is accepted at the DeepSeek-V3 figure and each later
    draft only if all before it were: a step emits 1 + a + ... + a^k tokens, so more drafts
    never emit fewer tokens but each is accepted less often."""
    from podsim.serving.predict import config_for
    from podsim.serving.step import DEFAULT_ACCEPTANCE, default_acceptance

    a = DEFAULT_ACCEPTANCE
    assert default_acceptance(1) == pytest.approx(a)
    emitted = [1 + k * default_acceptance(k) for k in range(1, 6)]
    for k, e in enumerate(emitted, start=1):
        assert e == pytest.approx(sum(a**i for i in range(k + 1)))
    assert all(x < y for x, y in zip(emitted, emitted[1:], strict=False))
    assert all(default_acceptance(k + 1) < default_acceptance(k) for k in range(1, 5))
    spec = ServingSpec(
        input_len=1024, output_len=1024, tp=8, precision="fp8", speculative={"draft_tokens": 3}
    )
    c = config_for(catalog.model("deepseek-r1"), _sys("h100"), spec)
    assert c.acceptance == pytest.approx(default_acceptance(3))


def test_a_published_layout_written_per_die_or_without_attention_dp_is_read_as_it_ran() -> None:
    """CloudMatrix-Infer's decode is "EP320" on 160 Ascend 910C packages (two dies each), and a
    case may write wide EP without the attention data parallelism it implies (FORMAT.md's own
    example: tp 1, ep 320, dp 1). Each reading of the same run is predicted as the per-chip
    layout (ep = dp = 160) with a note saying how it was read; the layout as written is not
    skipped. ``podsim serve`` still rejects such a plan from a user (check_plan)."""
    from podsim.errors import PlanError
    from podsim.serving.predict import check_plan
    from podsim.validate.runner import BUILTIN_CASES, load_cases, run_case

    c = dict(load_cases(BUILTIN_CASES))["cloudmatrix384-dsr1-decode-tpot50"]
    assert (c.serving.tp, c.serving.ep, c.serving.dp, c.system.chips) == (1, 160, 160, 160)
    base = run_case(c)
    assert base.status == "ok" and base.note is None
    for ep, dp, read in ((320, 320, "dies"), (160, 1, "data-parallel"), (320, 1, "dies")):
        case = c.model_copy(update={"serving": c.serving.model_copy(update={"ep": ep, "dp": dp})})
        r = run_case(case)
        assert r.status == "ok" and r.predicted == base.predicted
        assert read in r.note and "layout" in r.note
        if dp == 1:
            with pytest.raises(PlanError, match="ep"):
                check_plan(case.model, case.system.chips, case.serving)


# ------------------------------------------------------------------ prefix caching


def _prefix_point(phase: str, hit: float, batch: int, model: str = "llama3-70b") -> dict:
    m = catalog.model(model)
    spec = ServingSpec(
        precision="fp8",
        phase=phase,
        input_len=8192,
        output_len=256 if phase != "prefill" else 1,
        batch=batch,
        tp=8,
    )
    return simulate(m, _sys("h100"), spec, prefix_hit=hit)[1]


def test_no_prefix_hit_is_the_model_without_a_cache() -> None:
    m = catalog.model("llama3-70b")
    for phase in ("prefill", "end_to_end"):
        spec = ServingSpec(precision="fp8", phase=phase, input_len=8192, output_len=256, tp=8)
        a = simulate(m, _sys("h100"), spec)[1]
        b = simulate(m, _sys("h100"), spec, prefix_hit=0.0)[1]
        assert repr(a) == repr(b)  # the same numbers, NaN (prefill TPOT) included


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.floats(0.0, 0.95),
    st.floats(0.0, 0.95),
    st.sampled_from(["prefill", "end_to_end"]),
    st.integers(1, 32),
)
def test_a_larger_prefix_hit_never_slows_the_first_token_nor_beats_the_computed_flops(
    h1: float, h2: float, phase: str, batch: int
) -> None:
    """Cached prompt tokens are read, not recomputed: at a fixed batch a larger hit never
    raises TTFT or lowers the prompt tokens served per second, and the prompt tokens actually
    computed never exceed what the chips' peak allows (2 x parameters FLOPs each)."""
    lo, hi = sorted((h1, h2))
    a, b = _prefix_point(phase, lo, batch), _prefix_point(phase, hi, batch)
    assert b["ttft_s"] <= a["ttft_s"] * (1 + 1e-9)
    assert b["prefill_tokens_per_s_per_chip"] >= a["prefill_tokens_per_s_per_chip"] * (1 - 1e-9)
    m = catalog.model("llama3-70b")
    chip = _sys("h100").chip
    computed = b["prefill_tokens_per_s_per_chip"] * max(1 - hi, 1 / 8192)
    assert computed * 2 * param_counts(m).active_compute <= chip.peak_flops("fp8")


def test_cached_tokens_still_cost_attention_and_kv_reads() -> None:
    """A prompt half of which is cached costs more than a fresh prompt of the other half: its
    computed tokens attend over the cached keys, whose KV the prefill reads."""
    m = catalog.model("llama3-70b")
    system = _sys("h100")
    kw = dict(tp=8, precision="fp8")
    cached = serving_step(
        m, system, prefill_tokens=4096, prompt_len=8192, cached_prefix=4096, **kw
    ).breakdown
    fresh = serving_step(m, system, prefill_tokens=4096, prompt_len=4096, **kw).breakdown
    assert cached["attention_compute"] > fresh["attention_compute"]
    assert (
        cached["kv_cache"] + cached["attention_compute"]
        > fresh["kv_cache"] + fresh["attention_compute"]
    )
    assert cached["gemm_compute"] == pytest.approx(fresh["gemm_compute"])


def test_a_prefix_hit_outside_zero_to_one_is_a_clear_error() -> None:
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(SpecError, match="prefix_hit"):
            _prefix_point("prefill", bad, 4)
