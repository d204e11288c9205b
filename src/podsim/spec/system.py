"""System spec: a chip, a hierarchy of network levels, and the physical plant around them."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from podsim.spec.base import Spec
from podsim.spec.figure import figure

TopologyKind = Literal["switched", "full_mesh", "nd_full_mesh", "torus"]
TOPOLOGY_KINDS = "switched, full_mesh, nd_full_mesh, torus"


class LevelSpec(Spec):
    """One level of the network hierarchy.

    ``size`` is the number of chips in one group at this level (cumulative: a 72-chip NVLink
    domain of 4-chip trays has size 72). ``bandwidth`` is per chip, one direction, for traffic
    that leaves the next inner level but stays inside this one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    size: int = Field(ge=1)
    kind: TopologyKind = "switched"
    scale_up: bool = Field(default=False, description="part of the scale-up (load/store) fabric")
    tiers: int = Field(default=1, ge=1, description="switch tiers for 'switched'")
    dims: tuple[int, ...] | None = Field(
        default=None, description="per-dimension sizes for torus / nd_full_mesh"
    )
    bandwidth: figure("bandwidth", positive=True)
    latency: figure("time")
    oversubscription: float = Field(default=1.0, ge=1.0)
    in_network_reduction: bool = Field(
        default=False, description="NVLS/SHARP-style in-switch reduction"
    )
    medium: Literal["copper", "optical", "mixed", "on-package"] = "mixed"
    link_type: str = Field(
        default="generic",
        description="key into catalog calibration/links.yaml (achieved/line-rate efficiencies)",
    )


class PhysicalSpec(Spec):
    """Per-chip ratios of the physical plant, so that totals scale with the chip count."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    chips_per_compute_cabinet: figure("count", positive=True) | None = None
    network_cabinets_per_compute_cabinet: figure("count") | None = None
    floor_area_per_cabinet: figure("area", positive=True) | None = None
    hosts_per_chip: figure("count") | None = None
    cpus_per_chip: figure("count") | None = None
    host_power_per_chip: figure("power") | None = None
    switch_chips_per_chip: figure("count") | None = None
    switch_chip_power: figure("power") | None = None
    optics_per_chip: figure("count") | None = None
    optic_power: figure("power") | None = None
    other_power_per_chip: figure("power") | None = None
    pue: figure("count", positive=True) | None = None
    cost_per_chip_all_in: figure("money", positive=True) | None = None
    reported_power: figure("power", positive=True) | None = Field(
        default=None,
        description="published all-in power of the default configuration, for cross-check",
    )
    reported_floor_area: figure("area", positive=True) | None = None
    reported_cabinets: figure("count", positive=True) | None = None
    reported_cost: figure("money", positive=True) | None = None


class SystemSpec(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    vendor: str
    chip: str
    chips: int = Field(ge=1, description="chips in the default configuration")
    status: Literal["shipping", "announced"]
    date: str
    kind: Literal["supernode", "supercluster", "cluster", "rack", "pod"]
    levels: tuple[LevelSpec, ...] = Field(min_length=1)
    physical: PhysicalSpec | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _levels(self) -> SystemSpec:
        prev = 1
        for i, lv in enumerate(self.levels):
            if lv.size < prev or lv.size % prev != 0:
                raise ValueError(
                    f"levels[{i}].size {lv.size} must be a multiple of the inner level's size {prev}"
                )
            prev = lv.size
        if self.chips % self.levels[0].size != 0 and self.chips > self.levels[0].size:
            raise ValueError(
                f"chips {self.chips} is not a multiple of levels[0].size {self.levels[0].size}"
            )
        return self
