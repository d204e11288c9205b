"""System spec: a chip, a hierarchy of network levels, and the physical plant around them."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from podsim.spec.base import Spec
from podsim.spec.errors import FieldError
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
    dims: tuple[Annotated[int, Field(ge=1)], ...] | None = Field(
        default=None, min_length=1, description="per-dimension sizes for torus / nd_full_mesh"
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

    @model_validator(mode="after")
    def _dims(self) -> LevelSpec:
        if self.dims is None:
            return self
        if self.kind not in ("torus", "nd_full_mesh"):
            raise FieldError(
                f"dims are the shape of a torus or nD full mesh, but this level is '{self.kind}'",
                field="dims",
                value=list(self.dims),
                allowed="no dims, or kind torus / nd_full_mesh",
            )
        if math.prod(self.dims) != self.size:
            raise FieldError(
                f"dims {'x'.join(map(str, self.dims))} hold {math.prod(self.dims):,} chips, "
                f"not the level's size {self.size:,}",
                field="dims",
                value=list(self.dims),
                allowed=f"sizes whose product is {self.size:,}",
            )
        return self


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

    @model_validator(mode="after")
    def _pue(self) -> PhysicalSpec:
        if self.pue is not None and self.pue.value < 1.0:
            raise FieldError(
                "PUE is facility power over IT power, so it is never below 1",
                field="pue",
                value=self.pue.value,
                allowed="1 or more (1.1-1.6 for AI halls)",
            )
        return self


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
        seen: dict[str, int] = {}
        for i, lv in enumerate(self.levels):
            if lv.name in seen:
                raise FieldError(
                    f"level name '{lv.name}' is used by levels[{seen[lv.name]}] too",
                    field=f"levels.{i}.name",
                    value=lv.name,
                    allowed="a name no other level of this system has",
                )
            seen[lv.name] = i
            if lv.size < prev or lv.size % prev != 0:
                raise FieldError(
                    f"must be a multiple of the inner level's size {prev:,} "
                    "(each level is whole groups of the one inside it)",
                    field=f"levels.{i}.size",
                    value=lv.size,
                    allowed=f"a multiple of {prev:,}",
                )
            prev = lv.size
        out = next((i for i, lv in enumerate(self.levels) if not lv.scale_up), len(self.levels))
        for i, lv in enumerate(self.levels[out + 1 :], start=out + 1):
            if lv.scale_up:
                raise FieldError(
                    f"level '{lv.name}' is scale-up but sits outside the scale-out level "
                    f"'{self.levels[out].name}': the scale-up fabric is the innermost levels",
                    field=f"levels.{i}.scale_up",
                    value=True,
                    allowed="scale_up true only on levels inside every scale-out level",
                )
        first, top = self.levels[0].size, self.levels[-1].size
        if self.chips > top:
            raise FieldError(
                f"more chips than the outermost level holds ({top:,})",
                field="chips",
                value=self.chips,
                allowed=f"1 to {top:,}",
            )
        if self.chips % first != 0 and self.chips > first:
            raise FieldError(
                f"not a whole number of '{self.levels[0].name}' groups of {first:,} chips",
                field="chips",
                value=self.chips,
                allowed=f"at most {first:,} (one partial group) or a multiple of {first:,}",
            )
        return self
