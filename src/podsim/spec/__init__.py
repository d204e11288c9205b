"""Typed, validated input schemas."""

from podsim.spec.case import ValidationCase
from podsim.spec.chip import ChipSpec
from podsim.spec.figure import Figure
from podsim.spec.jobs import ServingSpec, TrainingSpec
from podsim.spec.model import ModelSpec
from podsim.spec.system import LevelSpec, SystemSpec

__all__ = [
    "ChipSpec",
    "Figure",
    "LevelSpec",
    "ModelSpec",
    "ServingSpec",
    "SystemSpec",
    "TrainingSpec",
    "ValidationCase",
]
