"""One training step, assembled from compute, communication and pipeline-schedule costs.

For every plan (numpy arrays broadcast together; the model and system are fixed per call):

    step = (m + (pp-1)/vpp) * t_mb  +  exposed DP/ZeRO comm  +  optimizer step

where m is the number of micro-batches per pipeline and t_mb the forward+backward time of one
micro-batch on the busiest stage, including the TP/CP/EP/PP communication that is not hidden behind
compute. (pp-1)/vpp * t_mb is the pipeline bubble of 1F1B / interleaved 1F1B (Narayanan et al.
SC21, arXiv 2104.04473). Communication the frameworks overlap with compute (TP with sequence
parallelism and comm overlap, CP ring exchange, DP gradient reduction and parameter gather, and
EP dispatch/combine where the framework overlaps it) only adds its exposed part,
max(0, comm - compute it hides behind).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field

import numpy as np

from podsim.cost import collectives as coll
from podsim.cost import moe as moe_cost
from podsim.cost.compute import (
    compute_calibration,
    k_efficiency,
    memory_time,
    model_constant,
    roofline_time,
    row_fill,
)
from podsim.cost.memory import TrainingMemory, stage_layers, training_memory
from podsim.errors import SpecError
from podsim.hardware.system import System
from podsim.spec.checks import MAKE_MODEL, MAKE_SYSTEM, check_type
from podsim.spec.chip import BYTES_PER_ELEMENT
from podsim.spec.jobs import MAX_MOE_IMBALANCE, TrainPrecision
from podsim.spec.model import ModelSpec
from podsim.training.plan import INT_FIELDS, PlanArrays, check_plans, checked_plans
from podsim.workload.layers import (
    LayerOps,
    head_flops,
    layer_forward_flops,
    layer_ops,
    model_flops_per_token,
    mtp_extra_flops,
)

# Backward / forward work ratios: GEMMs compute data and weight gradients (2x); flash-attention
# backward recomputes the scores and runs 5 matmuls against 2 forward (2.5x, Dao 2023).
BWD_GEMM = 2.0
BWD_ATTN = 2.5
# Kernels per layer and pass (GEMMs, attention, norms, activations, casts, residuals): used only
# for the fixed per-kernel cost. Counted from a Megatron-core transformer layer's kernels.
KERNELS_DENSE_LAYER = 16
KERNELS_MOE_EXTRA = 10
# Eager frameworks (Megatron-core / Transformer Engine grouped linear) launch one GEMM per local
# expert and linear, each with its input quantisation: fc1 + fc2, GEMM + cast, forward
# (TE GroupedLinear = a loop of per-expert GEMMs, TE PR #853 / issue #1386).
KERNELS_PER_LOCAL_EXPERT = 4
# Expert load imbalance (max/mean tokens per expert) and fixed per-step host time: catalog.
DEFAULT_MOE_IMBALANCE = model_constant("moe_imbalance")
STEP_OVERHEAD_S = model_constant("step_overhead_s")
TRAIN_PRECISIONS = typing.get_args(TrainPrecision)


@dataclass
class TrainingResult:
    """Per-plan arrays (0-d for a single plan). Times in seconds, memory in bytes per chip."""

    valid: np.ndarray
    reasons: dict[str, np.ndarray]
    step_time: np.ndarray
    tokens_per_step: np.ndarray
    tokens_per_s: np.ndarray
    tokens_per_s_per_chip: np.ndarray
    mfu: np.ndarray
    hfu: np.ndarray
    breakdown: dict[str, np.ndarray]
    memory: TrainingMemory
    hbm_capacity: float
    chips: int
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def fits(self) -> np.ndarray:
        return self.memory.total <= self.hbm_capacity

    @property
    def memory_headroom(self) -> np.ndarray:
        return self.hbm_capacity - self.memory.total

    @property
    def checkpoint_bytes_per_chip(self) -> np.ndarray:
        return self.memory.checkpoint_bytes

    def to_frame(self, plans: PlanArrays | None = None):
        """One row per plan as a pandas DataFrame (plan fields first when ``plans`` is given)."""
        import pandas as pd

        shape = np.shape(self.step_time)
        cols: dict[str, np.ndarray] = {}
        if plans is not None:
            for name in (*INT_FIELDS, "sequence_parallel"):
                cols[name] = np.broadcast_to(getattr(plans, name), shape).ravel()
        cols.update(
            {
                "valid": np.broadcast_to(self.valid, shape).ravel(),
                "step_time_s": np.ravel(self.step_time),
                "tokens_per_s_per_chip": np.ravel(self.tokens_per_s_per_chip),
                "mfu": np.ravel(self.mfu),
                "hfu": np.ravel(self.hfu),
                "memory_per_chip_bytes": np.broadcast_to(self.memory.total, shape).ravel(),
                "fits": np.broadcast_to(self.fits, shape).ravel(),
            }
        )
        for k, v in self.breakdown.items():
            cols[f"t_{k}_s"] = np.broadcast_to(v, shape).ravel()
        return pd.DataFrame(cols)


def _gemm(flops, weights_bytes, act_bytes, peak, bw, cal, precision, ratio=1.0):
    return roofline_time(
        flops,
        weights_bytes + act_bytes,
        peak,
        bw,
        cal.gemm_efficiency_for(precision) * ratio,
        cal.memory_efficiency,
    )


def check_simulate_args(
    m: ModelSpec, system: System, p: PlanArrays, precision: str, moe_imbalance: float
) -> PlanArrays:
    """The arguments of :func:`simulate_plans`, checked: the model, system and plan objects,
    a training precision, the expert imbalance; returns the plan with its fields checked
    (:func:`podsim.training.plan.checked_plans`). A mistake is a PodsimError naming it."""
    check_type(m, ModelSpec, "model", MAKE_MODEL)
    check_type(system, System, "system", MAKE_SYSTEM)
    if not isinstance(precision, str) or precision not in TRAIN_PRECISIONS:
        raise SpecError(
            "unknown training precision",
            field="precision",
            value=precision,
            allowed=", ".join(TRAIN_PRECISIONS),
        )
    if (
        isinstance(moe_imbalance, bool)
        or not isinstance(moe_imbalance, int | float | np.integer | np.floating)
        or not 1.0 <= moe_imbalance <= MAX_MOE_IMBALANCE
    ):
        raise SpecError(
            "expert load imbalance is the busiest rank's tokens over the mean",
            field="moe_imbalance",
            value=moe_imbalance,
            allowed=f"1 to {MAX_MOE_IMBALANCE:g}",
        )
    return checked_plans(p)


def simulate_plans(
    m: ModelSpec,
    system: System,
    p: PlanArrays,
    precision: str = "bf16",
    *,
    moe_imbalance: float = DEFAULT_MOE_IMBALANCE,
    overlap: bool = True,
    ep_overlap: bool = True,
    published: bool = False,
) -> TrainingResult:
    """Evaluate every plan in ``p``; invalid plans get NaN times and are flagged in ``valid``
    (``published``: the plan of a run that happened, :func:`podsim.training.plan.check_plans`).

    ``overlap``: frameworks hide TP (with sequence parallelism), CP and DP communication behind
    compute. ``ep_overlap``: the expert all-to-all also runs behind another micro-batch's
    compute (Megatron-Core >= 0.14 ``--overlap-moe-expert-parallel-comm``, DeepSeek DualPipe);
    ``False`` puts dispatch and combine on the critical path ("EP All-to-All can consume 30-40%
    of training time without optimization", Megatron-Core MoE README). The default is the
    overlapped form. Megatron-Core itself defaults to off, and NVIDIA's published NeMo MoE
    recipes (Megatron-Bridge perf configs 25.09-26.08) turn it on only for some H100 and 26.08
    FP8 runs; refitted without overlap, the public MoE cases fit about as well (rms log error
    0.235 vs 0.238, grouped-GEMM ratios 0.76-0.84 instead of 0.44-0.58), so the cases do not
    decide between the two.
    """
    p = check_simulate_args(m, system, p, precision, moe_imbalance)
    chip = system.chip
    cal = compute_calibration(chip.family)
    peak = chip.sustained_flops(precision)  # compute-bound work runs at the sustained clock
    peak16 = chip.sustained_flops("bf16")
    mfu_peak = chip.peak_flops(precision)  # MFU is over the datasheet's dense peak
    bw = chip.hbm_bandwidth.value
    valid, reasons = check_plans(p, m, system.chips, published=published)
    shape = p.shape
    f = lambda x: np.broadcast_to(np.asarray(x, dtype=float), shape)  # noqa: E731

    tp, pp, vpp, cp, ep, dp = (f(getattr(p, k)) for k in ("tp", "pp", "vpp", "cp", "ep", "dp"))
    # keep invalid plans finite inside the arithmetic (they are masked at the end)
    tp, pp, vpp, cp, ep, dp = (np.maximum(x, 1.0) for x in (tp, pp, vpp, cp, ep, dp))
    mbs = np.maximum(f(p.micro_batches), 1.0)
    seq = f(p.seq_len)
    T = f(p.micro_batch) * seq / cp  # tokens per chip per micro-batch (before TP split)
    sp = np.broadcast_to(p.sequence_parallel, shape)
    sp_div = np.where(sp, tp, 1.0)
    rc = np.broadcast_to(p.recompute, shape)
    gemm_b = BYTES_PER_ELEMENT[precision]
    low_precision = precision in ("fp8", "fp4")

    def layer_time(ops: LayerOps, moe: bool) -> dict[str, np.ndarray]:
        """Compute and communication of one layer on one chip, one micro-batch."""
        gemm_flops = T * (ops.proj_flops + ops.ffn_flops) / tp
        w_bytes = (ops.proj_weights + ops.ffn_weights) / tp * gemm_b
        act_bytes = T * (ops.gemm_in_elems + 2 * ops.out_elems) / tp * 2.0
        kf = k_efficiency((*ops.proj_gemms, *ops.ffn_gemms), tp, cal.gemm_k0)
        kf = kf * row_fill(T, cal.gemm_m0)
        t_gemm = _gemm(gemm_flops, w_bytes, act_bytes, peak, bw, cal, precision, kf)
        t_exp = np.zeros(shape)
        ep_comm = np.zeros(shape)
        if moe and m.moe is not None:
            # the busiest expert rank gets imbalance x the mean token count
            exp_flops = T / tp * ops.expert_flops * moe_imbalance
            exp_w = ops.expert_weights / ep * gemm_b
            exp_act = T / tp * m.moe.top_k * (m.hidden + 2 * m.moe.expert_ffn) * 2.0
            kx = k_efficiency(ops.expert_gemms, tp, cal.gemm_k0)
            # rows of one local expert's GEMM: the tokens routed to it on this rank
            kx = kx * row_fill(T / tp * m.moe.top_k * ep / m.moe.experts, cal.gemm_m0)
            t_exp = _gemm(
                exp_flops, exp_w, exp_act, peak, bw, cal, precision, cal.grouped_gemm_ratio * kx
            )
            # dispatch (low precision when training in fp8/fp4) and combine (16-bit), fwd + bwd
            disp_b = m.hidden * (1.0 if low_precision else 2.0)
            t_disp = moe_cost.dispatch_time(
                system, T / tp * moe_imbalance, disp_b, m.moe.top_k, m.moe.experts, ep
            )
            t_comb = moe_cost.dispatch_time(
                system, T / tp * moe_imbalance, m.hidden * 2.0, m.moe.top_k, m.moe.experts, ep
            )
            ep_comm = (t_disp + t_comb) * (2.0 + (rc == 2))
        t_attn = T * np.asarray(ops.attn_flops) / tp / (peak16 * cal.attention_efficiency)
        # elementwise traffic: norms/residuals split by TP only with sequence parallelism
        repl = 10.0 * m.hidden
        elem = T * (repl / sp_div + max(ops.act_elems - repl, 0.0) / tp) * 2.0
        if low_precision:  # quantise every GEMM input (read 16-bit, write low precision)
            elem = elem + T * ops.gemm_in_elems / tp * (2.0 + gemm_b)
        t_elem = memory_time(elem, bw, cal.memory_efficiency)
        kernels = (KERNELS_DENSE_LAYER + (KERNELS_MOE_EXTRA if moe else 0)) * cal.kernel_overhead_s
        fwd = t_gemm + t_exp + t_attn + t_elem + kernels
        bwd = BWD_GEMM * (t_gemm + t_exp) + BWD_ATTN * t_attn + 2.0 * t_elem + 2 * kernels
        # host-bound floor: the CPU issues the layer's kernels one by one; inside a layer it runs
        # ahead of the GPU, and the MoE dispatcher's host sync (token counts for the all-to-all)
        # stops it running further, so a pass takes max(GPU, host) (backward: twice the kernels)
        n_host = KERNELS_DENSE_LAYER + (
            KERNELS_MOE_EXTRA + KERNELS_PER_LOCAL_EXPERT * m.moe.experts / ep
            if moe and m.moe is not None
            else 0.0
        )
        fwd_gpu, bwd_gpu = fwd, bwd
        re_gpu = np.select([rc == 2, rc == 1], [fwd_gpu, t_attn], 0.0)
        passes = 2.0 + (rc == 2)  # forward, backward, and the recomputed forward

        # tensor parallel: per pass 2 all-gathers + 2 reduce-scatters with SP, else 2 all-reduces
        act = T * m.hidden * 2.0
        tp_pass = np.where(
            sp,
            2 * (coll.all_gather(act, tp, 1, system) + coll.reduce_scatter(act, tp, 1, system)),
            2 * coll.all_reduce(act, tp, 1, system),
        )
        tp_comm = np.where(tp > 1, passes * tp_pass, 0.0)
        gemm_all = (t_gemm + t_exp) * (1.0 + BWD_GEMM + (rc == 2))
        tp_exp = np.maximum(tp_comm - np.where(sp & overlap, gemm_all, 0.0), 0.0)

        # context parallel: ring exchange of K/V (forward), K/V and their gradients (backward)
        cp_step = coll.send_recv(T * ops.kv_elems / tp * 2.0, tp, system)
        cp_comm = np.where(cp > 1, (cp - 1) * cp_step * (passes + 1.0), 0.0)
        cp_exp = np.maximum(cp_comm - (t_attn * (1.0 + BWD_ATTN) if overlap else 0.0), 0.0)

        # expert parallel: dispatch/combine on the critical path, or (ep_overlap) behind another
        # micro-batch's passes. Its window is their wall time on the GPU -- compute, recompute
        # and the TP/CP communication left exposed -- not the compute alone: the TP/CP overlap
        # already hides behind the same GEMMs, and a window of compute only would let longer
        # compute shorten the layer (t = C + max(0, tp - G) + max(0, ep - C) falls as C grows
        # when both are exposed); with the wall time the layer takes max(C + exposed TP/CP, EP).
        window = fwd_gpu + bwd_gpu + re_gpu + tp_exp + cp_exp
        ep_exp = np.maximum(ep_comm - (window if overlap and ep_overlap else 0.0), 0.0)

        # host floor: a pass takes max(GPU, host), and the GPU's work includes the communication
        # it leaves exposed: while the GPU waits for the host to issue kernels, the collectives
        # already issued run. So the host's slack absorbs the exposed communication (adding it
        # on top of the floor made faster GEMMs, which expose more TP communication, slow down a
        # host-bound step).
        fwd = np.maximum(fwd_gpu, n_host * cal.host_kernel_s)
        bwd = np.maximum(bwd_gpu, 2.0 * n_host * cal.host_kernel_s)
        re = np.select([rc == 2, rc == 1], [fwd, t_attn], 0.0)
        # the part of each pass the host floor adds beyond the GPU's work
        host = (fwd - fwd_gpu) * (1.0 + (rc == 2)) + (bwd - bwd_gpu)
        exposed = tp_exp + cp_exp + ep_exp
        keep = np.where(exposed > 0.0, np.maximum(exposed - host, 0.0), 0.0) / np.maximum(
            exposed, 1e-300
        )
        tp_exp, cp_exp, ep_exp = tp_exp * keep, cp_exp * keep, ep_exp * keep
        return {
            "fwd": fwd,
            "bwd": bwd,
            "re": re,
            "host": host,
            "tp": tp_exp,
            "cp": cp_exp,
            "ep": ep_exp,
            "tp_total": tp_comm,
            "cp_total": cp_comm,
            "ep_total": ep_comm,
        }

    dense_l, moe_l = (f(x) for x in stage_layers(m, p))
    d = layer_time(layer_ops(m, seq, moe=False), False)
    e = layer_time(layer_ops(m, seq, moe=True), True) if m.moe_layers else None

    def per_stage(key: str) -> np.ndarray:
        return dense_l * d[key] + (moe_l * e[key] if e is not None else 0.0)

    comp = {k: per_stage(k) for k in ("fwd", "bwd", "re", "tp", "cp", "ep")}
    # LM head (16-bit, fwd + 2x bwd) with its fp32 softmax, and MTP modules, on the last stage
    t_head = T * head_flops(m) / tp / (peak16 * cal.gemm_efficiency)
    t_head = t_head + memory_time(T * m.vocab / tp * 4.0 * 3, bw, cal.memory_efficiency)
    head = 3.0 * t_head
    if m.mtp_layers:
        mt = layer_time(layer_ops(m, seq, moe=m.moe is not None), m.moe is not None)
        head = head + m.mtp_layers * (
            mt["fwd"]
            + mt["bwd"]
            + mt["re"]
            + mt["tp"]
            + mt["ep"]
            + 3.0 * T * (mtp_extra_flops(m) - head_flops(m)) / tp / (peak16 * cal.gemm_efficiency)
            + 3.0 * t_head
        )
    comp["head"] = head

    # busiest stage: the last one (its layers + head), or, when the framework evens out stages
    # with unequal layer counts, the balanced share (all layers + head) / pp, never less than
    # ceil(L / (pp*vpp)) layers per virtual chunk
    layer_keys = ("fwd", "bwd", "re", "tp", "cp", "ep")
    n_stage = np.maximum(dense_l + moe_l, 1.0)
    raw = sum(comp[k] for k in layer_keys) + comp["head"]
    bal = {k: comp[k] * m.layers / n_stage / pp for k in layer_keys}
    bal["head"] = comp["head"] / pp
    bal_sum = sum(bal.values())
    floor = np.ceil(m.layers / (pp * vpp)) * vpp * (raw - comp["head"]) / n_stage
    uneven = np.broadcast_to(p.uneven_pp, shape) & (pp > 1)
    t_stage = np.where(uneven, np.maximum(bal_sum, floor), raw)
    # per-component shares of the busiest stage (they add up to t_stage)
    stage_comp = {
        k: np.where(uneven, bal[k] * t_stage / np.maximum(bal_sum, 1e-30), comp[k])
        for k in (*layer_keys, "head")
    }

    # pipeline p2p: activations (split by TP with SP) cross each virtual-stage boundary; blocking
    # for plain 1F1B, overlapped with compute by the interleaved schedule except while it fills
    p2p = coll.send_recv(T * m.hidden * 2.0 / sp_div, tp * cp * dp, system)
    pp_mb = np.where((pp > 1) & (vpp == 1), 2.0 * p2p, 0.0)
    pp_fill = np.where(pp > 1, 2.0 * (pp - 1) * p2p, 0.0)
    t_mb = t_stage + pp_mb
    bubble = np.where(pp > 1, (pp - 1) / vpp * t_mb, 0.0) + pp_fill

    # data parallel: gradient reduce-scatter (ZeRO>=1) / all-reduce (ZeRO 0), parameter gather
    mem = training_memory(m, p, precision)
    expert_params = mem.expert_params_per_chip
    ne_params = mem.params_per_chip - expert_params
    grad_b = 2.0  # 16-bit gradient reduction (Megatron/NeMo default grad_reduce_in_fp32 off)
    dp_ne = dp * cp
    dp_e = np.maximum(tp * cp * dp / ep, 1.0)
    zero = np.broadcast_to(p.zero, shape)
    t_rs = coll.reduce_scatter(ne_params * grad_b, dp_ne, tp, system) + coll.reduce_scatter(
        expert_params * grad_b, dp_e, ep, system
    )
    t_ar = coll.all_reduce(ne_params * grad_b, dp_ne, tp, system) + coll.all_reduce(
        expert_params * grad_b, dp_e, ep, system
    )
    t_ag = coll.all_gather(ne_params * 2.0, dp_ne, tp, system) + coll.all_gather(
        expert_params * 2.0, dp_e, ep, system
    )
    dp_total = np.where(zero == 0, t_ar, t_rs + t_ag)
    # ZeRO-2/3 keep only a gradient shard, so every micro-batch's backward reduce-scatters its
    # gradients; ZeRO-3 also gathers the weights for every forward, backward (and recompute)
    dp_total = np.where(zero == 2, mbs * t_rs + t_ag, dp_total)
    # ZeRO-3 / FSDP gathers and reduce-scatters layer by layer: one collective per layer, so
    # each layer pays the collective's latency (the bandwidth term is the same as for one)
    n_lay = np.maximum(dense_l + moe_l, 1.0)
    t_ag_l = n_lay * (
        coll.all_gather(ne_params * 2.0 / n_lay, dp_ne, tp, system)
        + coll.all_gather(expert_params * 2.0 / n_lay, dp_e, ep, system)
    )
    t_rs_l = n_lay * (
        coll.reduce_scatter(ne_params * grad_b / n_lay, dp_ne, tp, system)
        + coll.reduce_scatter(expert_params * grad_b / n_lay, dp_e, ep, system)
    )
    dp_total = np.where(zero == 3, mbs * (t_rs_l + t_ag_l * (2.0 + (rc == 2))), dp_total)
    dp_total = np.where((dp_ne > 1) | (dp_e > 1), dp_total, 0.0)
    # overlap: ZeRO-0/1 gradient buckets reduce during the last micro-batch's backward and the
    # parameter gather runs under the next step's first forward; ZeRO-2 reduces under every
    # micro-batch's backward; ZeRO-3 prefetches layer by layer under every micro-batch
    # The window is the wall time of those passes (compute, recompute, and the TP/CP/EP
    # communication they leave exposed), as for ZeRO-3: the gradient buckets reduce while the
    # backward runs, whatever holds it up. A window of compute only counted the same GEMMs as
    # hiding both the layers' exposed communication and the DP reduction, so longer compute
    # (a slower chip, more expert imbalance) could shorten the step.
    # With uneven stages the busiest stage runs its balanced share (stage_comp), not raw: a
    # window longer than the time that passes would hide communication behind nothing.
    wall = sum(stage_comp[k] for k in layer_keys)
    hide = np.select(
        [zero == 3, zero == 2],
        [mbs * t_stage, mbs * (wall - stage_comp["fwd"]) + stage_comp["fwd"] / vpp],
        wall / vpp,
    )
    dp_exposed = np.maximum(dp_total - (hide if overlap else 0.0), 0.0)

    # optimizer: stream fp32 master, m, v (read + write) and the gradient, write 16-bit weights
    opt_params = np.where(
        zero >= 1, ne_params / dp_ne + expert_params / dp_e, ne_params + expert_params
    )
    t_opt = memory_time(opt_params * (3 * 8.0 + 4.0 + 2.0), bw, cal.memory_efficiency)

    step = mbs * t_mb + bubble + dp_exposed + t_opt + STEP_OVERHEAD_S
    valid = np.asarray(valid)
    step = np.where(valid, step, np.nan)
    tokens = f(p.global_batch) * seq
    tps = tokens / step
    chips = system.chips
    mfu = model_flops_per_token(m, seq) * tps / (chips * mfu_peak)
    # HFU also counts the recomputed forward FLOPs: every transformer layer's (and MTP layer's)
    # forward under full recompute, the attention core's under selective -- not the LM head,
    # which no framework recomputes. (Fixed factors 1/3 and 0.02 stood in for these before; the
    # attention share grows with the sequence: ~1% of the model FLOPs at 4K, ~8% at 32K for Llama 3
    # 70B.)
    ops_d = layer_ops(m, seq, moe=False)
    ops_e = layer_ops(m, seq, moe=True) if m.moe_layers else ops_d
    ops_mtp = ops_e if m.moe is not None else ops_d
    counts = ((m.dense_layers, ops_d), (m.moe_layers, ops_e), (m.mtp_layers, ops_mtp))
    re_full = sum(n * layer_forward_flops(o) for n, o in counts if n)
    re_sel = sum(n * np.asarray(o.attn_flops, dtype=float) for n, o in counts if n)
    re_flops = np.select([rc == 2, rc == 1], [re_full, re_sel], 0.0)
    hfu = mfu * (1.0 + re_flops / model_flops_per_token(m, seq))
    w = mbs * t_stage / np.maximum(raw, 1e-30)
    # host-bound time beyond the GPU's work, taken out of the compute it stretched
    passes_sum = comp["fwd"] + comp["bwd"] + comp["re"]
    host_frac = per_stage("host") / np.maximum(passes_sum, 1e-30)
    breakdown = {
        "compute_forward": mbs * stage_comp["fwd"] * (1.0 - host_frac),
        "compute_backward": mbs * stage_comp["bwd"] * (1.0 - host_frac),
        "compute_recompute": mbs * stage_comp["re"] * (1.0 - host_frac),
        "host_bound": mbs * (stage_comp["fwd"] + stage_comp["bwd"] + stage_comp["re"]) * host_frac,
        "lm_head_and_mtp": mbs * stage_comp["head"],
        "tp_exposed": mbs * stage_comp["tp"],
        "cp_exposed": mbs * stage_comp["cp"],
        "ep_exposed": mbs * stage_comp["ep"],
        "pp_p2p_exposed": mbs * pp_mb + pp_fill,
        "pipeline_bubble": bubble - pp_fill,
        "dp_exposed": dp_exposed,
        "optimizer": t_opt,
        "overhead": np.full(shape, STEP_OVERHEAD_S),
    }
    extra = {
        "tp_comm_total": w * per_stage("tp_total"),
        "cp_comm_total": w * per_stage("cp_total"),
        "ep_comm_total": w * per_stage("ep_total"),
        "dp_comm_total": dp_total,
        "micro_batches": mbs,
        "t_microbatch": t_mb,
    }
    return TrainingResult(
        valid=valid,
        reasons=reasons,
        step_time=step,
        tokens_per_step=tokens,
        tokens_per_s=tps,
        tokens_per_s_per_chip=tps / chips,
        mfu=mfu,
        hfu=hfu,
        breakdown=breakdown,
        memory=mem,
        hbm_capacity=chip.hbm_capacity.value,
        chips=chips,
        extra=extra,
    )
