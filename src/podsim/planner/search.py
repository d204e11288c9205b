"""Exhaustive search for the best training plan, evaluated chunk by chunk with the step model.

Every plan of :func:`podsim.planner.space.training_space` is checked with
:func:`podsim.training.plan.check_plans` (rejections counted per rule) and every valid plan is
evaluated with :func:`podsim.training.step.simulate_plans` -- the same cost functions as
``podsim train``, on arrays, so there is no second copy of any formula. Plans that do not fit in
HBM are dropped ("does not fit in memory"); the rest are ranked by the objective:

* ``throughput``: tokens per second per chip (the chip count is fixed within one search);
* ``mfu``: model FLOPs utilisation (same order as throughput for one model and precision, kept
  for readers who think in MFU);
* ``cost``: US dollars per million tokens, from the facility plant's capital cost (amortised)
  and facility power x electricity price (:mod:`podsim.facility.energy`); it ranks like
  throughput within one search but compares across chip counts (Pareto sweeps).

Ties are broken by memory headroom (more first), then by the plan's position in the space
(deterministic).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from podsim.errors import PlanError, SpecError
from podsim.hardware.system import System
from podsim.planner.space import PlanSpace, SpaceOptions, training_space
from podsim.spec.checks import check_type
from podsim.spec.jobs import TrainingSearchSpec
from podsim.spec.model import ModelSpec
from podsim.training.plan import RECOMPUTE_NAMES, PlanArrays, check_plans
from podsim.training.step import DEFAULT_MOE_IMBALANCE, simulate_plans
from podsim.training.summary import result_dict
from podsim.units import format_quantity

OBJECTIVES = ("throughput", "mfu", "cost")
NO_FIT = "does not fit in memory"
GB_RULES = (
    "global_batch not divisible by dp*micro_batch",
    "interleaved schedule needs micro-batches divisible by pp",
)
DEFAULT_CHUNK = 131_072


def plan_dict(p: PlanArrays) -> dict:
    """A one-plan PlanArrays as plain values (the fields of ``podsim train``)."""
    g = lambda x: np.asarray(x).reshape(-1)[0].item()  # noqa: E731
    return {
        "tp": g(p.tp),
        "pp": g(p.pp),
        "vpp": g(p.vpp),
        "cp": g(p.cp),
        "ep": g(p.ep),
        "dp": g(p.dp),
        "zero": g(p.zero),
        "recompute": RECOMPUTE_NAMES[g(p.recompute)],
        "micro_batch": g(p.micro_batch),
        "global_batch": g(p.global_batch),
        "seq_len": g(p.seq_len),
        "sequence_parallel": bool(g(p.sequence_parallel)),
        "uneven_pp": bool(g(p.uneven_pp)) and g(p.pp) > 1,
    }


def plan_label(d: dict) -> str:
    s = f"tp{d['tp']} pp{d['pp']}"
    if d["vpp"] > 1:
        s += f" vpp{d['vpp']}"
    s += f" cp{d['cp']}"
    if d["ep"] > 1:
        s += f" ep{d['ep']}"
    return s + f" dp{d['dp']} zero{d['zero']} rc={d['recompute']} mb{d['micro_batch']}"


def cost_per_hour_usd(system: System, *, allowed: str = "throughput or mfu") -> float:
    """Amortised capital + energy per hour of ``system`` (USD); PlanError if the plant lacks it."""
    from podsim.facility.energy import cost_per_hour
    from podsim.facility.plant import plant

    pl = plant(system)
    capex, power = pl.capital_cost, pl.power.facility
    if capex.value is None or power.value is None:
        missing = sorted(set(capex.missing) | set(power.missing))
        raise PlanError(
            f"the cost objective needs the capital cost and power of '{system.id}'; the catalog "
            f"lacks {', '.join(missing) or 'them'}",
            field="objective",
            value="cost",
            allowed=allowed,
        )
    return float(cost_per_hour(capex.value, power.value)[2])


@dataclass
class TrainingSearch:
    """Outcome of one search: the top plans and how the space was pruned."""

    model: str
    system: str
    chips: int
    precision: str
    objective: str
    global_batch: int
    seq_len: int
    considered: int
    valid: int
    fitting: int
    rejected: dict[str, int]
    best: list[dict]  # each: plan, label, metrics (result_dict), objective value
    seconds: float
    space: dict[str, list[int]] = field(default_factory=dict)
    cost_per_hour_usd: float | None = None

    @property
    def evaluated_per_s(self) -> float:
        return self.considered / self.seconds if self.seconds > 0 else float("inf")

    def plan(self, i: int = 0) -> PlanArrays:
        """The i-th best plan as a one-plan PlanArrays (for ``simulate_plans`` / export)."""
        from podsim.training.plan import RECOMPUTE_CODES, plan_arrays

        d = dict(self.best[i]["plan"])
        d["recompute"] = RECOMPUTE_CODES[d["recompute"]]
        return plan_arrays(**d)

    def to_frame(self):
        """The top plans as a pandas DataFrame: plan fields, metrics, breakdown (seconds)."""
        import pandas as pd

        rows = []
        for rank, b in enumerate(self.best, 1):
            met = b["metrics"]
            row = {"rank": rank, **b["plan"]}
            for k in (
                "step_time_s",
                "tokens_per_s_per_chip",
                "mfu",
                "hfu",
                "memory_headroom_bytes",
            ):
                row[k] = met[k]
            row["memory_total_bytes"] = met["memory_bytes"]["total"]
            row.update({f"t_{k}": v for k, v in met["breakdown_s"].items()})
            if "usd_per_million_tokens" in b:
                row["usd_per_million_tokens"] = b["usd_per_million_tokens"]
            rows.append(row)
        return pd.DataFrame(rows).set_index("rank")

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "system": self.system,
            "chips": self.chips,
            "precision": self.precision,
            "objective": self.objective,
            "global_batch": self.global_batch,
            "seq_len": self.seq_len,
            "considered": self.considered,
            "valid": self.valid,
            "fitting": self.fitting,
            "rejected": self.rejected,
            "seconds": self.seconds,
            "evaluated_per_s": self.evaluated_per_s,
            "space": self.space,
            "cost_per_hour_usd": self.cost_per_hour_usd,
            "best": self.best,
        }


# tokens per optimizer step when a search is not given a global batch: ~4M, the order of the
# batches large LLM pre-training runs use (Llama 3 405B: 4M-16M tokens, Meta 2024, arXiv
# 2407.21783 sec. 3.4; DeepSeek-V3: 15,360 x 4K = 63M at the end, arXiv 2412.19437)
DEFAULT_BATCH_TOKENS = 4 * 1024 * 1024


def default_global_batch(seq_len: int) -> int:
    """Sequences per step when none is given: ~4M tokens."""
    seq_len = TrainingSearchSpec.checked(seq_len=seq_len).seq_len
    return max(round(DEFAULT_BATCH_TOKENS / seq_len), 1)


def check_request(
    *,
    seq_len: int,
    global_batch: int | None = None,
    precision: str = "bf16",
    objective: str = "throughput",
    top: int = 10,
    options: SpaceOptions | None = None,
    moe_imbalance: float | None = None,
) -> tuple[TrainingSearchSpec, SpaceOptions]:
    """The arguments of a training search, validated with the rules ``podsim plan train`` uses
    (:class:`~podsim.spec.jobs.TrainingSearchSpec`): the request, and the space options with the
    validated values. SpecError names the field, the value and what is allowed."""
    if objective not in OBJECTIVES:
        raise SpecError(
            "unknown objective", field="objective", value=objective, allowed=", ".join(OBJECTIVES)
        )
    o = options if options is not None else SpaceOptions()
    check_type(o, SpaceOptions, "options", "SpaceOptions(...) or None")
    req = TrainingSearchSpec.checked(
        seq_len=seq_len,
        global_batch=global_batch,
        precision=precision,
        top=top,
        tp_cap=o.tp_cap,
        pp_cap=o.pp_cap,
        vpp=o.vpp,
        cp=o.cp,
        zero=o.zero,
        recompute=o.recompute,
        micro_batch_cap=o.micro_batch_cap,
        moe_imbalance=moe_imbalance,
    )
    o = replace(
        o,
        tp_cap=req.tp_cap,
        pp_cap=req.pp_cap,
        vpp=req.vpp,
        cp=req.cp,
        zero=req.zero,
        recompute=req.recompute,
        micro_batch_cap=req.micro_batch_cap,
        uneven_pp=bool(o.uneven_pp),
        sequence_parallel=bool(o.sequence_parallel),
    )
    return req, o


def _objective(name: str, res, cph: float | None) -> np.ndarray:
    """Higher is better."""
    if name == "throughput":
        return res.tokens_per_s_per_chip
    if name == "mfu":
        return res.mfu
    assert cph is not None
    return -usd_per_million_tokens(cph, res.tokens_per_s)


def usd_per_million_tokens(cost_per_hour: float, tokens_per_s) -> np.ndarray:
    return cost_per_hour / (np.asarray(tokens_per_s) * 3600.0) * 1e6


def _no_plan_error(
    model: ModelSpec,
    system: System,
    space: PlanSpace,
    considered: int,
    valid: int,
    rejected: dict[str, int],
    min_mem: tuple[float, int] | None,
    precision: str,
    gb_dp: set[int] | None = None,
) -> PlanError:
    what = f"{model.name} on {space.chips:,} chips of {system.id}"
    if valid == 0:
        g = space.global_batch
        if gb_dp:
            dps = sorted(gb_dp)
            near = [m for d in dps for m in (d * max(round(g / d), 1), d * (g // d + 1))]
            best_gb = min(near, key=lambda x: (abs(x - g), x))
            return PlanError(
                f"no valid plan for {what}: the global batch {g} is not a multiple of "
                f"dp x micro-batch for any layout the other rules allow (possible dp: "
                f"{', '.join(f'{d:,}' for d in dps[:6])}{', ...' if len(dps) > 6 else ''})",
                field="global_batch",
                value=g,
                allowed=f"a multiple of one of those dp sizes, e.g. {best_gb}",
            )
        total = [r for r, c in rejected.items() if c == considered and r != NO_FIT]
        if total:
            rule = total[0]
            hint = {
                "heads not divisible by tp": f"heads {model.heads}",
                "kv_heads not divisible by tp": f"kv_heads {model.kv_heads}",
            }.get(rule, "")
            return PlanError(
                f"no valid plan for {what}: every one of the {considered:,} plans breaks "
                f"'{rule}'" + (f" ({hint})" if hint else ""),
                field="plan",
            )
        common = sorted(((c, r) for r, c in rejected.items() if r != NO_FIT and c), reverse=True)
        return PlanError(
            f"no valid plan for {what}: each of the {considered:,} plans breaks at least one "
            "rule; most often "
            + ", ".join(f"'{r}' ({c:,})" for c, r in common[:3])
            + f" (global batch {g}, seq_len {space.seq_len})",
            field="plan",
        )
    assert min_mem is not None
    mem, idx = min_mem
    lab = plan_label(plan_dict(space.plans_at(np.array([idx]))))
    return PlanError(
        f"no plan for {what} fits in memory: the smallest footprint of the {valid:,} valid "
        f"plans is {format_quantity(mem, 'bytes')} per chip ({lab}, {precision}) against "
        f"{format_quantity(system.chip.hbm_capacity.value, 'bytes')} of HBM",
        field="memory",
        allowed="more chips, a shorter sequence or a smaller micro-batch",
    )


def search_training(
    model: ModelSpec,
    system: System,
    *,
    global_batch: int | None = None,
    seq_len: int,
    precision: str = "bf16",
    objective: str = "throughput",
    top: int = 10,
    chunk: int = DEFAULT_CHUNK,
    options: SpaceOptions | None = None,
    moe_imbalance: float = DEFAULT_MOE_IMBALANCE,
    overlap: bool = True,
) -> TrainingSearch:
    """The ``top`` best plans of ``model`` on all chips of ``system`` (see module docstring).
    ``global_batch`` None: ~4M tokens per step. The arguments are checked with the rules of
    ``podsim plan train`` (:func:`check_request`)."""
    req, options = check_request(
        seq_len=seq_len,
        global_batch=global_batch,
        precision=precision,
        objective=objective,
        top=top,
        options=options,
        moe_imbalance=moe_imbalance,
    )
    seq_len, top, precision = req.seq_len, req.top, req.precision
    global_batch = default_global_batch(seq_len) if req.global_batch is None else req.global_batch
    moe_imbalance = DEFAULT_MOE_IMBALANCE if req.moe_imbalance is None else req.moe_imbalance
    t0 = time.perf_counter()
    cph = cost_per_hour_usd(system) if objective == "cost" else None
    space = training_space(
        model, system, global_batch=global_batch, seq_len=seq_len, options=options
    )
    n = space.size
    chips = space.chips
    rejected: dict[str, int] = {}
    valid_n = fit_n = 0
    min_mem: tuple[float, int] | None = None
    gb_dp: set[int] = set()
    cand_key: list[np.ndarray] = []
    cand_room: list[np.ndarray] = []
    cand_idx: list[np.ndarray] = []
    chunk = max(int(chunk), 1)
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        p = space.plans(a, b)
        ok, reasons = check_plans(p, model, chips)
        for r, mask in reasons.items():
            rejected[r] = rejected.get(r, 0) + int(np.count_nonzero(mask))
        if valid_n == 0:
            # data-parallel sizes that only the global batch rules keep out (for the error hint)
            other = np.zeros(ok.shape, dtype=bool)
            for r, mask in reasons.items():
                if r not in GB_RULES:
                    other |= mask
            gb_only = ~other & ~ok
            if gb_only.any():
                gb_dp.update(np.unique(np.broadcast_to(p.dp, ok.shape)[gb_only]).tolist())
        vi = np.flatnonzero(ok)
        if vi.size == 0:
            continue
        valid_n += vi.size
        res = simulate_plans(
            model, system, p.take(vi), precision, moe_imbalance=moe_imbalance, overlap=overlap
        )
        total = np.asarray(res.memory.total)
        j = int(np.argmin(total))
        if min_mem is None or total[j] < min_mem[0]:
            min_mem = (float(total[j]), int(a + vi[j]))
        fits = total <= res.hbm_capacity
        fi = np.flatnonzero(fits & np.isfinite(res.step_time))
        fit_n += fi.size
        if fi.size == 0:
            continue
        key = np.asarray(_objective(objective, res, cph))[fi]
        if key.size > top:
            sel = np.argpartition(-key, top - 1)[:top]
            # keep every plan tied with the K-th so the tie-break below stays deterministic
            kth = np.min(key[sel])
            sel = np.flatnonzero(key >= kth)
        else:
            sel = np.arange(key.size)
        cand_key.append(key[sel])
        cand_room.append((res.hbm_capacity - total)[fi][sel])
        cand_idx.append(a + vi[fi][sel])
    rejected[NO_FIT] = valid_n - fit_n
    if fit_n == 0:
        raise _no_plan_error(model, system, space, n, valid_n, rejected, min_mem, precision, gb_dp)
    keys = np.concatenate(cand_key)
    rooms = np.concatenate(cand_room)
    idxs = np.concatenate(cand_idx)
    order = np.lexsort((idxs, -rooms, -keys))[:top]
    best: list[dict] = []
    for i in idxs[order]:
        p1 = space.plans_at(np.array([i]))
        r1 = simulate_plans(
            model, system, p1, precision, moe_imbalance=moe_imbalance, overlap=overlap
        )
        d = plan_dict(p1)
        metrics = result_dict(r1)
        entry = {"plan": d, "label": plan_label(d), "metrics": metrics}
        if cph is not None:
            entry["usd_per_million_tokens"] = float(
                usd_per_million_tokens(cph, metrics["tokens_per_s"])
            )
        best.append(entry)
    return TrainingSearch(
        model=model.name,
        system=system.id,
        chips=chips,
        precision=precision,
        objective=objective,
        global_batch=space.global_batch,
        seq_len=space.seq_len,
        considered=n,
        valid=valid_n,
        fitting=fit_n,
        rejected={k: v for k, v in rejected.items()},
        best=best,
        seconds=time.perf_counter() - t0,
        space=space.describe(),
        cost_per_hour_usd=cph,
    )
