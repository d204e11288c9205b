"""A system as a hierarchy of levels, with totals recomputed from per-chip figures.

Levels run innermost first; ``size`` is the number of chips in one group of that level. A system
can be scaled to any chip count its structure allows: shrinking a supernode (an Atlas 950 SuperPoD
with 1,024 cards) clamps the outer levels; growing a cluster sets the outermost level's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from podsim.errors import SpecError
from podsim.spec.case import CaseSystem
from podsim.spec.chip import ChipSpec
from podsim.spec.system import PhysicalSpec, SystemSpec


@dataclass(frozen=True)
class Level:
    name: str
    size: int
    kind: str
    scale_up: bool
    tiers: int
    bandwidth: float  # B/s per chip, one direction
    latency: float  # s, one message end to end at this level
    oversubscription: float = 1.0
    in_network_reduction: bool = False
    dims: tuple[int, ...] | None = None
    medium: str = "mixed"
    link_type: str = "generic"


@dataclass(frozen=True)
class System:
    id: str
    name: str
    chip: ChipSpec
    chips: int
    levels: tuple[Level, ...]
    physical: PhysicalSpec | None = None
    kind: str = "cluster"
    status: str = "shipping"
    max_chips: int | None = None
    # the levels at their nominal (catalog) sizes; scaling always starts from these, so that
    # shrinking and then growing a system gives back the original structure
    nominal_levels: tuple[Level, ...] | None = None

    # ---------- structure ----------
    @property
    def scale_up_domain(self) -> int:
        """Chips joined by the scale-up fabric (the largest scale-up level, else the first)."""
        su = [lv.size for lv in self.levels if lv.scale_up]
        return min(max(su) if su else self.levels[0].size, self.chips)

    @property
    def scale_up_bandwidth(self) -> float:
        su = [lv for lv in self.levels if lv.scale_up]
        return (su[-1] if su else self.levels[0]).bandwidth

    @property
    def scale_out_bandwidth(self) -> float:
        so = [lv for lv in self.levels if not lv.scale_up]
        return so[-1].bandwidth if so else self.levels[-1].bandwidth

    def domain_use(self) -> dict[str, int] | None:
        """How the chips sit in scale-up domains when they spread over several and fill none
        whole: the catalog's domain size, the domains spanned, the chips used in each and the
        chips left idle in them (``gb200-nvl72-cluster:256``: 4 racks of 72 with 64 used each,
        32 idle). None when each domain spanned is full, or for a slice of one domain (a TPU
        slice, part of a SuperPoD), whose other chips serve other jobs. The plant and costs count
        the chips used; a buyer of rack-scale systems buys the idle ones too."""
        nominal = self.nominal_levels or self.levels
        full = [lv.size for lv in nominal if lv.scale_up]
        size = max(full) if full else nominal[0].size
        used = self.scale_up_domain
        if used >= size:
            return None
        domains = -(-self.chips // used)
        if domains < 2:
            return None
        return {
            "domain_size": size,
            "domains": domains,
            "chips_per_domain": used,
            "idle_chips": domains * size - self.chips,
        }

    def level_sizes(self) -> tuple[int, ...]:
        return tuple(min(lv.size, self.chips) for lv in self.levels)

    def scaled(self, chips: int) -> System:
        """The same system structure with ``chips`` accelerators.

        Inner levels keep their nominal size while ``chips`` fills whole groups of them; a level
        at least as large as ``chips`` shrinks to ``chips``; the outermost level always spans
        ``chips`` (up to ``max_chips``). A count that fills no whole number of groups spreads
        evenly over the fewest groups that hold it, each partly used (``gb200-nvl72-cluster:256``:
        4 racks of 64 GPUs). Torus / nD-full-mesh dimensions are re-fitted.
        """
        if isinstance(chips, bool) or not isinstance(chips, int | np.integer):
            raise SpecError("chip count must be a whole number", field="chips", value=chips)
        chips = int(chips)
        if chips < 1:
            raise SpecError("chip count must be at least 1", field="chips", value=chips)
        if chips == self.chips:
            return self
        limit = self.max_chips
        if limit is not None and chips > limit:
            raise SpecError(
                f"system '{self.id}' holds at most {limit:,} chips",
                field="chips",
                value=chips,
                allowed=f"1 to {limit:,}",
            )
        nominal = self.nominal_levels or self.levels
        levels: list[Level] = []
        prev = 1
        for i, lv in enumerate(nominal):
            last = i == len(nominal) - 1
            size = chips if last or lv.size >= chips else lv.size
            if size % prev != 0:
                # not a whole number of inner groups: a job spreads evenly over the fewest groups
                # that share it, each at least half used (256 GPUs on NVL72 racks: 4 racks of
                # 64; 5,120: 80 racks of 64, as NVIDIA's GB200 runs of those sizes are laid out),
                # each holding a whole number of what lies inside it
                below = levels[-2].size if len(levels) > 1 else 1
                fits = [
                    k
                    for k in range(-(-size // prev), size // max(-(-prev // 2), 1) + 1)
                    if size % k == 0 and (size // k) % below == 0
                ]
                if not fits:
                    raise SpecError(
                        f"{chips:,} chips neither fill whole groups of level "
                        f"'{nominal[i - 1].name}' ({prev:,} chips each) of system '{self.id}' "
                        "nor share groups evenly with each at least half used",
                        field="chips",
                        value=chips,
                        allowed=f"a multiple of {prev:,}, at most {prev:,}, or a count that "
                        f"groups of {-(-prev // 2):,} to {prev:,} chips share evenly",
                    )
                g = size // fits[0]
                levels[-1] = _resized(levels[-1], g, levels[-2] if len(levels) > 1 else None)
                prev = g
            levels.append(_resized(lv, size, levels[-1] if levels else None))
            prev = size
        return replace(self, chips=chips, levels=tuple(levels), nominal_levels=nominal)

    # ---------- totals (recomputed from per-chip figures) ----------
    def peak_flops(self, precision: str) -> float:
        return self.chips * self.chip.peak_flops(precision)

    @property
    def hbm_capacity(self) -> float:
        return self.chips * self.chip.hbm_capacity.value

    @property
    def hbm_bandwidth(self) -> float:
        return self.chips * self.chip.hbm_bandwidth.value

    @property
    def scale_up_aggregate_bandwidth(self) -> float:
        """Sum over chips of scale-up bandwidth, one direction."""
        return self.chips * self.scale_up_bandwidth

    def bisection_bandwidth(self) -> float:
        """Bandwidth across the worst halving of the whole system, one direction (B/s).

        The worst cut follows the boundaries of inner groups, so it severs only the innermost
        level that spans all chips; levels outside it carry no traffic at this size.
        """
        n = self.chips
        if n < 2:
            return 0.0
        for lv in self.levels:
            if lv.size >= n:
                return _level_bisection(lv, n)
        return _level_bisection(self.levels[-1], n)


def _balanced_factors(q: int, k: int) -> tuple[int, ...]:
    """``q`` as a product of ``k`` factors, as equal as possible, ascending."""
    if k == 1:
        return (q,)
    best: tuple[int, ...] | None = None
    for f in range(1, int(round(q ** (1 / k))) + 2):
        if q % f:
            continue
        rest = _balanced_factors(q // f, k - 1)
        cand = tuple(sorted((f, *rest)))
        if best is None or (cand[-1] / cand[0], cand[-1]) < (best[-1] / best[0], best[-1]):
            best = cand
    return best or tuple(sorted((q, *([1] * (k - 1)))))


def _fit_dims(lv: Level, size: int, inner: Level | None) -> tuple[int, ...] | None:
    """Dimensions of a torus / nD-full-mesh level resized to ``size`` chips.

    Keeps the nominal dims when they still multiply to ``size``; otherwise, when the inner level
    has dims of the same rank (a TPU cube inside a pod torus), grows the inner dims by balanced
    factors so each dimension stays a whole number of inner groups; else balances ``size`` itself.
    """
    if lv.kind not in ("torus", "nd_full_mesh") or not lv.dims:
        return lv.dims
    if math.prod(lv.dims) == size:
        return lv.dims
    k = len(lv.dims)
    if (
        inner is not None
        and inner.dims
        and len(inner.dims) == k
        and inner.size > 1
        and size % inner.size == 0
        and math.prod(inner.dims) == inner.size
    ):
        q = _balanced_factors(size // inner.size, k)
        return tuple(sorted(a * b for a, b in zip(sorted(inner.dims), q, strict=True)))
    return _balanced_factors(size, k)


def _resized(lv: Level, size: int, inner: Level | None) -> Level:
    if size == lv.size:
        return lv
    return replace(lv, size=size, dims=_fit_dims(lv, size, inner))


def _level_bisection(lv: Level, g: int) -> float:
    """One-direction bisection bandwidth of one group of ``g`` chips at this level."""
    if lv.kind == "torus":
        dims = lv.dims if lv.dims and math.prod(lv.dims) == g else _balanced_factors(g, 3)
        kmax = max(dims)
        links_per_chip = 2 * len(dims)
        link_bw = lv.bandwidth / links_per_chip
        # cutting the longest dimension in half severs 2 wrap-around planes of g/kmax links
        return 2 * (g / kmax) * link_bw
    if lv.kind == "full_mesh":
        half = g / 2
        return half * half * lv.bandwidth / max(g - 1, 1)
    if lv.kind == "nd_full_mesh":
        dims = lv.dims if lv.dims and math.prod(lv.dims) == g else (g,)
        # cutting the largest dimension: each of the g/d lines loses (d/2)^2 links of bw B_d/(d-1)
        d = max(dims)
        per_dim_bw = lv.bandwidth / len(dims)
        return (g / d) * (d / 2) ** 2 * per_dim_bw / max(d - 1, 1)
    return (g / 2) * lv.bandwidth / lv.oversubscription


def _level_from_spec(lv) -> Level:
    return Level(
        name=lv.name,
        size=lv.size,
        kind=lv.kind,
        scale_up=lv.scale_up,
        tiers=lv.tiers,
        bandwidth=lv.bandwidth.value,
        latency=lv.latency.value,
        oversubscription=lv.oversubscription,
        in_network_reduction=lv.in_network_reduction,
        dims=lv.dims,
        medium=lv.medium,
        link_type=lv.link_type,
    )


def system_from_spec(spec: SystemSpec, chips: int | None = None) -> System:
    """The runtime System of a spec, at its default chip count or scaled to ``chips``."""
    from podsim import catalog

    chip = catalog.chip(spec.chip)
    nominal = tuple(_level_from_spec(lv) for lv in spec.levels)
    top = nominal[-1].size
    if spec.chips > top:
        raise SpecError(
            f"system '{spec.id}' sets chips {spec.chips:,} above its outermost level's size {top:,}",
            field="chips",
            value=spec.chips,
            allowed=f"1 to {top:,}",
        )
    full = System(
        id=spec.id,
        name=spec.name,
        chip=chip,
        chips=top,
        levels=nominal,
        physical=spec.physical,
        kind=spec.kind,
        status=spec.status,
        max_chips=top,
        nominal_levels=nominal,
    )
    return full.scaled(spec.chips if chips is None else chips)


def resolve_system(name: str, chips: int | None = None) -> System:
    """A catalog system id or a system YAML path, optionally scaled to ``chips``."""
    from podsim import catalog

    return system_from_spec(catalog.system(name), chips)


def system_for_case(cs: CaseSystem) -> System:
    """Build the system a validation case ran on: the chip's platform, resized to the case."""
    from podsim import catalog

    chip = catalog.chip(cs.chip)
    platform = getattr(chip, "platform", None)
    levels: list[Level]
    if platform:
        base = system_from_spec(catalog.system(platform))
        nominal = base.nominal_levels or base.levels
        su = [lv for lv in nominal if lv.scale_up]
        so = [lv for lv in nominal if not lv.scale_up]
    else:
        su, so = [], []
    su_bw = cs.scale_up_bandwidth or chip.scale_up_bandwidth.value
    so_bw = cs.scale_out_bandwidth or chip.scale_out_bandwidth.value
    su_lat = chip.scale_up_latency.value if chip.scale_up_latency else 2e-6
    so_lat = chip.scale_out_latency.value if chip.scale_out_latency else 5e-6
    dom = cs.scale_up_domain
    if su:
        template = su[-1]
        inner = [
            replace(lv, bandwidth=su_bw if cs.scale_up_bandwidth else lv.bandwidth)
            for lv in su[:-1]
            if lv.size < dom and dom % lv.size == 0
        ]
        levels = [*inner, replace(template, size=dom, bandwidth=su_bw)]
    else:
        levels = [Level("scale-up", dom, "switched", True, 1, su_bw, su_lat)]
    if so:
        levels.append(replace(so[-1], size=max(cs.chips, dom), bandwidth=so_bw))
    else:
        levels.append(Level("scale-out", max(cs.chips, dom), "switched", False, 3, so_bw, so_lat))
    fitted: list[Level] = []
    for lv in levels:
        size = min(lv.size, cs.chips)
        # re-fit torus dims to the case's sizes (the template kept the platform's)
        lv = replace(lv, dims=_fit_dims(lv, lv.size, fitted[-1] if fitted else None))
        fitted.append(_resized(lv, size, fitted[-1] if fitted else None))
    return System(
        id=f"{cs.chip}-x{cs.chips}",
        name=f"{chip.name} x {cs.chips}",
        chip=chip,
        chips=cs.chips,
        levels=tuple(fitted),
        max_chips=None,
    )
