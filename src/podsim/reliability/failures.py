"""Component counts of a system, its job failure rate, blast radius per component and interruptions.

A synchronous training job is a series system: it stops when any of its components fails, so
λ_job = Σ_c N_c·λ_c (reference C3.1). Component counts come from the system's structure (levels)
and its PhysicalSpec:

- accelerators: the chip count; software faults are charged per accelerator too;
- hosts: ``hosts_per_chip`` (else one host per 8 chips, or per first-level group if smaller);
- NICs: one per chip when a scale-out level joins more than one scale-up domain;
- switch chips, links, optics: ``switch_chips_per_chip`` / ``optics_per_chip`` when the PhysicalSpec
  gives them (and the system spans more than one host); otherwise, per level whose groups span more than one host:
  ports = bandwidth / port bandwidth; a t-tier non-blocking switched level has t links and
  (2t-1)/radix switch chips per port; a full mesh (n-D) has Σ_d (d-1)/2 links per chip, a torus
  one link per dimension per chip. Copper levels give copper links, optical levels give
  ``optics_per_link`` optical modules per link, mixed switched levels copper for the first tier
  and optics above it. Links inside one host (board traces, e.g. NVLink on an HGX board) are part
  of the accelerator class, as in the Llama 3 cause table.

Chip counts can be numpy arrays: the per-chip ratios of the system's structure times the count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from podsim.hardware.system import Level, System
from podsim.reliability.params import CLASSES, ReliabilityParams, load_params

LINK_CLASSES = ("optical_module", "copper_link")
#: classes whose failure needs a hardware part replaced (a spare swapped in) before restart
HARDWARE_CLASSES = ("accelerator", "host", "nic", "optical_module", "switch_chip", "copper_link")


def chips_per_host(system: System) -> float:
    phys = system.physical
    if phys is not None and phys.hosts_per_chip is not None and phys.hosts_per_chip.value > 0:
        return 1.0 / phys.hosts_per_chip.value
    return float(min(8, system.levels[0].size))


def _effective_levels(system: System) -> list[tuple[Level, int]]:
    """Levels that join more than their inner level, with the inner level's size."""
    out: list[tuple[Level, int]] = []
    inner = 1
    for lv in system.levels:
        size = min(lv.size, system.chips)
        if size > inner:
            out.append((lv, inner))
            inner = size
    return out


