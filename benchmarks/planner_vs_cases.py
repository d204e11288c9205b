"""The planner's best plan next to the plan a real, published run used (not a test).

    python benchmarks/planner_vs_cases.py

For three public validation cases (the catalog's validation/cases.yaml): the case's own plan and
the planner's best plan for the same model, chips, global batch, sequence length and precision
(serving: the same lengths, precision, speculative decoding and TPOT target), both predicted by
the same model, with the measured value of the real run. Training also shows the best plan with
ZeRO stage 0/1 only (what the NeMo recipes run), since the step model charges ZeRO-2/3 one gradient
reduce-scatter per step although the memory model shards the gradients (see the planner note).
"""

from __future__ import annotations

import time

from podsim.hardware.system import system_for_case
from podsim.planner.search import plan_dict, plan_label, search_training
from podsim.planner.space import SpaceOptions
from podsim.training.plan import from_spec
from podsim.training.step import simulate_plans
from podsim.validate.runner import BUILTIN_CASES, load_cases

TRAINING = (
    "nemo-25.11-dgx-h100-llama3-70b-fp8-cs-64gpu",
    "nemo-26.04.01-dgx-gb200-deepseekv3-mxfp8-256gpu",
)
SERVING = ("cloudmatrix384-dsr1-decode-tpot50",)


def training_row(case) -> None:
    t = case.training
    system = system_for_case(case.system)
    real = from_spec(t, case.system.chips, uneven_pp=True)
    res = simulate_plans(case.model, system, real, t.precision)
    t0 = time.perf_counter()
    r = search_training(
        case.model,
        system,
        global_batch=t.global_batch,
        seq_len=t.seq_len,
        precision=t.precision,
        top=1,
    )
    dt = time.perf_counter() - t0
    b = r.best[0]
    r01 = search_training(
        case.model,
        system,
        global_batch=t.global_batch,
        seq_len=t.seq_len,
        precision=t.precision,
        top=1,
        options=SpaceOptions(zero=(0, 1)),
    )
    print(
        f"\n{case.id}  ({case.system.chips} x {case.system.chip}, {t.precision}, "
        f"gb {t.global_batch} x seq {t.seq_len})"
    )
    print(f"  measured (real run):  {case.measured.value:,.1f} {case.measured.metric}")
    print(
        f"  real plan:    {plan_label(plan_dict(real)):<48} predicted "
        f"{float(res.tokens_per_s_per_chip):>9,.1f} tok/s/chip, MFU {100 * float(res.mfu):.1f}%"
        f"{'' if bool(res.fits) else '  (does not fit by the memory model)'}"
    )
    m = b["metrics"]
    print(
        f"  planner best: {b['label']:<48} predicted {m['tokens_per_s_per_chip']:>9,.1f} "
        f"tok/s/chip, MFU {100 * m['mfu']:.1f}%  ({r.considered:,} plans, {r.fitting:,} fit, "
        f"{dt:.2f} s)"
    )
    m = r01.best[0]["metrics"]
    print(
        f"  best, ZeRO<=1: {r01.best[0]['label']:<47} predicted "
        f"{m['tokens_per_s_per_chip']:>9,.1f} tok/s/chip, MFU {100 * m['mfu']:.1f}%"
    )


def serving_row(case) -> None:
    from podsim.planner.serve import search_serving
    from podsim.serving.predict import simulate

    s = case.serving
    system = system_for_case(case.system)
    _, point, _ = simulate(case.model, system, s)
    metric = case.measured.metric
    t0 = time.perf_counter()
    r = search_serving(
        case.model,
        system,
        input_len=s.input_len,
        output_len=s.output_len,
        precision=s.precision,
        kv_precision=s.kv_precision,
        tpot=s.slo.tpot if s.slo else None,
        ttft=s.slo.ttft if s.slo else None,
        phase=s.phase,
        draft_tokens=s.speculative.draft_tokens if s.speculative else 0,
        top=1,
    )
    dt = time.perf_counter() - t0
    b = r.best[0]
    real = f"tp{s.tp} dp{s.dp} ep{s.ep} pp{s.pp} b{point['batch']}"
    print(
        f"\n{case.id}  ({case.system.chips} x {case.system.chip}, {s.precision}, {s.phase}, "
        f"TPOT <= {1e3 * s.slo.tpot:.0f} ms)"
        if s.slo
        else ""
    )
    print(f"  measured (real run):  {case.measured.value:,.1f} {metric}")
    print(
        f"  real plan:    {real:<48} predicted {point[metric]:>9,.1f} tok/s/chip, "
        f"TPOT {1e3 * point['tpot_s']:.1f} ms"
    )
    print(
        f"  planner best: {b['label']:<48} predicted {b['tokens_per_s_per_chip']:>9,.1f} "
        f"tok/s/chip, TPOT {1e3 * b['tpot_s']:.1f} ms  ({r.valid:,} layouts, {dt:.1f} s)"
    )


def main() -> None:
    cases = {cid: c for cid, c in load_cases(BUILTIN_CASES)}
    for cid in TRAINING:
        training_row(cases[cid])
    for cid in SERVING:
        serving_row(cases[cid])


if __name__ == "__main__":
    main()
