"""Predict a serving validation case's measured metric with the serving model.

Everything comes from the fields a case carries (FORMAT.md ``serving`` block), never its id:

* ``batch`` is sequences per attention group (one DP rank of ``tp x pp`` chips; with attention
  data parallelism and ``tp = 1`` that is per chip). Absent, the batch is chosen as the engine
  would: the largest meeting ``slo`` (TPOT/TTFT) when the case has one, else the batch that
  maximises the measured kind of throughput within memory, with each admitted request's KV
  reserved for its prompt and output (no-evict admission, :func:`podsim.serving.slo.memory_context`).
  A given batch ran, so it is checked against the KV it actually held (the mean context).
* ``phase`` picks the scenario (:mod:`podsim.serving.slo`): ``prefill`` / ``decode`` instances of
  a disaggregated deployment, or ``end_to_end`` continuous batching.
* ``speculative`` adds draft tokens (MTP) with the case's acceptance rate or the default
  (:func:`podsim.serving.step.default_acceptance`: later drafts compound the one-draft rate).
* An instance is ``tp x dp x pp`` chips; the case's chips must be a whole number of instances.
"""

from __future__ import annotations

import numpy as np

from podsim.errors import PlanError, SpecError
from podsim.hardware.system import System, system_for_case
from podsim.serving.capacity import ServingMemory, why_not_fit
from podsim.serving.slo import (
    BatchChoice,
    ServingConfig,
    check_max_output_len,
    check_output_cv,
    check_prefix_hit,
    choose_batch,
    evaluate,
    resolve_kv_allocation,
)
from podsim.serving.step import DEFAULT_MOE_IMBALANCE, default_acceptance
from podsim.serving.summary import point_dict
from podsim.spec.case import ValidationCase
from podsim.spec.checks import MAKE_MODEL, MAKE_SYSTEM, check_number, check_type
from podsim.spec.jobs import MAX_MOE_IMBALANCE, ServingSpec
from podsim.spec.model import ModelSpec


def check_args(m: ModelSpec, system: System, s: ServingSpec) -> None:
    """The objects a serving prediction takes: a ModelSpec, a System and a ServingSpec (a
    dict or a path is an error naming the argument, not an AttributeError)."""
    check_type(m, ModelSpec, "model", MAKE_MODEL)
    check_type(system, System, "system", MAKE_SYSTEM)
    check_type(s, ServingSpec, "spec", "ServingSpec(input_len=..., output_len=..., ...)")


def check_plan(m: ModelSpec, chips: int, s: ServingSpec) -> None:
    """Reject impossible serving plans with the reason."""
    inst = s.tp * s.dp * s.pp
    if chips % inst:
        raise PlanError(
            f"{chips} chips are not a whole number of tp*dp*pp = {inst}-chip instances",
            field="chips",
            value=chips,
            allowed=f"a multiple of {inst}",
        )
    if s.pp > m.layers:
        raise PlanError(f"pp {s.pp} exceeds the model's {m.layers} layers", field="pp", value=s.pp)
    if s.ep > 1:
        if m.moe is None:
            raise PlanError(
                "expert parallelism needs a mixture-of-experts model",
                field="ep",
                value=s.ep,
                allowed="1 for a dense model",
            )
        if s.ep > m.moe.experts:
            raise PlanError(
                f"ep {s.ep} is larger than the {m.moe.experts} routed experts",
                field="ep",
                value=s.ep,
                allowed=f"1 to {m.moe.experts}",
            )
        if (s.tp * s.dp) % s.ep:
            raise PlanError(
                f"ep {s.ep} must divide tp*dp = {s.tp * s.dp}, the chips that hold the experts "
                "(for wide EP with attention data parallelism set dp = ep)",
                field="ep",
                value=s.ep,
                allowed=f"a divisor of {s.tp * s.dp}",
            )


