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
    [Thakur et al. 2005; HCCL algorithm menu]; ``B_eff = B / oversubscription``.
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
    strided members share links with the interleaved groups (``/u``) [reference C2].
* Flat ring across all levels (NCCL ring, every stage switched): the channels run pipelined, so
  time is the slowest level: ``max_k c (p-1)/p * (n/m_{k-1}) / (eta_k B_k)`` (c = 2 for AR), with
  NCCL's latency ``sum_k c (p/m_{k-1} - p/m_k) alpha_k`` [NCCL src/graph/tuning.cc]. The model
  returns the faster of hierarchical and flat ring, as NCCL's tuner picks per size.
* All-to-all: per stage, the bytes whose destination lies inside the level-k group but outside
  the level-(k-1) group (``n (m_k - m_{k-1}) / p``; per torus/mesh dimension: those whose
  coordinate differs) cross that stage; stages run concurrently, so
  ``T = max_k [bytes_k / (eta_a2a(p) * B_eff_k) + alpha_k]`` with eta_a2a falling with group
  size where measured (DeepEP-Ascend A3 table) [Thakur et al. 2005 pairwise exchange; reference C2].
  Torus dimensions are limited by hop count: ``B_eff = B_dim (f-1) / (f^2/4)``.
* send/recv: one message over the slowest level a pipeline group of ``size`` ranks crosses.

Nothing here beats the line rate: every efficiency is <= 1 and :func:`bandwidth_bound` gives
the same algorithms at line rate without latency, which tests assert as a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podsim.cost.link_calibration import LinkCalibration, link_calibration
from podsim.errors import SpecError
from podsim.hardware.placement import factors_from_span, span_over_sizes
from podsim.hardware.system import System

KINDS = ("all_reduce", "reduce_scatter", "all_gather", "all_to_all", "send_recv")


@dataclass(frozen=True)
class Stage:
    """One level, or one dimension of a torus / nD-full-mesh level."""

    level: int
    cum_size: float  # chips in one group of this stage (cumulative)
    inner: float  # chips in one group of the previous stage
    kind: str  # "switched" | "mesh" | "ring"
    bandwidth: float  # B/s per chip, one direction, for this stage (per dimension if split)
    nodes: float  # units along this stage (mesh/ring); cum_size / inner
    latency: float
    oversubscription: float
    inr: bool
    cal: LinkCalibration


def stages(system: System) -> tuple[Stage, ...]:
    """The system's levels, with torus / nd_full_mesh levels split into one stage per dimension."""
    out: list[Stage] = []
    prev = 1.0
    for i, lv in enumerate(system.levels):
        cal = link_calibration(lv.link_type)
        size = float(max(lv.size, prev))
        d = size / prev
        common = dict(level=i, latency=lv.latency, oversubscription=lv.oversubscription, cal=cal)
        if lv.kind in ("torus", "nd_full_mesh") and d > 1:
            dims = _dims(lv.kind, lv.dims, d)
            kind = "ring" if lv.kind == "torus" else "mesh"
            cum = prev
            for dj in dims:
                out.append(
                    Stage(
                        cum_size=cum * dj,
                        inner=cum,
                        kind=kind,
                        bandwidth=lv.bandwidth / len(dims),
                        nodes=dj,
                        inr=False,
                        **common,
                    )
                )
                cum *= dj
        else:
            kind = {"switched": "switched", "full_mesh": "mesh"}.get(lv.kind, "switched")
            out.append(
                Stage(
                    cum_size=size,
                    inner=prev,
                    kind=kind,
                    bandwidth=lv.bandwidth,
                    nodes=d,
                    inr=bool(lv.in_network_reduction),
                    **common,
                )
            )
        prev = size
    return tuple(out)


def _dims(kind: str, dims: tuple[int, ...] | None, d: float) -> tuple[float, ...]:
    """Per-dimension unit counts of a level with ``d`` units; must multiply to ``d``.

    Where ``dims`` is missing or does not multiply to ``d`` (a scaled system), the level is taken
    as ``len(dims)`` (torus default 3, nd_full_mesh default 1) equal dimensions of ``d^(1/r)``
    units -- an assumption; fractional dimension sizes are accepted by the cost formulas.
    """
    if dims and abs(float(np.prod(dims)) - d) < 1e-9 * d:
        return tuple(float(x) for x in dims)
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


def _span(st: tuple[Stage, ...], size, stride):
    span = span_over_sizes([x.cum_size for x in st], size, stride)
    return span, factors_from_span(span)


def _ring_steps_log(f):
    """ceil(log2 f) without float noise (f = 8.000000001 -> 3)."""
    return np.ceil(np.log2(np.maximum(f, 1.0)) - 1e-9)


def _stage_bw(x: Stage, f, u, *, ideal: bool, eta=None):
    """Effective per-chip bandwidth of one RS/AG phase of stage ``x`` with fan-out ``f``."""
    if x.kind == "switched":
        bw = np.full_like(f, x.bandwidth / x.oversubscription)
    elif x.kind == "mesh":
        # direct links only: f-1 of the d-1 per-peer links (HCCL Mesh; APR detours not modelled)
        bw = x.bandwidth * np.maximum(f - 1.0, 0.0) / max(x.nodes - 1.0, 1.0)
        bw = np.where(f > 1.0, np.maximum(bw, 1e-300), x.bandwidth)
    else:  # ring (torus dimension)
        wrap = f * u >= x.nodes * (1 - 1e-9)
        bw = x.bandwidth / u * np.where(wrap, 1.0, 0.5)
    if not ideal:
        bw = bw * (x.cal.bus_efficiency if eta is None else eta)
    return bw


