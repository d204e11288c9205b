"""Test-suite settings: property tests are derandomized by default, so a run (and CI on a clean
clone) is reproducible; `HYPOTHESIS_PROFILE=explore pytest` draws fresh random examples to hunt
for counterexamples."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