def config_for(
    m: ModelSpec,
    system: System,
    s: ServingSpec,
    *,
    step_overhead: float | None = None,
    moe_imbalance: float | None = None,
    output_cv: float = 0.0,
    max_output_len: float | None = None,
    kv_allocation: str | None = None,
    prefix_hit: float = 0.0,
    overlap: str = "auto",
) -> ServingConfig:
    """The scalar configuration of a serving spec. ``kv_allocation`` None: ``reserved`` unless
    the spec gives the batch (:func:`podsim.serving.slo.resolve_kv_allocation`)."""
    check_args(m, system, s)
    check_output_cv(output_cv)
    check_prefix_hit(prefix_hit)
    check_max_output_len(max_output_len, float(s.output_len))
    allocation = resolve_kv_allocation(
        kv_allocation, max_output_len, batch_given=s.batch is not None
    )
    spec = s.speculative
    return ServingConfig(
        model=m,
        system=system,
        input_len=float(s.input_len),
        output_len=float(s.output_len),
        phase=s.phase,
        precision=s.precision,
        kv_precision=s.kv_precision,
        tp=s.tp,
        ep=s.ep,
        dp=s.dp,
        pp=s.pp,
        draft_tokens=spec.draft_tokens if spec else 0,
        acceptance=(
            spec.acceptance_rate
            if spec is not None and spec.acceptance_rate is not None
            else default_acceptance(spec.draft_tokens if spec else 1)
        ),
        step_overhead=step_overhead,
        moe_imbalance=DEFAULT_MOE_IMBALANCE if moe_imbalance is None else moe_imbalance,
        output_cv=output_cv,
        kv_allocation=allocation,
        max_output_len=None if max_output_len is None else float(max_output_len),
        prefix_hit=float(prefix_hit),
        overlap=overlap,
    )


def simulate(
    m: ModelSpec,
    system: System,
    s: ServingSpec,
    *,
    step_overhead: float | None = None,
    moe_imbalance: float | None = None,
    output_cv: float = 0.0,
    max_output_len: float | None = None,
    kv_allocation: str | None = None,
    prefix_hit: float = 0.0,
    overlap: str = "auto",
    batch_must_fit: bool = True,
    slo_must_be_met: bool = True,
) -> tuple[ServingConfig, dict, BatchChoice | None]:
    """(config, chosen point, batch choice) for a serving spec on a system. ``output_cv``: the
    coefficient of variation of the output length (0: all ``output_len`` long); long-tailed
    outputs keep long sequences in the batch longer, so the mean cached context grows
    (:attr:`podsim.serving.slo.ServingConfig.decode_context`). ``kv_allocation``: ``reserved``
    (each admitted request holds KV for its prompt plus ``max_output_len`` output tokens, default
    ``output_len``: TensorRT-LLM's no-evict scheduler) or ``paged`` (pages on demand: vLLM,
    SGLang); None: reserved for a chosen batch, paged for a given one
    (:func:`podsim.serving.slo.memory_context`). ``prefix_hit``: the fraction of each prompt
    found in the prefix cache (read, not recomputed; throughputs count every prompt token).
    ``overlap``: two-batch overlap of the MoE all-to-all, ``auto`` (where faster, with EP),
    ``tbo`` or ``none`` (:attr:`podsim.serving.slo.ServingConfig.overlap`).
    ``batch_must_fit``: a given batch that the memory model says does not fit is an error (a
    plan); False predicts it anyway, with the point's ``fits`` false (a measured run, which
    did fit: the memory model, not the run, is wrong).
    ``slo_must_be_met``: latency targets no batch meets are an error (a plan); False returns the
    batch closest to them instead (a measured run met them: the model is too slow there)."""
    check_args(m, system, s)
    check_plan(m, system.chips, s)
    if moe_imbalance is not None:
        check_number(
            moe_imbalance,
            "moe_imbalance",
            "expert load imbalance is the busiest rank's tokens over the mean",
            low=1.0,
            high=MAX_MOE_IMBALANCE,
            allowed=f"1 to {MAX_MOE_IMBALANCE:g}",
        )
    c = config_for(
        m,
        system,
        s,
        step_overhead=step_overhead,
        moe_imbalance=moe_imbalance,
        output_cv=output_cv,
        max_output_len=max_output_len,
        kv_allocation=kv_allocation,
        prefix_hit=prefix_hit,
        overlap=overlap,
    )
    tpot = s.slo.tpot if s.slo else None
    ttft = s.slo.ttft if s.slo else None
    if s.batch is not None:
        pts = evaluate(c, [s.batch])
        point = pts.take(0)
        if batch_must_fit:
            reason = memory_shortfall(point)
            if reason:
                raise PlanError(reason, field="batch")
        return c, point, None
    choice = choose_batch(c, tpot=tpot, ttft=ttft)
    if tpot is None and ttft is None:
        return c, choice.unconstrained, choice
    if choice.constrained is None:
        if slo_must_be_met or choice.closest is None:
            raise PlanError(choice.reason or "no batch meets the latency targets", field="slo")
        return c, choice.closest, choice
    return c, choice.constrained, choice


def memory_shortfall(point: dict, *, advice: bool = True) -> str | None:
    """Why a chosen point's memory does not fit (None when it fits); ``advice``: what to change."""
    if point["fits"]:
        return None
    return why_not_fit(ServingMemory.from_dict(point["memory_bytes"]), advice=advice)


METRICS = (
    "prefill_tokens_per_s_per_chip",
    "decode_tokens_per_s_per_chip",
    "ttft_s",
    "tpot_s",
    "tokens_per_s_per_chip",
)


