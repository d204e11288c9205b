"""Consistency of the validation cases: identical-input groups and their error floor."""

from __future__ import annotations

import pytest


def test_identical_input_groups_give_the_lowest_achievable_max_error() -> None:
    """Cases with identical inputs form a group; its floor (hi-lo)/(hi+lo) is the max error of
    the best single prediction 2 lo hi / (lo + hi), which no other prediction beats."""
    from podsim.validate.consistency import identical_input_groups

    base = {
        "kind": "training",
        "model": {"name": "a", "layers": 2},
        "system": {"chip": "h100-sxm", "chips": 8},
        "training": {"tp": 1},
    }
    cases = [
        {**base, "id": "x", "measured": {"metric": "tokens_per_s_per_chip", "value": 100.0}},
        {
            **base,
            "id": "y",
            "model": {"name": "b", "layers": 2},
            "measured": {"metric": "tokens_per_s_per_chip", "value": 300.0},
        },
        {
            **base,
            "id": "z",
            "system": {"chip": "b200", "chips": 8},
            "measured": {"metric": "tokens_per_s_per_chip", "value": 50.0},
        },
    ]
    (g,) = identical_input_groups(cases)
    assert set(g.ids) == {"x", "y"}  # the model name is not an input; the chip is
    assert g.floor == pytest.approx(0.5)
    p = g.best_prediction
    assert max(abs(p / v - 1) for v in g.values) == pytest.approx(g.floor)
    for q in (p * 0.9, p * 1.1):
        assert max(abs(q / v - 1) for v in g.values) > g.floor
