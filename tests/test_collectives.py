"""Collective cost model: physics bounds, properties, and the reference's measured busbw."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsim import catalog
from podsim.cost import collectives as C
from podsim.cost.link_calibration import all_link_calibrations, link_calibration
from podsim.errors import SpecError
from podsim.hardware.system import Level, System

GiB = 2**30
KINDS = ("all_reduce", "reduce_scatter", "all_gather", "all_to_all")


def _system(*levels: Level, chips: int | None = None) -> System:
    return System(
        id="t",
        name="test",
        chip=catalog.chip("h100-sxm"),
        chips=chips or levels[-1].size,
        levels=tuple(levels),
    )


def dgx(nodes: int = 128) -> System:
    return _system(
        Level(
            "nvl",
            8,
            "switched",
            True,
            1,
            450e9,
            3e-6,
            in_network_reduction=True,
            link_type="nvlink4",
        ),
        Level("ib", 8 * nodes, "switched", False, 3, 50e9, 8e-6, link_type="infiniband-ndr"),
    )


def nvl72() -> System:
    return _system(
        Level(
            "nvl72",
            72,
            "switched",
            True,
            1,
            900e9,
            3e-6,
            in_network_reduction=True,
            link_type="nvlink5",
        ),
        Level("ib", 72 * 16, "switched", False, 3, 100e9, 8e-6, link_type="infiniband-xdr"),
    )


def cm384() -> System:
    return _system(
        Level("ub", 768, "switched", True, 2, 196e9, 2e-6, link_type="ub1"),
        Level("roce", 768 * 4, "switched", False, 3, 25e9, 8e-6, link_type="roce-400g"),
    )


def meta_roce() -> System:
    return _system(
        Level("node", 8, "switched", True, 1, 450e9, 3e-6, link_type="nvlink4"),
        Level("pod", 3072, "switched", False, 2, 50e9, 6e-6, link_type="roce-400g"),
        Level(
            "cluster",
            24576,
            "switched",
            False,
            3,
            50e9,
            10e-6,
            oversubscription=7.0,
            link_type="roce-400g",
        ),
    )


def ubmesh() -> System:
    return _system(
        Level("board", 8, "full_mesh", True, 1, 200e9, 1e-6, link_type="ub2"),
        Level("rack", 64, "nd_full_mesh", True, 1, 200e9, 1.5e-6, dims=(8,), link_type="ub2"),
        Level("pod", 1024, "nd_full_mesh", True, 1, 100e9, 2e-6, dims=(4, 4), link_type="ub2"),
        Level("spod", 8192, "switched", False, 2, 50e9, 4e-6, link_type="ub2"),
    )


def hccs910b() -> System:
    return _system(
        Level("hccs", 8, "full_mesh", True, 1, 196e9, 2e-6, link_type="hccs"),
        Level("roce", 1024, "switched", False, 3, 25e9, 8e-6, link_type="roce-400g"),
    )


def tpu() -> System:
    return _system(
        Level("cube", 64, "torus", True, 1, 600e9, 1e-6, dims=(4, 4, 4), link_type="ici"),
        Level("pod", 4096, "torus", True, 1, 600e9, 1e-6, dims=(4, 4, 4), link_type="ici"),
        Level("dcn", 4096 * 4, "switched", False, 3, 6.25e9, 20e-6, link_type="dcn"),
    )


SYSTEMS = {
    "dgx": dgx(),
    "nvl72": nvl72(),
    "cm384": cm384(),
    "meta": meta_roce(),
    "ubmesh": ubmesh(),
    "hccs": hccs910b(),
    "tpu": tpu(),
}

pow2 = st.integers(0, 13).map(lambda e: 2**e)
nbytes_st = st.floats(1.0, 1e11, allow_nan=False, allow_infinity=False)


def _call(kind, n, p, s, sysm):
    if kind == "send_recv":
        return C.send_recv(n, s, sysm, size=p)
    return getattr(C, kind)(n, p, s, sysm)


# ------------------------------------------------------------------ properties


@settings(max_examples=300, deadline=None)
@given(
    sysname=st.sampled_from(sorted(SYSTEMS)),
    kind=st.sampled_from((*KINDS, "send_recv")),
    n=nbytes_st,
    p=st.integers(1, 4096),
    s=st.integers(1, 512),
)
def test_never_beats_bandwidth_bound(sysname, kind, n, p, s):
    sysm = SYSTEMS[sysname]
    t = _call(kind, n, p, s, sysm)
    b = C.bandwidth_bound(kind, n, p, s, sysm)
    assert np.isfinite(t) and t >= 0
    assert t >= b * (1 - 1e-12)
    if p > 1 or kind == "send_recv":
        assert t > 0


@settings(max_examples=200, deadline=None)
@given(
    sysname=st.sampled_from(sorted(SYSTEMS)),
    kind=st.sampled_from((*KINDS, "send_recv")),
    p=st.integers(2, 2048),
    s=st.sampled_from([1, 2, 4, 8, 16, 64, 72, 256]),
    n=st.lists(nbytes_st, min_size=2, max_size=20),
)
def test_monotone_in_nbytes(sysname, kind, p, s, n):
    n = np.sort(np.array(n))
    t = _call(kind, n, p, s, SYSTEMS[sysname])
    assert np.all(np.diff(t) >= -1e-15 * t[1:])


@pytest.mark.parametrize("sysname", sorted(SYSTEMS))
@pytest.mark.parametrize("kind", KINDS)
def test_size_one_costs_zero(sysname, kind):
    t = _call(kind, np.array([0.0, 1.0, 1e9]), 1, np.array([1, 8, 64]), SYSTEMS[sysname])
    assert t.tolist() == [0.0, 0.0, 0.0]


def test_zero_bytes_cost_zero():
    assert C.all_reduce(0, 8, 1, dgx()) == 0.0


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    n=nbytes_st,
    p=st.sampled_from([2, 4, 8]),
    sysname=st.sampled_from(["dgx", "nvl72", "cm384", "meta", "tpu"]),
)
def test_scale_up_group_not_slower_than_across_scale_out(kind, n, p, sysname):
    """The same group inside the scale-up domain vs one member per scale-up domain.

    (Switched and torus scale-up only: on a full mesh a 2-rank group gets one peer link, which
    can be slower than a NIC -- 910B HCCS 2-card all-reduce is measured at 18 GB/s.)"""
    sysm = SYSTEMS[sysname]
    su = sysm.scale_up_domain
    inside = _call(kind, n, p, 1, sysm)
    across = _call(kind, n, p, su, sysm)
    assert inside <= across


def test_full_mesh_inside_not_slower_than_across():
    for sysm in (hccs910b(),):
        for kind in KINDS:
            for n in (1e3, 1e6, 1e9):
                assert _call(kind, n, 8, 1, sysm) <= _call(kind, n, 8, 8, sysm)


@settings(max_examples=50, deadline=None)
@given(
    sysname=st.sampled_from(sorted(SYSTEMS)),
    kind=st.sampled_from((*KINDS, "send_recv")),
    n=st.lists(nbytes_st, min_size=1, max_size=6),
    p=st.lists(st.integers(1, 2048), min_size=1, max_size=6),
    s=st.lists(st.integers(1, 512), min_size=1, max_size=6),
)
def test_vectorised_equals_scalar(sysname, kind, n, p, s):
    sysm = SYSTEMS[sysname]
    N = np.array(n)[:, None, None]
    P = np.array(p)[None, :, None]
    S = np.array(s)[None, None, :]
    out = _call(kind, N, P, S, sysm)
    assert out.shape == (len(n), len(p), len(s))
    for i, a in enumerate(n):
        for j, b in enumerate(p):
            for k, c in enumerate(s):
                assert out[i, j, k] == pytest.approx(_call(kind, a, b, c, sysm), rel=1e-12)


def test_ring_busbw_never_above_line_rate_without_in_network_reduction():
    """Without NVLS/SHARP no all-reduce can exceed busbw = line rate (nccl-tests PERFORMANCE.md)."""
    rng = np.random.default_rng(0)
    for sysm, lr in ((cm384(), 196e9), (hccs910b(), 196e9), (tpu(), 600e9)):
        n = rng.uniform(1, 1e10, 500)
        p = rng.integers(2, 64, 500)
        t = C.all_reduce(n, p, 1, sysm)
        assert np.all(C.bus_bandwidth("all_reduce", n, p, t) <= lr * (1 + 1e-9))


def test_more_levels_cost_more():
    sysm = dgx()
    n = 1e9
    assert C.all_reduce(n, 8, 1, sysm) < C.all_reduce(n, 16, 1, sysm)
    assert C.all_to_all(n, 8, 1, sysm) < C.all_to_all(n, 16, 1, sysm)


def test_oversubscription_slows_cross_pod_traffic():
    sysm = meta_roce()
    inside_pod = C.all_reduce(1e9, 256, 8, sysm)  # 256 nodes inside one 3,072-GPU pod
    across = C.all_reduce(1e9, 256, 3072 // 8 * 8, sysm)  # one member per pod region: crosses
    assert across > inside_pod


def test_send_recv_levels():
    sysm = dgx()
    g = GiB
    assert C.send_recv(g, 4, sysm) == pytest.approx(g / (0.822 * 450e9) + 3e-6)
    assert C.send_recv(g, 8, sysm) == pytest.approx(g / (0.94 * 50e9) + 8e-6)
    # a 4-stage pipeline with stride 4 has a boundary across nodes
    assert C.send_recv(g, 4, sysm, size=4) == C.send_recv(g, 8, sysm)


def test_bad_inputs():
    with pytest.raises(SpecError, match="size"):
        C.all_reduce(1e6, 0, 1, dgx())
    with pytest.raises(SpecError, match="nbytes"):
        C.all_reduce(np.array([1.0, -1.0]), 8, 1, dgx())
    with pytest.raises(SpecError, match="kind"):
        C.bandwidth_bound("broadcast", 1e6, 8, 1, dgx())


# ------------------------------------------------------------------ calibration file


def test_every_calibration_has_source_and_basis():
    table = all_link_calibrations()
    expected = {
        "nvlink3",
        "nvlink4",
        "nvlink5",
        "infinity-fabric",
        "ub1",
        "ub2",
        "hccs",
        "ici",
        "infiniband-hdr",
        "infiniband-ndr",
        "infiniband-xdr",
        "roce-400g",
        "roce-800g",
        "dcn",
        "generic",
    }
    assert expected <= set(table)
    for cal in table.values():
        for eff in (cal.bus, cal.a2a, cal.nvls):
            if eff is not None:
                assert 0 < eff.value <= 1 and len(eff.source) > 3 and eff.basis


def test_unknown_link_type_falls_back_to_generic():
    cal = link_calibration("made-up-link")
    assert cal.fallback and cal.bus_efficiency == link_calibration("generic").bus_efficiency


def test_a2a_curve_reproduces_ascend_table():
    cal = link_calibration("ub1")
    got = cal.a2a_efficiency(np.array([8, 16, 32, 64, 128])) * 196
    assert got == pytest.approx([146, 107, 102, 81, 57], abs=0.1)


# ------------------------------------------------------------------ measured reference values


def test_h100_8gpu_allreduce_busbw_1gib():
    """nccl-tests#212: ~370 GB/s ring, ~480 GB/s NVLS on 8x H100 (reference A8)."""
    t = C.all_reduce(GiB, 8, 1, dgx())
    bus = C.bus_bandwidth("all_reduce", GiB, 8, t) / 1e9
    assert 370 <= bus <= 480


