"""Placement of parallel groups onto the levels of a system (vectorised with numpy).

Chips are numbered linearly, innermost level fastest: chips ``0 .. size_0-1`` form the first
group of level 0 (e.g. one 8-GPU node), the first ``size_1`` chips the first group of level 1,
and so on (``Level.size`` is cumulative). A parallel group of ``size`` ranks whose consecutive
members are ``stride`` chips apart (TP: stride 1; the next dimension: the product of the inner
degrees) then has, inside one group of level ``k``:

    m_k = clip(S_k / stride, 1, size)        (S_k = chips in one level-k group)

members. ``m_k`` is fractional when ``stride`` does not divide ``S_k`` (e.g. stride 3 in
8-chip nodes: 8/3 = 2.67 members per node *on average*); that is the mean occupancy, which the
cost models accept as is (a fractional fan-out interpolates smoothly between the neighbouring
integer cases). The outermost level holds the whole group: ``m_L = size`` (whether the group
fits in the system at all is the planner's check, not this module's).

The per-level fan-out ``f_k = m_k / m_{k-1}`` (``m_{-1} = 1``; product over levels = ``size``)
is what hierarchical collective algorithms use: stage ``k`` runs ``f_k``-rank sub-collectives
among members that share their level-(k-1) position (reference C2, "two-level" hierarchical
all-reduce; HCCL level0/level1/level2).

Every function accepts scalars or arrays that broadcast together; the ``System`` is fixed per
call. Outputs have shape ``broadcast_shape + (L,)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from podsim.errors import PlanError
from podsim.hardware.system import System

ArrayLike = float | int | np.ndarray

DIMENSIONS = ("tp", "cp", "ep", "dp", "pp")
ORDER_DIMS = ("tp", "cp", "dp", "pp")


def span_over_sizes(sizes: Sequence[float], size: ArrayLike, stride: ArrayLike) -> np.ndarray:
    """``m_k`` for arbitrary cumulative group sizes ``sizes`` (innermost first), shape (..., K).

    Shared by :func:`group_span` and the collective cost model (which splits torus and
    nD-full-mesh levels into one pseudo-level per dimension). The last entry is forced to
    ``size``.
    """
    p = np.asarray(size, dtype=float)[..., None]
    s = np.maximum(np.asarray(stride, dtype=float), 1.0)[..., None]
    sz = np.asarray(sizes, dtype=float)
    m = np.clip(sz / s, 1.0, np.maximum(p, 1.0))
    m[..., -1] = np.maximum(p[..., 0], 1.0)
    # spans are nested: never fewer members in an outer group than in an inner one
    return np.maximum.accumulate(m, axis=-1)


def group_span(system: System, size: ArrayLike, stride: ArrayLike) -> np.ndarray:
    """Members of the group inside one group of each level, shape ``(..., L)``.

    ``m_k = clip(S_k / stride, 1, size)``; the outermost level is ``size``. Fractional where
    ``stride`` does not divide ``S_k`` (mean occupancy; see module docstring).
    """
    size, stride = np.broadcast_arrays(np.asarray(size, float), np.asarray(stride, float))
    return span_over_sizes([lv.size for lv in system.levels], size, stride)


def factors_from_span(span: np.ndarray) -> np.ndarray:
    """``f_k = m_k / m_{k-1}`` with ``m_{-1} = 1``; the product over the last axis is ``size``."""
    prev = np.concatenate([np.ones_like(span[..., :1]), span[..., :-1]], axis=-1)
    return span / prev


def level_factors(system: System, size: ArrayLike, stride: ArrayLike) -> np.ndarray:
    """Per-level fan-out ``f_k = m_k / m_{k-1}``, shape ``(..., L)``; product = ``size``.

    ``f_k = 1`` means the group does not use level ``k`` (all its members that share a level-k
    group already share a level-(k-1) group).
    """
    return factors_from_span(group_span(system, size, stride))


def strides(
    tp: ArrayLike = 1,
    cp: ArrayLike = 1,
    ep: ArrayLike = 1,
    dp: ArrayLike = 1,
    pp: ArrayLike = 1,
    order: Sequence[str] = ORDER_DIMS,
) -> dict[str, np.ndarray]:
    """Stride (in chips) of each parallel dimension under a rank order, innermost first.

    Megatron-LM's default order is ``tp-cp-ep-dp-pp``: TP ranks are adjacent (stride 1), CP
    ranks are ``tp`` apart, DP ranks ``tp*cp`` apart and PP ranks ``tp*cp*dp`` apart. ``order``
    lists the four dense dimensions ``tp, cp, dp, pp`` in any permutation.

    EP does not add chips: in Megatron-Core the expert-parallel group is carved out of the
    ``cp x dp`` ranks (``ep`` must divide ``cp*dp``; expert-TP is taken equal to TP), so EP ranks
    are consecutive among those ranks and the EP stride is the stride of whichever of ``cp``/``dp``
    comes first in ``order`` (``tp`` in the default order). ``ep`` is accepted for symmetry and
    broadcasting only; the divisibility check belongs to the planner.
    """
    order = tuple(order)
    if sorted(order) != sorted(ORDER_DIMS):
        raise PlanError(
            "rank order must list each of tp, cp, dp, pp exactly once",
            field="order",
            value=order,
            allowed="a permutation of tp, cp, dp, pp (innermost first), e.g. tp,cp,dp,pp",
        )
    deg = {"tp": tp, "cp": cp, "dp": dp, "pp": pp}
    arrays = np.broadcast_arrays(
        *(np.asarray(deg[d], dtype=float) for d in ORDER_DIMS), np.asarray(ep, dtype=float)
    )
    deg = dict(zip(ORDER_DIMS, arrays[:4], strict=True))
    out: dict[str, np.ndarray] = {}
    acc = np.ones_like(arrays[0])
    for d in order:
        out[d] = np.array(acc, dtype=float)
        acc = acc * deg[d]
    # EP is carved out of the cp x dp ranks: it starts at the innermost of the two
    first = "cp" if order.index("cp") < order.index("dp") else "dp"
    out["ep"] = np.array(out[first], dtype=float)
    return {d: out[d] for d in DIMENSIONS}
