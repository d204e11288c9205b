"""Collective-communication cost model: hierarchical alpha-beta over the levels of a system.

One formula for one configuration or a million: ``nbytes``, ``size`` and ``stride`` are scalars
or arrays that broadcast together; the ``System`` is fixed per call. Every function returns
seconds as a numpy array of the broadcast shape.

Conventions
-----------
* ``nbytes`` for all-reduce / reduce-scatter / all-gather is the full, unsharded buffer per rank
  (nccl-tests' "size" S; for all-gather the output size). For all-to-all it is the total a rank
  sends to all peers, including the 1/p share it keeps. For send/recv, the message.
* ``size`` ranks whose consecutive members are ``stride`` chips apart (see
  :mod:`podsim.hardware.placement`). The group spans ``m_k`` members per level-k group and
  decomposes into per-level fan-outs ``f_k = m_k / m_{k-1}`` (product = size).
* Level bandwidth ``B_k`` is per chip, one direction; each level's link type selects efficiencies
  from ``catalog/data/calibration/links.yaml`` (:mod:`podsim.cost.link_calibration`):
  ``beta_eff = 1 / (eta * B)`` (reference C2).

Model (reference ``topology_reliability.md`` A7, C2)
---------------------------------------------------
Torus and nD-full-mesh levels are split into one *stage* per dimension (dims innermost first);
switched and full-mesh levels are one stage each. For the stage of level k, ``n_k = n / m_{k-1}``
is the data each rank still holds after the inner reduce-scatters.

* Hierarchical reduce-scatter / all-gather: one RS (AG) phase per stage, innermost first (AG:
  outermost first), each ``lat_k + ((f_k-1)/f_k) * n_k / (eta_k * B_eff_k)``
  [Thakur, Rabenseifner & Gropp 2005, ring / recursive-halving forms; HCCL docs Mesh.md/Ring.md].
  All-reduce = RS up the stages + AG down [Thakur et al. 2005, Rabenseifner; reference C2
  "two-level" T = T_RS1(n) + T_AR2(n/g1) + T_AG1(n); HCCL level0/level1/level2].
* Per-stage algorithm by topology kind:
  - switched: latency ``min(ring (f-1), recursive halving/doubling or Bruck ceil(log2 f)) * alpha``
    with the bandwidth-optimal term for both (Bruck / HCCL "NB" keep ((p-1)/p) n beta for any p)
    [Thakur et al. 2005; HCCL algorithm menu]; ``B_eff = B / oversubscription``. Where the link
    calibration says the library has no log-step algorithm on that link (NCCL inside an NVLink
    domain: ring and chain tree both take ranks-1 steps, tuning.cc) the ring count is used.
    Link types with low-latency protocols (NCCL LL on NVLink: ~0.14x step latency at ~1/4 of
    the bandwidth, tuning.cc) take the faster protocol per stage.
    With in-network reduction (NVLS/SHARP) and a calibrated ``nvls_efficiency`` the stage's
    RS+AG pair of an all-reduce may instead cost ``2 alpha + n_k / (eta_nvls * B_eff)``
    [reference C2; NCCL maintainer, nccl-tests#212; nccl-tests PERFORMANCE.md].
  - full_mesh (HCCL Mesh): one step per phase (``alpha``); a rank sends to its f-1 peers on
    f-1 of its d-1 direct links at once, ``B_eff = B (f-1)/(d-1)``; for f = d this is the
    Clos-optimal bandwidth term [HCCL docs/Mesh.md: RS = alpha + (1/p) n beta_link].
  - nd_full_mesh: one full-mesh stage per dimension, each dimension getting ``B / ndims``
    [reference C2, UB-Mesh hierarchical derivation].
  - torus: bidirectional ring per dimension, ``B / ndims`` per dimension, ``(f-1)`` steps;
    a dimension the group does not wrap around is a line (one direction usable: half);
    strided members share links with the interleaved groups (``/u``) [reference C2]. A torus
    level inside a torus level with as many dimensions (TPU cube in a pod) is one physical torus:
    their dimensions merge into rings of the pod's length (``dims`` of the outer level may count
    chips, e.g. 16x20x28 around 4x4x4 cubes, or units of the inner level).
  - torus and nD full mesh, all dimensions of a level: the faster of "dimensions in sequence"
    (reference C2) and "r shares visiting the r dimensions in the r cyclic orders at once" (every
    dimension's links busy; UB-Mesh multi-ring, TPU multi-dimensional all-reduce) [D].
* Flat ring across all levels (NCCL ring, every stage switched): the channels run pipelined, so
  time is the slowest level: ``max_k c (p-1)/p * (n/m_{k-1}) / (eta_k B_k)`` (c = 2 for AR), with
  NCCL's latency ``sum_k c (p/m_{k-1} - p/m_k) alpha_k`` [NCCL src/graph/tuning.cc]. The model
  returns the faster of hierarchical and flat ring, as NCCL's tuner picks per size -- except
  reduce-scatter / all-gather on link types whose library runs them as a ring only
  (``rs_ag_ring_only``: NCCL), which take the flat ring.
* All-to-all: per stage, the bytes whose destination lies inside the level-k group but outside
  the level-(k-1) group (``n (m_k - m_{k-1}) / p``; per torus/mesh dimension: those whose
  coordinate differs) cross that stage; stages run concurrently, so
  ``T = max_k [bytes_k / (eta_a2a(p) * B_eff_k) + alpha_k]`` with eta_a2a falling with group
  size where measured (DeepEP-Ascend A3 table) [Thakur et al. 2005 pairwise exchange; reference C2].
  Consecutive switched levels of the same link type share the chip's ports (CloudMatrix UB
  node and supernode tiers): their terms add instead of overlapping.
  Torus dimensions are limited by hop count: ``B_eff = B_dim (f-1) / (f^2/4)``.
* send/recv: one message over the slowest level a pipeline group of ``size`` ranks crosses.

Nothing here beats the line rate: every efficiency is <= 1 and :func:`bandwidth_bound` gives
the same algorithms at line rate without latency, which tests assert as a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from podsim.cost.link_calibration import LinkCalibration, link_calibration
from podsim.errors import SpecError
from podsim.hardware.placement import factors_from_span, span_over_sizes
from podsim.hardware.system import System

KINDS = ("all_reduce", "reduce_scatter", "all_gather", "all_to_all", "send_recv")


@dataclass(frozen=True)
class Stage:
    """One step of the hierarchy: a switched or full-mesh level, or one dimension of a torus /
    nD-full-mesh level. Nested torus levels with the same number of dimensions (a TPU cube
    inside a pod torus) are merged per dimension into one ring (the physical ring is the
    pod's, e.g. 16 chips long, not a ring of 4 cubes)."""

    kind: str  # "switched" | "mesh" | "ring"
    level: int  # outermost system level taking part
    pseudo: tuple[int, ...]  # pseudo-levels whose fan-outs multiply into this stage's fan-out
    lengths: tuple[float, ...]  # positions along the dimension that each pseudo-level spans
    latencies: tuple[float, ...]  # latency of each pseudo-level
    bandwidth: float  # B/s per chip, one direction, for this stage (per dimension if split)
    nodes: float  # units along this stage (mesh: peers + 1; ring: ring length in positions)
    oversubscription: float
    inr: bool
    cal: LinkCalibration
    top: int  # pseudo-level holding this stage's whole level group (all-to-all share)


@dataclass(frozen=True)
class Topology:
    """Pseudo-levels (cumulative chips, innermost first) and the stages built on them."""

    sizes: tuple[float, ...]
    inner: tuple[float, ...]  # chips per unit of each pseudo-level
    stages: tuple[Stage, ...]
    dies: int = 1  # dies per chip (all-to-all curves measured per die)

    @cached_property
    def blocks(self) -> tuple[tuple[int, ...], ...]:
        """Stage indices grouped: the dimensions of one torus / nD-full-mesh level together."""
        out: list[list[int]] = []
        for k, x in enumerate(self.stages):
            prev = self.stages[k - 1] if k else None
            if (
                prev is not None
                and x.kind in ("ring", "mesh")
                and prev.kind == x.kind
                and prev.top == x.top
            ):
                out[-1].append(k)
            else:
                out.append([k])
        return tuple(tuple(b) for b in out)

    @cached_property
    def port_groups(self) -> tuple[tuple[int, ...], ...]:
        """Stages that share a chip's ports: consecutive switched levels of the same link type
        (CloudMatrix UB node + supernode tiers, Atlas 950 cabinet + SuperPoD: one set of UB ports
        per chip, so traffic to either tier shares it). Different link types (NVLink vs NIC) and
        torus / mesh dimensions (their own links) are separate groups."""
        out: list[list[int]] = []
        for k, x in enumerate(self.stages):
            prev = self.stages[k - 1] if k else None
            if (
                prev is not None
                and x.kind == "switched"
                and prev.kind == "switched"
                and x.cal.link_type == prev.cal.link_type
            ):
                out[-1].append(k)
            else:
                out.append([k])
        return tuple(tuple(g) for g in out)

    @property
    def all_switched(self) -> bool:
        return all(x.kind == "switched" for x in self.stages)


_TOPO_CACHE: dict[int, tuple[System, Topology]] = {}


def topology(system: System) -> Topology:
    """The system's levels as stages (cached per System object)."""
    hit = _TOPO_CACHE.get(id(system))
    if hit is not None and hit[0] is system:
        return hit[1]
    out = _build_topology(system)
    if len(_TOPO_CACHE) > 256:
        _TOPO_CACHE.clear()
    _TOPO_CACHE[id(system)] = (system, out)
    return out


def _build_topology(system: System) -> Topology:
    sizes: list[float] = []
    inner: list[float] = []
    stages: list[dict] = []
    prev = 1.0
    last_torus: tuple[int, list[int], tuple[float, ...]] | None = None  # level, stages, chip dims
    for i, lv in enumerate(system.levels):
        cal = link_calibration(lv.link_type)
        size = float(max(lv.size, prev))
        d = size / prev
        base = dict(level=i, oversubscription=lv.oversubscription, cal=cal, inr=False, top=-1)
        if lv.kind in ("torus", "nd_full_mesh") and d > 1:
            inner_dims = last_torus[2] if last_torus is not None else None
            dims = _dims(lv.kind, lv.dims, d, size, inner_dims)
            r = len(dims)
            merge = (
                lv.kind == "torus"
                and last_torus is not None
                and len(last_torus[1]) == r
                and last_torus[0] == i - 1
            )
            cum = prev
            new_stages: list[int] = []
            for j, dj in enumerate(dims):
                inner.append(cum)
                cum *= dj
                sizes.append(cum)
                if merge:
                    x = stages[last_torus[1][j]]
                    x["pseudo"] += (len(sizes) - 1,)
                    x["lengths"] += (dj,)
                    x["latencies"] += (lv.latency,)
                    x["nodes"] *= dj
                    x["bandwidth"] = min(x["bandwidth"], lv.bandwidth / r)
                    x["level"] = i
                    new_stages.append(last_torus[1][j])
                else:
                    stages.append(
                        dict(
                            base,
                            kind="ring" if lv.kind == "torus" else "mesh",
                            pseudo=(len(sizes) - 1,),
                            lengths=(dj,),
                            latencies=(lv.latency,),
                            bandwidth=lv.bandwidth / r,
                            nodes=dj,
                        )
                    )
                    new_stages.append(len(stages) - 1)
            for k in new_stages:
                stages[k]["top"] = len(sizes) - 1
            if lv.kind == "torus":
                chip_dims = tuple(
                    stages[k]["nodes"] for k in new_stages
                )  # ring lengths in chip positions
                last_torus = (i, new_stages, chip_dims)
            else:
                last_torus = None
        else:
            inner.append(prev)
            sizes.append(size)
            stages.append(
                dict(
                    base,
                    kind="mesh" if lv.kind == "full_mesh" else "switched",
                    pseudo=(len(sizes) - 1,),
                    lengths=(d,),
                    latencies=(lv.latency,),
                    bandwidth=lv.bandwidth,
                    nodes=d,
                    inr=bool(lv.in_network_reduction),
                    top=len(sizes) - 1,
                )
            )
            last_torus = None
        prev = size
    return Topology(
        tuple(sizes),
        tuple(inner),
        tuple(Stage(**x) for x in stages),
        dies=int(getattr(system.chip, "dies", 1) or 1),
    )


def _dims(
    kind: str,
    dims: tuple[int, ...] | None,
    d: float,
    chips: float,
    inner_dims: tuple[float, ...] | None,
) -> tuple[float, ...]:
    """Per-dimension unit counts of a level with ``d`` units of the inner level.

    ``dims`` may count units (product ``d``) or, for a torus inside a torus, chips (product =
    the level's chips; divided by the inner torus's dims). Otherwise -- no dims, or a scaled
    system whose dims no longer multiply out -- the level is taken as ``len(dims)`` (torus: 3,
    nd_full_mesh: 1) equal dimensions of ``d^(1/r)`` units: an assumption; fractional sizes are
    accepted by the cost formulas.
    """

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-9 * max(a, b)

    if dims:
        prod = float(np.prod(dims))
        if close(prod, d):
            return tuple(float(x) for x in dims)
        if inner_dims is not None and len(inner_dims) == len(dims) and close(prod, chips):
            return tuple(float(x) / float(y) for x, y in zip(dims, inner_dims, strict=True))
    r = len(dims) if dims else (3 if kind == "torus" else 1)
    return (d ** (1.0 / r),) * r


# ----------------------------------------------------------------------------------------------
# inputs


def _inputs(nbytes, size, stride):
    n, p, s = np.broadcast_arrays(
        np.asarray(nbytes, dtype=float),
        np.asarray(size, dtype=float),
        np.asarray(stride, dtype=float),
    )
    ok = np.isfinite(n) & (n >= 0.0) & np.isfinite(p) & (p >= 1.0) & np.isfinite(s) & (s >= 1.0)
    if not ok.all():  # one combined check on the hot path; name the culprit only on failure
        for name, arr, low in (("nbytes", n, 0.0), ("size", p, 1.0), ("stride", s, 1.0)):
            bad = ~np.isfinite(arr) | (arr < low)
            if np.any(bad):
                raise SpecError(
                    f"collective {name} must be a finite number >= {low:g}",
                    field=name,
                    value=float(arr[bad].flat[0]),
                    allowed=f"finite, >= {low:g}",
                )
    return n, p, s


def _ceil_log2(f):
    """ceil(log2 f) without float noise (f = 8.000000001 -> 3)."""
    return np.ceil(np.log2(np.maximum(f, 1.0)) - 1e-9)


class _Eval:
    """Per-call quantities of one stage: fan-out f, member spacing u (rings), latency."""

    def __init__(self, topo: Topology, p, s):
        self.span = span_over_sizes(topo.sizes, p, s)
        self.fj = factors_from_span(self.span)
        self.topo = topo
        self.p = p
        self.s = s

    def span_at(self, j: int):
        return self.span[..., j] if j >= 0 else np.ones_like(self.p)

    def stage(self, x: Stage):
        fs = [self.fj[..., j] for j in x.pseudo]
        f = fs[0]
        for g in fs[1:]:
            f = f * g
        lat = np.full_like(f, x.latencies[0])
        u = np.ones_like(f)
        if len(fs) > 1 or x.kind == "ring":
            found = np.zeros(f.shape, dtype=bool)
            scale = 1.0
            for j, g, length, a in zip(x.pseudo, fs, x.lengths, x.latencies, strict=True):
                used = g > 1.0 + 1e-12
                # spacing of members along the ring, in positions, set by the innermost part used
                uj = np.maximum(self.s / self.topo.inner[j], 1.0) * scale
                u = np.where(used & ~found, uj, u)
                found = found | used
                lat = np.where(used, a, lat)  # the outermost part used sets the step latency
                scale *= length
        return f, u, lat


def _rs_ag_bw(x: Stage, f, u):
    """Line-rate per-chip bandwidth of one RS/AG phase at a stage with fan-out f."""
    if x.kind == "switched":
        return np.full_like(f, x.bandwidth / x.oversubscription)
    if x.kind == "mesh":
        # direct links only: f-1 of the d-1 per-peer links (HCCL Mesh; APR detours not modelled);
        # at least one link, so a fractional fan-out just above 1 (mean occupancy) stays cheap
        bw = x.bandwidth * np.maximum(f - 1.0, 1.0) / max(x.nodes - 1.0, 1.0)
        return np.where(f > 1.0, np.maximum(bw, 1e-300), x.bandwidth)
    # torus dimension: bidirectional ring if the group wraps around it, else a line (one
    # direction usable); members u apart share every link with the u interleaved groups
    wrap = f * u >= x.nodes * (1 - 1e-9)
    return x.bandwidth / u * np.where(wrap, 1.0, 0.5)


def _phase_latency(x: Stage, f, lat):
    """Latency of one RS or AG phase at a stage (0 when f = 1)."""
    fm1 = np.maximum(f - 1.0, 0.0)
    if x.kind == "switched" and x.cal.log_steps:
        steps = np.minimum(fm1, _ceil_log2(f))  # ring vs RHD/Bruck [Thakur et al. 2005]
    elif x.kind == "switched":
        steps = fm1  # NCCL inside an NVLink domain: ring / chain tree [NCCL tuning.cc]
    elif x.kind == "mesh":
        steps = np.where(f > 1.0, 1.0, 0.0)  # HCCL Mesh: one step per phase [HCCL Mesh.md]
    else:
        steps = fm1  # ring per torus dimension
    return steps * lat


# ----------------------------------------------------------------------------------------------
# core


def _multi_dim(nb, block, topo: Topology, ev: _Eval, *, phases: int, ideal: bool):
    """RS/AG phases over the dimensions of one torus / nD-full-mesh level.

    Two schedules, the faster is taken: dimensions in sequence (reference C2: n shrinks by f_d
    after each dimension), or the data split into r shares that visit the r dimensions in the r
    cyclic orders at once, so every dimension's links stay busy (multi-dimensional / multi-ring
    all-reduce as in UB-Mesh Sec. 5 and TPU torus all-reduce; our derivation [D]): dimension j
    then carries sum over orders of its stage cost for n/r, and the slowest dimension sets the
    time. Latency: one pass through the dimensions.
    """
    xs = [topo.stages[k] for k in block]
    parts = [ev.stage(x) for x in xs]
    fs = [q[0] for q in parts]
    per_byte = []  # phases * (f-1)/f / (eta * bw): seconds per byte of data entering the stage
    lat = np.zeros_like(nb)
    for x, (f, u, a) in zip(xs, parts, strict=True):
        eta = 1.0 if ideal else x.cal.bus_efficiency
        c = phases * ((f - 1.0) / f) / (eta * _rs_ag_bw(x, f, u))
        per_byte.append(np.where(f > 1.0, c, 0.0))
        if not ideal:
            lat = lat + phases * np.where(f > 1.0, _phase_latency(x, f, a), 0.0)
    r = len(xs)
    seq = np.zeros_like(nb)
    held = np.ones_like(nb)
    for c, f in zip(per_byte, fs, strict=True):
        seq = seq + c * nb / held
        held = held * f
    load = [np.zeros_like(nb) for _ in range(r)]
    for rot in range(r):
        h = np.ones_like(nb)
        for i in range(r):
            j = (rot + i) % r
            load[j] = load[j] + per_byte[j] * (nb / r) / h
            h = h * fs[j]
    rotated = load[0]
    for ld in load[1:]:
        rotated = np.maximum(rotated, ld)
    return np.minimum(seq, rotated) + lat, held


def _rs_ag(n, p, s, topo: Topology, *, phases: int, ideal: bool, allow_nvls: bool):
    """Hierarchical RS (phases=1), AG (1) or RS+AG all-reduce (2), min with a flat ring."""
    ev = _Eval(topo, p, s)
    hier = np.zeros_like(n)
    held = np.ones_like(n)  # product of the fan-outs of earlier stages: n_k = n / held
    for block in topo.blocks:
        if len(block) > 1:
            t, f = _multi_dim(n / held, block, topo, ev, phases=phases, ideal=ideal)
            hier = hier + t
            held = held * f
            continue
        x = topo.stages[block[0]]
        f, u, lat = ev.stage(x)
        nk = n / held
        bw = _rs_ag_bw(x, f, u)
        eta = 1.0 if ideal else x.cal.bus_efficiency
        t = phases * ((f - 1.0) / f) * nk / (eta * bw)
        if not ideal:
            steps_lat = phases * _phase_latency(x, f, lat)
            t_bw = t
            t = t_bw + steps_lat
            # low-latency protocols (NCCL LL / LL128): cheaper steps, less bandwidth [tuning.cc]
            for pr in x.cal.protocols:
                t = np.minimum(t, t_bw / pr.bandwidth_ratio + steps_lat * pr.latency_ratio)
        if allow_nvls and x.kind == "switched" and x.inr and x.cal.nvls is not None:
            # NVLS / SHARP all-reduce of n_k in one pass through the switch
            # [reference C2; NCCL maintainer in nccl-tests#212; nccl-tests PERFORMANCE.md]
            b = x.bandwidth / x.oversubscription
            if ideal:
                t_nvls = nk / b  # each rank must send and receive n_k at least once
            else:
                t_nvls = nk / (x.cal.nvls_efficiency * b) + 2.0 * lat
            t = np.minimum(t, t_nvls)
        hier = hier + np.where(f > 1.0, t, 0.0)
        held = held * f
    if not topo.all_switched:
        return hier
    # flat multi-channel ring over all levels, pipelined: the slowest level bounds it
    # [NCCL tuning.cc: ring busBw = min over links; nsteps = 2(nRanks-1), nInterSteps = 2(nNodes-1)]
    ring_bw = np.zeros_like(n)
    ring_lat = np.zeros_like(n)
    frac = (p - 1.0) / p
    hops_at = []
    for j, x in enumerate(topo.stages):  # all switched: stage j is pseudo-level j
        f = ev.fj[..., j]
        eta = 1.0 if ideal else x.cal.bus_efficiency
        bw = eta * x.bandwidth / x.oversubscription
        tk = phases * frac * (n / ev.span_at(j - 1)) / bw
        ring_bw = np.maximum(ring_bw, np.where(f > 1.0, tk, 0.0))
        hops = p / ev.span_at(j - 1) - p / ev.span[..., j]
        hops_at.append(hops)
        ring_lat = ring_lat + phases * hops * x.latencies[0]
    ring = ring_bw if ideal else ring_bw + ring_lat
    if not ideal:
        # a low-latency protocol runs on the whole ring: cheaper steps on the links that offer
        # it, the bandwidth of the slowest at its ratio [NCCL tuning.cc, one protocol per call]
        names = {pr.name for x in topo.stages for pr in x.cal.protocols}
        for name in sorted(names):
            lat_p = np.zeros_like(n)
            bw_ratio = 1.0
            for x, hops in zip(topo.stages, hops_at, strict=True):
                pr = next((q for q in x.cal.protocols if q.name == name), None)
                lat_p = lat_p + phases * hops * x.latencies[0] * (pr.latency_ratio if pr else 1.0)
                bw_ratio = min(bw_ratio, pr.bandwidth_ratio if pr else 1.0)
            ring = np.minimum(ring, ring_bw / bw_ratio + lat_p)
    if phases == 1 and not ideal and all(x.cal.rs_ag_ring_only for x in topo.stages):
        # the library has no hierarchical RS/AG: one flat ring over every rank, so a group across
        # many nodes pays (p-1) ring steps of latency (NCCL AllGather / ReduceScatter)
        return ring
    return np.minimum(hier, ring)


def _a2a(n, p, s, topo: Topology, *, ideal: bool):
    ev = _Eval(topo, p, s)
    t = np.zeros_like(n)
    for group in topo.port_groups:
        # stages of one port group share the chip's ports: their bytes queue behind each other
        tg = np.zeros_like(n)
        lat_g = np.zeros_like(n)
        for k in group:
            x = topo.stages[k]
            f, u, lat = ev.stage(x)
            if x.kind == "switched":
                j = x.pseudo[0]
                share = (ev.span[..., j] - ev.span_at(j - 1)) / p
                bw = np.full_like(f, x.bandwidth / x.oversubscription)
            else:
                # destinations in this level's group whose coordinate along this dimension differs
                share = (ev.span[..., x.top] / p) * (1.0 - 1.0 / f)
                if x.kind == "mesh":
                    bw = x.bandwidth * np.maximum(f - 1.0, 1.0) / max(x.nodes - 1.0, 1.0)
                else:
                    # hop-count limit of a ring: mean distance ~f/4 (both ways round), so
                    # B_eff = B_dim (f-1) / (f^2/4); a line gets half; strided groups share links
                    wrap = f * u >= x.nodes * (1 - 1e-9)
                    hop = np.minimum(1.0, np.maximum(f - 1.0, 0.0) / np.maximum(f * f / 4.0, 1.0))
                    bw = x.bandwidth * hop * np.where(wrap, 1.0, 0.5) / u
                bw = np.where(f > 1.0, np.maximum(bw, 1e-300), x.bandwidth)
            if not ideal:
                bw = bw * x.cal.a2a_efficiency(p, topo.dies)
            used = f > 1.0
            tg = tg + np.where(used, share * n / bw, 0.0)
            if not ideal:
                if x.cal.a2a_latency is not None:
                    lat = np.maximum(lat, x.cal.a2a_latency.value)
                lat_g = np.maximum(lat_g, np.where(used, lat, 0.0))
        t = np.maximum(t, tg + lat_g)
    return t


def _p2p(n, p, s, topo: Topology, *, ideal: bool):
    ev = _Eval(topo, np.maximum(p, 2.0), s)
    t = np.zeros_like(n)
    for x in topo.stages:
        f, u, lat = ev.stage(x)
        if x.kind == "switched":
            bw = x.bandwidth / x.oversubscription
        elif x.kind == "mesh":
            bw = x.bandwidth / max(x.nodes - 1.0, 1.0)  # one direct link
        else:
            bw = x.bandwidth / 2.0 / u  # one ring direction, shared by the u interleaved pairs
        if not ideal:
            bw = bw * x.cal.bus_efficiency
        tk = n / bw + (0.0 if ideal else lat)
        # the outermost stage crossed is the slowest boundary of the pipeline group
        t = np.where(f > 1.0, tk, t)
    return t


def _evaluate(kind: str, nbytes, size, stride, system: System, *, ideal: bool) -> np.ndarray:
    n, p, s = _inputs(nbytes, size, stride)
    st = topology(system)
    if kind == "all_reduce":
        t = _rs_ag(n, p, s, st, phases=2, ideal=ideal, allow_nvls=True)
    elif kind in ("reduce_scatter", "all_gather"):
        t = _rs_ag(n, p, s, st, phases=1, ideal=ideal, allow_nvls=False)
    elif kind == "all_to_all":
        t = _a2a(n, p, s, st, ideal=ideal)
    elif kind == "send_recv":
        t = _p2p(n, p, s, st, ideal=ideal)
    else:
        raise SpecError("unknown collective", field="kind", value=kind, allowed=", ".join(KINDS))
    if kind != "send_recv":
        t = np.where(p > 1.0, t, 0.0)
    return np.where(n > 0.0, t, 0.0)


# ----------------------------------------------------------------------------------------------
# public API


def all_reduce(nbytes, size, stride, system: System) -> np.ndarray:
    """Seconds to all-reduce ``nbytes`` per rank over ``size`` ranks ``stride`` chips apart."""
    return _evaluate("all_reduce", nbytes, size, stride, system, ideal=False)


def reduce_scatter(nbytes, size, stride, system: System) -> np.ndarray:
    """Seconds to reduce-scatter a ``nbytes`` buffer (full, unsharded, per rank)."""
    return _evaluate("reduce_scatter", nbytes, size, stride, system, ideal=False)


def all_gather(nbytes, size, stride, system: System) -> np.ndarray:
    """Seconds to all-gather into a ``nbytes`` output buffer per rank."""
    return _evaluate("all_gather", nbytes, size, stride, system, ideal=False)


def all_to_all(nbytes, size, stride, system: System) -> np.ndarray:
    """Seconds for an all-to-all where each rank sends ``nbytes`` in total (incl. its own 1/p)."""
    return _evaluate("all_to_all", nbytes, size, stride, system, ideal=False)


def send_recv(nbytes, stride, system: System, size=2) -> np.ndarray:
    """Seconds to send ``nbytes`` to the pipeline neighbour ``stride`` chips away.

    With ``size`` (the pipeline depth; default 2, one pair) the slowest of the group's
    boundaries is costed: the outermost level a group of ``size`` ranks ``stride`` apart spans.
    """
    return _evaluate("send_recv", nbytes, size, stride, system, ideal=False)


def bandwidth_bound(kind: str, nbytes, size, stride, system: System) -> np.ndarray:
    """The pure line-rate lower bound: the same algorithms at efficiency 1, without latency."""
    return _evaluate(kind, nbytes, size, stride, system, ideal=True)


def bus_bandwidth(kind: str, nbytes, size, seconds) -> np.ndarray:
    """nccl-tests busbw (B/s) of a result: algbw = S/t times 2(p-1)/p (all-reduce), (p-1)/p
    (reduce-scatter, all-gather, all-to-all) or 1 (send/recv) [nccl-tests PERFORMANCE.md]."""
    n, p, t = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (nbytes, size, seconds)))
    factor = {
        "all_reduce": 2.0 * (p - 1.0) / p,
        "reduce_scatter": (p - 1.0) / p,
        "all_gather": (p - 1.0) / p,
        "all_to_all": (p - 1.0) / p,
        "send_recv": np.ones_like(p),
    }[kind]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, n / t * factor, np.inf)
