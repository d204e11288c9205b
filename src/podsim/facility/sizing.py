"""Size a machine for a training target: chips, cabinets, m², MW and dollars after failures.

For a target of ``tokens`` in ``days`` on a system with per-chip training throughput x (tokens/s
per chip), the chip count N must satisfy

    N · x · ETTR(N) · scheduling goodput · days · 86,400 >= tokens.

ETTR falls as N grows (λ_job ∝ N), so N is found by fixed-point iteration
N_{k+1} = round_up(tokens / (x · ETTR(N_k) · s · T)), starting from the failure-free count.
The map is increasing in N, so the iterates rise monotonically to the smallest feasible N, or
pass the system's size limit (then the target is infeasible on that system). N is rounded up to
whole scale-up domains and to counts the system's structure accepts.

``central_question`` answers the seed's question (DeepSeek-V3, 1e12 tokens in 30 days on
CloudMatrix 384, Atlas 950, GB200 and GB300 NVL72 clusters) as rows for the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from podsim.errors import PodsimError, SpecError
from podsim.facility.energy import facility_summary, train_cost
from podsim.hardware.system import System
from podsim.reliability.goodput import ettr_at_chips
from podsim.reliability.params import ReliabilityParams, load_params

CENTRAL_SYSTEMS = (
    "cloudmatrix-384-cluster",
    "atlas-950-superpod",
    "atlas-950-supercluster",
    "gb200-nvl72-cluster",
    "gb300-nvl72-cluster",
)
CENTRAL_MODEL = "deepseek-v3"
CENTRAL_TOKENS = 1e12
CENTRAL_DAYS = 30.0


def round_chips(system: System, n: int, *, whole_domains: bool = True) -> int:
    """Smallest chip count >= n that the structure accepts, made of whole scale-up domains
    (or, with ``whole_domains=False``, of whole groups of every level it spans)."""
    n = max(int(math.ceil(n)), 1)
    dom = system.scale_up_domain
    sizes = sorted({lv.size for lv in system.levels[:-1]} | {dom})
    m = int(math.ceil(n / dom) * dom) if whole_domains else n
    for _ in range(64):
        before = m
        for s in sizes:
            if m > s and m % s:
                m = int(math.ceil(m / s) * s)
        if m == before:
            break
    return m


@dataclass(frozen=True)
class SizingResult:
    system: str
    feasible: bool
    chips: int | None
    scale_up_domains: int | None
    tokens: float
    days: float
    tokens_per_s_per_chip: float
    ettr: float | None
    goodput: float | None
    days_needed: float | None  # at the chosen chip count, after failures
    iterations: int
    cabinets: float | None = None
    floor_area_m2: float | None = None
    facility_power_mw: float | None = None
    power_is_lower_bound: bool = False
    capex_usd: float | None = None
    energy_mwh: float | None = None
    energy_cost_usd: float | None = None
    run_cost_usd: float | None = None  # amortised capital over the run + energy
    cost_per_hour_usd: float | None = None
    reason: str | None = None
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def size_for_target(
    system: System,
    *,
    tokens: float,
    days: float,
    tokens_per_s_per_chip: float | Callable[[int], float],
    state_bytes_per_chip: float,
    checkpoint: str = "storage",
    step_time_s: float | None = None,
    params: ReliabilityParams | None = None,
    max_iter: int = 100,
    whole_domains: bool = True,
) -> SizingResult:
    """Chips, plant and cost to train ``tokens`` in ``days`` on ``system`` after failures.

    ``tokens_per_s_per_chip`` is a number (weak scaling: constant per chip) or a function of the
    chip count. ETTR is evaluated with the structure ratios of ``system``. ``whole_domains=False``
    allows part of a scale-up domain (e.g. some cabinets of an Atlas 950 SuperPoD).
    """
    if tokens <= 0 or days <= 0:
        raise SpecError(
            "target tokens and days must be positive", field="target", value=(tokens, days)
        )
    p = params or load_params()
    tpc_fn = tokens_per_s_per_chip if callable(tokens_per_s_per_chip) else None
    tpc0 = float(tokens_per_s_per_chip) if tpc_fn is None else float(tpc_fn(system.chips))
    if tpc0 <= 0:
        raise SpecError(
            "per-chip throughput must be positive", field="tokens_per_s_per_chip", value=tpc0
        )
    limit = system.max_chips or 2**40
    seconds = days * 86400.0
    sched = p.scheduling_goodput

    def need(n: int, e: float) -> int:
        x = float(tpc_fn(n)) if tpc_fn else tpc0
        return round_chips(system, tokens / (x * e * sched * seconds), whole_domains=whole_domains)

    def ettr_n(n: int) -> float:
        return float(
            ettr_at_chips(
                system,
                n,
                state_bytes_per_chip=state_bytes_per_chip,
                checkpoint=checkpoint,
                step_time_s=step_time_s,
                params=p,
            )
        )

    n = need(1, 1.0)
    it = 0
    feasible = True
    reason = None
    for it in range(1, max_iter + 1):  # noqa: B007 (reported as iterations)
        if n > limit:
            feasible = False
            reason = f"needs more than the {limit:,} chips system '{system.id}' can hold"
            break
        e = ettr_n(n)
        if e <= 0:
            feasible = False
            reason = "failures leave no productive time at this scale"
            break
        n_next = need(n, e)
        if n_next <= n:
            break
        n = n_next
    else:
        feasible = False
        reason = "chip count did not converge"
    if not feasible:
        return SizingResult(
            system=system.id,
            feasible=False,
            chips=None,
            scale_up_domains=None,
            tokens=tokens,
            days=days,
            tokens_per_s_per_chip=tpc0,
            ettr=None,
            goodput=None,
            days_needed=None,
            iterations=it,
            reason=reason,
        )
    e = ettr_n(n)
    x = float(tpc_fn(n)) if tpc_fn else tpc0
    g = e * sched
    sized = system.scaled(n)
    tps = x * n
    fs = facility_summary(sized, tokens_per_s=tps, goodput=g)
    tc = train_cost(tokens, tps, goodput=g, facility_power_w=fs.power_w, capex_usd=fs.capex_usd)
    return SizingResult(
        system=system.id,
        feasible=True,
        chips=n,
        scale_up_domains=math.ceil(n / s_dom) if (s_dom := system.scale_up_domain) else None,
        tokens=tokens,
        days=days,
        tokens_per_s_per_chip=x,
        ettr=e,
        goodput=g,
        days_needed=tc.time_s / 86400.0,
        iterations=it,
        cabinets=fs.cabinets,
        floor_area_m2=fs.floor_area_m2,
        facility_power_mw=fs.facility_power_mw,
        power_is_lower_bound=fs.power_is_lower_bound,
        capex_usd=fs.capex_usd,
        energy_mwh=tc.energy_j / 3.6e9 if tc.energy_j is not None else None,
        energy_cost_usd=tc.energy_cost_usd,
        run_cost_usd=tc.total_cost_usd,
        cost_per_hour_usd=fs.cost_per_hour_usd,
        missing=fs.missing,
    )


def default_plans(system: System) -> tuple[list[object], int]:
    """DeepSeek-V3-style reference plans (PP16, EP64, TP1, 4K sequences, ~15,360-sequence batch,
    FP8 where the chip has it; recompute none, selective, full) and the chip count to evaluate
    them on: the smallest multiple of the scale-up domain and of PP x EP at or above 2,048
    (DeepSeek's H800 count). An assumption for the report; pass ``plans`` or ``throughputs`` to
    :func:`central_question` to use searched plans."""
    from podsim.spec.jobs import TrainingSpec

    pp, ep = 16, 64
    precision = "fp8"
    try:
        system.chip.peak_flops("fp8")
    except PodsimError:
        precision = "bf16"
    unit = math.lcm(system.scale_up_domain, pp * ep)
    chips = unit * max(1, math.ceil(2048 / unit))
    dp = chips // pp
    gb = dp * max(1, round(15360 / dp))
    plans = [
        TrainingSpec(
            precision=precision,
            seq_len=4096,
            global_batch=gb,
            micro_batch=1,
            tp=1,
            pp=pp,
            ep=ep,
            recompute=rc,
        )
        for rc in ("none", "selective", "full")
    ]
    return plans, chips


def reference_chips(system: System, target: int = 2048) -> int:
    """Chip count to evaluate a reference plan on: the smallest multiple of lcm(scale-up domain,
    256) at or above ``target`` (DeepSeek-V3 trained on 2,048 H800); for scale-up domains larger
    than ``target`` (Atlas 950 SuperPoD), ``target`` rounded to what the structure accepts."""
    dom = system.scale_up_domain
    if dom > target:
        return round_chips(system, target, whole_domains=False)
    unit = math.lcm(dom, 256)
    return unit * max(1, math.ceil(target / unit))


def searched_point(model, system: System, *, seq_len: int = 4096, global_batch: int = 15360):
    """(TrainingPoint, plan dict) of the planner's highest-throughput plan that fits, on all chips
    of ``system``; FP8 where the chip has it. Tries ``global_batch`` sequences, then the nearest
    multiple of the chip count."""
    from podsim.planner.search import search_training
    from podsim.reliability.workload import TrainingPoint

    precision = "fp8"
    try:
        system.chip.peak_flops("fp8")
    except PodsimError:
        precision = "bf16"
    n = system.chips
    last: PodsimError | None = None
    for gb in dict.fromkeys((global_batch, n * max(1, round(global_batch / n)))):
        try:
            r = search_training(
                model, system, global_batch=gb, seq_len=seq_len, precision=precision, top=1
            )
        except PodsimError as exc:
            last = exc
            continue
        best = r.best[0]
        met = best["metrics"]
        pt = TrainingPoint(
            tokens_per_s=float(met["tokens_per_s"]),
            tokens_per_s_per_chip=float(met["tokens_per_s_per_chip"]),
            step_time_s=float(met["step_time_s"]),
            mfu=float(met["mfu"]),
            fits=bool(met["fits"]),
            checkpoint_bytes_per_chip=float(met["checkpoint_bytes_per_chip"]),
            chips=n,
        )
        plan = dict(best["plan"])
        plan["precision"] = precision
        plan["label"] = best.get("label")
        return pt, plan
    assert last is not None
    raise last


def central_question(
    systems: tuple[str, ...] | list[str] | None = None,
    *,
    model: str = CENTRAL_MODEL,
    tokens: float = CENTRAL_TOKENS,
    days: float = CENTRAL_DAYS,
    throughputs: dict[str, float] | None = None,
    state_bytes_per_chip: dict[str, float] | None = None,
    plans: dict[str, object] | None = None,
    search: bool = True,
    checkpoint: str = "storage",
    params: ReliabilityParams | None = None,
) -> list[dict]:
    """Rows for the seed's central question: what it takes to train ``tokens`` of ``model`` in
    ``days`` on each system, after failures (chips, cabinets, m², MW, capex, run cost).

    Per-chip throughput comes from ``throughputs[system]`` if given, else from the training model
    on ``plans[system]``, else (``search=True``) from the planner's best plan on
    :func:`reference_chips` chips, else from the first of :func:`default_plans` that fits. It is
    held constant per chip when the chip count changes (weak scaling over data parallelism).
    Systems missing from the catalog, or whose plan fails, give a row with ``reason`` set
    instead of numbers.
    """
    from podsim import catalog
    from podsim.hardware.system import resolve_system
    from podsim.reliability.workload import training_point

    p = params or load_params()
    rows: list[dict] = []
    m = catalog.model(model)
    for sid in systems or CENTRAL_SYSTEMS:
        row: dict = {"system": sid, "model": model, "tokens": tokens, "days": days}
        try:
            base = resolve_system(sid)
            tpc = (throughputs or {}).get(sid)
            state = (state_bytes_per_chip or {}).get(sid)
            step_time = None
            if tpc is None or state is None:
                plan = (plans or {}).get(sid)
                pt = None
                if plan is None and search:
                    ref_chips = reference_chips(base)
                    try:
                        pt, plan = searched_point(m, base.scaled(ref_chips))
                        row["plan_source"] = "planner"
                    except (PodsimError, ImportError) as exc:
                        row["search_error"] = str(exc)
                        pt = None
                if pt is None:
                    if plan is None:
                        candidates, ref_chips = default_plans(base)
                        row["plan_source"] = "default"
                    else:
                        candidates, ref_chips = [plan], base.chips
                        row["plan_source"] = "given"
                    ref = base.scaled(ref_chips)
                    for plan in candidates:  # the first plan that fits (least recompute)
                        pt = training_point(m, ref, plan, uneven_pp=True)
                        if pt.fits:
                            break
                if not pt.fits:
                    row["warning"] = "no reference plan fits in memory; throughput is optimistic"
                tpc = pt.tokens_per_s_per_chip if tpc is None else tpc
                state = pt.checkpoint_bytes_per_chip if state is None else state
                step_time = pt.step_time_s
                row["plan"] = plan.model_dump() if hasattr(plan, "model_dump") else plan
                row["plan_chips"] = ref_chips
                row["mfu"] = pt.mfu
                row["fits"] = pt.fits
            target = dict(
                tokens=tokens,
                days=days,
                tokens_per_s_per_chip=tpc,
                state_bytes_per_chip=state,
                checkpoint=checkpoint,
                step_time_s=step_time,
                params=p,
            )
            res = size_for_target(base, **target)
            row.update(res.to_dict())
            row["system"] = sid
            # the same target in part of one scale-up domain, to say what whole domains cost
            part = size_for_target(base, **target, whole_domains=False)
            row["chips_partial_domain"] = part.chips
            if res.feasible and part.feasible and res.chips >= 2 * part.chips:
                row["note"] = (
                    f"rounded up to whole {base.scale_up_domain:,}-chip scale-up domains; "
                    f"{part.chips:,} chips in part of one domain would meet the target"
                )
        except PodsimError as exc:
            row["feasible"] = False
            row["reason"] = str(exc)
        rows.append(row)
    return rows


def ettr_curve(system: System, chips, *, state_bytes_per_chip: float, **kw) -> np.ndarray:
    """ETTR against chip count (array), for plots."""
    return ettr_at_chips(system, chips, state_bytes_per_chip=state_bytes_per_chip, **kw)


def facility_rows(
    systems: list[System],
    *,
    model=None,
    plan=None,
    uneven_pp: bool = False,
    tokens_per_s: float | None = None,
    served_tokens_per_s: float | None = None,
    target_tokens: float | None = None,
    days: float = CENTRAL_DAYS,
    checkpoint: str = "storage",
    price_per_kwh: float | None = None,
    lifetime_s: float | None = None,
    params: ReliabilityParams | None = None,
) -> list[dict]:
    """One row per system for ``podsim facility``: the plant, cost per hour and, when a workload
    is given (``model`` + ``plan`` through the training model, or ``tokens_per_s``), goodput,
    energy per token and cost per million tokens; with ``target_tokens`` also the sizing."""
    from podsim.reliability.goodput import goodput_report
    from podsim.reliability.workload import training_point

    p = params or load_params()
    rows: list[dict] = []
    for sysm in systems:
        row: dict = {"system": sysm.id}
        try:
            tps = tokens_per_s
            g = 1.0
            state = None
            step = None
            if model is not None and plan is not None:
                pt = training_point(model, sysm, plan, uneven_pp=uneven_pp)
                tps = pt.tokens_per_s
                state = pt.checkpoint_bytes_per_chip
                step = pt.step_time_s
                row["training"] = pt.to_dict()
            if tps is not None:
                rep = goodput_report(
                    sysm,
                    days=days,
                    state_bytes_per_chip=state or 0.0,
                    tokens_per_s=tps,
                    step_time_s=step,
                    checkpoint=checkpoint,
                    params=p,
                )
                g = rep.goodput
                row["ettr"] = rep.ettr
                row["mtbf_h"] = rep.mtbf_h
            fs = facility_summary(
                sysm,
                tokens_per_s=tps,
                goodput=g,
                served_tokens_per_s=served_tokens_per_s,
                price_per_kwh=price_per_kwh,
                lifetime_s=lifetime_s,
            )
            row.update(fs.to_dict())
            row["domain_use"] = sysm.domain_use()
            if target_tokens is not None and tps is not None:
                row["sizing"] = size_for_target(
                    sysm,
                    tokens=target_tokens,
                    days=days,
                    tokens_per_s_per_chip=tps / sysm.chips,
                    state_bytes_per_chip=state or 0.0,
                    checkpoint=checkpoint,
                    step_time_s=step,
                    params=p,
                ).to_dict()
        except PodsimError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return rows