def _unit_stride(x: Stage, stride):
    return np.maximum(stride / x.inner, 1.0)


def _phase_latency(x: Stage, f):
    """Latency of one RS or AG phase at a stage (0 when f = 1)."""
    fm1 = np.maximum(f - 1.0, 0.0)
    if x.kind == "switched":
        steps = np.minimum(fm1, _ring_steps_log(f))  # ring vs RHD/Bruck [Thakur et al. 2005]
    elif x.kind == "mesh":
        steps = np.where(f > 1.0, 1.0, 0.0)  # HCCL Mesh: one step
    else:
        steps = fm1  # ring per torus dimension
    return steps * x.latency


# ----------------------------------------------------------------------------------------------
# core


def _rs_ag(n, p, s, st, *, phases: int, ideal: bool, allow_nvls: bool):
    """Hierarchical RS (phases=1), AG (1) or RS+AG all-reduce (2), min with a flat ring."""
    span, f = _span(st, p, s)
    prev = np.concatenate([np.ones_like(span[..., :1]), span[..., :-1]], axis=-1)
    hier = np.zeros_like(n)
    for k, x in enumerate(st):
        fk, nk = f[..., k], n / prev[..., k]
        u = _unit_stride(x, s)
        bw = _stage_bw(x, fk, u, ideal=ideal)
        t = phases * ((fk - 1.0) / fk) * nk / bw
        if not ideal:
            t = t + phases * _phase_latency(x, fk)
        if allow_nvls and x.kind == "switched" and x.inr and x.cal.nvls is not None:
            # NVLS / SHARP: one pass through the switch [reference C2; nccl-tests#212]
            b = x.bandwidth / x.oversubscription
            if ideal:
                t_nvls = nk / b  # each rank sends and receives n_k at least once
            else:
                t_nvls = nk / (x.cal.nvls_efficiency * b) + 2.0 * x.latency
            t = np.where(fk > 1.0, np.minimum(t, t_nvls), t)
        hier = hier + np.where(fk > 1.0, t, 0.0)
    if not all(x.kind == "switched" for x in st):
        return hier
    # flat multi-channel ring over all levels, pipelined: the slowest level bounds it
    # [NCCL tuning.cc: ring busBw = min over links; nsteps = 2(nRanks-1), nInterSteps = 2(nNodes-1)]
    ring_bw = np.zeros_like(n)
    ring_lat = np.zeros_like(n)
    frac = (p - 1.0) / p
    for k, x in enumerate(st):
        used = f[..., k] > 1.0
        bw = _stage_bw(x, f[..., k], 1.0, ideal=ideal)
        tk = phases * frac * (n / prev[..., k]) / bw
        ring_bw = np.maximum(ring_bw, np.where(used, tk, 0.0))
        hops = p / prev[..., k] - p / span[..., k]
        ring_lat = ring_lat + phases * hops * x.latency
    ring = ring_bw if ideal else ring_bw + ring_lat
    return np.minimum(hier, ring)


def _a2a(n, p, s, st, *, ideal: bool):
    span, f = _span(st, p, s)
    prev = np.concatenate([np.ones_like(span[..., :1]), span[..., :-1]], axis=-1)
    t = np.zeros_like(n)
    for k, x in enumerate(st):
        fk = f[..., k]
        if x.kind == "switched":
            share = (span[..., k] - prev[..., k]) / p
            bw = np.full_like(fk, x.bandwidth / x.oversubscription)
        else:
            # destinations in this level's group whose coordinate along this dimension differs
            lv_span = span[..., _level_last_stage(st, x.level)]
            share = (lv_span / p) * (1.0 - 1.0 / fk)
            if x.kind == "mesh":
                bw = x.bandwidth * np.maximum(fk - 1.0, 0.0) / max(x.nodes - 1.0, 1.0)
            else:
                u = _unit_stride(x, s)
                wrap = fk * u >= x.nodes * (1 - 1e-9)
                hop = np.minimum(1.0, np.maximum(fk - 1.0, 0.0) / np.maximum(fk * fk / 4.0, 1.0))
                bw = x.bandwidth * hop * np.where(wrap, 1.0, 0.5) / u
            bw = np.where(fk > 1.0, np.maximum(bw, 1e-300), x.bandwidth)
        if not ideal:
            bw = bw * x.cal.a2a_efficiency(p)
        tk = share * n / bw
        if not ideal:
            tk = tk + x.latency
        t = np.maximum(t, np.where(fk > 1.0, tk, 0.0))
    return t


def _level_last_stage(st: tuple[Stage, ...], level: int) -> int:
    return max(i for i, x in enumerate(st) if x.level == level)


def _p2p(n, p, s, st, *, ideal: bool):
    span, f = _span(st, np.maximum(p, 2.0), s)
    t = np.zeros_like(n)
    for k, x in enumerate(st):
        used = f[..., k] > 1.0
        if x.kind == "switched":
            bw = x.bandwidth / x.oversubscription
        elif x.kind == "mesh":
            bw = x.bandwidth / max(x.nodes - 1.0, 1.0)  # one direct link
        else:
            bw = x.bandwidth / 2.0 / _unit_stride(x, s)  # one ring direction, shared by strides
        if not ideal:
            bw = bw * x.cal.bus_efficiency
        tk = n / bw + (0.0 if ideal else x.latency)
        # the outermost stage crossed is the slowest boundary of the pipeline group
        t = np.where(used, tk, t)
    return t


def _evaluate(kind: str, nbytes, size, stride, system: System, *, ideal: bool) -> np.ndarray:
    n, p, s = _inputs(nbytes, size, stride)
    st = stages(system)
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
