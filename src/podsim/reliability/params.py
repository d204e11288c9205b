"""Reliability parameters from ``catalog/data/reliability.yaml``: failure rates, recovery, checkpoints.

Rates are per component-hour here (the file gives them per component-year). The calibration block
of the file is kept so that :func:`derive_calibration_rates` can re-derive the rates from the
Llama 3 cause table and the component counts of the calibration cluster.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from podsim.errors import SpecError
from podsim.spec.errors import spec_error
from podsim.spec.figure import Figure, figure

HOURS_PER_YEAR = 8766.0  # 365.25 days

#: component classes, in the order tables show them
CLASSES: tuple[str, ...] = (
    "accelerator",
    "host",
    "nic",
    "optical_module",
    "switch_chip",
    "copper_link",
    "software",
)
NETWORK_CLASSES: tuple[str, ...] = ("switch_chip", "optical_module", "copper_link")


class _Cause(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cause: str
    count: int = Field(ge=0)
    cls: str = Field(alias="class")


class _Calibration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    source: str
    accelerators: figure("count", positive=True)
    duration: figure("time", positive=True)
    unexpected_interruptions: figure("count", positive=True)
    planned_interruptions: figure("count") | None = None
    effective_training_time: figure("count") | None = None
    causes: tuple[_Cause, ...]
    component_counts: dict[str, figure("count")]
    network_weights: dict[str, figure("count", positive=True)]


class _RateSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    per_accelerator_mttf: figure("time", positive=True) | None = None
    per_node_day: figure("count", positive=True) | None = None
    gpus_per_node: int | None = None
    cluster_mtbf: figure("time", positive=True) | None = None
    cluster_accelerators: figure("count", positive=True) | None = None


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    detect: figure("time")
    restart: figure("time")
    reload: figure("time") | None = None
    swap: figure("time") | None = None


class _Recovery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    default: str
    profiles: dict[str, _Profile]
    transient_fraction: figure("count")


class _Checkpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    storage_write_bandwidth_per_chip: figure("bandwidth", positive=True)
    storage_read_bandwidth_per_chip: figure("bandwidth", positive=True)
    write_overhead: figure("time")
    host_copy_bandwidth: figure("bandwidth", positive=True)
    peer_network_efficiency: figure("count", positive=True)
    in_memory_interval_floor: figure("count", positive=True)


class _Structure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    port_bandwidth: figure("bandwidth", positive=True)
    switch_radix: figure("count", positive=True)
    optics_per_link: figure("count", positive=True)


class _Spares(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    repair_time: figure("time", positive=True)
    epsilon: figure("count", positive=True)


class _Claim(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    factor: figure("count", positive=True)
    applies_to: tuple[str, ...]
    component: str
    trusted_by_default: bool = False


class _Goodput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scheduling: figure("count", positive=True)


class _Economics(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    electricity_price: figure("money", positive=True)
    hardware_lifetime: figure("time", positive=True)


class ReliabilityFile(BaseModel):
    """Schema of ``reliability.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rates: dict[str, figure("count")]
    calibration: _Calibration
    rate_sets: dict[str, _RateSet]
    structure: _Structure
    recovery: _Recovery
    checkpoint: _Checkpoint
    spares: _Spares
    vendor_claims: dict[str, _Claim]
    goodput: _Goodput
    economics: _Economics


def _resolve(node: Any) -> Any:
    from podsim import catalog

    srcs = catalog.sources()
    if isinstance(node, dict):
        out = {k: _resolve(v) for k, v in node.items()}
        src = out.get("source")
        if isinstance(src, str) and src in srcs:
            out["source"] = srcs[src]
        return out
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    return node


@cache
def load_file() -> ReliabilityFile:
    """The parsed and validated ``reliability.yaml`` of the catalog."""
    from podsim import catalog

    path = str(catalog.DATA / "reliability.yaml")
    doc = catalog.data_file("reliability.yaml")
    try:
        spec = ReliabilityFile.model_validate(_resolve(doc))
    except ValidationError as exc:
        raise spec_error(exc, file=path, what="reliability file") from None
    missing = [c for c in CLASSES if c not in spec.rates]
    if missing:
        raise SpecError(
            "reliability rates missing for classes " + ", ".join(missing),
            file=path,
            field="rates",
            allowed=", ".join(CLASSES),
        )
    return spec


@dataclass(frozen=True)
class RecoveryProfile:
    name: str
    detect_s: float
    restart_s: float
    reload_s: float | None = None  # None: computed from checkpoint size and read bandwidth
    swap_s: float = 0.0  # added after hardware faults only


@dataclass(frozen=True)
class ReliabilityParams:
    """Everything the reliability model needs, as plain floats (SI: seconds, bytes/s; rates /h)."""

    rates_per_hour: dict[str, float]
    rate_set: str
    recovery: RecoveryProfile
    transient_fraction: float
    storage_write_bw_per_chip: float
    storage_read_bw_per_chip: float
    checkpoint_write_overhead_s: float
    host_copy_bw: float
    peer_network_efficiency: float
    in_memory_interval_floor_steps: float
    port_bandwidth: float
    switch_radix: float
    optics_per_link: float
    repair_time_h: float
    spare_epsilon: float
    scheduling_goodput: float
    trust_vendor_claims: bool = False
    claims: tuple[tuple[str, tuple[str, ...], str, float], ...] = field(default=())

    def rates_for(self, system_id: str) -> dict[str, float]:
        """Per-component failure rates (/h) for a system, with trusted vendor claims applied."""
        out = dict(self.rates_per_hour)
        if self.trust_vendor_claims:
            for _name, patterns, component, factor in self.claims:
                if any(fnmatch.fnmatch(system_id, p) for p in patterns):
                    out[component] = out[component] / factor
        return out

    def with_recovery(self, profile: str) -> ReliabilityParams:
        return replace(self, recovery=recovery_profile(profile))