def test_h100_8gpu_ring_collectives_busbw():
    """Non-AllReduce collectives ~370 GB/s busbw (nccl-tests#212)."""
    for kind in ("reduce_scatter", "all_gather", "all_to_all"):
        t = getattr(C, kind)(GiB, 8, 1, dgx())
        assert C.bus_bandwidth(kind, GiB, 8, t) / 1e9 == pytest.approx(370, rel=0.03)


@pytest.mark.parametrize(
    ("size", "measured", "rel"),
    [(512 * 2**20, 586, 0.10), (2 * GiB, 765, 0.05), (4 * GiB, 841, 0.03), (8 * GiB, 841, 0.03)],
)
def test_gb200_nvl72_allreduce_busbw(size, measured, rel):
    """coreweave/nccl-tests#43, 72 GPUs: 586 GB/s at 512 MiB, 757-774 at 2 GiB, 835-847 at
    4-8 GiB (reference A8). The alpha-beta form reaches the peak a little early (+9% at 512 MiB)."""
    t = C.all_reduce(size, 72, 1, nvl72())
    assert C.bus_bandwidth("all_reduce", size, 72, t) / 1e9 == pytest.approx(measured, rel=rel)


def test_log_steps_only_where_the_library_has_them():
    """NCCL inside an NVLink domain: ranks-1 steps; HCCL over UB: log steps."""
    small = 8.0
    nv = C.all_reduce(small, 72, 1, nvl72())
    ll = link_calibration("nvlink5").protocols[0]
    assert ll.name == "LL"
    assert nv == pytest.approx(2 * 71 * 3e-6 * ll.latency_ratio, rel=1e-3)
    ub = C.all_reduce(small, 64, 1, cm384())
    assert ub == pytest.approx(2 * 6 * 2e-6, rel=1e-3)