def published_layout(s: ServingSpec, chips: int, dies: int) -> tuple[ServingSpec, str | None]:
    """The layout a published serving run must have had, and a note where it differs from how
    the case writes it (None: as written).

    * Degrees counted per die: a multi-die chip whose dies are separate devices (Ascend 910C,
      two per package) is often described by its dies (CloudMatrix-Infer's "EP320" on 160
      chips); an ``ep`` or ``dp`` of exactly ``chips x dies`` is read per die and divided by
      ``dies``, since the model's ranks are chips.
    * Expert parallelism wider than the attention layout (``ep > tp x dp``, e.g. ``tp 1, ep 320,
      dp 1``): every chip that holds experts also runs attention for its own tokens, so the
      attention is data-parallel over ``ep / tp`` groups. A plan given to ``podsim serve`` must
      say so itself (``check_plan`` rejects it); a run that happened is read this way.
    """
    notes: list[str] = []
    update: dict[str, int] = {}
    if dies > 1:
        for name in ("ep", "dp"):
            v = getattr(s, name)
            if v > chips and v == chips * dies:
                update[name] = v // dies
                notes.append(f"{name} {v} = {chips} chips x {dies} dies counts dies: {v // dies}")
    ep = update.get("ep", s.ep)
    dp = update.get("dp", s.dp)
    if ep > s.tp * dp and ep % s.tp == 0:
        update["dp"] = ep // s.tp
        notes.append(
            f"ep {ep} is wider than tp x dp = {s.tp * dp}: the expert chips run attention "
            f"data-parallel, dp {ep // s.tp}"
        )
    if not update:
        return s, None
    return s.model_copy(update=update), "the case's layout read as " + "; ".join(notes)


def _case_point(
    case: ValidationCase, *, step_overhead: float | None = None
) -> tuple[ServingConfig, dict, BatchChoice | None, str | None]:
    """(config, point, batch choice, note) of a case's run as the model sees it.

    A case describes a run that happened, so it is predicted even where the model says it could
    not: a given batch the memory model says does not fit (an engine with a smaller runtime
    reserve, a tighter allocator than the model assumes) is predicted at that batch, and
    latency targets no batch meets in the model are predicted at the batch closest to them.
    The note says so instead of skipping the run, as the training cases are predicted whatever
    their memory estimate."""
    assert case.serving is not None
    system = system_for_case(case.system)
    s, layout = published_layout(case.serving, system.chips, system.chip.dies)
    c, point, choice = simulate(
        case.model,
        system,
        s,
        step_overhead=step_overhead,
        batch_must_fit=False,
        slo_must_be_met=False,
    )
    shortfall = memory_shortfall(point, advice=False)
    note = (
        f"the run's batch exceeds the memory model ({shortfall}), so the model overestimates "
        "memory here; the time is predicted at the run's batch"
        if shortfall
        else None
    )
    if choice is not None and choice.constrained is None and choice.reason:
        note = (
            f"the run met latency targets the model cannot ({choice.reason}), so the model is "
            f"too slow here; predicted at the batch closest to them ({int(point['batch'])})"
        )
    if layout:
        note = f"{layout}; {note}" if note else layout
    return c, point, choice, note


def explain_serving_case(case: ValidationCase) -> dict:
    """Everything behind a serving case's prediction: the batch and how it was chosen, the
    latencies and throughputs, the time breakdown of one iteration and memory per chip."""
    c, point, choice, note = _case_point(case)
    return {**point_dict(c, point, choice), "note": note}


def predict_serving_case(
    case: ValidationCase, *, step_overhead: float | None = None
) -> tuple[float, str | None]:
    """The case's metric as predicted (:func:`_case_point`), and a note when the model
    disagrees with the run."""
    s = case.serving
    assert s is not None
    _, point, _, note = _case_point(case, step_overhead=step_overhead)
    metric = case.measured.metric
    if metric not in point:
        raise SpecError("unsupported serving metric", field="measured.metric", value=metric)
    value = float(point[metric])
    if metric.startswith("ttft") and np.isinf(value):
        raise SpecError(
            "the model's TTFT is unbounded at this batch: prompts arrive faster than the group "
            "prefills them, so they queue without limit (an offline run's TTFT depends on how "
            "many requests it queued at once); give the run's slo.ttft or its batch",
            field="measured.metric",
            value=metric,
        )
    if not np.isfinite(value) or value <= 0:
        defined = sorted(
            k
            for k in METRICS
            if k in point and np.isfinite(float(point[k])) and float(point[k]) > 0
        )
        raise SpecError(
            f"a case in phase {s.phase} has no {metric}",
            field="measured.metric",
            value=metric,
            allowed=", ".join(defined),
        )
    return value, note