def recovery_profile(name: str) -> RecoveryProfile:
    spec = load_file()
    if name not in spec.recovery.profiles:
        raise SpecError(
            f"unknown recovery profile '{name}'",
            field="recovery",
            allowed=", ".join(sorted(spec.recovery.profiles)),
        )
    p = spec.recovery.profiles[name]
    return RecoveryProfile(
        name,
        p.detect.value,
        p.restart.value,
        p.reload.value if p.reload else None,
        p.swap.value if p.swap else 0.0,
    )


def rate_set_names() -> list[str]:
    return sorted(load_file().rate_sets)


def derive_calibration_rates() -> dict[str, float]:
    """Re-derive per-component rates (/h) from the Llama 3 cause table (see the file header)."""
    cal = load_file().calibration
    hours = cal.duration.value / 3600.0
    by_class: dict[str, int] = {}
    for c in cal.causes:
        by_class[c.cls] = by_class.get(c.cls, 0) + c.count
    counts = {k: v.value for k, v in cal.component_counts.items()}
    out: dict[str, float] = {}
    for cls in CLASSES:
        if cls in NETWORK_CLASSES:
            continue
        out[cls] = by_class.get(cls, 0) / (counts[cls] * hours)
    weights = {k: v.value for k, v in cal.network_weights.items()}
    denom = sum(counts[c] * weights[c] for c in NETWORK_CLASSES)
    for c in NETWORK_CLASSES:
        out[c] = by_class.get("network", 0) * weights[c] / denom / hours
    return out


def _base_rates() -> dict[str, float]:
    return {k: v.value / HOURS_PER_YEAR for k, v in load_file().rates.items() if k in CLASSES}


def _calibration_total_per_accelerator(rates: dict[str, float]) -> float:
    cal = load_file().calibration
    counts = {k: v.value for k, v in cal.component_counts.items()}
    return sum(counts[c] * rates[c] for c in CLASSES) / cal.accelerators.value


def rate_set_target_per_accelerator(name: str) -> float:
    """All-cause failure rate per accelerator-hour that a named rate set stands for."""
    spec = load_file()
    if name not in spec.rate_sets:
        raise SpecError(
            f"unknown failure-rate set '{name}'",
            field="rate_set",
            allowed=", ".join(rate_set_names()),
        )
    rs = spec.rate_sets[name]
    if rs.per_accelerator_mttf is not None:
        return 3600.0 / rs.per_accelerator_mttf.value
    if rs.per_node_day is not None:
        return rs.per_node_day.value / (rs.gpus_per_node or 8) / 24.0
    if rs.cluster_mtbf is not None and rs.cluster_accelerators is not None:
        return 3600.0 / rs.cluster_mtbf.value / rs.cluster_accelerators.value
    raise SpecError(f"rate set '{name}' gives no rate", field=f"rate_sets.{name}")


def load_params(
    *,
    rate_set: str = "llama3-405b",
    recovery: str | None = None,
    trust_vendor_claims: bool | None = None,
) -> ReliabilityParams:
    """Parameters with the named failure-rate set and recovery profile.

    ``rate_set`` other than the default keeps the Llama 3 cause mix and scales all classes so that
    the all-cause rate per accelerator of the calibration cluster matches the set's figure.
    """
    spec = load_file()
    rates = _base_rates()
    if rate_set != "llama3-405b":
        target = rate_set_target_per_accelerator(rate_set)
        scale = target / _calibration_total_per_accelerator(rates)
        rates = {k: v * scale for k, v in rates.items()}
    elif rate_set not in spec.rate_sets:
        raise SpecError("rate set 'llama3-405b' missing", field="rate_sets")
    claims = tuple(
        (name, c.applies_to, c.component, c.factor.value) for name, c in spec.vendor_claims.items()
    )
    trust = (
        trust_vendor_claims
        if trust_vendor_claims is not None
        else any(c.trusted_by_default for c in spec.vendor_claims.values())
    )
    ck = spec.checkpoint
    st = spec.structure
    return ReliabilityParams(
        rates_per_hour=rates,
        rate_set=rate_set,
        recovery=recovery_profile(recovery or spec.recovery.default),
        transient_fraction=spec.recovery.transient_fraction.value,
        storage_write_bw_per_chip=ck.storage_write_bandwidth_per_chip.value,
        storage_read_bw_per_chip=ck.storage_read_bandwidth_per_chip.value,
        checkpoint_write_overhead_s=ck.write_overhead.value,
        host_copy_bw=ck.host_copy_bandwidth.value,
        peer_network_efficiency=ck.peer_network_efficiency.value,
        in_memory_interval_floor_steps=ck.in_memory_interval_floor.value,
        port_bandwidth=st.port_bandwidth.value,
        switch_radix=st.switch_radix.value,
        optics_per_link=st.optics_per_link.value,
        repair_time_h=spec.spares.repair_time.value / 3600.0,
        spare_epsilon=spec.spares.epsilon.value,
        scheduling_goodput=spec.goodput.scheduling.value,
        trust_vendor_claims=trust,
        claims=claims,
    )


def economics() -> tuple[Figure, Figure]:
    """(electricity price in USD per kWh, hardware lifetime in s) as sourced figures."""
    e = load_file().economics
    return e.electricity_price, e.hardware_lifetime