def test_nccl_all_gather_is_one_flat_ring_across_nodes():
    """NCCL has no hierarchical or log-step all-gather: a small all-gather over 128 nodes pays
    a ring step per rank (7 NVLink hops and one NIC hop per node), while the all-reduce may use
    the hierarchical form; HCCL over UB keeps its log-step all-gather."""
    small = 8.0
    sys_ = dgx(128)
    p = 1024
    ll = link_calibration("nvlink4").protocols[0]
    nvl_hops, nic_hops = p - 128, 128 - 1
    ring_simple = nvl_hops * 3e-6 + nic_hops * 8e-6
    ring_ll = nvl_hops * 3e-6 * ll.latency_ratio + nic_hops * 8e-6
    assert C.all_gather(small, p, 1, sys_) == pytest.approx(min(ring_simple, ring_ll), rel=1e-2)
    assert C.reduce_scatter(small, p, 1, sys_) == pytest.approx(C.all_gather(small, p, 1, sys_))
    # the step count grows with the ranks: twice the nodes, about twice the latency
    assert C.all_gather(small, 2 * p, 1, dgx(256)) > 1.9 * C.all_gather(small, p, 1, sys_)
    assert C.all_reduce(small, p, 1, sys_) < C.all_gather(small, p, 1, sys_)
    assert C.all_gather(small, 512, 1, cm384()) < 20 * 2e-6


