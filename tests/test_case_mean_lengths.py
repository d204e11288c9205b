"""Serving lengths are means over a workload's requests (FORMAT.md: "prompt tokens (mean)"), so
a case may give a fraction (MLPerf DeepSeek-R1: 803.79 input tokens); it is evaluated at that
mean, between the whole numbers around it."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from podsim.spec.jobs import ServingSpec
from podsim.validate.runner import run_files

CASES = Path(__file__).resolve().parents[1] / "src/podsim/catalog/data/validation/cases.yaml"


def test_a_fractional_mean_length_is_evaluated_between_its_neighbours(tmp_path: Path) -> None:
    base = next(
        c
        for c in yaml.safe_load(CASES.read_text())
        if c["kind"] == "serving" and c["serving"]["phase"] == "end_to_end"
    )
    cases = []
    for n in (1000, 1000.5, 1001):
        c = copy.deepcopy(base)
        c["id"] = f"{base['id']}-{n}"
        c["serving"]["input_len"] = n
        cases.append(c)
    p = tmp_path / "cases.yaml"
    p.write_text(yaml.safe_dump(cases, sort_keys=False))
    lo, mid, hi = run_files([p])
    assert lo.status == mid.status == hi.status == "ok"
    assert min(lo.predicted, hi.predicted) <= mid.predicted <= max(lo.predicted, hi.predicted)


def test_whole_lengths_stay_whole() -> None:
    dump = ServingSpec(input_len=1024, output_len=803.79).model_dump()
    assert isinstance(dump["input_len"], int) and dump["output_len"] == 803.79
