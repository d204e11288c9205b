"""Per-link-type efficiencies (achieved / line rate) for the collective cost model.

Read from the catalog file ``catalog/data/calibration/links.yaml`` (format described at the top
of that file). Each ``Level.link_type`` of a system keys one entry; an unknown link type falls
back to ``generic`` -- an *assumption* (``LinkCalibration.fallback`` is True and
``link_type`` keeps the requested name so reports can flag it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from podsim.errors import SpecError
from podsim.io import read_mapping_file, require_mapping

LINKS_FILE = Path(__file__).resolve().parents[1] / "catalog" / "data" / "calibration" / "links.yaml"
BASES = ("vendor-claim", "measured", "analyst-estimate", "derived", "assumption")
FALLBACK = "generic"


@dataclass(frozen=True)
class Calibrated:
    """One calibrated figure (an efficiency, or a fixed time in seconds) with its provenance."""

    value: float
    source: str
    basis: str
    note: str | None = None


@dataclass(frozen=True)
class A2ACurve:
    """All-to-all efficiency versus group size, interpolated in log2(size), clamped at the ends."""

    sizes: tuple[float, ...]
    values: tuple[float, ...]
    source: str
    basis: str
    note: str | None = None
    per_die: bool = False  # sizes count dies (one rank per die, e.g. Ascend 910C: 2 per chip)

    def __call__(self, size) -> np.ndarray:
        x = np.log2(np.maximum(np.asarray(size, dtype=float), 1.0))
        return np.interp(x, np.log2(self.sizes), self.values)


@dataclass(frozen=True)
class Protocol:
    """A low-latency wire protocol of the collective library (NCCL LL / LL128): per-step latency
    and bandwidth relative to the default (Simple) protocol."""

    name: str
    latency_ratio: float
    bandwidth_ratio: float
    source: str


@dataclass(frozen=True)
class LinkCalibration:
    link_type: str
    bus: Calibrated
    a2a: Calibrated
    nvls: Calibrated | None = None
    a2a_curve: A2ACurve | None = None
    note: str | None = None
    fallback: bool = False
    # does the collective library offer log-step algorithms (recursive halving/doubling, Bruck,
    # HCCL RHD/NB/NHR) inside one group of this link type? NCCL inside an NVLink domain does not:
    # ring and (chain) tree both take ranks-1 steps there [NCCL tuning.cc]
    log_steps: bool = True
    log_steps_source: str | None = None
    # does the library run reduce-scatter / all-gather only as one flat ring over every rank of
    # the group (no hierarchical or log-step variant)? NCCL does: its AllGather/ReduceScatter
    # algorithms are Ring, plus NVLS/CollNet (in-network hardware) and PAT (one GPU per node)
    # [NCCL src/graph/tuning.cc, src/device/all_gather.h]
    rs_ag_ring_only: bool = False
    rs_ag_ring_only_source: str | None = None
    # fixed time of one all-to-all (dispatch or combine) of the library's low-latency kernels
    # across this link type: launch, flag signalling and packing; replaces the level's step
    # latency for all-to-alls when larger (seconds, measured where given)
    a2a_latency: Calibrated | None = None
    protocols: tuple[Protocol, ...] = ()

    @property
    def bus_efficiency(self) -> float:
        return self.bus.value

    @property
    def nvls_efficiency(self) -> float | None:
        return self.nvls.value if self.nvls is not None else None

    def a2a_efficiency(self, size=8, dies: int = 1) -> np.ndarray:
        """All-to-all efficiency for a group of ``size`` chips (array-friendly).

        Where the curve was measured per die (``per_die``: one rank per die, as DeepEP-Ascend on
        910C), a group of ``size`` chips of ``dies`` dies each is looked up at ``size * dies``.
        """
        if self.a2a_curve is not None:
            scale = dies if self.a2a_curve.per_die else 1
            return self.a2a_curve(np.asarray(size, dtype=float) * scale)
        return np.full(np.shape(size), self.a2a.value, dtype=float)


def _seconds(doc: dict, key: str, link: str, file: str) -> Calibrated | None:
    """An optional fixed time (seconds) with source and basis."""
    raw = doc.get(key)
    if raw is None:
        return None
    field = f"{link}.{key}"
    if not isinstance(raw, dict) or any(k not in raw for k in ("value", "source", "basis")):
        raise SpecError("must be a mapping with value, source and basis", file=file, field=field)
    try:
        value = float(raw["value"])
    except (TypeError, ValueError):
        raise SpecError("must be a number of seconds", file=file, field=field) from None
    if not 0.0 <= value < 1.0 or raw["basis"] not in BASES:
        raise SpecError(
            "needs seconds in [0, 1) and a known basis",
            file=file,
            field=field,
            value=raw,
            allowed=f"value in [0, 1), basis one of {', '.join(BASES)}",
        )
    return Calibrated(value, str(raw["source"]), str(raw["basis"]), raw.get("note"))


def _efficiency(doc: dict, key: str, link: str, file: str, required: bool) -> Calibrated | None:
    raw = doc.get(key)
    field = f"{link}.{key}"
    if raw is None:
        if required:
            raise SpecError("missing efficiency", file=file, field=field)
        return None
    if not isinstance(raw, dict):
        raise SpecError(
            "must be a mapping with value, source and basis", file=file, field=field, value=raw
        )
    for k in ("value", "source", "basis"):
        if k not in raw:
            raise SpecError(f"missing '{k}'", file=file, field=field)
    try:
        value = float(raw["value"])
    except (TypeError, ValueError):
        raise SpecError(
            "efficiency must be a number", file=file, field=field, value=raw["value"]
        ) from None
    if not 0.0 < value <= 1.0:
        raise SpecError(
            "efficiency must lie in (0, 1] (never beat the line rate)",
            file=file,
            field=field,
            value=value,
            allowed="0 < value <= 1",
        )
    if raw["basis"] not in BASES:
        raise SpecError(
            "unknown basis",
            file=file,
            field=f"{field}.basis",
            value=raw["basis"],
            allowed=", ".join(BASES),
        )
    return Calibrated(value, str(raw["source"]), str(raw["basis"]), raw.get("note"))


def _curve(doc: dict, link: str, file: str) -> A2ACurve | None:
    raw = doc.get("a2a_curve")
    if raw is None:
        return None
    field = f"{link}.a2a_curve"
    pts = raw.get("points") if isinstance(raw, dict) else None
    if not pts or not all(isinstance(p, list | tuple) and len(p) == 2 for p in pts):
        raise SpecError(
            "a2a_curve needs 'points': a list of [group_size, efficiency]", file=file, field=field
        )
    for k in ("source", "basis"):
        if k not in raw:
            raise SpecError(f"missing '{k}'", file=file, field=field)
    sizes = tuple(float(p[0]) for p in pts)
    values = tuple(float(p[1]) for p in pts)
    if any(b <= a for a, b in zip(sizes, sizes[1:], strict=False)) or sizes[0] < 1:
        raise SpecError("group sizes must be >= 1 and increasing", file=file, field=field)
    if not all(0.0 < v <= 1.0 for v in values):
        raise SpecError("efficiencies must lie in (0, 1]", file=file, field=field, value=values)
    per = raw.get("per", "rank")
    if per not in ("rank", "die"):
        raise SpecError(
            "unknown unit", file=file, field=f"{field}.per", value=per, allowed="rank, die"
        )
    return A2ACurve(
        sizes, values, str(raw["source"]), str(raw["basis"]), raw.get("note"), per == "die"
    )


def _flag(doc: dict, key: str, link: str, file: str) -> dict:
    """An optional true/false property of the link's collective library, with its source."""
    raw = doc.get(key)
    if raw is None:
        return {}
    field = f"{link}.{key}"
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), bool) or "source" not in raw:
        raise SpecError(
            "must be a mapping with a true/false 'value' and a 'source'", file=file, field=field
        )
    return {key: raw["value"], f"{key}_source": str(raw["source"])}


