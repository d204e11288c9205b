"""Training plans as arrays: one plan or a million, checked for validity with reasons.

A plan is the parallel layout (TP, PP, vpp, CP, EP, DP), ZeRO stage, recompute mode, micro-batch,
global batch, sequence length and sequence parallelism. ``PlanArrays`` holds each field as a
numpy array; all fields broadcast together. ``check_plans`` returns a mask of valid plans and,
for each rule, the mask of plans it rejects, so callers can count rejections per reason.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from podsim.errors import PlanError, SpecError
from podsim.spec.checks import check_type
from podsim.spec.jobs import MAX_DEGREE, MAX_SEQUENCES, MAX_TOKENS, TrainingSpec
from podsim.spec.model import ModelSpec

RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}
RECOMPUTE_NAMES = {v: k for k, v in RECOMPUTE_CODES.items()}
# integer plan fields, in display order (the boolean ones follow)
INT_FIELDS = (
    "tp",
    "pp",
    "vpp",
    "cp",
    "ep",
    "dp",
    "zero",
    "recompute",
    "micro_batch",
    "global_batch",
    "seq_len",
)


@dataclass(frozen=True)
class PlanArrays:
    tp: np.ndarray
    pp: np.ndarray
    vpp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    dp: np.ndarray
    zero: np.ndarray
    recompute: np.ndarray  # 0 none, 1 selective, 2 full
    micro_batch: np.ndarray
    global_batch: np.ndarray
    seq_len: np.ndarray
    sequence_parallel: np.ndarray  # bool
    uneven_pp: np.ndarray  # bool: allow stages with unequal layer counts

    @property
    def shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(*(getattr(self, f.name).shape for f in fields(self)))

    @property
    def micro_batches(self) -> np.ndarray:
        """Micro-batches per pipeline per step (gradient-accumulation steps)."""
        return self.global_batch // np.maximum(self.dp * self.micro_batch, 1)

    def take(self, idx) -> PlanArrays:
        shape = self.shape
        return PlanArrays(
            **{f.name: np.broadcast_to(getattr(self, f.name), shape)[idx] for f in fields(self)}
        )


# the range of each integer field; ``zero`` is any integer here (a stage outside 0..3 is a
# rule check_plans flags per plan); ``recompute`` is a code of RECOMPUTE_CODES
_DEGREE = (1, MAX_DEGREE, f"a whole number from 1 to {MAX_DEGREE:,}")
FIELD_RANGES: dict[str, tuple[int | None, int | None, str]] = {
    **{k: _DEGREE for k in ("tp", "pp", "vpp", "cp", "ep", "dp")},
    "zero": (None, None, "a whole number (ZeRO stage 0 to 3)"),
    "recompute": (0, 2, "0 (none), 1 (selective) or 2 (full)"),
    "micro_batch": (1, MAX_SEQUENCES, f"a whole number from 1 to {MAX_SEQUENCES:,}"),
    "global_batch": (1, MAX_SEQUENCES, f"a whole number from 1 to {MAX_SEQUENCES:,}"),
    "seq_len": (1, MAX_TOKENS, f"a whole number from 1 to {MAX_TOKENS:,}"),
}
BOOL_FIELDS = ("sequence_parallel", "uneven_pp")


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> object:
    """The first offending value of ``arr`` (a plain Python number) for an error message."""
    v = np.broadcast_to(arr, bad.shape)[bad].flat[0] if bad.ndim else arr
    return v.item() if isinstance(v, np.generic | np.ndarray) else v


def _int_field(name: str, v) -> np.ndarray:
    """``v`` as an int64 array: integers, or floats with whole values; never booleans, text,
    None, NaN or values outside the field's range (which numpy would truncate, wrap or reject
    with its own error)."""
    lo, hi, allowed = FIELD_RANGES[name]
    arr = np.asarray(v)
    if arr.dtype.kind == "O" and all(
        isinstance(x, int | np.integer) and not isinstance(x, bool) for x in arr.flat
    ):
        # Python integers numpy cannot hold in 64 bits
        big = next(int(x) for x in arr.flat if not -(2**63) <= int(x) < 2**63)
        raise PlanError("plan field out of range", field=name, value=big, allowed=allowed)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bool(np.any(bad)):
            raise PlanError(
                "plan field is not a whole number",
                field=name,
                value=_first_bad(arr, bad),
                allowed=allowed,
            )
    elif arr.dtype.kind not in "iu":
        what = "booleans" if arr.dtype.kind == "b" else type(v).__name__
        raise PlanError(
            f"plan field must be whole numbers, not {what}",
            field=name,
            value=v if arr.ndim == 0 else None,
            allowed=allowed,
        )
    for too in (arr < lo if lo is not None else None, arr > hi if hi is not None else None):
        if too is not None and bool(np.any(too)):
            raise PlanError(
                "plan field out of range", field=name, value=_first_bad(arr, too), allowed=allowed
            )
    if arr.dtype.kind != "i" and bool(np.any(np.abs(arr) >= 2.0**62)):  # zero: no range
        raise PlanError(
            "plan field out of range",
            field=name,
            value=_first_bad(arr, np.abs(arr) >= 2.0**62),
            allowed=allowed,
        )
    return arr.astype(np.int64, copy=False)


def _bool_field(name: str, v) -> np.ndarray:
    """``v`` as a bool array: booleans, or the integers 0 and 1 (never text: ``"no"`` would
    read as true)."""
    arr = np.asarray(v)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "iu" and bool(np.all((arr == 0) | (arr == 1))):
        return arr.astype(bool)
    raise PlanError(
        "plan field must be true or false",
        field=name,
        value=v if arr.ndim == 0 else None,
        allowed="True / False (or 1 / 0)",
    )


def plan_arrays(**kw) -> PlanArrays:
    """Build PlanArrays from scalars or arrays that broadcast together, one per field of
    :class:`PlanArrays` (all required). A missing or unknown field, a value that is not a whole
    number (booleans for the two flags), a parallel degree, batch or sequence length below 1 or
    beyond podsim's limits, a recompute code outside 0..2, or arrays that do not broadcast is a
    PlanError naming the field; layouts that do not fit the model or the chips are flagged per
    plan by :func:`check_plans`."""
    names = [f.name for f in fields(PlanArrays)]
    missing = [n for n in names if n not in kw]
    unknown = sorted(set(kw) - set(names))
    if missing or unknown:
        raise PlanError(
            "plan fields "
            + (f"missing: {', '.join(missing)}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown: {', '.join(unknown)}" if unknown else ""),
            field=(missing or unknown)[0],
            allowed=", ".join(names),
        )
    out = {n: _int_field(n, kw[n]) if n in FIELD_RANGES else _bool_field(n, kw[n]) for n in names}
    try:
        np.broadcast_shapes(*(a.shape for a in out.values()))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in out.items() if a.ndim)
        raise PlanError(
            f"plan fields do not broadcast together ({shapes})",
            field="plan",
            allowed="scalars and arrays of shapes numpy broadcasts together",
        ) from None
    return PlanArrays(**out)


def checked_plans(p: PlanArrays) -> PlanArrays:
    """``p`` with every field checked as :func:`plan_arrays` checks it (a PlanArrays built
    directly may hold lists, floats or out-of-range values)."""
    if not isinstance(p, PlanArrays):
        raise PlanError(
            "expected podsim.training.plan.PlanArrays",
            field="plan",
            value=type(p).__name__,
            allowed="plan_arrays(...), from_spec(...) or a search's .plan(i)",
        )
    return plan_arrays(**{f.name: getattr(p, f.name) for f in fields(p)})


def check_chips(chips) -> int:
    """The chip count a plan is laid over: a whole number of at least 1."""
    if isinstance(chips, bool) or not isinstance(chips, int | np.integer) or chips < 1:
        raise SpecError(
            "chip count must be a whole number of at least 1", field="chips", value=chips
        )
    return int(chips)


def from_spec(spec: TrainingSpec, chips: int, *, uneven_pp: bool = False) -> PlanArrays:
    """One plan from a TrainingSpec (dp derived as chips / (tp*pp*cp) when absent)."""
    check_type(
        spec, TrainingSpec, "spec", "TrainingSpec(seq_len=..., global_batch=..., tp=..., ...)"
    )
    chips = check_chips(chips)
    denom = spec.tp * spec.pp * spec.cp
    dp = spec.dp if spec.dp is not None else max(chips // denom, 1)
    return plan_arrays(
        tp=spec.tp,
        pp=spec.pp,
        vpp=spec.vpp,
        cp=spec.cp,
        ep=spec.ep,
        dp=dp,
        zero=spec.zero,
        recompute=RECOMPUTE_CODES[spec.recompute],
        micro_batch=spec.micro_batch,
        global_batch=spec.global_batch,
        seq_len=spec.seq_len,
        sequence_parallel=spec.sequence_parallel and spec.tp > 1,
        uneven_pp=uneven_pp,
    )


def check_plans(
    p: PlanArrays, m: ModelSpec, chips: int, *, published: bool = False
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Validity mask and, per rule, the plans that break it (a plan may break several).

    ``published``: the plan of a run that happened, so the layouts frameworks allow beyond the
    textbook schedule pass: an interleaved schedule whose last micro-batch group is smaller than
    pp (Megatron-Core's ``microbatch_group_size_per_vp_stage``). Planned layouts keep to whole
    groups, whose bubble the step model's formula describes."""
    p = checked_plans(p)
    chips = check_chips(chips)
    shape = p.shape
    b = lambda x: np.broadcast_to(np.asarray(x, dtype=bool), shape)  # noqa: E731
    world = p.tp * p.pp * p.cp * p.dp
    # uneven stages may count the embedding and the loss as pipeline units (Megatron's
    # account_for_embedding/loss_in_pipeline_split), so up to layers + 2 virtual stages
    layers_ok = np.where(p.uneven_pp, p.pp * p.vpp <= m.layers + 2, m.layers % (p.pp * p.vpp) == 0)
    reasons = {
        "tp*pp*cp*dp != chips": b(world != chips),
        "heads not divisible by tp": b(m.heads % p.tp != 0),
        "kv_heads not divisible by tp": b(m.kv_heads % p.tp != 0) if m.mla is None else b(False),
        "layers not divisible by pp*vpp": b(~layers_ok),
        "vpp > 1 needs pp > 1": b((p.vpp > 1) & (p.pp == 1)),
        "global_batch not divisible by dp*micro_batch": b(
            p.global_batch % (p.dp * p.micro_batch) != 0
        ),
        "interleaved schedule needs micro-batches divisible by pp": b(
            (p.vpp > 1)
            & (not published)
            & ((p.global_batch // np.maximum(p.dp * p.micro_batch, 1)) % p.pp != 0)
        ),
        "seq_len not divisible by 2*cp": b((p.cp > 1) & (p.seq_len % (2 * p.cp) != 0)),
        "ep needs a MoE model": b((p.ep > 1) & (m.moe is None)),
        "experts not divisible by ep": b(
            (m.moe.experts % p.ep != 0) if m.moe is not None else False
        ),
        "ep does not divide tp*cp*dp": b((p.tp * p.cp * p.dp) % p.ep != 0),
        "zero stage not in 0..3": b((p.zero < 0) | (p.zero > 3)),
    }
    bad = np.zeros(shape, dtype=bool)
    for v in reasons.values():
        bad |= v
    return ~bad, reasons


def raise_if_invalid(p: PlanArrays, m: ModelSpec, chips: int, *, published: bool = False) -> None:
    """For a single plan: raise PlanError naming every rule it breaks (``published``: see
    :func:`check_plans`)."""
    ok, reasons = check_plans(p, m, chips, published=published)
    if bool(np.all(ok)):
        return
    broken = [r for r, v in reasons.items() if bool(np.any(v))]
    detail = {
        "tp*pp*cp*dp != chips": (
            f"tp*pp*cp*dp = {int(np.max(p.tp * p.pp * p.cp * p.dp))} but the system has "
            f"{chips} chips (tp*pp*cp = {int(np.max(p.tp * p.pp * p.cp))} must divide {chips})"
        ),
        "heads not divisible by tp": f"heads {m.heads} not divisible by tp {int(np.max(p.tp))}",
        "kv_heads not divisible by tp": f"kv_heads {m.kv_heads} not divisible by tp {int(np.max(p.tp))}",
        "layers not divisible by pp*vpp": f"layers {m.layers} not divisible by pp*vpp = {int(np.max(p.pp * p.vpp))} (allow uneven stages with --uneven-pp, as Megatron's first/last-stage layer options do)",
    }
    msgs = [detail.get(r, r) for r in broken]
    raise PlanError("invalid plan: " + "; ".join(msgs), field="plan")
