"""Training plans as arrays: one plan or a million, checked for validity with reasons.

A plan is the parallel layout (TP, PP, vpp, CP, EP, DP), ZeRO stage, recompute mode, micro-batch,
global batch, sequence length and sequence parallelism. ``PlanArrays`` holds each field as a
numpy array; all fields broadcast together. ``check_plans`` returns a mask of valid plans and,
for each rule, the mask of plans it rejects, so callers can count rejections per reason.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from podsim.errors import PlanError
from podsim.spec.jobs import TrainingSpec
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


def plan_arrays(**kw) -> PlanArrays:
    """Build PlanArrays from scalars or arrays (missing dp derived later)."""
    ints = set(INT_FIELDS)
    out = {}
    for f in fields(PlanArrays):
        v = kw[f.name]
        if f.name in ints:
            out[f.name] = np.asarray(v, dtype=np.int64)
        else:
            out[f.name] = np.asarray(v, dtype=bool)
    return PlanArrays(**out)


def from_spec(spec: TrainingSpec, chips: int, *, uneven_pp: bool = False) -> PlanArrays:
    """One plan from a TrainingSpec (dp derived as chips / (tp*pp*cp) when absent)."""
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