def _protocols(doc: dict, link: str, file: str) -> tuple[Protocol, ...]:
    raw = doc.get("protocols")
    if raw is None:
        return ()
    field = f"{link}.protocols"
    if not isinstance(raw, dict) or "source" not in raw or not isinstance(raw.get("list"), list):
        raise SpecError(
            "must be a mapping with 'list' (name, latency_ratio, bandwidth_ratio) and 'source'",
            file=file,
            field=field,
        )
    out = []
    for item in raw["list"]:
        try:
            name, lat, bw = (
                str(item["name"]),
                float(item["latency_ratio"]),
                float(item["bandwidth_ratio"]),
            )
        except (KeyError, TypeError, ValueError):
            raise SpecError(
                "each protocol needs name, latency_ratio, bandwidth_ratio",
                file=file,
                field=field,
                value=item,
            ) from None
        if not (lat >= 0.0 and 0.0 < bw <= 1.0):
            raise SpecError(
                "latency_ratio must be >= 0 and bandwidth_ratio in (0, 1]",
                file=file,
                field=f"{field}.{name}",
                value=item,
            )
        out.append(Protocol(name, lat, bw, str(raw["source"])))
    return tuple(out)


@cache
def all_link_calibrations(path: str | None = None) -> dict[str, LinkCalibration]:
    """Every entry of the links calibration file (default: the catalog's)."""
    file = str(path or LINKS_FILE)
    doc = require_mapping(
        read_mapping_file(file, what="link calibration"), file=file, what="link calibration"
    )
    out: dict[str, LinkCalibration] = {}
    for link, entry in doc.items():
        entry = require_mapping(entry, file=file, what=f"link calibration '{link}'")
        out[link] = LinkCalibration(
            link_type=link,
            bus=_efficiency(entry, "bus_efficiency", link, file, True),
            a2a=_efficiency(entry, "a2a_efficiency", link, file, True),
            nvls=_efficiency(entry, "nvls_efficiency", link, file, False),
            a2a_curve=_curve(entry, link, file),
            a2a_latency=_seconds(entry, "a2a_latency", link, file),
            note=entry.get("note"),
            protocols=_protocols(entry, link, file),
            **_flag(entry, "log_steps", link, file),
            **_flag(entry, "rs_ag_ring_only", link, file),
        )
    if FALLBACK not in out:
        raise SpecError(f"the '{FALLBACK}' fallback entry is missing", file=file)
    return out


@cache
def link_calibration(link_type: str) -> LinkCalibration:
    """Calibration for one link type; unknown types fall back to ``generic`` (an assumption)."""
    table = all_link_calibrations()
    if link_type in table:
        return table[link_type]
    base = table[FALLBACK]
    return LinkCalibration(
        link_type=link_type,
        bus=base.bus,
        a2a=base.a2a,
        nvls=base.nvls,
        a2a_curve=base.a2a_curve,
        a2a_latency=base.a2a_latency,
        log_steps=base.log_steps,
        log_steps_source=base.log_steps_source,
        rs_ag_ring_only=base.rs_ag_ring_only,
        rs_ag_ring_only_source=base.rs_ag_ring_only_source,
        protocols=base.protocols,
        note=f"no calibration for link type '{link_type}': using '{FALLBACK}' (assumption)",
        fallback=True,
    )
