"""The README's Python API example runs as written and gives what it says."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_example_runs():
    text = README.read_text()
    section = text[text.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env: dict = {}
    exec(compile(code, "README.md", "exec"), env)  # noqa: S102 - our own documentation
    plans, cases = env["plans"], env["cases"]
    assert len(plans) == 5 and {"tp", "pp", "mfu", "tokens_per_s_per_chip"} <= set(plans.columns)
    assert plans["tokens_per_s_per_chip"].is_monotonic_decreasing
    assert len(cases) == 116 and (cases["status"] == "ok").all()
    assert {"measured", "predicted", "error", "chip"} <= set(cases.columns)
    # the serving example: CloudMatrix-Infer's published 1,943 decode tokens/s per NPU at 50 ms
    point = env["point"]
    assert point["tpot_s"] <= 0.050
    assert 0.85 * 1943 < env["decode"] < 1.15 * 1943
