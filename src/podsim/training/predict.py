"""Predict a training validation case's measured metric with the training model."""

from __future__ import annotations

from podsim.hardware.system import system_for_case
from podsim.spec.case import ValidationCase
from podsim.training.plan import from_spec, raise_if_invalid
from podsim.training.step import TrainingResult, simulate_plans
from podsim.training.summary import result_dict


def simulate_case(case: ValidationCase) -> TrainingResult:
    """Run the training model on the system and plan a case describes.

    Published runs may split layers unevenly over pipeline stages (Megatron's first/last-stage
    layer options, DeepSpeed's partition methods) and end an interleaved schedule with a short
    micro-batch group, so both are allowed here.
    """
    assert case.training is not None
    system = system_for_case(case.system)
    plan = from_spec(case.training, case.system.chips, uneven_pp=True)
    raise_if_invalid(plan, case.model, system.chips, published=True)
    return simulate_plans(case.model, system, plan, case.training.precision, published=True)


def explain_training_case(case: ValidationCase) -> dict:
    """Everything behind a training case's prediction: step time, throughput, MFU, the time
    breakdown of one step and memory per chip on the busiest stage."""
    res = simulate_case(case)
    return {**result_dict(res), "micro_batches": float(res.extra["micro_batches"])}


def predict_training_case(case: ValidationCase) -> float:
    res = simulate_case(case)
    metric = case.measured.metric
    if metric == "tokens_per_s_per_chip":
        return float(res.tokens_per_s_per_chip)
    if metric == "step_time_s":
        return float(res.step_time)
    if metric == "mfu":
        return float(res.mfu)
    raise ValueError(f"unsupported training metric {metric}")
