"""The space of training plans for one model on one system: every combination, as arrays.

The space is the Cartesian product of a few short axes, built with numpy (no Python loop per
plan):

* ``tp``: divisors of the chip count up to a cap (default ``min(64, 2 x scale-up domain)``:
  tensor parallelism beyond the scale-up fabric is never competitive, and no framework ships
  TP > 64);
* ``pp``: divisors of the chip count up to the layer count (+2 when uneven stages may count
  the embedding and the loss as pipeline units, as Megatron's
  ``--account-for-embedding/loss-in-pipeline-split`` do);
* ``vpp`` (virtual stages per rank, interleaved 1F1B): 1 to 8 (5 included: NeMo's Llama 3 70B
  recipe runs PP8 x VPP5, two layers per virtual stage);
* ``cp`` (context parallelism): 1, 2, 4, 8, 16;
* ``ep``: 1 for a dense model, the divisors of the routed-expert count for a MoE model;
* ZeRO stage 0-3; recompute none / selective / full;
* micro-batch: powers of two up to the global batch.

``dp = chips / (tp x pp x cp)`` is derived, and sequence parallelism is on whenever ``tp > 1``
(Megatron recommends it with TP; it only removes work). Rules that couple axes (the product must
equal the chip count, the global batch must divide into ``dp x micro_batch``, ``tp | heads``,
``ep | tp x cp x dp`` ...) are *not* applied here: :func:`podsim.training.plan.check_plans`
applies them to every point, so the planner can count rejections per rule. The flat index of a
plan is its position in the product (C order over :data:`AXES`); :meth:`PlanSpace.plans` turns a
range of indices into a :class:`~podsim.training.plan.PlanArrays` with ``np.unravel_index``, so a
space of millions of plans is evaluated chunk by chunk in bounded memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from podsim.errors import SpecError
from podsim.hardware.system import System
from podsim.spec.model import ModelSpec
from podsim.training.plan import PlanArrays, plan_arrays

AXES = ("tp", "pp", "vpp", "cp", "ep", "zero", "recompute", "micro_batch")
DEFAULT_VPP = (1, 2, 3, 4, 5, 6, 7, 8)
DEFAULT_CP = (1, 2, 4, 8, 16)
DEFAULT_ZERO = (0, 1, 2, 3)
DEFAULT_RECOMPUTE = (0, 1, 2)
TP_CAP = 64


def divisors(n: int) -> np.ndarray:
    """All positive divisors of n, ascending (vectorised trial division up to sqrt(n))."""
    n = int(n)
    if n < 1:
        raise SpecError("must be a positive whole number", field="chips", value=n)
    k = np.arange(1, math.isqrt(n) + 1, dtype=np.int64)
    small = k[n % k == 0]
    return np.unique(np.concatenate([small, n // small]))


@dataclass(frozen=True)
class SpaceOptions:
    """What the search may vary. ``None`` takes the default for the model and system."""

    tp_cap: int | None = None
    pp_cap: int | None = None
    vpp: tuple[int, ...] = DEFAULT_VPP
    cp: tuple[int, ...] = DEFAULT_CP
    zero: tuple[int, ...] = DEFAULT_ZERO
    recompute: tuple[int, ...] = DEFAULT_RECOMPUTE
    micro_batch_cap: int | None = None
    uneven_pp: bool = True  # let stages hold unequal layer counts (Megatron's layout options)
    sequence_parallel: bool = True  # with tp > 1


@dataclass(frozen=True)
class PlanSpace:
    """The product of the axes for one model, chip count, global batch and sequence length."""

    chips: int
    global_batch: int
    seq_len: int
    uneven_pp: bool
    sequence_parallel: bool
    axes: dict[str, np.ndarray] = field(repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.axes[a]) for a in AXES)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def plans(self, start: int = 0, stop: int | None = None) -> PlanArrays:
        """Plans with flat indices ``start:stop`` as 1-D arrays."""
        stop = self.size if stop is None else min(stop, self.size)
        return self.plans_at(np.arange(start, stop, dtype=np.int64))

    def plans_at(self, idx: np.ndarray) -> PlanArrays:
        """Plans at the given flat indices."""
        idx = np.asarray(idx, dtype=np.int64)
        sub = np.unravel_index(idx, self.shape)
        v = {a: self.axes[a][i] for a, i in zip(AXES, sub, strict=True)}
        denom = v["tp"] * v["pp"] * v["cp"]
        # where tp*pp*cp does not divide the chips, dp is rounded down and check_plans rejects
        dp = np.maximum(self.chips // denom, 1)
        return plan_arrays(
            **v,
            dp=dp,
            global_batch=self.global_batch,
            seq_len=self.seq_len,
            sequence_parallel=(v["tp"] > 1) & self.sequence_parallel,
            uneven_pp=self.uneven_pp,
        )

    def describe(self) -> dict[str, list[int]]:
        return {a: [int(x) for x in self.axes[a]] for a in AXES}


def _positive(name: str, values) -> np.ndarray:
    arr = np.unique(np.asarray(values, dtype=np.int64))
    if arr.size == 0 or np.any(arr < 0):
        raise SpecError("needs at least one non-negative value", field=name, value=list(values))
    return arr


def training_space(
    model: ModelSpec,
    system: System,
    *,
    global_batch: int,
    seq_len: int,
    chips: int | None = None,
    options: SpaceOptions | None = None,
) -> PlanSpace:
    """Every plan the search considers for ``model`` on ``chips`` chips of ``system``."""
    o = options or SpaceOptions()
    n = int(chips if chips is not None else system.chips)
    for name, val in (("global_batch", global_batch), ("seq_len", seq_len)):
        if int(val) < 1:
            raise SpecError("must be at least 1", field=name, value=val)
    div = divisors(n)
    tp_cap = o.tp_cap if o.tp_cap is not None else min(TP_CAP, 2 * system.scale_up_domain)
    layers_cap = model.layers + (2 if o.uneven_pp else 0)
    pp_cap = min(o.pp_cap, layers_cap) if o.pp_cap is not None else layers_cap
    mb_cap = o.micro_batch_cap or global_batch
    mb = 2 ** np.arange(0, int(np.log2(max(mb_cap, 1))) + 1, dtype=np.int64)
    ep = divisors(model.moe.experts) if model.moe is not None else np.ones(1, dtype=np.int64)
    axes = {
        "tp": div[div <= max(tp_cap, 1)],
        "pp": div[div <= max(pp_cap, 1)],
        "vpp": _positive("vpp", o.vpp),
        "cp": _positive("cp", o.cp),
        "ep": ep[ep <= n],
        "zero": _positive("zero", o.zero),
        "recompute": _positive("recompute", o.recompute),
        "micro_batch": mb,
    }
    return PlanSpace(
        chips=n,
        global_batch=int(global_batch),
        seq_len=int(seq_len),
        uneven_pp=bool(o.uneven_pp),
        sequence_parallel=bool(o.sequence_parallel),
        axes=axes,
    )
