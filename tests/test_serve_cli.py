"""`podsim serve`: --json fields, tables, disaggregation, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess

from typer.testing import CliRunner

from podsim.cli.main import app
from podsim_process import podsim as _podsim

runner = CliRunner()

BASE = [
    "serve",
    "--model",
    "llama3-70b",
    "--system",
    "dgx-h100-cluster",
    "--chips",
    "8",
    "--tp",
    "8",
    "--precision",
    "fp8",
]


def _error(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)


def test_json_fields() -> None:
    res = runner.invoke(app, [*BASE, "--tpot", "50 ms", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for k in (
        "ttft_s",
        "tpot_s",
        "prefill_tokens_per_s_per_chip",
        "decode_tokens_per_s_per_chip",
        "tokens_per_s_per_chip",
        "tokens_per_s_system",
        "tokens_per_s_per_kw_it",
        "tokens_per_dollar_hour",
        "memory_bytes",
        "breakdown_s",
        "breakdown_fraction",
        "batch",
        "max_batch_in_memory",
        "unconstrained",
        "plan",
    ):
        assert k in out, k
    assert out["tpot_s"] <= 0.05
    assert out["tokens_per_s_system"] == out["tokens_per_s_per_chip"] * 8
    assert abs(sum(out["breakdown_fraction"].values()) - 1.0) < 1e-9
    for k in ("weights", "kv_cache", "runtime_reserve", "total", "capacity"):
        assert k in out["memory_bytes"]
    assert out["memory_bytes"]["total"] <= out["memory_bytes"]["capacity"]


def test_given_batch_and_table_output() -> None:
    res = runner.invoke(app, [*BASE, "--batch", "16", "--input-len", "2048", "--output-len", "128"])
    assert res.exit_code == 0, res.output
    assert "TPOT" in res.output and "time per iteration" in res.output
    assert "memory per chip" in res.output


def test_moe_decode_with_mtp_json() -> None:
    res = runner.invoke(
        app,
        [
            "serve",
            "--model",
            "deepseek-v3",
            "--system",
            "cloudmatrix-384",
            "--chips",
            "160",
            "--ep",
            "160",
            "--dp",
            "160",
            "--precision",
            "int8",
            "--phase",
            "decode",
            "--input-len",
            "4096",
            "--draft-tokens",
            "1",
            "--tpot",
            "50 ms",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["tpot_s"] <= 0.05
    assert out["decode_tokens_per_s_per_chip"] > 0
    assert out["breakdown_s"]["ep_comm"] >= 0


def test_disaggregate_json() -> None:
    res = runner.invoke(
        app,
        [
            "serve",
            "--model",
            "deepseek-v3",
            "--system",
            "gb200-nvl72",
            "--chips",
            "72",
            "--ep",
            "72",
            "--dp",
            "72",
            "--precision",
            "fp8",
            "--input-len",
            "2000",
            "--output-len",
            "500",
            "--disaggregate",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)["disaggregated"]
    assert 0 < d["prefill_fraction"] < 1
    # 72 chips hold no whole 72-chip instance of each pool: no pool sizes, said so
    assert d["prefill_chips"] is None and d["min_chips"] == 144
    assert d["kv_bytes_per_request"] > 0 and d["kv_transfer_s"] > 0
    assert d["ttft_s"] > d["kv_transfer_s"]


def test_error_kv_does_not_fit() -> None:
    _error(_podsim(*BASE, "--batch", "100000", "--input-len", "32768"), "batch", "KV cache")


def test_error_ep_above_experts() -> None:
    _error(
        _podsim(
            "serve",
            "--model",
            "mixtral-8x22b",
            "--system",
            "gb200-nvl72",
            "--chips",
            "16",
            "--ep",
            "16",
            "--dp",
            "16",
        ),
        "ep",
        "experts",
    )


def test_error_tpot_below_floor() -> None:
    _error(_podsim(*BASE, "--tpot", "0.1 ms"), "TPOT", "floor")


def test_error_bad_precision() -> None:
    _error(_podsim(*BASE[:-1], "fp3"), "precision")


def test_error_bad_tpot_unit() -> None:
    _error(_podsim(*BASE, "--tpot", "fast"), "tpot")


def test_latency_targets_read_the_same_in_serve_and_plan_serve() -> None:
    """A bare TPOT is milliseconds and a bare TTFT seconds in both commands, and the same target
    with its unit gives the same answer."""
    from podsim.cli.latency_options import latency_target

    assert latency_target("50", "tpot") == latency_target("50 ms", "tpot") == 0.05
    assert latency_target("2", "ttft") == latency_target("2 s", "ttft") == 2.0
    bare = json.loads(runner.invoke(app, [*BASE, "--tpot", "50", "--json"]).stdout)
    unit = json.loads(runner.invoke(app, [*BASE, "--tpot", "0.05 s", "--json"]).stdout)
    assert bare["tpot_s"] == unit["tpot_s"] <= 0.05
    plan = ["plan", "serve", "--model", "llama3-70b", "--system", "dgx-h100-cluster"]
    plan += ["--chips", "8", "--precision", "fp8", "--input-len", "1024", "--output-len", "256"]
    plan += ["--top", "1", "--json"]
    a = json.loads(runner.invoke(app, [*plan, "--tpot", "30"]).stdout)
    b = json.loads(runner.invoke(app, [*plan, "--tpot", "30 ms"]).stdout)
    assert a["best"][0]["tpot_s"] == b["best"][0]["tpot_s"] <= 0.03


def test_reserved_kv_caps_the_batch_and_is_reported() -> None:
    """Reserved KV (the default for a chosen batch): each admitted request holds KV for its
    prompt and whole output (TensorRT-LLM's no-evict scheduler); --max-output-len raises the
    reservation to the engine's output limit; --kv-allocation paged holds the mean context
    (vLLM, SGLang). More held per sequence, fewer sequences in memory, and the table and JSON
    say which allocation was assumed."""
    args = [*BASE, "--input-len", "1024", "--output-len", "512", "--json"]
    default = json.loads(runner.invoke(app, args).output)
    paged = json.loads(runner.invoke(app, [*args, "--kv-allocation", "paged"]).output)
    res = runner.invoke(app, [*args, "--max-output-len", "8192"])
    assert res.exit_code == 0, res.output
    limit = json.loads(res.output)
    assert default["kv_allocation"] == limit["kv_allocation"] == "reserved"
    assert paged["kv_allocation"] == "paged"
    assert paged["kv_tokens_per_sequence"] == 1024 + 512 / 2
    assert default["kv_tokens_per_sequence"] == 1024 + 512
    assert limit["kv_tokens_per_sequence"] == 1024 + 8192
    assert limit["max_batch_in_memory"] < default["max_batch_in_memory"]
    assert default["max_batch_in_memory"] <= paged["max_batch_in_memory"]
    assert limit["batch"] <= limit["max_batch_in_memory"]
    assert limit["fits"]
    text = runner.invoke(app, [*BASE, "--max-output-len", "4096"]).output
    assert "reserved" in text and "4,096 out" in text
    text = runner.invoke(app, [*BASE, "--kv-allocation", "paged"]).output
    assert "mean context, paged" in text


def test_a_given_batch_is_checked_against_the_kv_it_holds() -> None:
    """A given --batch ran, so by default it is checked with paged KV (its mean context)."""
    out = json.loads(runner.invoke(app, [*BASE, "--batch", "8", "--json"]).output)
    assert out["kv_allocation"] == "paged"
    out = json.loads(
        runner.invoke(app, [*BASE, "--batch", "8", "--kv-allocation", "reserved", "--json"]).output
    )
    assert out["kv_allocation"] == "reserved"


def test_error_unknown_kv_allocation_and_limit_with_paged() -> None:
    _error(_podsim(*BASE, "--kv-allocation", "static"), "kv_allocation", "static", "paged")
    _error(
        _podsim(*BASE, "--kv-allocation", "paged", "--max-output-len", "4096"),
        "max_output_len",
        "paged",
    )


def test_error_max_output_below_mean() -> None:
    _error(
        _podsim(*BASE, "--output-len", "1024", "--max-output-len", "100"),
        "max_output_len",
        "mean output",
    )


def test_prefix_hit_is_shown_and_an_impossible_one_is_a_clear_error() -> None:
    res = runner.invoke(app, [*BASE, "--input-len", "8192", "--prefix-hit", "0.75"])
    assert res.exit_code == 0, res.output
    assert "8192 in (75% cached)" in res.output
    _error(_podsim(*BASE, "--prefix-hit", "1"), "prefix_hit", "up to, not including, 1")
