"""The report's reference workloads and the runs shared between sections.

Training: Llama 3.1 405B and DeepSeek-V3 on ~9K-chip clusters of each system. The plan is the
planner's best (``podsim.planner.search.search_training``) when the planner is installed, else a
hand-written plan (:func:`hand_plan`). The runs are cached in the report context, so the Training,
Best-plans and Facility sections share one set of searches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from podsim.report.section import ReportContext

# (system reference, short label): clusters of similar size; 9,216 = 24 CloudMatrix 384 supernodes
# = 128 NVL72 racks; the Atlas 950 SuperPoD is one 8,192-card scale-up domain
TRAIN_CHIPS = 9216
TRAIN_SYSTEMS: tuple[tuple[str, str], ...] = (
    ("cloudmatrix-384-cluster:9216", "CloudMatrix 384 x24"),
    ("atlas-950-superpod", "Atlas 950 SuperPoD"),
    ("gb200-nvl72-cluster:9216", "GB200 NVL72 x128"),
    ("gb300-nvl72-cluster:9216", "GB300 NVL72 x128"),
)


@dataclass(frozen=True)
class TrainWorkload:
    model: str
    label: str
    seq_len: int
    global_batch: int  # sequences per step (the planner's; hand plans round it to dp)
    fp8: bool  # train in FP8 where the chip has it (else BF16)
    note: str


TRAIN_WORKLOADS = (
    TrainWorkload(
        "llama3.1-405b",
        "Llama 3.1 405B",
        8192,
        2048,
        False,
        "BF16, 8K sequences, 2,048 sequences (16.8M tokens) per step, as Meta's run",
    ),
    TrainWorkload(
        "deepseek-v3",
        "DeepSeek-V3",
        4096,
        15360,
        True,
        "FP8 where the chip has it (BF16 on the 910C), 4K sequences, 15,360 per step, "
        "as DeepSeek's run",
    ),
)


def precision_for(w: TrainWorkload, system) -> str:
    return "fp8" if w.fp8 and system.chip.native("fp8") else "bf16"


def hand_plan(w: TrainWorkload, chips: int, recompute: str):
    """The hand-written plan used when the planner is not available.

    Llama 3.1 405B: TP8 (inside a scale-up domain), DP128, PP = chips / 1,024, uneven stages.
    DeepSeek-V3: TP1, PP16, EP64, DP = chips / 16 (DeepSeek's layout).
    The global batch is rounded to a multiple of DP.
    """
    from podsim.spec.jobs import TrainingSpec

    if w.model.startswith("llama"):
        tp, pp, ep = 8, max(chips // 1024, 1), 1
    else:
        tp, pp, ep = 1, 16, 64
    dp = chips // (tp * pp)
    gb = dp * max(1, round(w.global_batch / dp))
    return TrainingSpec(
        seq_len=w.seq_len, global_batch=gb, tp=tp, pp=pp, ep=ep, recompute=recompute, micro_batch=1
    )


@dataclass
class TrainRun:
    workload: TrainWorkload
    system_ref: str
    system_label: str
    system: Any = None
    precision: str = "bf16"
    source: str = ""  # "planner" | "hand-written"
    plan_label: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # training.summary.result_dict
    search: Any = None  # planner.search.TrainingSearch
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.metrics)


def _quick_options():
    from podsim.planner.space import SpaceOptions

    return SpaceOptions(vpp=(1, 2), cp=(1,), zero=(1,), recompute=(0, 1, 2), micro_batch_cap=2)


def _planner_run(run: TrainRun, m, quick: bool) -> None:
    from podsim.planner.search import search_training

    res = search_training(
        m,
        run.system,
        global_batch=run.workload.global_batch,
        seq_len=run.workload.seq_len,
        precision=run.precision,
        top=5,
        options=_quick_options() if quick else None,
    )
    run.search = res
    run.source = "planner"
    run.plan_label = res.best[0]["label"]
    run.metrics = res.best[0]["metrics"]


def _hand_run(run: TrainRun, m) -> None:
    from podsim.training.plan import from_spec, raise_if_invalid
    from podsim.training.step import simulate_plans
    from podsim.training.summary import result_dict

    run.source = "hand-written"
    out = None
    for rc in ("none", "selective", "full"):  # the first that fits (least recompute)
        spec = hand_plan(run.workload, run.system.chips, rc)
        p = from_spec(spec, run.system.chips, uneven_pp=True)
        raise_if_invalid(p, m, run.system.chips)
        out = result_dict(simulate_plans(m, run.system, p, run.precision))
        if out["fits"]:
            break
    assert out is not None
    run.metrics = out
    ep = f" ep{spec.ep}" if spec.ep > 1 else ""
    run.plan_label = (
        f"tp{spec.tp} pp{spec.pp}{ep} dp{p.dp.item()} zero{spec.zero} "
        f"rc={spec.recompute} mb{spec.micro_batch} gb{spec.global_batch}"
    )
    if not out["fits"]:
        run.error = "the hand-written plan does not fit in memory even with full recompute"


def planner_available() -> bool:
    try:
        import podsim.planner.search  # noqa: F401
    except ImportError:
        return False
    return True


def _run(ctx: ReportContext, w: TrainWorkload, ref: str, label: str) -> TrainRun:
    from podsim import catalog
    from podsim.errors import PodsimError
    from podsim.hardware.resolve import resolve_system_arg

    run = TrainRun(w, ref, label)
    try:
        run.system = resolve_system_arg(ref)
        run.precision = precision_for(w, run.system)
        if planner_available():
            _planner_run(run, catalog.model(w.model), ctx.quick)
        else:
            _hand_run(run, catalog.model(w.model))
    except PodsimError as exc:
        run.error = str(exc)
    return run


def training_runs(ctx: ReportContext) -> list[TrainRun]:
    """Every (workload, system) training run of the Training section, computed once per report."""
    if "training_runs" in ctx.cache:
        return ctx.cache["training_runs"]
    runs = [_run(ctx, w, ref, label) for w in TRAIN_WORKLOADS for ref, label in TRAIN_SYSTEMS]
    ctx.cache["training_runs"] = runs
    return runs


def similar_size_ref(system_id: str, target: int = TRAIN_CHIPS) -> str:
    """``id:N`` with N the whole number of scale-up domains closest to ``target`` chips."""
    from podsim.hardware.resolve import resolve_system_arg

    dom = resolve_system_arg(system_id).scale_up_domain
    return f"{system_id}:{dom * max(1, round(target / dom))}"


def extra_run(ctx: ReportContext, model: str, system_id: str) -> TrainRun:
    """The same workload and search on a system the Training section does not cover, at a
    similar size (cached)."""
    cache = ctx.cache.setdefault("extra_runs", {})
    key = (model, system_id)
    if key not in cache:
        w = next(w for w in TRAIN_WORKLOADS if w.model == model)
        ref = similar_size_ref(system_id)
        cache[key] = _run(ctx, w, ref, ref)
    return cache[key]


# ----------------------------------------------------------------------------- power per chip


def power_per_chip(system) -> tuple[float | None, str]:
    """Watts per chip for per-kW figures, and which figure it is: the plant's all-in IT power
    when complete, else the published power scaled per chip, else the plant's lower bound."""
    from podsim.facility.summary import system_summary

    mets = system_summary(system)["metrics"]
    it = mets["power"]
    if it["per_chip"] is not None:
        return float(it["per_chip"]), "plant IT"
    rep = mets.get("reported_power")
    if rep is not None and rep["per_chip"] is not None:
        return float(rep["per_chip"]), "reported"
    lb = it.get("lower_bound_per_chip")
    if lb is not None:
        return float(lb), "plant lower bound"
    return None, "unknown"


def per_kw(tokens_per_s_per_chip: float | None, watts: float | None) -> float | None:
    if tokens_per_s_per_chip is None or watts is None or watts <= 0:
        return None
    if not math.isfinite(tokens_per_s_per_chip):
        return None
    return tokens_per_s_per_chip / (watts / 1000.0)
