"""Training model invariants a user relies on, checked on random valid plans (hypothesis).

Not repeated here (tests/test_training.py has them): peak-FLOPs bound, ZeRO stage vs weight and
optimizer memory, per-chip memory at a fixed global batch as DP grows, one breakdown sum.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from faster_system import faster
from podsim import catalog
from podsim.errors import SpecError
from podsim.hardware.system import resolve_system
from podsim.training.plan import plan_arrays
from podsim.training.step import simulate_plans

MODELS = {k: catalog.model(k) for k in ("llama3-8b", "llama3-70b", "deepseek-v3", "qwen3-30b-a3b")}
SYSTEMS = {
    "h100": resolve_system("dgx-h100-cluster"),
    "gb200": resolve_system("gb200-nvl72-cluster"),
    "cm384": resolve_system("cloudmatrix-384-cluster"),
    "tpu7": resolve_system("tpu-v7-pod"),
}
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def plans(draw, moe_ok: bool = True):
    """A valid plan (as keyword arguments), its model and system."""
    name = draw(st.sampled_from(sorted(MODELS) if moe_ok else ["llama3-8b", "llama3-70b"]))
    m = MODELS[name]
    kvh = m.heads if m.mla is not None else m.kv_heads
    tp = draw(st.sampled_from([t for t in (1, 2, 4, 8) if m.heads % t == 0 and kvh % t == 0]))
    pp = draw(st.sampled_from([1, 2, 4]))
    uneven = m.layers % pp != 0
    vpp = draw(st.sampled_from([1, 2])) if pp > 1 else 1
    if not uneven and m.layers % (pp * vpp) != 0:
        vpp = 1
    cp = draw(st.sampled_from([1, 2]))
    dp = draw(st.sampled_from([1, 2, 4, 8]))
    ep = 1
    if m.moe is not None:
        ep = draw(st.sampled_from([e for e in (1, 2, 4, 8) if (tp * cp * dp) % e == 0]))
    mb = draw(st.sampled_from([1, 2]))
    m_per = draw(st.sampled_from([1, 2, 4, 8])) * pp  # micro-batches per pipeline
    kw = dict(
        tp=tp,
        pp=pp,
        vpp=vpp,
        cp=cp,
        ep=ep,
        dp=dp,
        zero=draw(st.integers(0, 3)),
        recompute=draw(st.integers(0, 2)),
        micro_batch=mb,
        global_batch=m_per * dp * mb,
        seq_len=draw(st.sampled_from([2048, 4096, 8192])),
        sequence_parallel=tp > 1,
        uneven_pp=uneven,
    )
    key = draw(st.sampled_from(sorted(SYSTEMS)))
    chips = tp * pp * cp * dp
    try:
        sysm = SYSTEMS[key].scaled(chips)
    except SpecError:  # the system cannot hold this many chips in whole groups
        assume(False)
    prec = draw(st.sampled_from(["bf16", "fp8"]))
    return m, _Sys(key, sysm), kw, prec


class _Sys:
    """A scaled system with a short repr (hypothesis prints the failing example)."""

    def __init__(self, key, system):
        self.key, self.system = key, system

    def __repr__(self) -> str:
        return f"{self.key}:{self.system.chips}"


def _run(m, sysm, kw, prec, **opt):
    chips = kw["tp"] * kw["pp"] * kw["cp"] * kw["dp"]
    res = simulate_plans(m, sysm.system.scaled(chips), plan_arrays(**kw), prec, **opt)
    assert bool(res.valid), {k: bool(v) for k, v in res.reasons.items() if bool(v)}
    return res


def _f(x) -> float:
    return float(np.asarray(x))


@SLOW
@given(plans())
def test_breakdown_is_non_negative_and_adds_up_to_the_step(case) -> None:
    m, sysm, kw, prec = case
    res = _run(m, sysm, kw, prec)
    parts = {k: _f(v) for k, v in res.breakdown.items()}
    assert all(v >= 0.0 for v in parts.values()), parts
    assert sum(parts.values()) == _approx(_f(res.step_time))
    assert 0.0 < _f(res.mfu) <= _f(res.hfu) <= 1.0


def _approx(x: float, rel: float = 1e-9):
    import pytest

    return pytest.approx(x, rel=rel)


@SLOW
@given(plans(), st.sampled_from([2, 4]))
def test_a_larger_global_batch_never_lowers_throughput_and_shrinks_the_bubble(case, k) -> None:
    """More micro-batches per step: the pipeline fill and drain and the once-per-step costs
    (optimizer, exposed gradient reduction) are amortised over more tokens."""
    m, sysm, kw, prec = case
    a = _run(m, sysm, kw, prec)
    b = _run(m, sysm, {**kw, "global_batch": kw["global_batch"] * k}, prec)
    assert _f(b.tokens_per_s_per_chip) >= _f(a.tokens_per_s_per_chip) * (1 - 1e-9)
    assert _f(b.step_time) <= k * _f(a.step_time) * (1 + 1e-9)
    bub = lambda r: _f(r.breakdown["pipeline_bubble"]) / _f(r.step_time)  # noqa: E731
    assert bub(b) <= bub(a) + 1e-12


@SLOW
@given(plans(), st.sampled_from([2, 4]))
def test_more_replicas_with_the_same_per_replica_batch(case, k) -> None:
    """Weak scaling over DP: per-chip memory never grows; the step never gets faster except by
    the distributed optimizer's smaller shard (ZeRO >= 1 updates 1/dp of the parameters)."""
    m, sysm, kw, prec = case
    dp2 = kw["dp"] * k
    try:
        sysm.system.scaled(kw["tp"] * kw["pp"] * kw["cp"] * dp2)
    except SpecError:
        assume(False)
    per_replica = kw["global_batch"] // kw["dp"]
    a = _run(m, sysm, kw, prec)
    b = _run(m, sysm, {**kw, "dp": dp2, "global_batch": per_replica * dp2}, prec)
    assert _f(b.memory.total) <= _f(a.memory.total) * (1 + 1e-12)
    # against one replica that reduces no gradient at all (no CP group, experts split over
    # the TP group): between two DP degrees the larger may reduce faster, as on a torus a
    # larger group drives more links
    assume(kw["cp"] == 1 and kw["ep"] == kw["tp"] if m.moe is not None else kw["cp"] == 1)
    # and on switched fabrics only: a torus slice of another size has another shape, so the same
    # TP/PP groups may span more links and run faster (TPU v7: 16 chips 2x2x4, 32 chips 2x4x4)
    assume(all(lv.kind not in ("torus", "nd_full_mesh") for lv in sysm.system.levels))
    one = _run(m, sysm, {**kw, "dp": 1, "global_batch": per_replica}, prec)
    assert _f(a.memory.total) <= _f(one.memory.total) * (1 + 1e-12)
    no_opt = lambda r: _f(r.step_time) - _f(r.breakdown["optimizer"])  # noqa: E731
    assert no_opt(a) >= no_opt(one) * (1 - 1e-9)
    if kw["zero"] == 0:
        assert _f(a.step_time) >= _f(one.step_time) * (1 - 1e-9)


