import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsim import catalog
from podsim.errors import PlanError
from podsim.hardware.placement import group_span, level_factors, strides
from podsim.hardware.system import Level, System


def _dgx(chips: int = 1024) -> System:
    return System(
        id="t-dgx",
        name="test dgx",
        chip=catalog.chip("h100-sxm"),
        chips=chips,
        levels=(
            Level("nvl", 8, "switched", True, 1, 450e9, 3e-6, link_type="nvlink4"),
            Level("pod", 256, "switched", False, 2, 50e9, 6e-6, link_type="infiniband-ndr"),
            Level("ib", chips, "switched", False, 3, 50e9, 8e-6, link_type="infiniband-ndr"),
        ),
    )


def test_tp_inside_node():
    assert group_span(_dgx(), 8, 1).tolist() == [8, 8, 8]
    assert group_span(_dgx(), 4, 1).tolist() == [4, 4, 4]
    assert level_factors(_dgx(), 8, 1).tolist() == [8, 1, 1]


def test_dp_across_nodes():
    # DP 64 with stride 8 (TP 8 inside): one member per node, 32 per pod
    assert group_span(_dgx(), 64, 8).tolist() == [1, 32, 64]
    assert level_factors(_dgx(), 64, 8).tolist() == [1, 32, 2]


def test_fractional_when_stride_does_not_divide():
    m = group_span(_dgx(), 6, 3)
    assert m[0] == pytest.approx(8 / 3)
    assert m[-1] == 6


def test_vectorised_shapes():
    m = group_span(_dgx(), np.array([[2], [16]]), np.array([1, 4, 8]))
    assert m.shape == (2, 3, 3)
    assert m[1, 2].tolist() == [1, 16, 16]


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 4096),
    stride=st.integers(1, 4096),
)
def test_factors_multiply_to_size(size, stride):
    f = level_factors(_dgx(), size, stride)
    assert np.prod(f) == pytest.approx(size)
    assert np.all(f >= 1.0 - 1e-12)
    m = group_span(_dgx(), size, stride)
    assert np.all(np.diff(m) >= 0)
    assert np.all((m >= 1) & (m <= size))


def test_megatron_strides():
    s = strides(tp=8, cp=2, ep=4, dp=16, pp=4)
    assert {k: float(v) for k, v in s.items()} == {
        "tp": 1,
        "cp": 8,
        "ep": 8,
        "dp": 16,
        "pp": 256,
    }
    s = strides(tp=4, cp=1, ep=8, dp=32, pp=2, order=("tp", "dp", "cp", "pp"))
    assert float(s["dp"]) == 4 and float(s["cp"]) == 128 and float(s["ep"]) == 4


def test_strides_broadcast():
    s = strides(tp=np.array([1, 2, 4, 8]), dp=np.array([[2], [4]]))
    assert s["dp"].shape == (2, 4)
    assert s["pp"][1].tolist() == [4, 8, 16, 32]


def test_bad_order():
    with pytest.raises(PlanError, match="permutation"):
        strides(order=("tp", "dp", "pp"))
