"""MoE token dispatch / combine over a hierarchical fabric (DeepEP-style deduplicated all-to-all).

A token routed to ``top_k`` of ``E`` experts, spread evenly over ``ep`` ranks, is sent once to
every *distinct* rank that holds one of its experts, and across a slow level only once per
distinct remote group, then forwarded inside that group on the faster level (DeepEP normal
kernels: RDMA to the peer GPU of the destination node, NVLink forwarding inside it; CloudMatrix's
FusedDispatch over UB; DeepSeek-V3 report sec. 3.2).

With the EP group covering G_k groups of level k (G = ep / members per level-k group), the
expected number of distinct groups other than the sender's that a token reaches is

    D(G) = (G - 1) * (1 - C(E - E/G, k) / C(E, k))          (uniform top-k, no replacement)

and the bytes crossing level k per token are (D(G_{k-1}) - D(G_k)) x token bytes: each copy is
charged to the highest level it must cross; the fan-out below that is charged to lower levels, so
the levels add up to D(ep), the distinct destination ranks. Levels work concurrently (pipelined
chunks), so the time is the slowest level's bytes over its all-to-all bandwidth.
"""

from __future__ import annotations

import numpy as np

from podsim.cost.link_calibration import link_calibration
from podsim.hardware.placement import group_span
from podsim.hardware.system import System


def distinct_remote_groups(groups, experts: int, top_k: int) -> np.ndarray:
    """Expected number of groups other than the sender's that one token's top-k experts touch."""
    g = np.maximum(np.asarray(groups, dtype=float), 1.0)
    per_group = experts / g
    rest = experts - per_group
    # C(E - q, k) / C(E, k) = prod_i (E - q - i) / (E - i)
    miss = np.ones_like(g)
    for i in range(top_k):
        miss = miss * np.maximum(rest - i, 0.0) / (experts - i)
    return (g - 1.0) * (1.0 - miss)


def dispatch_bytes_per_level(
    system: System, tokens, token_bytes, top_k: int, experts: int, ep, stride=1
) -> np.ndarray:
    """Bytes one rank sends across each level for ``tokens`` tokens, shape (..., L)."""
    ep = np.asarray(ep, dtype=float)
    span = group_span(system, ep, stride)  # members of the EP group inside one group of each level
    groups = ep[..., None] / np.maximum(span, 1.0)  # level-k groups the EP group spans
    finer = np.concatenate([ep[..., None], groups[..., :-1]], axis=-1)  # G_{k-1}, G_{-1} = ep
    d = distinct_remote_groups(finer, experts, top_k) - distinct_remote_groups(
        groups, experts, top_k
    )
    d = np.maximum(d, 0.0)
    return (
        np.asarray(tokens, dtype=float)[..., None]
        * np.asarray(token_bytes, dtype=float)[..., None]
        * d
    )


def dispatch_time(system: System, tokens, token_bytes, top_k: int, experts: int, ep, stride=1):
    """Seconds for one dispatch (or combine) of ``tokens`` tokens per rank over the EP group.

    Consecutive switched levels of one link type share the chip's ports (CloudMatrix UB node and
    supernode tiers), so their bytes queue behind each other; different link types (NVLink and
    the NIC) run concurrently and the slowest bounds the time (as in cost.collectives).
    """
    nbytes = dispatch_bytes_per_level(system, tokens, token_bytes, top_k, experts, ep, stride)
    ep_arr = np.asarray(ep, dtype=float)
    per_port: dict[int, np.ndarray] = {}
    group = 0
    for k, lv in enumerate(system.levels):
        prev = system.levels[k - 1] if k else None
        if prev is None or not (
            prev.link_type == lv.link_type and lv.kind == prev.kind == "switched"
        ):
            group = k
        cal = link_calibration(lv.link_type)
        bw = lv.bandwidth / lv.oversubscription * cal.a2a_efficiency(ep_arr, system.chip.dies)
        tk = np.where(nbytes[..., k] > 0, nbytes[..., k] / bw + lv.latency, 0.0)
        per_port[group] = per_port.get(group, 0.0) + tk
    t = np.zeros(nbytes.shape[:-1])
    for tk in per_port.values():
        t = np.maximum(t, tk)
    return np.where(ep_arr > 1, t, 0.0)


def dispatch_lower_bound(
    system: System, tokens, token_bytes, top_k: int, experts: int, ep, stride=1
):
    """Line-rate bound (no latency, efficiency 1) of :func:`dispatch_time`, for property tests."""
    nbytes = dispatch_bytes_per_level(system, tokens, token_bytes, top_k, experts, ep, stride)
    t = np.zeros(nbytes.shape[:-1])
    for k, lv in enumerate(system.levels):
        t = np.maximum(t, nbytes[..., k] / lv.bandwidth)
    return t