def test_ndr_busbw_per_nic():
    """nccl-tests#290: 46-48 GB/s per NIC (one GPU per node, NDR 400G)."""
    for p in (2, 16, 128):
        t = C.all_reduce(GiB, p, 8, dgx())
        assert 46 <= C.bus_bandwidth("all_reduce", GiB, p, t) / 1e9 <= 48


def test_ascend_a3_dispatch_bandwidth_falls_with_ep():
    """DeepEP-Ascend on A3: dispatch 146 -> 57 GB/s from EP8 to EP128 (reference A8)."""
    sysm = cm384()
    n = 4096 * 7168 * 8  # INT8 tokens x top-8, order of magnitude of one dispatch
    ep = np.array([8, 16, 32, 64, 128])
    t = C.all_to_all(n, ep, 1, sysm)
    crossing = n * (ep - 1) / ep  # bytes leaving each die
    bw = crossing / t / 1e9
    assert bw == pytest.approx([146, 107, 102, 81, 57], rel=0.05)


def test_910b_hccs_mesh_matches_limulidae():
    """910B 8-card full mesh (reference A8, [S/U]): algbw AR 72 / AG 149 GB/s at 8 cards and
    AR 18 / AG 38 GB/s at 2 cards (one HCCS peer link)."""
    sysm = hccs910b()
    for p, ar, ag in ((8, 72, 149), (2, 18, 38)):
        t_ar = C.all_reduce(GiB, p, 1, sysm)
        t_ag = C.all_gather(GiB, p, 1, sysm)
        assert GiB / t_ar / 1e9 == pytest.approx(ar, rel=0.05)
        assert GiB / t_ag / 1e9 == pytest.approx(ag, rel=0.05)