@SLOW
@given(plans())
def test_activation_memory_does_not_depend_on_the_zero_stage(case) -> None:
    m, sysm, kw, prec = case
    acts = [_f(_run(m, sysm, {**kw, "zero": z}, prec).memory.activations) for z in range(4)]
    assert max(acts) == min(acts)


@SLOW
@given(plans())
def test_recompute_trades_memory_for_time(case) -> None:
    """none -> selective -> full: activation memory never grows, step time never falls."""
    m, sysm, kw, prec = case
    r = [_run(m, sysm, {**kw, "recompute": c}, prec) for c in (0, 1, 2)]
    act = [_f(x.memory.activations) for x in r]
    t = [_f(x.step_time) for x in r]
    assert act[0] >= act[1] >= act[2], act
    assert t[0] <= t[1] * (1 + 1e-12) and t[1] <= t[2] * (1 + 1e-12), t
    hfu_mfu = [_f(x.hfu) / _f(x.mfu) for x in r]
    assert hfu_mfu[0] == 1.0 and 1.0 < hfu_mfu[1] < hfu_mfu[2]


@SLOW
@given(plans(), st.sampled_from(["flops", "hbm", "links"]))
def test_faster_hardware_never_slows_a_step(case, what) -> None:
    m, sysm, kw, prec = case
    base = sysm.system
    p = plan_arrays(**kw)
    a = simulate_plans(m, base, p, prec)
    b = simulate_plans(m, faster(base, what), p, prec)
    assert _f(b.step_time) <= _f(a.step_time) * (1 + 1e-12)
    assert _f(b.hfu) <= 1.0


@SLOW
@given(plans(moe_ok=True), st.sampled_from(["overlap", "ep_overlap", "imbalance"]))
def test_overlap_never_hurts_and_imbalance_never_helps(case, what) -> None:
    m, sysm, kw, prec = case
    if what == "imbalance":
        a = _run(m, sysm, kw, prec, moe_imbalance=1.0)
        b = _run(m, sysm, kw, prec, moe_imbalance=1.5)
    else:
        a = _run(m, sysm, kw, prec)
        b = _run(m, sysm, kw, prec, **{what: False})
    assert _f(a.step_time) <= _f(b.step_time) * (1 + 1e-12)


def test_hfu_counts_the_recomputed_flops() -> None:
    """Selective recompute redoes the attention core's forward (scores and values: 4 h FLOPs
    per key, causal mean context (s+1)/2, 80 layers); full recompute every layer's forward."""
    from podsim.workload.layers import model_flops_per_token

    m, seq = MODELS["llama3-70b"], 4096
    sysm = _Sys("h100", SYSTEMS["h100"].scaled(64))
    kw = dict(
        tp=8, pp=1, vpp=1, cp=1, ep=1, dp=8, zero=1, micro_batch=1, global_batch=64,
        seq_len=seq, sequence_parallel=True, uneven_pp=False,
    )  # fmt: skip
    model = float(model_flops_per_token(m, seq))
    sel = _run(m, sysm, {**kw, "recompute": 1}, "bf16")
    attn = 80 * 4 * m.hidden * (seq + 1) / 2
    assert _f(sel.hfu) / _f(sel.mfu) == _approx(1 + attn / model)
    full = _run(m, sysm, {**kw, "recompute": 2}, "bf16")
    head = 2 * m.hidden * m.vocab  # the LM head is not recomputed
    assert _f(full.hfu) / _f(full.mfu) == _approx(1 + (model / 3 - head) / model)
