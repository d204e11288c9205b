"""Exhaustive search for the best serving plan: TP, attention DP, EP, PP and batch.

The instance space is built with numpy (every ``tp x dp x pp`` dividing the chip count, every EP
that divides the ``tp x dp`` chips holding the experts) and filtered with the same rules as
:func:`podsim.serving.predict.check_plan`, counted per rule. Each valid instance is evaluated with
the serving model's own batch choice (:func:`podsim.serving.slo.choose_batch`: every batch that
fits in memory, evaluated in one vectorised call; the best throughput meeting the TPOT/TTFT
targets), and disaggregated deployments combine the best prefill and decode instances with
:func:`podsim.serving.disagg.disaggregate` (pool sizes from the request-rate balance). No cost
formula is repeated here.

Instances are evaluated one at a time (each over all its batches at once); the defaults keep the
space to hundreds of instances: TP up to ``min(64, scale-up domain)`` and dividing the heads,
PP up to 8 stages, attention DP only for MoE models (for a dense model a DP rank is just another
replica), and, for MoE models, either pure expert parallelism over the instance
(``ep = tp x dp``, what vLLM's ``--enable-expert-parallel`` deploys) or plain tensor parallelism
of the experts without attention DP (``ep = 1, dp = 1``). Layouts that split each expert over
several chips *and* several attention-DP ranks (``tp x dp / ep > 1`` with ``ep > 1``, or
``dp > 1`` with ``ep = 1``) are left out by default (``expert_tp_cap``): the serving step model
costs no traffic for moving the DP ranks' tokens to an expert's shards, so it would rate them too
well.

Prefill instances whose weights do not fit are left out unless ``allow_offload``: the serving
model may stream such weights from host memory and assumes the transfer hidden behind compute,
which a planner should not lean on.

Layouts are independent, so with many of them the search fans out to local worker processes
(``workers``; default up to 8 of the CPUs this process may use); results are merged in layout
order, so the outcome does not depend on the number of workers.

Objectives (all per second): tokens per chip, per kW of facility power, per dollar-hour (capital
amortised + energy, :mod:`podsim.facility.energy`); the last two scale the first by a constant of
the system, so they rank plans alike but compare systems.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from podsim.errors import PlanError, PodsimError, SpecError
from podsim.hardware.system import System
from podsim.planner.pareto import pareto_mask
from podsim.planner.space import divisors
from podsim.serving.disagg import check_network, whole_instance_pools
from podsim.serving.slo import (
    ServingConfig,
    batch_grid,
    batch_limit,
    check_kv_allocation,
    check_max_output_len,
    check_output_cv,
    check_prefix_hit,
    choose_batch,
    evaluate,
    weights_offloaded,
)
from podsim.serving.step import default_acceptance
from podsim.spec.jobs import ServingSearchSpec
from podsim.spec.model import ModelSpec

PHASES = ("end_to_end", "decode", "prefill", "disaggregated")
OBJECTIVES = ("chip", "kw", "dollar")
NO_FIT = "weights do not fit in memory"
MISS = "no batch meets the latency targets"
PP_CAP = 8
EXPERT_TP_CAP = 1


@dataclass
class ServingSearch:
    model: str
    system: str
    chips: int
    phase: str
    objective: str
    considered: int
    valid: int
    fitting: int
    meeting: int
    rejected: dict[str, int]
    best: list[dict]
    seconds: float
    points: dict = field(default_factory=dict)
    objective_scale: float = 1.0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def to_frame(self):
        """The top plans as a pandas DataFrame."""
        import pandas as pd

        rows = []
        for rank, b in enumerate(self.best, 1):
            row = {"rank": rank, "label": b["label"]}
            if "plan" in b:
                row.update(b["plan"])
            else:  # disaggregated: both pools
                row.update({f"prefill_{k}": v for k, v in b["prefill"]["plan"].items()})
                row.update({f"decode_{k}": v for k, v in b["decode"]["plan"].items()})
                row.update(b["pools"])
            for k in ("tokens_per_s_per_chip", "tpot_s", "ttft_s", "objective_value"):
                row[k] = b[k]
            rows.append(row)
        return pd.DataFrame(rows).set_index("rank")


def instance_space(
    m: ModelSpec,
    chips: int,
    *,
    tp_cap: int,
    pp_cap: int = PP_CAP,
    expert_tp_cap: int = EXPERT_TP_CAP,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """(plans that pass every rule, {rule: rejected mask over the raw grid}, raw grid size)."""
    div = divisors(chips)
    moe = m.moe is not None and m.moe_layers > 0
    tp_ax = div[div <= tp_cap]
    pp_ax = div[div <= pp_cap]
    dp_ax = div if moe else np.ones(1, dtype=np.int64)
    ep_ax = div if moe else np.ones(1, dtype=np.int64)
    tp, pp, dp, ep = (a.ravel() for a in np.meshgrid(tp_ax, pp_ax, dp_ax, ep_ax, indexing="ij"))
    inst = tp * pp * dp
    reasons = {
        "tp*dp*pp does not divide the chips": chips % inst != 0,
        "heads not divisible by tp": m.heads % tp != 0,
        "pp > layers": pp > m.layers,
        "ep does not divide tp*dp": (tp * dp) % ep != 0,
        "ep > routed experts": ep > (m.moe.experts if moe else 1),
        f"expert split tp*dp/ep > {expert_tp_cap}": (ep > 1) & (tp * dp > expert_tp_cap * ep),
        "attention DP without EP": moe & (dp > 1) & (ep == 1) & (tp * dp > expert_tp_cap),
    }
    bad = np.zeros(tp.shape, dtype=bool)
    for v in reasons.values():
        bad |= v
    ok = ~bad
    plans = {"tp": tp[ok], "pp": pp[ok], "dp": dp[ok], "ep": ep[ok]}
    return plans, reasons, int(tp.size)


def _objective_scale(system: System, objective: str) -> float:
    """Multiply tokens/s per chip by this to get the objective."""
    if objective == "chip":
        return 1.0
    from podsim.facility.plant import plant

    pl = plant(system)
    fac = pl.power.facility.value
    if objective == "kw":
        if fac is None:
            raise PlanError(
                f"the facility power of '{system.id}' is unknown",
                field="objective",
                value=objective,
                allowed="chip",
            )
        return system.chips / (float(fac) / 1e3)
    from podsim.planner.search import cost_per_hour_usd

    return system.chips * 3600.0 / cost_per_hour_usd(system, allowed="chip or kw")


def _config(m, system, plan, phase, **kw) -> ServingConfig:
    return ServingConfig(
        model=m,
        system=system,
        phase=phase,
        tp=int(plan["tp"]),
        ep=int(plan["ep"]),
        dp=int(plan["dp"]),
        pp=int(plan["pp"]),
        **kw,
    )


def _label(p: dict) -> str:
    s = f"tp{p['tp']}"
    if p["dp"] > 1:
        s += f" dp{p['dp']}"
    if p["ep"] > 1:
        s += f" ep{p['ep']}"
    if p["pp"] > 1:
        s += f" pp{p['pp']}"
    return s


@dataclass
class _Job:
    """Evaluates one instance layout in every phase (picklable, for worker processes)."""

    m: ModelSpec
    system: System
    phases: tuple[str, ...]
    common: dict
    draft_tokens: int
    tpot: float | None
    ttft: float | None
    keep_points: bool
    allow_offload: bool

    def __call__(self, plan: dict) -> dict:
        out = {}
        for ph in self.phases:
            out[ph] = self.one(plan, ph)
        return out

    def one(self, plan: dict, ph: str):
        draft = self.draft_tokens if ph != "prefill" else 0
        c = _config(self.m, self.system, plan, ph, draft_tokens=draft, **self.common)
        if batch_limit(c) < 1 or (not self.allow_offload and weights_offloaded(c) > 0):
            return ("nofit", None, None)
        tpot = self.tpot if ph != "prefill" else None
        ttft = self.ttft if ph != "decode" else None
        try:
            ch = choose_batch(c, tpot=tpot, ttft=ttft)
        except PodsimError:
            return ("nofit", None, None)
        curve = None
        if self.keep_points and ph != "prefill":
            g = batch_grid(ch.limit)
            ev = evaluate(c, g)
            key = ev.decode_tokens_per_s_per_chip if ph == "decode" else ev.tokens_per_s_per_chip
            curve = {
                "tpot_s": np.asarray(ev.tpot_s, dtype=float).tolist(),
                "tokens_per_s_per_chip": np.asarray(key, dtype=float).tolist(),
                "plan": [f"{_label(plan)} b{int(b)}" for b in g],
            }
        point = ch.constrained if (tpot is not None or ttft is not None) else ch.unconstrained
        if point is None:
            return ("miss", ch.reason, curve)
        rate = {
            "prefill": "prefill_tokens_per_s_per_chip",
            "decode": "decode_tokens_per_s_per_chip",
        }.get(ph, "tokens_per_s_per_chip")
        entry = {
            "role": ph,
            "plan": {**plan, "batch": int(point["batch"])},
            "label": f"{_label(plan)} b{int(point['batch'])}",
            "tokens_per_s_per_chip": float(point[rate]),
            "tpot_s": float(point["tpot_s"]),
            "ttft_s": float(point["ttft_s"]),
            "point": point,
        }
        return ("ok", entry, curve)


def whole_pools(
    chips: int, prefill: dict, decode: dict, rate_p, rate_d, input_len: float, output_len: float
) -> dict:
    """Whole prefill and decode instances of two plans on ``chips``
    (:func:`podsim.serving.disagg.whole_instance_pools`)."""
    return whole_instance_pools(
        chips, _inst(prefill), _inst(decode), rate_p, rate_d, input_len, output_len
    )


def _inst(plan: dict) -> int:
    return plan["tp"] * plan["dp"] * plan["pp"]


def _pool_candidates(
    prefill: list[dict],
    decode: list[dict],
    chips: int,
    input_len: float,
    output_len: float,
    top: int,
    keep: int = 10,
) -> list[tuple[dict, dict]]:
    """(prefill, decode) pairs worth sizing in detail: the best of each pool overall and the best
    of each instance size (small instances pack better into few chips), ranked by the request
    rate whole instances reach."""

    def shortlist(found: list[dict]) -> list[dict]:
        out = found[:keep]
        seen = {_inst(f["plan"]) for f in out}
        for f in found:  # sorted best first
            if _inst(f["plan"]) not in seen:
                seen.add(_inst(f["plan"]))
                out.append(f)
        return out

    scored = []
    for p in shortlist(prefill):
        for d in shortlist(decode):
            w = whole_pools(
                chips,
                p["plan"],
                d["plan"],
                p["tokens_per_s_per_chip"],
                d["tokens_per_s_per_chip"],
                input_len,
                output_len,
            )
            scored.append(
                (-w["tokens_per_s_per_chip_whole_instances"], p["label"], d["label"], p, d)
            )
    scored.sort(key=lambda t: t[:3])
    return [(p, d) for *_, p, d in scored[: max(top, 1)]]


def available_cpus() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


MAX_LOCAL_WORKERS = 8  # local worker processes at most (planner and sweeps)


def default_workers(tasks: int) -> int:
    """Local worker processes: up to 8 of the CPUs this process may use, none for small jobs."""
    return 1 if tasks < 64 else max(1, min(available_cpus(), MAX_LOCAL_WORKERS))


def _map(job: _Job, todo: list[dict], workers: int | None):
    """job(plan) for every plan, in order; in local processes when there are many."""
    w = default_workers(len(todo) * len(job.phases)) if workers is None else max(int(workers), 1)
    if w > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        try:
            ctx = mp.get_context("fork")
        except ValueError:  # pragma: no cover - no fork on this platform
            ctx = None
        if ctx is not None:
            chunk = max(len(todo) // (4 * w), 1)
            with ProcessPoolExecutor(max_workers=w, mp_context=ctx) as ex:
                return list(ex.map(job, todo, chunksize=chunk))
    return [job(p) for p in todo]


def check_request(
    *,
    input_len: int,
    output_len: int,
    precision: str = "bf16",
    kv_precision: str | None = None,
    tpot: float | None = None,
    ttft: float | None = None,
    phase: str = "end_to_end",
    draft_tokens: int = 0,
    acceptance: float | None = None,
    objective: str = "chip",
    top: int = 10,
    tp_cap: int | None = None,
    pp_cap: int | None = PP_CAP,
    network: str = "scale_up",
    workers: int | None = None,
    output_cv: float = 0.0,
    max_output_len: float | None = None,
    kv_allocation: str = "reserved",
    prefix_hit: float = 0.0,
) -> ServingSearchSpec:
    """The arguments of :func:`search_serving`, validated with the rules ``podsim plan serve``
    uses (:class:`~podsim.spec.jobs.ServingSearchSpec`, and the serving model's own checks of the
    workload). SpecError names the field, the value and what is allowed."""
    if phase not in PHASES:
        raise SpecError("unknown phase", field="phase", value=phase, allowed=", ".join(PHASES))
    if objective not in OBJECTIVES:
        raise SpecError(
            "unknown objective", field="objective", value=objective, allowed=", ".join(OBJECTIVES)
        )
    check_network(network)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1
    ):
        raise SpecError(
            "must be a whole number of at least 1",
            field="workers",
            value=workers,
            allowed="None (automatic) or 1 or more",
        )
    req = ServingSearchSpec.checked(
        input_len=input_len,
        output_len=output_len,
        precision=precision,
        kv_precision=kv_precision,
        draft_tokens=draft_tokens,
        acceptance=acceptance,
        top=top,
        tp_cap=tp_cap,
        pp_cap=pp_cap,
        slo=None if tpot is None and ttft is None else {"tpot": tpot, "ttft": ttft},
    )
    if req.acceptance is not None and req.draft_tokens == 0:
        raise SpecError(
            "an acceptance rate needs speculative decoding",
            field="acceptance",
            value=req.acceptance,
            allowed="an acceptance with draft_tokens >= 1",
        )
    check_output_cv(output_cv)
    check_prefix_hit(prefix_hit)
    check_max_output_len(max_output_len, float(req.output_len))
    check_kv_allocation(kv_allocation, max_output_len)
    return req


def search_serving(
    m: ModelSpec,
    system: System,
    *,
    input_len: int,
    output_len: int,
    precision: str = "bf16",
    kv_precision: str | None = None,
    tpot: float | None = None,
    ttft: float | None = None,
    phase: str = "end_to_end",
    draft_tokens: int = 0,
    acceptance: float | None = None,
    objective: str = "chip",
    top: int = 10,
    tp_cap: int | None = None,
    pp_cap: int | None = PP_CAP,
    network: str = "scale_up",
    keep_points: bool = False,
    allow_offload: bool = False,
    workers: int | None = None,
    output_cv: float = 0.0,
    max_output_len: float | None = None,
    kv_allocation: str = "reserved",
    prefix_hit: float = 0.0,
) -> ServingSearch:
    """The ``top`` best serving plans of ``m`` on ``system`` (see the module docstring).
    ``output_cv``: output-length std / mean of the workload (longer mean KV context);
    ``kv_allocation``: ``reserved`` (each admitted request holds KV for its prompt plus
    ``max_output_len`` output tokens, default ``output_len``: TensorRT-LLM's no-evict scheduler)
    or ``paged`` (allocated as sequences grow: vLLM, SGLang); see
    :func:`podsim.serving.slo.memory_context`; ``prefix_hit``: the fraction of each prompt
    found in the prefix cache. The arguments are checked with the rules of ``podsim plan
    serve`` (:func:`check_request`)."""
    req = check_request(
        input_len=input_len,
        output_len=output_len,
        precision=precision,
        kv_precision=kv_precision,
        tpot=tpot,
        ttft=ttft,
        phase=phase,
        draft_tokens=draft_tokens,
        acceptance=acceptance,
        objective=objective,
        top=top,
        tp_cap=tp_cap,
        pp_cap=pp_cap,
        network=network,
        workers=workers,
        output_cv=output_cv,
        max_output_len=max_output_len,
        kv_allocation=kv_allocation,
        prefix_hit=prefix_hit,
    )
    input_len, output_len, top = req.input_len, req.output_len, req.top
    precision, kv_precision = req.precision, req.kv_precision
    draft_tokens, acceptance = req.draft_tokens, req.acceptance
    tpot = req.slo.tpot if req.slo is not None else None
    ttft = req.slo.ttft if req.slo is not None else None
    tp_cap = req.tp_cap
    pp_cap = PP_CAP if req.pp_cap is None else req.pp_cap
    t0 = time.perf_counter()
    scale = _objective_scale(system, objective)
    chips = system.chips
    cap = tp_cap if tp_cap is not None else min(64, max(system.scale_up_domain, 1))
    plans, reasons, raw = instance_space(m, chips, tp_cap=cap, pp_cap=pp_cap)
    rejected = {r: int(np.count_nonzero(v)) for r, v in reasons.items()}
    n = plans["tp"].size
    common = dict(
        input_len=float(input_len),
        output_len=float(output_len),
        precision=precision,
        kv_precision=kv_precision,
        acceptance=default_acceptance(draft_tokens) if acceptance is None else acceptance,
        output_cv=float(output_cv),
        kv_allocation=kv_allocation,
        max_output_len=None if max_output_len is None else float(max_output_len),
        prefix_hit=float(prefix_hit),
    )
    phases = ("prefill", "decode") if phase == "disaggregated" else (phase,)
    found: dict[str, list[dict]] = {ph: [] for ph in phases}
    no_fit = {ph: 0 for ph in phases}
    miss = {ph: 0 for ph in phases}
    reasons_miss: list[str] = []
    pts = {"tpot_s": [], "tokens_per_s_per_chip": [], "plan": []}
    job = _Job(m, system, phases, common, draft_tokens, tpot, ttft, keep_points, allow_offload)
    todo = [{k: int(v[i]) for k, v in plans.items()} for i in range(n)]
    for outcome in _map(job, todo, workers):
        for ph, (kind, val, curve) in outcome.items():
            if kind == "nofit":
                no_fit[ph] += 1
                continue
            if curve is not None:
                for k in pts:
                    pts[k].extend(curve[k])
            if kind == "miss":
                miss[ph] += 1
                if val:
                    reasons_miss.append(val)
            else:
                found[ph].append(val)
    for ph in phases:
        key = NO_FIT if len(phases) == 1 else f"{NO_FIT} ({ph})"
        rejected[key] = no_fit[ph]
        rejected[MISS if len(phases) == 1 else f"{MISS} ({ph})"] = miss[ph]
    fitting = n - min(no_fit.values()) if phases else 0
    meeting = min(len(v) for v in found.values())
    what = f"{m.name} on {chips:,} chips of {system.id}"
    if n == 0:
        worst = max(rejected.items(), key=lambda kv: kv[1])
        raise PlanError(
            f"no valid serving plan for {what}: most plans break '{worst[0]}'", field="plan"
        )
    for ph in phases:
        if not found[ph]:
            if no_fit[ph] == n:
                raise PlanError(
                    f"no serving plan for {what} fits in memory ({ph}): the weights leave no room "
                    f"for the KV cache with any of the {n:,} layouts",
                    field="memory",
                    allowed="more chips, more TP/EP/PP or a lower precision",
                )
            why = min(set(reasons_miss), key=len) if reasons_miss else MISS
            raise PlanError(
                f"no serving plan for {what} meets the targets ({ph}): {why}", field="slo"
            )
    for ph in phases:
        found[ph].sort(key=lambda d: (-d["tokens_per_s_per_chip"], d["label"]))
    best: list[dict] = []
    if phase == "disaggregated":
        from podsim.serving.disagg import disaggregate

        combos = _pool_candidates(
            found["prefill"], found["decode"], chips, input_len, output_len, top
        )
        for p, d in combos:
            cp = _config(m, system, p["plan"], "prefill", **common)
            cd = _config(m, system, d["plan"], "decode", draft_tokens=draft_tokens, **common)
            try:
                r = disaggregate(cp, cd, tpot=tpot, ttft=ttft, network=network)
            except PodsimError:
                continue
            frac = r.prefill_fraction
            best.append(
                {
                    "label": f"prefill {p['label']} + decode {d['label']}, "
                    f"{100 * frac:.0f}% of chips prefill",
                    "prefill": p,
                    "decode": d,
                    "pools": whole_pools(
                        chips,
                        p["plan"],
                        d["plan"],
                        r.prefill.get("prefill_tokens_per_s_per_chip"),
                        r.decode.get("decode_tokens_per_s_per_chip"),
                        input_len,
                        output_len,
                    )
                    | {"prefill_fraction": frac},
                    "tokens_per_s_per_chip": r.tokens_per_s_per_chip,
                    "tpot_s": r.tpot_s,
                    "ttft_s": r.ttft_s,
                    "objective_value": r.tokens_per_s_per_chip * scale,
                    "disaggregation": r.as_dict(),
                }
            )
        # rank by what whole instances on these chips deliver, then by the ideal split
        best.sort(
            key=lambda d: (
                -d["pools"]["tokens_per_s_per_chip_whole_instances"],
                -d["tokens_per_s_per_chip"],
            )
        )
        best = best[:top]
        if not best:
            raise PlanError(f"no disaggregated plan for {what} meets the targets", field="slo")
    else:
        for d in found[phase][:top]:
            best.append({**d, "objective_value": d["tokens_per_s_per_chip"] * scale})
    points: dict = {}
    if keep_points and pts["tpot_s"]:
        x = np.asarray(pts["tpot_s"])
        y = np.asarray(pts["tokens_per_s_per_chip"])
        points = {**pts, "on_front": pareto_mask(x, y).tolist()}
    return ServingSearch(
        model=m.name,
        system=system.id,
        chips=chips,
        phase=phase,
        objective=objective,
        considered=raw,
        valid=n,
        fitting=fitting,
        meeting=meeting,
        rejected=rejected,
        best=best,
        seconds=time.perf_counter() - t0,
        points=points,
        objective_scale=scale,
    )
