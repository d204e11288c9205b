"""A small serving sweep spec shared by the sweep tests."""

from __future__ import annotations

SERVE_SWEEP = {
    "kind": "serving",
    "models": ["llama3-8b"],
    "systems": ["dgx-h100-cluster:8"],
    "precision": "fp8",
    "input_len": 1024,
    "output_len": 256,
}
