"""MoE dispatch: deduplicated hierarchical all-to-all never beats the links; bytes are conserved."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from podsim.cost.moe import (
    dispatch_bytes_per_level,
    dispatch_lower_bound,
    dispatch_time,
    distinct_remote_groups,
)
from podsim.hardware.system import resolve_system

SYSTEMS = [
    resolve_system(s) for s in ("dgx-h100-cluster", "gb200-nvl72-cluster", "cloudmatrix-384")
]


def test_distinct_groups_limits() -> None:
    assert float(distinct_remote_groups(1, 256, 8)) == 0.0
    # one expert per group: every one of the k experts is a distinct group, minus one's own
    assert float(distinct_remote_groups(256, 256, 8)) == np.float64(8 * 255 / 256)
    assert float(distinct_remote_groups(4, 256, 8)) < 3.0


@settings(max_examples=60, deadline=None)
@given(
    sys_i=st.integers(0, 2),
    ep=st.sampled_from([2, 4, 8, 16, 32, 64, 128]),
    tokens=st.floats(1.0, 1e5),
    k=st.sampled_from([1, 2, 4, 8]),
)
def test_dispatch_never_beats_line_rate_and_conserves_bytes(sys_i, ep, tokens, k) -> None:
    base = SYSTEMS[sys_i]
    dom = base.scale_up_domain
    system = base.scaled(dom * max(1, -(-128 // dom)))
    experts = 256
    t = float(dispatch_time(system, tokens, 7168.0, k, experts, ep))
    bound = float(dispatch_lower_bound(system, tokens, 7168.0, k, experts, ep))
    assert t >= bound > 0
    per_level = dispatch_bytes_per_level(system, tokens, 7168.0, k, experts, ep)
    total = float(per_level.sum())
    assert np.isclose(total, tokens * 7168.0 * float(distinct_remote_groups(ep, experts, k)))


def test_dispatch_inside_the_scale_up_domain_is_faster_than_across_nodes() -> None:
    h100 = SYSTEMS[0].scaled(64)
    gb = SYSTEMS[1].scaled(72)
    a = float(dispatch_time(h100, 4096, 7168.0, 8, 256, 32))
    b = float(dispatch_time(gb, 4096, 7168.0, 8, 256, 32))
    assert b < a
