"""Print each training case's error and where the predicted time goes (development aid)."""

from __future__ import annotations

import sys

import numpy as np

from podsim.errors import PodsimError
from podsim.training.predict import simulate_case
from podsim.training.summary import result_dict
from podsim.validate.runner import BUILTIN_CASES, load_cases

path = sys.argv[1] if len(sys.argv) > 1 else BUILTIN_CASES
flt = sys.argv[2] if len(sys.argv) > 2 else ""
errs = []
for cid, case in load_cases(path):
    if isinstance(case, PodsimError) or case.kind != "training" or flt not in cid:
        continue
    try:
        r = result_dict(simulate_case(case))
    except PodsimError as exc:
        print(f"{cid[:50]:50s} SKIP {exc}")
        continue
    pred = r["tokens_per_s_per_chip"]
    err = (pred - case.measured.value) / case.measured.value
    errs.append(err)
    fr = r["breakdown_fraction"]
    short = {
        "compute_forward": "fwd",
        "compute_backward": "bwd",
        "compute_recompute": "re",
        "host_bound": "host",
        "lm_head_and_mtp": "head",
        "tp_exposed": "tp",
        "cp_exposed": "cp",
        "ep_exposed": "ep",
        "pp_p2p_exposed": "p2p",
        "pipeline_bubble": "bub",
        "dp_exposed": "dp",
        "optimizer": "opt",
    }
    parts = " ".join(f"{v}={100 * fr[k]:.0f}" for k, v in short.items() if fr[k] > 0.005)
    mem = r["memory_bytes"]["total"] / 1e9
    print(
        f"{cid[:50]:50s} {case.system.chip:9s} {err:+7.1%} mfu={r['mfu']:.2f} mem={mem:5.0f}G {parts}"
    )
e = np.abs(np.array(errs))
print(f"n={e.size} median={np.median(e):.1%} mean={np.mean(e):.1%} max={np.max(e):.1%}")
print(f"signed median={np.median(errs):+.1%}")
