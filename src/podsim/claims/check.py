"""Check vendor claims by recomputing them from per-chip catalog figures.

Each claim in ``catalog/data/claims.yaml`` names a *formula* (a key of :data:`FORMULAS`) and its
arguments. A formula returns a :class:`Recomputed`: a value in SI units plus, where the vendor's
convention is ambiguous, the other readings (*candidates*) — memory in decimal TB or in "TB" of
1,024 GB, bandwidth summed over one direction or both. The checker takes the candidate closest
to the claimed figure, says which convention it is, and gives a verdict:

- ``consistent``      the recomputed figure is within the tolerance of the claim;
- ``inconsistent``    it is not (the deviation is reported);
- ``not computable``  an input is missing from the catalog (the reason names it).

Formulas:

==========================  ================================================================
chips                       chips of a system (``pod``: also as k x a pod's chips)
pods                        chips of a system / chips of a pod system
peak_flops                  system dense peak at a precision
chip_peak_flops             one chip's dense peak (``fallback``: precision used if not native)
hbm_total                   system HBM: decimal TB, "TB" of 1,024 GB, TiB
scale_up_total_bandwidth    sum over chips of scale-up bandwidth: both directions, one direction
cabinets, floor_area        from the facility plant model (per-chip ratios)
comparator                  a sourced figure from ``comparators:`` in claims.yaml
ratio                       numerator / denominator, each a nested recompute (all candidates)
rivals                      system A vs system B: compute, HBM, bandwidth, power ratios
==========================  ================================================================

Any nested recompute may carry ``fallback: {...}``, used (and reported) when the first is not
computable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from podsim import catalog
from podsim.claims.schema import VERDICTS, Claim, ClaimFigure, ClaimsFile, parse_claim_value
from podsim.errors import PodsimError, SpecError
from podsim.hardware.resolve import resolve
from podsim.hardware.system import System
from podsim.io import read_mapping_file
from podsim.spec.chip import ChipSpec
from podsim.spec.errors import spec_error
from podsim.units import SI_UNITS, format_quantity


class NotComputable(Exception):
    """A recompute cannot be done from the catalog; the message says why."""


@dataclass(frozen=True)
class Recomputed:
    """A recomputed figure: SI value, dimension, other conventions, how it was computed."""

    value: float
    dim: str
    detail: str
    candidates: tuple[tuple[str, float], ...] = ()  # (convention, value); empty: just ``value``
    sources: tuple[str, ...] = ()
    # (divisor, unit): lets the checker say what the claim implies per unit, e.g. m² per cabinet
    implied_per: tuple[float, str] | None = None

    def readings(self) -> tuple[tuple[str, float], ...]:
        return self.candidates or (("", self.value),)


@dataclass
class ClaimResult:
    id: str
    subject: str
    claim: str
    claimed: float
    claimed_text: str
    recomputed: float | None  # the reading closest to the claim, in the claim's convention
    recomputed_text: str
    recomputed_si: float | None  # the recomputed quantity in SI units (primary reading)
    unit: str
    verdict: str
    tolerance: float
    comparison: str
    deviation: float | None
    convention: str | None
    detail: str
    reason: str | None
    sources: list[str]
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ---------------------------------------------------------------- context and registry


class Context:
    """Catalog access for formulas, with the comparator figures of the claims file."""

    def __init__(self, comparators: dict[str, ClaimFigure]) -> None:
        self.comparators = comparators
        self._systems: dict[tuple[str, int | None], System] = {}

    def system(self, ref: Any, chips: int | None = None) -> System:
        if not isinstance(ref, str):
            raise NotComputable(f"recompute argument 'system' must be a system id (got {ref!r})")
        key = (ref, chips)
        if key not in self._systems:
            try:
                self._systems[key] = resolve(ref, chips)
            except PodsimError as exc:
                raise NotComputable(f"system '{ref}': {exc}") from None
        return self._systems[key]

    def chip(self, ref: Any) -> ChipSpec:
        try:
            return catalog.chip(str(ref))
        except PodsimError as exc:
            raise NotComputable(f"chip '{ref}': {exc}") from None

    def evaluate(self, spec: Any) -> Recomputed:
        """A nested recompute: ``{formula: ..., ...}``, ``{comparator: key}``, with ``fallback``."""
        if not isinstance(spec, dict):
            raise NotComputable(f"a recompute must be a mapping (got {spec!r})")
        fallback = spec.get("fallback")
        body = {k: v for k, v in spec.items() if k != "fallback"}
        if "comparator" in body and "formula" not in body:
            body = {"formula": "comparator", "key": body["comparator"]}
        try:
            name = body.get("formula")
            if name not in FORMULAS:
                raise NotComputable(
                    f"unknown formula '{name}'; allowed: {', '.join(sorted(FORMULAS))}"
                )
            args = {k: v for k, v in body.items() if k != "formula"}
            return FORMULAS[name](args, self)
        except NotComputable as exc:
            if fallback is None:
                raise
            alt = self.evaluate(fallback)
            return Recomputed(
                alt.value,
                alt.dim,
                f"{alt.detail} [fallback used: {exc}]",
                alt.candidates,
                alt.sources,
            )


FORMULAS: dict[str, Callable[[dict[str, Any], Context], Recomputed]] = {}
# formula -> (required arguments, optional arguments); checked when a claims file is loaded
FORMULA_ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
# arguments that are themselves recomputes, and one that is a list of ratios
NESTED_ARGS = ("numerator", "denominator")
CONTEXT_ARG = "context"


def formula(name: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()):
    def deco(fn: Callable[[dict[str, Any], Context], Recomputed]):
        FORMULAS[name] = fn
        FORMULA_ARGS[name] = (required, optional)
        return fn

    return deco


def check_recompute(spec: Any, where: str, *, file: str | None = None) -> None:
    """A recompute's shape, before anything is computed: a mapping naming a known formula
    (or ``{comparator: key}``) with the formula's arguments and no others -- a misspelt
    optional argument (``chps: 1024``) would otherwise be ignored and the claim checked
    against the wrong figure. Nested recomputes (``numerator``, ``denominator``,
    ``fallback``) and ratio ``context`` entries are checked too. SpecError names the field."""

    def fail(msg: str, field: str, value: Any = None, allowed: str | None = None) -> NoReturn:
        raise SpecError(msg, file=file, field=field, value=value, allowed=allowed)

    if not isinstance(spec, dict):
        fail(
            "a recompute must be a mapping",
            where,
            spec,
            "{formula: NAME, ...arguments} or {comparator: KEY}",
        )
    if "fallback" in spec:
        check_recompute(spec["fallback"], f"{where}.fallback", file=file)
    body = {k: v for k, v in spec.items() if k != "fallback"}
    if "comparator" in body and "formula" not in body:
        body = {"formula": "comparator", "key": body.pop("comparator"), **body}
    name = body.get("formula")
    if not isinstance(name, str) or name not in FORMULAS:
        fail("unknown formula", f"{where}.formula", name, ", ".join(sorted(FORMULAS)))
    required, optional = FORMULA_ARGS[name]
    allowed = ", ".join((*required, *optional)) or "none"
    for arg in body:
        if arg != "formula" and arg not in required + optional:
            fail(f"not an argument of formula '{name}'", f"{where}.{arg}", allowed=allowed)
    for arg in required:
        if arg not in body:
            fail(f"formula '{name}' needs this argument", f"{where}.{arg}", allowed=allowed)
    for arg in NESTED_ARGS:
        if arg in body:
            check_recompute(body[arg], f"{where}.{arg}", file=file)
    if CONTEXT_ARG in body:
        ctx = body[CONTEXT_ARG]
        if not isinstance(ctx, list):
            fail(
                "context is a list of ratios",
                f"{where}.context",
                ctx,
                "[{label, numerator, denominator}, ...]",
            )
        for i, entry in enumerate(ctx):
            if not isinstance(entry, dict):
                fail(
                    "a context entry is a mapping",
                    f"{where}.context.{i}",
                    entry,
                    "{label, numerator, denominator}",
                )
            ratio = {k: v for k, v in entry.items() if k != "label"}
            check_recompute({"formula": "ratio", **ratio}, f"{where}.context.{i}", file=file)


def _arg(args: dict[str, Any], name: str) -> Any:
    if name not in args:
        raise NotComputable(f"recompute is missing argument '{name}'")
    return args[name]


def _precision(args: dict[str, Any]) -> str:
    p = str(_arg(args, "precision")).lower()
    if p not in ("fp32", "bf16", "fp16", "fp8", "int8", "fp4"):
        raise NotComputable(f"unknown precision '{p}'; allowed: fp32, bf16, fp16, fp8, int8, fp4")
    return p


def _tf(x: float) -> str:
    return f"{x / 1e12:,.0f} TFLOPS" if x < 1e16 else format_quantity(x, "flops")


# ---------------------------------------------------------------- formulas


@formula("chips", ("system",), ("pod",))
def _chips(args: dict[str, Any], ctx: Context) -> Recomputed:
    s = ctx.system(_arg(args, "system"))
    detail = f"{s.id}: {s.chips:,} x {s.chip.name}"
    if "pod" in args:
        pod = ctx.system(args["pod"])
        detail += f" = {s.chips / pod.chips:g} x {pod.chips:,} ({pod.id})"
    return Recomputed(float(s.chips), "count", detail)


@formula("pods", ("system", "pod"))
def _pods(args: dict[str, Any], ctx: Context) -> Recomputed:
    s = ctx.system(_arg(args, "system"))
    pod = ctx.system(_arg(args, "pod"))
    k = s.chips / pod.chips
    return Recomputed(
        k, "count", f"{s.chips:,} chips ({s.id}) / {pod.chips:,} per {pod.id} = {k:g}"
    )


def _peak_detail(chip: ChipSpec, p: str) -> tuple[float, str, tuple[str, ...]]:
    per = chip.peak_flops(p)
    if chip.native(p):
        f = chip.flops[p]  # type: ignore[index]
        return per, f"{_tf(per)} {p.upper()} ({f.basis})", (f.source,)
    used = next(q for q in chip.flops if chip.flops[q].value == per)  # type: ignore[index]
    f = chip.flops[used]  # type: ignore[index]
    return (
        per,
        f"{_tf(per)} ({chip.id} has no {p.upper()}: its {used.upper()} rate stands in)",
        (f.source,),
    )


@formula("peak_flops", ("system", "precision"), ("chips",))
def _peak_flops(args: dict[str, Any], ctx: Context) -> Recomputed:
    s = ctx.system(_arg(args, "system"), args.get("chips"))
    p = _precision(args)
    per, txt, src = _peak_detail(s.chip, p)
    total = s.chips * per
    return Recomputed(
        total,
        "flops",
        f"{s.chips:,} x {txt} = {format_quantity(total, 'flops')}",
        sources=src,
    )


@formula("chip_peak_flops", ("chip", "precision"), ("substitute",))
def _chip_peak(args: dict[str, Any], ctx: Context) -> Recomputed:
    chip = ctx.chip(_arg(args, "chip"))
    p = _precision(args)
    if chip.native(p):
        per, txt, src = _peak_detail(chip, p)
        return Recomputed(per, "flops", f"{chip.id} {txt}", sources=src)
    sub = args.get("substitute")
    if sub is None:
        raise NotComputable(
            f"{chip.id} has no {p.upper()} rate and no 'substitute' precision is given"
        )
    q = str(sub).lower()
    if not chip.native(q):
        raise NotComputable(f"{chip.id} has neither {p.upper()} nor {q.upper()}")
    f = chip.flops[q]  # type: ignore[index]
    return Recomputed(
        f.value,
        "flops",
        f"{chip.id} has no {p.upper()}: its {q.upper()} rate {_tf(f.value)} stands in",
        sources=(f.source,),
    )


@formula("hbm_total", ("system",), ("chips",))
def _hbm_total(args: dict[str, Any], ctx: Context) -> Recomputed:
    s = ctx.system(_arg(args, "system"), args.get("chips"))
    per = s.chip.hbm_capacity.value
    total = s.hbm_capacity
    cands = (
        ("1 TB = 10^12 B (decimal)", total),
        ("'TB' of 1,024 GB (binary-style: total GB / 1,024, as Huawei's 1,152 TB)", total / 1.024),
        ("'TB' meaning TiB (2^40 B)", total * 1e12 / 2**40),
    )
    detail = (
        f"{s.chips:,} x {per / 1e9:g} GB = {total / 1e12:,.1f} TB decimal"
        f" = {total / 1.024e12:,.1f} 'TB' of 1,024 GB = {total / 2**40:,.1f} TiB"
    )
    return Recomputed(total, "bytes", detail, cands, (s.chip.hbm_capacity.source,))


@formula("scale_up_total_bandwidth", ("system",), ("chips",))
def _su_total(args: dict[str, Any], ctx: Context) -> Recomputed:
    s = ctx.system(_arg(args, "system"), args.get("chips"))
    per = s.scale_up_bandwidth
    uni = s.scale_up_aggregate_bandwidth
    cands = (
        ("both directions (2 x one-direction per chip, summed)", 2 * uni),
        ("one direction, summed over chips", uni),
    )
    detail = (
        f"{s.chips:,} x {format_quantity(per, 'bandwidth')} per direction"
        f" = {format_quantity(uni, 'bandwidth')} one way,"
        f" {format_quantity(2 * uni, 'bandwidth')} both ways"
        f" (= {s.chips:,} x {format_quantity(2 * per, 'bandwidth')} bidirectional)"
    )
    return Recomputed(2 * uni, "bandwidth", detail, cands, (s.chip.scale_up_bandwidth.source,))


def _plant(ctx: Context, args: dict[str, Any]):
    from podsim.facility.plant import plant

    s = ctx.system(_arg(args, "system"), args.get("chips"))
    return s, plant(s)


@formula("cabinets", ("system",), ("chips",))
def _cabinets(args: dict[str, Any], ctx: Context) -> Recomputed:
    s, pl = _plant(ctx, args)
    if pl.cabinets.value is None:
        raise NotComputable(f"{s.id}: catalog lacks {', '.join(pl.cabinets.missing)}")
    phys = s.physical
    assert phys is not None and phys.chips_per_compute_cabinet is not None
    ncr = phys.network_cabinets_per_compute_cabinet
    assert ncr is not None
    detail = (
        f"ceil({s.chips:,} / {phys.chips_per_compute_cabinet.value:g} chips per cabinet)"
        f" = {pl.compute_cabinets.value:,.0f} compute + {pl.network_cabinets.value:,.0f} network"
        f" ({ncr.value:g} per compute cabinet, {ncr.basis})"
    )
    return Recomputed(float(pl.cabinets.value), "count", detail, sources=pl.cabinets.sources)


@formula("floor_area", ("system",), ("chips",))
def _floor_area(args: dict[str, Any], ctx: Context) -> Recomputed:
    s, pl = _plant(ctx, args)
    if pl.floor_area.value is None:
        raise NotComputable(f"{s.id}: catalog lacks {', '.join(pl.floor_area.missing)}")
    phys = s.physical
    assert phys is not None and phys.floor_area_per_cabinet is not None
    fa = phys.floor_area_per_cabinet
    detail = (
        f"{pl.cabinets.value:,.0f} cabinets x {fa.value:g} m² per cabinet ({fa.basis})"
        f" = {pl.floor_area.value:,.0f} m²"
    )
    return Recomputed(
        float(pl.floor_area.value),
        "area",
        detail,
        sources=pl.floor_area.sources,
        implied_per=(float(pl.cabinets.value), "m² per cabinet"),
    )


@formula("comparator", ("key",))
def _comparator(args: dict[str, Any], ctx: Context) -> Recomputed:
    key = str(_arg(args, "key"))
    if key not in ctx.comparators:
        raise NotComputable(
            f"unknown comparator '{key}'; allowed: {', '.join(sorted(ctx.comparators))}"
        )
    f = ctx.comparators[key]
    return Recomputed(
        f.si, f.dim, f"{key} = {f.value} ({f.basis})", sources=(_source_text(f.source),)
    )


def _fmt(v: float, dim: str) -> str:
    if dim in ("count", "ratio"):
        return f"{v:,.3g}" + ("x" if dim == "ratio" else "")
    return format_quantity(v, dim)  # type: ignore[arg-type]


@formula("ratio", ("numerator", "denominator"), ("context",))
def _ratio(args: dict[str, Any], ctx: Context) -> Recomputed:
    num = ctx.evaluate(_arg(args, "numerator"))
    den = ctx.evaluate(_arg(args, "denominator"))
    if num.dim != den.dim:
        raise NotComputable(f"ratio of a {num.dim} to a {den.dim}")
    cands: list[tuple[str, float]] = []
    for ln, vn in num.readings():
        for ld, vd in den.readings():
            if vd == 0:
                continue
            label = "; ".join(
                x for x in (ln and f"numerator {ln}", ld and f"denominator {ld}") if x
            )
            cands.append((label, vn / vd))
    if not cands:
        raise NotComputable("denominator is zero")
    detail = f"({num.detail}) / ({den.detail})"
    for ctx_spec in args.get("context", ()) or ():
        try:
            r = _ratio(ctx_spec, ctx)
            detail += f"; {ctx_spec.get('label', 'context')}: {_fmt(r.value, 'ratio')}"
        except NotComputable as exc:
            detail += f"; {ctx_spec.get('label', 'context')}: not computable ({exc})"
    return Recomputed(
        cands[0][1],
        "ratio",
        detail,
        tuple(cands) if len(cands) > 1 else (),
        num.sources + den.sources,
    )


def _power(s: System) -> tuple[float | None, str]:
    """All-in IT power of a system in its default configuration, and where it came from."""
    from podsim.facility.plant import plant

    pl = plant(s)
    if pl.power.it.value is not None:
        return float(pl.power.it.value), "plant model (per-chip ratios)"
    rep = s.physical.reported_power if s.physical is not None else None
    if rep is not None:
        return rep.value, f"reported {rep.text} ({rep.basis})"
    return None, f"unknown (catalog lacks {', '.join(pl.power.it.missing)})"


@formula("rivals", ("a", "b"), ("precision",))
def _rivals(args: dict[str, Any], ctx: Context) -> Recomputed:
    """System A vs B: the claim holds if A at least matches B on compute, HBM and scale-up BW."""
    a = ctx.system(_arg(args, "a"))
    b = ctx.system(_arg(args, "b"))
    p = _precision({"precision": args.get("precision", "bf16")})
    pairs = {
        f"{p.upper()} compute": (a.peak_flops(p), b.peak_flops(p), "flops"),
        "HBM capacity": (a.hbm_capacity, b.hbm_capacity, "bytes"),
        "HBM bandwidth": (a.hbm_bandwidth, b.hbm_bandwidth, "bandwidth"),
        "scale-up bandwidth": (
            a.scale_up_aggregate_bandwidth,
            b.scale_up_aggregate_bandwidth,
            "bandwidth",
        ),
    }
    parts = [f"{k} {_fmt(x, d)} vs {_fmt(y, d)} = {x / y:.2f}x" for k, (x, y, d) in pairs.items()]
    headline = [k for k in pairs if k != "HBM bandwidth"]
    worst = min(pairs[k][0] / pairs[k][1] for k in headline)
    pa, how_a = _power(a)
    pb, how_b = _power(b)
    if pa is not None and pb is not None:
        parts.append(f"power {_fmt(pa, 'power')} vs {_fmt(pb, 'power')} = {pa / pb:.2f}x")
        fa, fb = a.peak_flops(p) / pa, b.peak_flops(p) / pb
        parts.append(
            f"{p.upper()} FLOPS/W {format_quantity(fa, 'flops')}/W vs"
            f" {format_quantity(fb, 'flops')}/W = {fa / fb:.2f}x"
        )
        parts.append(f"power from: {a.id} {how_a}; {b.id} {how_b}")
    else:
        parts.append(f"power not compared: {a.id} {how_a}; {b.id} {how_b}")
    per = a.chip.peak_flops(p) / b.chip.peak_flops(p)
    parts.append(f"per chip {p.upper()} {per:.2f}x ({a.chips:,} vs {b.chips:,} chips)")
    detail = (
        f"{a.id} vs {b.id}: "
        + "; ".join(parts)
        + f". Recomputed = the smallest of the {', '.join(headline)} ratios"
    )
    return Recomputed(worst, "ratio", detail)


# ---------------------------------------------------------------- checking


def _source_text(key: str) -> str:
    return catalog.sources().get(key, key)


_UNIT_RE = re.compile(r"^[^\d.]*[-+]?[\d,_]*\.?\d*(?:[eE][-+]?\d+)?\s*(?P<unit>\S.*)?$")


def format_like(value: float, claimed: ClaimFigure) -> str:
    """Format ``value`` in the unit the claim was written in ('8.19 EFLOPS' next to '8 EFLOPS')."""
    if claimed.dim == "count":
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    if claimed.dim == "ratio":
        return f"{value:.3g}x"
    m = _UNIT_RE.match(str(claimed.value).strip())
    unit = (m.group("unit") or "").strip() if m else ""
    if unit and claimed.dim != "money":
        try:
            factor = parse_claim_value(f"1 {unit}", claimed.dim)
        except PodsimError:
            factor = 0.0
        if factor > 0:
            x = value / factor
            num = f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"
            return f"{num} {unit}"
    return format_quantity(value, claimed.dim)  # type: ignore[arg-type]


def _passes(value: float, claimed: float, tol: float, comparison: str) -> bool:
    if comparison == "at_least":
        return value >= claimed * (1 - tol)
    if comparison == "at_most":
        return value <= claimed * (1 + tol)
    if claimed == 0:
        return abs(value) <= tol
    return abs(value / claimed - 1) <= tol + 1e-12


def _closeness(value: float, claimed: float, comparison: str) -> float:
    if claimed == 0:
        return abs(value)
    rel = value / claimed - 1
    if comparison == "at_least":
        return max(0.0, -rel)
    if comparison == "at_most":
        return max(0.0, rel)
    return abs(rel)


def check_claim(claim: Claim, ctx: Context) -> ClaimResult:
    claimed = claim.claimed
    target = claimed.si
    sources = list(dict.fromkeys(_source_text(s) for s in (claimed.source, *claim.sources)))
    base = dict(
        id=claim.id,
        subject=claim.subject,
        claim=claim.claim,
        claimed=target,
        claimed_text=claimed.text,
        unit=SI_UNITS[claimed.dim],
        tolerance=claim.tolerance,
        comparison=claim.comparison,
        sources=sources,
    )
    note = f" Note: {claim.note}" if claim.note else ""
    try:
        rec = ctx.evaluate(claim.recompute)
        if rec.dim != claimed.dim:
            raise NotComputable(
                f"formula '{claim.recompute['formula']}' gives a {rec.dim}, "
                f"the claim is a {claimed.dim}"
            )
    except NotComputable as exc:
        return ClaimResult(
            **base,
            recomputed=None,
            recomputed_text="n/a",
            recomputed_si=None,
            verdict="not computable",
            deviation=None,
            convention=None,
            detail=f"not computable: {exc}.{note}",
            reason=str(exc),
        )
    readings = rec.readings()
    label, value = min(readings, key=lambda r: _closeness(r[1], target, claim.comparison))
    ok = all(math.isfinite(v) for _, v in readings) and _passes(
        value, target, claim.tolerance, claim.comparison
    )
    deviation = value / target - 1 if target else None
    alternatives = [
        {"convention": lb, "value": v, "text": format_like(v, claimed)} for lb, v in readings
    ]
    if len(readings) > 1:
        conv = f" Matches best with: {label}." if ok else f" Closest reading: {label}."
    else:
        conv = ""
    bound = {"at_least": "at least ", "at_most": "at most "}.get(claim.comparison, "")
    verdict_txt = (
        f"tolerance ±{claim.tolerance:.0%}"
        if claim.comparison == "approx"
        else f"claim is {bound}{claimed.text}, tolerance {claim.tolerance:.0%}"
    )
    dev_txt = f"{deviation:+.1%}" if deviation is not None else "n/a"
    implied = ""
    if rec.implied_per is not None and rec.implied_per[0]:
        implied = f" The claim implies {target / rec.implied_per[0]:,.3g} {rec.implied_per[1]}."
    detail = f"{rec.detail}. Deviation {dev_txt} ({verdict_txt}).{implied}{conv}{note}"
    return ClaimResult(
        **base,
        recomputed=value,
        recomputed_text=format_like(value, claimed),
        recomputed_si=rec.value,
        verdict="consistent" if ok else "inconsistent",
        deviation=deviation,
        convention=label or None,
        detail=detail,
        reason=None,
        alternatives=alternatives,
    )


def load_claims(path: str | Path | None = None) -> ClaimsFile:
    """The claims file (default: the catalog's ``claims.yaml``), validated."""
    p = Path(path) if path is not None else catalog.DATA / "claims.yaml"
    doc = read_mapping_file(p, what="claims file")
    if not isinstance(doc, dict):
        raise SpecError("a claims file must be a YAML mapping", file=str(p))
    try:
        cf = ClaimsFile.model_validate(doc)
    except ValidationError as exc:
        raise spec_error(exc, file=str(p), what="claims file") from None
    for i, c in enumerate(cf.claims):
        check_recompute(c.recompute, f"claims.{i}.recompute", file=str(p))
    return cf


def check_claims(path: str | Path | None = None) -> list[ClaimResult]:
    """One result per claim, in file order."""
    cf = load_claims(path)
    ctx = Context(cf.comparators)
    results = [check_claim(c, ctx) for c in cf.claims]
    assert all(r.verdict in VERDICTS for r in results)
    return results
