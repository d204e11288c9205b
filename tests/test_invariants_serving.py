"""Serving model invariants a user relies on, on random plans and workloads (hypothesis).

Not repeated here (tests/test_serving.py has them): TPOT and iteration non-decreasing in the
batch, decode above the weight+KV read floor, prefill below peak FLOPs, pool balance of one
disaggregated layout, queued TTFT growing with load.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from faster_system import faster
from podsim import catalog
from podsim.errors import PlanError
from podsim.hardware.system import resolve_system
from podsim.serving.kv import kv_bytes_per_sequence
from podsim.serving.slo import ServingConfig, batch_limit, evaluate
from podsim.serving.step import serving_step

SYSTEMS = {
    "h100": ("dgx-h100-cluster", 8),
    "b200": ("dgx-b200-cluster", 8),
    "gb200": ("gb200-nvl72", 72),
    "cm384": ("cloudmatrix-384", 64),
    "tpu7": ("tpu-v7-pod", 64),
}
_SYS = {k: resolve_system(sid, n) for k, (sid, n) in SYSTEMS.items()}
MODELS = {k: catalog.model(k) for k in ("llama3-8b", "llama3-70b", "deepseek-v3", "qwen3-30b-a3b")}
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def configs(draw, phases=("decode", "end_to_end")):
    """(model name, system key, ServingConfig keyword arguments) of a plan that can run."""
    name = draw(st.sampled_from(sorted(MODELS)))
    m = MODELS[name]
    key = draw(st.sampled_from(sorted(SYSTEMS)))
    if m.moe is not None:
        tp = draw(st.sampled_from([1, 2]))
        dp = draw(st.sampled_from([4, 8]))
        ep = draw(st.sampled_from([e for e in (4, 8, 16) if e <= tp * dp]))
    else:
        tp = draw(st.sampled_from([t for t in (1, 2, 4, 8) if m.kv_heads % t == 0]))
        dp = ep = 1
    kw = dict(
        input_len=draw(st.sampled_from([128, 1024, 4096, 16384])),
        output_len=draw(st.sampled_from([64, 512, 2048])),
        phase=draw(st.sampled_from(list(phases))),
        precision=draw(st.sampled_from(["bf16", "fp8", "fp4"])),
        kv_precision=draw(st.sampled_from([None, "fp8"])),
        tp=tp,
        ep=ep,
        dp=dp,
        pp=draw(st.sampled_from([1, 2])),
    )
    return name, key, kw


def _cfg(name, key, kw, system=None) -> ServingConfig:
    return ServingConfig(MODELS[name], system or _SYS[key], **kw)


def _limit(c: ServingConfig) -> int:
    n = batch_limit(c)
    assume(n >= 2)
    return n


@SLOW
@given(configs(), st.integers(1, 256), st.sampled_from([2, 3, 4]))
def test_iteration_grows_at_most_linearly_with_the_batch(case, b, k) -> None:
    """k times the sequences never costs more than k iterations: weights are read once for the
    whole batch, so decode tokens/s per chip never falls as the batch grows."""
    c = _cfg(*case)
    pts = evaluate(c, [b, k * b])
    t = pts.iteration_s
    assert t[1] <= k * t[0] * (1 + 1e-9)
    key = "decode_tokens_per_s_per_chip"
    assert getattr(pts, key)[1] >= getattr(pts, key)[0] * (1 - 1e-9)


@SLOW
@given(configs(), st.integers(1, 64), st.sampled_from([2, 4]))
def test_kv_bytes_per_chip_are_linear_in_batch_and_context(case, b, k) -> None:
    name, key, kw = case
    m = MODELS[name]
    ctx = kw["input_len"]
    one = float(kv_bytes_per_sequence(m, ctx, kw["kv_precision"], tp=kw["tp"], pp=kw["pp"]))
    longer = float(kv_bytes_per_sequence(m, k * ctx, kw["kv_precision"], tp=kw["tp"], pp=kw["pp"]))
    assert longer == pytest.approx(k * one, rel=1e-12)
    c = _cfg(*case)
    mem = evaluate(c, [b, k * b]).memory["kv_cache"]
    assert mem[1] == pytest.approx(k * mem[0], rel=1e-12)


@SLOW
@given(configs(), st.integers(1, 128), st.sampled_from([2, 4]))
def test_a_longer_prompt_never_helps_decode(case, b, k) -> None:
    """More cached context per sequence: every iteration reads more KV and (end to end)
    prefills longer prompts, so TPOT never falls and decode throughput never rises."""
    name, key, kw = case
    a = evaluate(_cfg(name, key, kw), [b])
    z = evaluate(_cfg(name, key, {**kw, "input_len": kw["input_len"] * k}), [b])
    assert z.tpot_s[0] >= a.tpot_s[0] * (1 - 1e-12)
    assert z.decode_tokens_per_s_per_chip[0] <= a.decode_tokens_per_s_per_chip[0] * (1 + 1e-12)


@SLOW
@given(configs(), st.sampled_from([2, 4]))
def test_a_longer_context_never_admits_a_larger_batch(case, k) -> None:
    name, key, kw = case
    a = batch_limit(_cfg(name, key, kw))
    z = batch_limit(_cfg(name, key, {**kw, "input_len": kw["input_len"] * k}))
    assert z <= a


@SLOW
@given(
    configs(phases=("prefill", "decode", "end_to_end")),
    st.integers(1, 512),
    st.sampled_from(["flops", "hbm", "links"]),
)
def test_faster_hardware_never_slows_an_iteration(case, b, what) -> None:
    name, key, kw = case
    a = evaluate(_cfg(name, key, kw), [b])
    z = evaluate(_cfg(name, key, kw, faster(_SYS[key], what)), [b])
    assert z.iteration_s[0] <= a.iteration_s[0] * (1 + 1e-12)
    if kw["phase"] != "end_to_end":
        # (end to end, TTFT includes the queue, and at a fixed batch a faster iteration admits
        # prompts faster: a higher load, a longer queue -- not a property of the hardware)
        assert z.ttft_s[0] <= a.ttft_s[0] * (1 + 1e-12)


@SLOW
@given(configs(phases=("decode",)), st.integers(1, 256), st.sampled_from([1, 2, 3]))
def test_speculation_that_is_never_accepted_never_helps(case, b, d) -> None:
    """Drafts that are all rejected emit one token per sequence per step, as plain decoding
    does, at the price of drafting and verifying: never more tokens/s per chip."""
    name, key, kw = case
    plain = evaluate(_cfg(name, key, kw), [b])
    spec = evaluate(_cfg(name, key, {**kw, "draft_tokens": d, "acceptance": 0.0}), [b])
    assert spec.decode_tokens_per_s_per_chip[0] <= plain.decode_tokens_per_s_per_chip[0] * (
        1 + 1e-12
    )
    assert spec.tpot_s[0] >= plain.tpot_s[0] * (1 - 1e-12)


@SLOW
@given(configs(phases=("decode",)), st.integers(1, 256))
def test_decode_throughput_is_bounded_by_hbm_bandwidth(case, b) -> None:
    """Every decode step reads each sequence's KV over its context and, at least, the
    non-expert weights of one chip: tokens/s per chip <= batch / that read time."""
    name, key, kw = case
    c = _cfg(name, key, kw)
    pts = evaluate(c, [b])
    m, chip = c.model, c.system.chip
    kv = b * float(kv_bytes_per_sequence(m, c.decode_context, c.kv_precision, tp=c.tp, pp=1))
    floor = kv / c.pp / chip.hbm_bandwidth.value  # the KV of one pipeline micro-batch, all stages
    assert pts.iteration_s[0] >= floor * (1 - 1e-9)


@SLOW
@given(configs(phases=("decode", "end_to_end")), st.sampled_from([0.0, 0.5, 1.0]))
def test_more_expert_imbalance_never_helps(case, extra) -> None:
    name, key, kw = case
    assume(MODELS[name].moe is not None)
    b = [1, 16, 128]
    a = evaluate(_cfg(name, key, {**kw, "moe_imbalance": 1.0}), b)
    z = evaluate(_cfg(name, key, {**kw, "moe_imbalance": 1.0 + extra}), b)
    assert np.all(z.iteration_s >= a.iteration_s * (1 - 1e-12))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(phases=("decode",)), st.sampled_from([0.02, 0.05, 0.2, None]))
def test_disaggregated_pools_are_positive_and_finite(case, tpot) -> None:
    from podsim.serving.disagg import disaggregate

    name, key, kw = case
    pre = _cfg(name, key, {**kw, "phase": "prefill"})
    dec = _cfg(name, key, kw)
    try:
        r = disaggregate(pre, dec, tpot=tpot)
    except PlanError:
        assume(False)
    assert 0.0 < r.prefill_fraction < 1.0
    assert 0.0 < r.prefill_chips_per_decode_chip < np.inf
    assert np.isfinite(r.tokens_per_s_per_chip) and r.tokens_per_s_per_chip > 0
    # pooled, each chip serves less than either pool alone does in its own phase
    assert r.output_tokens_per_s_per_chip <= r.decode["decode_tokens_per_s_per_chip"]
    assert r.ttft_s >= r.prefill["ttft_s"]


def test_a_step_with_nothing_to_do_costs_only_the_fixed_overhead() -> None:
    res = serving_step(MODELS["llama3-8b"], _SYS["h100"], seqs=0.0, context=1024, tp=1)
    parts = {k: float(v) for k, v in res.breakdown.items() if k != "step_overhead"}
    # the weights of an idle engine are not read
    assert parts["kv_cache"] == 0.0 and parts["tp_comm"] == 0.0


@settings(max_examples=60, deadline=None)
@given(
    chips=st.integers(2, 4096),
    ip=st.integers(1, 64),
    idd=st.integers(1, 64),
    rate_p=st.floats(1.0, 1e5),
    rate_d=st.floats(1.0, 1e5),
)
def test_whole_instance_pools_are_whole_fit_the_chips_and_never_beat_the_ideal_split(
    chips: int, ip: int, idd: int, rate_p: float, rate_d: float
) -> None:
    from podsim.serving.disagg import whole_instance_pools

    inp, out = 4096.0, 1024.0
    w = whole_instance_pools(chips, ip, idd, rate_p, rate_d, inp, out)
    assert w["prefill_chips"] == w["prefill_instances"] * ip
    assert w["decode_chips"] == w["decode_instances"] * idd
    assert w["prefill_chips"] + w["decode_chips"] + w["idle_chips"] == chips
    assert w["idle_chips"] >= 0
    if chips < ip + idd:
        assert w["prefill_instances"] == 0 and w["tokens_per_s_per_chip_whole_instances"] == 0
        return
    assert w["prefill_instances"] >= 1 and w["decode_instances"] >= 1
    ideal = (inp + out) / (inp / rate_p + out / rate_d)  # tokens/s per chip, fractional pools
    assert w["tokens_per_s_per_chip_whole_instances"] <= ideal * (1 + 1e-9)
