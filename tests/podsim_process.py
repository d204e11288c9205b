"""Run the podsim CLI as a user does, in a fresh process (exit codes, stderr, no traceback)."""

from __future__ import annotations

import subprocess
import sys


def podsim(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "podsim.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
