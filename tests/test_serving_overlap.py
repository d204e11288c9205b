"""Two-batch overlap as a serving choice: a user whose engine runs the expert all-to-all in line
(SGLang without --enable-two-batch-overlap) or always overlapped can say so (``overlap`` /
``podsim serve --overlap``); ``auto``, the default, is the faster of the two where experts are
spread over EP ranks, and the output says which one ran."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from podsim import catalog
from podsim.cli.main import app
from podsim.errors import SpecError
from podsim.hardware.resolve import resolve as resolve_system
from podsim.serving.slo import ServingConfig, evaluate

runner = CliRunner()
BATCHES = [1, 16, 128, 512]


def _config(overlap: str, ep: int = 16) -> ServingConfig:
    return ServingConfig(
        catalog.model("deepseek-v3"),
        resolve_system("gb200-nvl72", 16),
        input_len=2000.0,
        output_len=100.0,
        phase="decode",
        precision="fp8",
        tp=16 // ep if ep < 16 else 1,
        ep=ep,
        dp=16 if ep == 16 else 1,
        overlap=overlap,
    )


def test_auto_is_the_faster_of_in_line_and_overlapped() -> None:
    t = {o: evaluate(_config(o), BATCHES).iteration_s for o in ("auto", "none", "tbo")}
    np.testing.assert_allclose(t["auto"], np.minimum(t["none"], t["tbo"]), rtol=1e-12)
    used = evaluate(_config("auto"), BATCHES).two_batch_overlap
    np.testing.assert_array_equal(used, t["tbo"] < t["none"])
    assert not np.any(evaluate(_config("none"), BATCHES).two_batch_overlap)
    assert np.all(evaluate(_config("tbo"), BATCHES).two_batch_overlap)


def test_without_expert_parallelism_auto_runs_in_line() -> None:
    auto = evaluate(_config("auto", ep=1), BATCHES)
    none = evaluate(_config("none", ep=1), BATCHES)
    np.testing.assert_allclose(auto.iteration_s, none.iteration_s, rtol=1e-12)
    assert not np.any(auto.two_batch_overlap)


def test_an_unknown_mode_names_the_field() -> None:
    with pytest.raises(SpecError) as e:
        _config("both")
    assert e.value.field == "overlap" and "tbo" in str(e.value)


def test_serve_takes_and_reports_the_mode() -> None:
    args = [
        "serve",
        "--model",
        "deepseek-v3",
        "--system",
        "gb200-nvl72:16",
        "--ep",
        "16",
        "--dp",
        "16",
        "--phase",
        "decode",
        "--precision",
        "fp8",
    ]
    for mode in ("none", "tbo"):
        r = runner.invoke(app, [*args, "--overlap", mode, "--json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        assert out["overlap"] == mode and out["two_batch_overlap"] is (mode == "tbo")
    text = runner.invoke(app, [*args, "--overlap", "none"])
    assert text.exit_code == 0 and "off (none)" in text.output
    bad = runner.invoke(app, [*args, "--overlap", "both"])
    assert isinstance(bad.exception, SpecError) and bad.exception.field == "overlap"
