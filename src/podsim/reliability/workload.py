"""One training plan evaluated by the training model, reduced to what goodput and sizing need."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from podsim.errors import PlanError
from podsim.hardware.system import System
from podsim.spec.jobs import TrainingSpec
from podsim.spec.model import ModelSpec


def _f(x) -> float:
    return float(np.asarray(x, dtype=float).reshape(-1)[0])


@dataclass(frozen=True)
class TrainingPoint:
    tokens_per_s: float
    tokens_per_s_per_chip: float
    step_time_s: float
    mfu: float
    fits: bool
    checkpoint_bytes_per_chip: float
    chips: int

    def to_dict(self) -> dict:
        return asdict(self)


def training_point(
    model: ModelSpec, system: System, plan: TrainingSpec, *, uneven_pp: bool = False
) -> TrainingPoint:
    """Run the training model for one plan on the whole ``system``.

    Raises PlanError when the plan is impossible.
    """
    from podsim.training.plan import from_spec, raise_if_invalid
    from podsim.training.step import simulate_plans

    arrays = from_spec(plan, system.chips, uneven_pp=uneven_pp)
    raise_if_invalid(arrays, model, system.chips)
    res = simulate_plans(model, system, arrays, plan.precision)
    valid = getattr(res, "valid", True)
    if not bool(np.all(np.asarray(valid))):
        reasons = getattr(res, "reasons", {}) or {}
        why = [k for k, v in reasons.items() if bool(np.any(np.asarray(v)))]
        raise PlanError(
            "training plan is invalid" + (f": {', '.join(why)}" if why else ""), field="plan"
        )
    step_time = res.step_time
    return TrainingPoint(
        tokens_per_s=_f(res.tokens_per_s),
        tokens_per_s_per_chip=_f(res.tokens_per_s_per_chip),
        step_time_s=_f(step_time),
        mfu=_f(res.mfu),
        fits=bool(np.all(np.asarray(res.fits))),
        checkpoint_bytes_per_chip=_f(res.checkpoint_bytes_per_chip),
        chips=system.chips,
    )