def test_torus_full_cube_uses_all_dimensions():
    """A 4x4x4 torus all-reduce keeps all six links busy: busbw near eta x 600 GB/s, and a
    group on one ring gets one dimension's share (B/3), half of it without the wrap-around."""
    cube = _system(
        Level("cube", 64, "torus", True, 1, 600e9, 1e-6, dims=(4, 4, 4), link_type="ici")
    )
    eta = link_calibration("ici").bus_efficiency
    t = C.all_reduce(GiB, 64, 1, cube)
    assert C.bus_bandwidth("all_reduce", GiB, 64, t) == pytest.approx(eta * 600e9, rel=0.02)
    t = C.all_reduce(GiB, 4, 1, cube)
    assert C.bus_bandwidth("all_reduce", GiB, 4, t) == pytest.approx(eta * 200e9, rel=0.01)
    t = C.all_reduce(GiB, 2, 1, cube)  # 2 of 4 on the ring: a line
    assert C.bus_bandwidth("all_reduce", GiB, 2, t) == pytest.approx(eta * 100e9, rel=0.01)


def test_nested_torus_merges_into_pod_rings():
    """Cube (4x4x4) inside a pod whose dims count chips (16x16x16): one ring of 16 per axis."""
    pod = _system(
        Level("cube", 64, "torus", True, 1, 600e9, 1e-6, dims=(4, 4, 4), link_type="ici"),
        Level("pod", 4096, "torus", True, 1, 600e9, 2e-6, dims=(16, 16, 16), link_type="ici"),
    )
    topo = C.topology(pod)
    assert [x.nodes for x in topo.stages] == [16, 16, 16]
    assert topo.blocks == ((0, 1, 2),)
    # same answer when the outer dims are given in cube units
    pod_units = _system(
        Level("cube", 64, "torus", True, 1, 600e9, 1e-6, dims=(4, 4, 4), link_type="ici"),
        Level("pod", 4096, "torus", True, 1, 600e9, 2e-6, dims=(4, 4, 4), link_type="ici"),
    )
    for p, s in ((16, 1), (256, 1), (4096, 1), (4, 64), (64, 4)):
        assert C.all_reduce(GiB, p, s, pod) == C.all_reduce(GiB, p, s, pod_units)
    # 16 chips along x wrap the pod ring: full per-dimension bandwidth
    eta = link_calibration("ici").bus_efficiency
    t = C.all_gather(GiB, 4, 64, pod)  # one chip per cube along x: 4 ranks, 4 apart, wrap
    assert C.bus_bandwidth("all_gather", GiB, 4, t) == pytest.approx(eta * 200e9 / 4, rel=0.01)


def test_ascend_a3_curve_counts_dies_on_two_die_chips():
    """CloudMatrix-class system with 910C packages (2 dies, 392 GB/s) as chips: an EP group of p
    chips is 2p DeepEP-Ascend ranks, so p = 4/8/16/32/64 reproduces the EP 8..128 table per die."""
    sysm = System(
        id="t-cm",
        name="cm",
        chip=catalog.chip("ascend-910c"),
        chips=384,
        levels=(
            Level("ub-node", 8, "switched", True, 1, 392e9, 2e-6, link_type="ub1"),
            Level("ub-sn", 384, "switched", True, 2, 392e9, 3e-6, link_type="ub1"),
        ),
    )
    n = 4096 * 7168 * 8.0
    chips = np.array([4, 8, 16, 32, 64])
    t = C.all_to_all(n, chips, 1, sysm)
    per_die = n * (chips - 1) / chips / t / 2 / 1e9
    assert per_die == pytest.approx([146, 107, 102, 81, 57], rel=0.05)


@pytest.mark.parametrize(
    "ep,dispatch_us,combine_us",
    [(16, 118, 195), (32, 155, 273), (64, 173, 314), (128, 192, 369), (256, 194, 360)],
)
def test_decode_all_to_all_matches_deepep_low_latency_kernels(ep, dispatch_us, combine_us):
    """DeepEP low-latency dispatch (FP8) and combine (BF16) of 128 tokens, hidden 7168, top-8,
    over 400G InfiniBand (DeepEP README, H800): one copy per distinct destination rank."""
    s = dgx(32)
    copies = ep * (1.0 - (1.0 - 1.0 / ep) ** 8)
    sent = 128 * copies * 7168
    assert C.all_to_all(sent * 1.0, ep, 1, s) == pytest.approx(dispatch_us * 1e-6, rel=0.15)
    assert C.all_to_all(sent * 2.0, ep, 1, s) == pytest.approx(combine_us * 1e-6, rel=0.15)
