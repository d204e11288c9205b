"""Effective training time ratio (ETTR), lost time by cause, goodput and tokens trained per day.

Model (reference C3.4-C3.6): while the job runs, interruptions arrive at rate λ (per second of
running time); each costs L = detection + restart (+ swap) + reload + T/2 of lost work, and
checkpoints block C seconds every T:

    ETTR = (1 − C/T) / (1 + λ·L)

Of the wall-clock time, the shares lost to each cause are (C/T)/(1+λL) for checkpoints and
λ·x/(1+λL) for x in {T/2 lost work, detection, restart, reload}; with ETTR they sum to one.
Goodput = scheduling goodput × ETTR (Google's MPG: program goodput is the MFU the training model
already gives). Tokens trained per day = tokens/s × 86,400 × goodput.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from podsim.errors import SpecError
from podsim.hardware.system import System
from podsim.reliability.checkpoint import CheckpointPlan, plan_checkpoint
from podsim.reliability.failures import (
    Blast,
    blast_radius,
    class_failure_rates,
    component_counts,
    job_failure_rate,
    mean_restart_s,
)
from podsim.reliability.params import CLASSES, ReliabilityParams, load_params
from podsim.spec.checks import MAKE_MODEL, MAKE_SYSTEM, MAX_DAYS, check_type, finite_number

CAUSES = ("checkpoint", "lost_work", "detection", "restart", "reload")


def _number(value, field: str, what: str, *, zero_ok: bool = False, most=None) -> None:
    """None (not given) or a finite real number above 0 (0 too with ``zero_ok``), at most
    ``most``: anything else (text, NaN, infinity, out of range) is a SpecError naming it."""
    if value is None and field != "days":
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SpecError(f"{what} must be a number", field=field, value=value)
    finite_number(float(value), field, what, zero_ok=zero_ok, most=most)


def _check_system_params(system, params) -> None:
    check_type(system, System, "system", MAKE_SYSTEM)
    if params is not None:
        check_type(
            params, ReliabilityParams, "params", "podsim.reliability.params.load_params(...)"
        )


def _checkpoint_share(c, t) -> np.ndarray:
    """C/T, with 0 where C = 0: a checkpoint that costs nothing blocks nothing, even at the
    T = 0 ("continuous") interval the optimum gives it when nothing floors the interval
    (0/0 was NaN: in-memory checkpoints of a job without state, e.g. ``podsim facility
    --tokens-per-s``)."""
    c, t = np.broadcast_arrays(np.asarray(c, float), np.asarray(t, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, c / t, 0.0)


def _per_failure(lam, x) -> np.ndarray:
    """λ·x, with 0 where λ = 0: with no failures the optimal interval is infinite (T/2 of lost
    work per failure is infinite) but no failure ever loses it (0·∞ was NaN)."""
    lam, x = np.broadcast_arrays(np.asarray(lam, float), np.asarray(x, float))
    with np.errstate(invalid="ignore"):
        return np.where(lam > 0, lam * x, 0.0)


def ettr(c, t, lam, loss):
    """(1 − C/T) / (1 + λ·L); λ per second, times in seconds. Broadcasts."""
    return (1.0 - _checkpoint_share(c, t)) / (1.0 + _per_failure(lam, loss))


def availability(mtbf, mttr):
    """Steady-state availability MTBF / (MTBF + MTTR) (UB-Mesh Eq. 3); same units for both."""
    mtbf = np.asarray(mtbf, float)
    return mtbf / (mtbf + np.asarray(mttr, float))


def per_failure_loss(t, detect, restart, reload):
    """L = detection + restart + reload + T/2 (seconds)."""
    return np.asarray(detect, float) + restart + reload + np.asarray(t, float) / 2.0


def lost_fractions(c, t, lam, detect, restart, reload) -> dict[str, np.ndarray]:
    """Share of wall-clock time lost to each cause; sums to 1 − ETTR."""
    t = np.asarray(t, float)
    denom = 1.0 + _per_failure(lam, per_failure_loss(t, detect, restart, reload))
    return {
        "checkpoint": _checkpoint_share(c, t) / denom,
        "lost_work": _per_failure(lam, t / 2.0) / denom,
        "detection": _per_failure(lam, detect) / denom,
        "restart": _per_failure(lam, restart) / denom,
        "reload": _per_failure(lam, reload) / denom,
    }


@dataclass(frozen=True)
class GoodputReport:
    system: str
    chips: int
    days: float
    rate_set: str
    recovery_profile: str
    trust_vendor_claims: bool
    component_counts: dict[str, float]
    interruptions: dict[str, float]  # expected over `days`, by class and "total"
    failure_rate_per_hour: float
    mtbf_h: float
    blast: dict[str, Blast]
    checkpoint: CheckpointPlan
    detect_s: float
    restart_s: float  # failure-rate-weighted restart (+ swap for hardware faults)
    loss_per_failure_s: float
    lost: dict[str, float]  # share of wall-clock time by cause
    ettr: float
    scheduling_goodput: float
    goodput: float
    tokens_per_s: float | None = None
    tokens_per_day_ideal: float | None = None
    tokens_per_day: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["checkpoint"] = self.checkpoint.to_dict()
        return d


def goodput_report(
    system: System,
    *,
    days: float,
    state_bytes_per_chip: float,
    tokens_per_s: float | None = None,
    step_time_s: float | None = None,
    checkpoint: str = "storage",
    checkpoint_interval_s: float | None = None,
    params: ReliabilityParams | None = None,
) -> GoodputReport:
    """Interruptions, checkpoint plan, lost time by cause, ETTR and tokens per day for one job
    that uses the whole ``system`` (scale it first with ``system.scaled(chips)``)."""
    _check_system_params(system, params)
    _number(days, "days", "the length of the run in days", most=MAX_DAYS)
    _number(state_bytes_per_chip, "state_bytes_per_chip", "checkpoint state", zero_ok=True)
    _number(tokens_per_s, "tokens_per_s", "training throughput", zero_ok=True)
    _number(step_time_s, "step_time_s", "training step time")
    p = params or load_params()
    lam_h = float(job_failure_rate(system, None, p))
    by_class = {c: float(v) for c, v in class_failure_rates(system, None, p).items()}
    counts = {c: float(v) for c, v in component_counts(system, None, p).items()}
    hours = days * 24.0
    interruptions = {c: by_class[c] * hours for c in CLASSES}
    interruptions["total"] = lam_h * hours
    mtbf_s = 3600.0 / lam_h if lam_h > 0 else float("inf")
    detect = p.recovery.detect_s
    restart_all = mean_restart_s(system, p) - detect  # restart (+ swap), weighted
    plan = plan_checkpoint(
        mode=checkpoint,
        state_bytes_per_chip=state_bytes_per_chip,
        mtbf_s=mtbf_s,
        recovery_s=detect + restart_all,
        scale_out_bandwidth=system.scale_out_bandwidth,
        step_time_s=step_time_s,
        interval_s=checkpoint_interval_s,
        params=p,
    )
    lam_s = lam_h / 3600.0
    loss = float(per_failure_loss(plan.interval_s, detect, restart_all, plan.reload_s))
    e = float(ettr(plan.cost_s, plan.interval_s, lam_s, loss))
    lost = {
        k: float(v)
        for k, v in lost_fractions(
            plan.cost_s, plan.interval_s, lam_s, detect, restart_all, plan.reload_s
        ).items()
    }
    g = p.scheduling_goodput * e
    notes: list[str] = []
    if p.trust_vendor_claims:
        notes.append("vendor reliability claims trusted where they apply")
    if float(_per_failure(lam_s, loss)) > 1.0:
        notes.append("more time is spent recovering than training: the job barely progresses")
    tpd_ideal = tokens_per_s * 86400.0 if tokens_per_s is not None else None
    return GoodputReport(
        system=system.id,
        chips=system.chips,
        days=days,
        rate_set=p.rate_set,
        recovery_profile=p.recovery.name,
        trust_vendor_claims=p.trust_vendor_claims,
        component_counts=counts,
        interruptions=interruptions,
        failure_rate_per_hour=lam_h,
        mtbf_h=mtbf_s / 3600.0,
        blast=blast_radius(system, p),
        checkpoint=plan,
        detect_s=detect,
        restart_s=restart_all,
        loss_per_failure_s=loss,
        lost=lost,
        ettr=e,
        scheduling_goodput=p.scheduling_goodput,
        goodput=g,
        tokens_per_s=tokens_per_s,
        tokens_per_day_ideal=tpd_ideal,
        tokens_per_day=tpd_ideal * g if tpd_ideal is not None else None,
        notes=notes,
    )


def ettr_at_chips(
    system: System,
    chips,
    *,
    state_bytes_per_chip: float,
    checkpoint: str = "storage",
    step_time_s: float | None = None,
    params: ReliabilityParams | None = None,
) -> np.ndarray:
    """ETTR at the optimal checkpoint interval for an array of chip counts (structure ratios of
    ``system``; state per chip held fixed, as in weak scaling with data parallelism)."""
    from podsim.reliability.checkpoint import availability_optimal_interval, checkpoint_costs

    p = params or load_params()
    n = np.asarray(chips, float)
    lam_s = job_failure_rate(system, n, p) / 3600.0
    detect = p.recovery.detect_s
    restart = mean_restart_s(system, p) - detect
    c, reload, floor = checkpoint_costs(
        checkpoint, state_bytes_per_chip, system.scale_out_bandwidth, step_time_s, p
    )
    with np.errstate(divide="ignore"):
        mtbf = np.where(lam_s > 0, 1.0 / np.maximum(lam_s, 1e-300), np.inf)
    # with no failures (λ = 0) the optimum is never to checkpoint (T = ∞, ETTR = 1); replacing
    # it by the floor gave ETTR = 1 − C/floor, 0 for storage (floor = C)
    t = np.maximum(availability_optimal_interval(c, mtbf, detect + restart + reload), floor)
    loss = per_failure_loss(t, detect, restart, reload)
    return ettr(c, t, lam_s, loss)


def goodput_for_job(
    model,
    system: System,
    plan,
    *,
    days: float,
    checkpoint: str = "storage",
    uneven_pp: bool = False,
    params: ReliabilityParams | None = None,
):
    """(TrainingPoint, GoodputReport, SparesPlan) for one training job on the whole ``system``:
    the training model's tokens/s and checkpoint state per chip feed the goodput model."""
    from podsim.reliability.spares import plan_spares
    from podsim.spec.jobs import TrainingSpec

    _check_system_params(system, params)
    _number(days, "days", "the length of the run in days", most=MAX_DAYS)
    from podsim.spec.model import ModelSpec

    check_type(model, ModelSpec, "model", MAKE_MODEL)
    check_type(
        plan, TrainingSpec, "plan", "TrainingSpec(seq_len=..., global_batch=..., tp=..., ...)"
    )
    from podsim.reliability.workload import training_point

    p = params or load_params()
    pt = training_point(model, system, plan, uneven_pp=uneven_pp)
    rep = goodput_report(
        system,
        days=days,
        state_bytes_per_chip=pt.checkpoint_bytes_per_chip,
        tokens_per_s=pt.tokens_per_s,
        step_time_s=pt.step_time_s,
        checkpoint=checkpoint,
        params=p,
    )
    return pt, rep, plan_spares(system, params=p)