def _mesh_links_per_chip(lv: Level, inner: int, host: float) -> float:
    if lv.kind == "torus":
        dims = lv.dims or (3,) * 3
        return float(sum(1 for d in dims if d > 1))
    if lv.kind == "nd_full_mesh" and lv.dims:
        links = 0.0
        span = 1
        for d in lv.dims:
            span *= d
            if span <= host:  # this dimension lies on one board
                continue
            links += (d - 1) / 2.0
        return links
    groups = max(lv.size // max(inner, 1), 1)
    return (groups - 1) / 2.0


def level_components(system: System, params: ReliabilityParams) -> dict[str, dict[str, float]]:
    """Per-chip switch chips, copper links and optical modules of each level, from structure."""
    host = chips_per_host(system)
    out: dict[str, dict[str, float]] = {}
    for lv, inner in _effective_levels(system):
        rec = {"switch_chip": 0.0, "copper_link": 0.0, "optical_module": 0.0}
        out[lv.name] = rec
        if min(lv.size, system.chips) <= host or lv.medium == "on-package":
            continue
        ports = max(1, round(lv.bandwidth / params.port_bandwidth))
        if lv.kind == "switched":
            links = float(ports * lv.tiers)
            rec["switch_chip"] = ports * (2 * lv.tiers - 1) / params.switch_radix
            first_tier = float(ports)
        else:
            links = _mesh_links_per_chip(lv, inner, host)
            first_tier = links
        if lv.medium == "copper":
            rec["copper_link"] = links
        elif lv.medium == "optical":
            rec["optical_module"] = links * params.optics_per_link
        else:  # mixed: copper to the first switch, optics above
            rec["copper_link"] = first_tier
            rec["optical_module"] = (links - first_tier) * params.optics_per_link
    return out


def per_chip_counts(system: System, params: ReliabilityParams | None = None) -> dict[str, float]:
    """Components of each class per accelerator, for the system's structure as configured."""
    params = params or load_params()
    levels = level_components(system, params)
    counts = {c: 0.0 for c in CLASSES}
    counts["accelerator"] = 1.0
    counts["software"] = 1.0
    counts["host"] = 1.0 / chips_per_host(system)
    for rec in levels.values():
        for k, v in rec.items():
            counts[k] += v
    dom = system.scale_up_domain
    counts["nic"] = (
        1.0
        if any(
            not lv.scale_up and min(lv.size, system.chips) > dom
            for lv, _ in _effective_levels(system)
        )
        else 0.0
    )
    phys = system.physical
    spans_hosts = any(
        min(lv.size, system.chips) > chips_per_host(system) for lv, _ in _effective_levels(system)
    )
    if phys is not None and spans_hosts:  # a single server has no network parts
        if phys.optics_per_chip is not None:
            counts["optical_module"] = phys.optics_per_chip.value
        if phys.switch_chips_per_chip is not None:
            counts["switch_chip"] = phys.switch_chips_per_chip.value
    return counts


def component_counts(
    system: System, chips: int | np.ndarray | None = None, params: ReliabilityParams | None = None
) -> dict[str, np.ndarray]:
    """Number of components of each class for ``chips`` accelerators (default: the system's)."""
    n = np.asarray(system.chips if chips is None else chips, dtype=float)
    return {c: r * n for c, r in per_chip_counts(system, params).items()}


def class_failure_rates(
    system: System, chips: int | np.ndarray | None = None, params: ReliabilityParams | None = None
) -> dict[str, np.ndarray]:
    """Job interruptions per hour from each class: N_c·λ_c (link flaps absorbed by retry removed)."""
    params = params or load_params()
    rates = params.rates_for(system.id)
    counts = component_counts(system, chips, params)
    out: dict[str, np.ndarray] = {}
    for c in CLASSES:
        lam = counts[c] * rates[c]
        if c in LINK_CLASSES:
            lam = lam * (1.0 - params.transient_fraction)
        out[c] = lam
    return out


def job_failure_rate(
    system: System, chips: int | np.ndarray | None = None, params: ReliabilityParams | None = None
) -> np.ndarray:
    """λ_job in interruptions per hour."""
    return sum(class_failure_rates(system, chips, params).values())


def expected_interruptions(
    system: System,
    days: float | np.ndarray,
    chips: int | np.ndarray | None = None,
    params: ReliabilityParams | None = None,
) -> dict[str, np.ndarray]:
    """Expected unexpected interruptions over ``days`` of wall-clock time, by class and 'total'."""
    hours = np.asarray(days, dtype=float) * 24.0
    by = {c: lam * hours for c, lam in class_failure_rates(system, chips, params).items()}
    by["total"] = sum(by.values())
    return by


@dataclass(frozen=True)
class Blast:
    """What one failure of a component class takes down, and what it costs the job."""

    component: str
    scope: str  # chip, server, scale-up domain, switch group, job
    chips_down: float  # chips out of service until the part is replaced
    restart_s: (
        float  # detection + restart (+ swap of a spare for hardware), without reload/lost work
    )


def blast_radius(system: System, params: ReliabilityParams | None = None) -> dict[str, Blast]:
    """Blast radius per component class. Any failure stops a synchronous job; the scope says
    which hardware must be swapped for a spare before it restarts."""
    params = params or load_params()
    host = chips_per_host(system)
    dom = system.scale_up_domain
    prof = params.recovery
    levels = level_components(system, params)
    su_switch = any(
        lv.scale_up and levels.get(lv.name, {}).get("switch_chip", 0.0) > 0
        for lv, _ in _effective_levels(system)
    )
    base = prof.detect_s + prof.restart_s
    hw = base + prof.swap_s
    leaf_group = min(params.switch_radix / 2.0, float(system.chips))
    out = {
        "accelerator": Blast("accelerator", "chip", 1.0, hw),
        "host": Blast("host", "server", host, hw),
        "nic": Blast("nic", "chip", 1.0, hw),
        "optical_module": Blast("optical_module", "chip", 1.0, hw),
        "copper_link": Blast("copper_link", "chip", 1.0, hw),
        "switch_chip": (
            Blast("switch_chip", "scale-up domain", float(dom), hw)
            if su_switch
            else Blast("switch_chip", "switch group", leaf_group, hw)
        ),
        "software": Blast("software", "job", float(system.chips), base),
    }
    return out


def mean_restart_s(system: System, params: ReliabilityParams | None = None) -> float:
    """Failure-rate-weighted mean of detection + restart (+ swap) over component classes."""
    params = params or load_params()
    lam = {c: float(np.sum(v)) for c, v in class_failure_rates(system, None, params).items()}
    total = sum(lam.values())
    blasts = blast_radius(system, params)
    if total <= 0:
        return params.recovery.detect_s + params.recovery.restart_s
    return sum(lam[c] * blasts[c].restart_s for c in CLASSES) / total


def mtbf_hours(lam_per_hour: float | np.ndarray) -> np.ndarray:
    lam = np.asarray(lam_per_hour, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(lam > 0, 1.0 / np.maximum(lam, 1e-300), math.inf)
