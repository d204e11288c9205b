"""A job spread over several partly used scale-up domains (256 GPUs on NVL72 racks: 4 racks of
64) says so, with the chips it leaves idle in them, so that a plant and cost counted on the chips
used are not read as the cost of whole racks."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from podsim.cli.main import app
from podsim.errors import SpecError
from podsim.hardware.resolve import resolve

runner = CliRunner()


def test_whole_domains_and_slices_report_nothing() -> None:
    assert resolve("gb200-nvl72-cluster:288").domain_use() is None
    assert resolve("gb200-nvl72:64").domain_use() is None  # a slice of one rack
    assert resolve("tpu-v5p-pod:512").domain_use() is None
    assert resolve("atlas-950-superpod:1024").domain_use() is None


@given(st.integers(73, 20_000))
def test_spread_jobs_account_for_every_chip(n: int) -> None:
    try:
        sysm = resolve(f"gb200-nvl72-cluster:{n}")
    except SpecError:
        return  # a count no even spread holds (e.g. a prime)
    use = sysm.domain_use()
    if n % 72 == 0:
        assert use is None
        return
    assert use is not None
    assert use["domain_size"] == 72
    assert use["domains"] * use["chips_per_domain"] == n
    assert 36 <= use["chips_per_domain"] < 72
    assert use["idle_chips"] == use["domains"] * 72 - n > 0


def test_facility_says_so() -> None:
    out = runner.invoke(app, ["facility", "gb200-nvl72-cluster:256", "--json"])
    assert out.exit_code == 0, out.output
    use = json.loads(out.output)[0]["domain_use"]
    assert use == {"domain_size": 72, "domains": 4, "chips_per_domain": 64, "idle_chips": 32}
    text = runner.invoke(app, ["facility", "gb200-nvl72-cluster:256"])
    flat = " ".join(text.output.split())
    assert "4 scale-up domains of 72" in flat and "32 idle" in flat
