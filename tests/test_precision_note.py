"""A precision the chip has no matrix rate for (fp8 on an A100 or a TPU v5p, fp4 on a Hopper) is
costed at the nearest wider rate it has; train, serve and plan say so beside the prediction
instead of printing an fp8 result as if the chip ran fp8."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from podsim import catalog
from podsim.cli.main import app
from podsim.cli.validated import precision_note

runner = CliRunner()
PRECISIONS = ("fp4", "fp8", "int8", "bf16", "fp16", "fp32")


@pytest.mark.parametrize("chip_id", catalog.chip_ids())
def test_the_rate_used_is_the_chips_own_where_it_has_one(chip_id: str) -> None:
    chip = catalog.chip(chip_id)
    for p in PRECISIONS:
        used = chip.rate_precision(p)
        assert used in chip.flops
        if chip.native(p):
            assert used == p
        if p != "fp32":
            assert chip.peak_flops(p) == chip.flops[used].value


@pytest.mark.parametrize(
    ("chip_id", "precision", "used"),
    [("a100-80gb", "fp8", "bf16"), ("a100-80gb", "fp4", "bf16"), ("h100-sxm", "fp4", "fp8")],
)
def test_a_missing_rate_is_named_with_the_one_used(chip_id: str, precision: str, used: str) -> None:
    note = precision_note(catalog.chip(chip_id), precision)
    assert note is not None
    assert chip_id in note and f"no {precision} matrix rate" in note and f"{used} peak" in note


@pytest.mark.parametrize(
    ("chip_id", "precision"), [("h100-sxm", "fp8"), ("a100-80gb", "bf16"), ("a100-80gb", "fp16")]
)
def test_no_note_where_the_chip_has_the_rate(chip_id: str, precision: str) -> None:
    assert precision_note(catalog.chip(chip_id), precision) is None


def _json(args: list[str]) -> dict:
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_train_and_serve_carry_the_note() -> None:
    a100 = ["--system", "dgx-a100-cluster", "--chips", "8", "--recompute", "full"]
    out = _json(["train", "--model", "llama3-8b", *a100, "--precision", "fp8"])
    assert "a100-80gb has no fp8" in out["precision_note"]
    out = _json(["train", "--model", "llama3-8b", *a100, "--precision", "bf16"])
    assert out["precision_note"] is None
    out = _json(["serve", "--model", "llama3-8b", *a100[:4], "--precision", "fp4"])
    assert "a100-80gb has no fp4" in out["precision_note"]
    text = runner.invoke(app, ["train", "--model", "llama3-8b", *a100, "--precision", "fp8"])
    assert text.exit_code == 0 and "no fp8 matrix rate" in text.output
