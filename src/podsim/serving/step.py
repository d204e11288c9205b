"""One serving-engine iteration: prefill, decode, or both in one batch (continuous batching).

An *instance* is ``tp x dp x pp`` chips: ``dp`` attention data-parallel ranks of ``tp`` chips each
(``dp = 1``: one TP replica), pipeline-split ``pp`` ways. Dense weights and attention are split by
TP and replicated over the DP ranks; the routed experts of the MoE layers are spread over all
``tp x dp`` chips: ``ep`` expert-parallel ranks, each splitting its experts ``tp x dp / ep`` ways.
Every quantity below is per *attention group* (one DP rank of ``tp`` chips), whose ``seqs``
sequences are decoded and ``prefill_tokens`` prompt tokens prefilled in this iteration; arrays
broadcast, so one call evaluates any number of batches and plans.

Per layer and chip (busiest chip):

* GEMMs (attention projections, dense FFN / shared experts, router, LM head): roofline
  ``max(FLOPs / (peak x eta_gemm x M / (M + m0)), (weights + activations) / (HBM x eta_mem))``
  at the batch's token count ``M`` -- memory-bound weight reads at small batch, compute-bound
  at large; a GEMM of few rows fills its 128-row tiles and the chip's waves only partly, the
  same ``M / (M + m0)`` law as the expert GEMMs below (``m0``: serving calibration).
* Routed experts: the tokens the busiest EP rank receives (``imbalance`` x mean); weights read
  only for the experts the step touches: with ``N`` tokens of ``top_k`` experts each out of ``E``,
  an expert is hit with probability ``1 - (1 - top_k/E)^N``; efficiency: the dense GEMMs' times
  the serving calibration's grouped ratio times ``m / (m + m0)`` for ``m`` tokens per expert
  (partly filled tiles, DeepGEMM masked-layout measurements).
* Attention: decode reads the KV cache of every sequence over its context (flash-decoding:
  ``max(KV bytes / HBM, FLOPs / attention peak)``); MLA decodes in the weight-absorbed form over
  the latent (DeepSeek-V2 arXiv 2405.04434 sec. 2.1.2; FlashMLA), ``2 H (2 d_c + d_rope)`` FLOPs
  per key; prefill is compute-bound causal attention (:func:`podsim.workload.layers.layer_ops`).
* Elementwise work (norms, residuals, rotary, activation, quantisation casts): memory time.
* Communication: TP all-reduce of the layer output twice per layer; EP dispatch (in the GEMM
  precision, >= 8 bit) and combine (16-bit) all-to-all, one copy per distinct destination rank
  in decode (DeepEP low-latency kernels), and in prefill-only iterations one copy per distinct
  remote node forwarded inside it (DeepEP normal kernels, :mod:`podsim.cost.moe`); PP hand-off of the hidden states between stages
  (:mod:`podsim.cost.collectives`).
* Fixed costs: a per-kernel cost (compute calibration) for the kernels of each layer, and a
  per-iteration engine overhead (serving calibration).
* GEMM efficiencies: the compute calibration's (training-fitted) per family and precision times
  the serving calibration's forward ratio (forward-only inference GEMMs); FP4 MLA models run
  their attention projections at FP8 (:func:`attention_precision`).

Pipeline parallelism keeps ``pp`` micro-batches in flight: each stage runs ``seqs/pp`` sequences
through its layers, and a token's iteration visits every stage, so the iteration takes the whole
model's time at the micro-batch size plus ``pp - 1`` hand-offs.

Speculative decoding with ``d`` draft tokens verifies ``1 + d`` query tokens per sequence
(weights read once, attention and GEMM FLOPs for ``1 + d`` tokens) and runs the draft module
``d`` times (an MTP module = one more layer plus the LM head, DeepSeek-V3 sec. 2.2); on average it
emits ``1 + d x acceptance`` tokens per sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from podsim.cost import collectives as coll
from podsim.cost import moe as moe_dispatch
from podsim.cost.compute import compute_calibration, memory_time, model_constant, row_fill
from podsim.hardware.system import System
from podsim.serving.calibration import serving_calibration
from podsim.serving.capacity import _attention_precision, weight_bytes_per_element
from podsim.serving.kv import kv_bytes_per_element, kv_elems_per_layer, kv_shard
from podsim.spec.checks import check_choice
from podsim.spec.model import ModelSpec
from podsim.workload.layers import LayerOps, attention_core_flops, causal_context, layer_ops

# Expert load imbalance (tokens on the busiest EP rank / mean). Serving stacks balance experts
# with redundant replicas (DeepSeek EPLB, CloudMatrix-Infer, SGLang EPLB); the training model's
# auxiliary-loss-balanced figure (catalog calibration/compute.yaml) is used by default.
DEFAULT_MOE_IMBALANCE = model_constant("moe_imbalance")
# Acceptance of one draft token when a case does not say (compute.yaml mtp_acceptance, from the
# DeepSeek-V3 report's 85-90% second-token acceptance).
DEFAULT_ACCEPTANCE = model_constant("mtp_acceptance")


def default_acceptance(draft_tokens: int) -> float:
    """Mean fraction of ``draft_tokens`` drafts accepted when only the one-draft rate is known.

    Drafts are verified in order and the first rejection discards the rest, so with each
    accepted at ``a = DEFAULT_ACCEPTANCE`` given its predecessors, draft ``i`` survives with
    probability ``a^i`` and a step emits ``1 + a + ... + a^k`` tokens (Leviathan, Kalman &
    Matias 2023, "Fast Inference from Transformers via Speculative Decoding", eq. 1). The mean
    accepted fraction is ``(a + ... + a^k) / k``: ``a`` for one draft, less for more."""
    k = max(int(draft_tokens), 1)
    a = DEFAULT_ACCEPTANCE
    return sum(a**i for i in range(1, k + 1)) / k


# Kernels per layer of a serving engine's fused decoder layer (norm+quant, QKV GEMM,
# rotary+cache write, attention, O GEMM, all-reduce+residual+norm, gate/up GEMM, activation,
# down GEMM, residual) and the extra kernels of a MoE layer (router GEMM, top-k, dispatch,
# expert GEMM x2, activation, combine, shared-expert GEMMs). Counted from TensorRT-LLM /
# vLLM layer traces; used only for the per-kernel fixed cost.
KERNELS_DENSE_LAYER = 10
KERNELS_MOE_EXTRA = 8
# Bytes per element of the dispatched activations: the GEMM precision, at least 8 bit
# (DeepEP FP8 dispatch, CloudMatrix INT8 dispatch); combine is 16-bit.
COMBINE_BYTES = 2.0
# How a MoE iteration overlaps its expert all-to-all (see serving_step's ``overlap``)
OVERLAP_MODES = ("auto", "none", "tbo")

BREAKDOWN_KEYS = (
    "weights",
    "kv_cache",
    "attention_compute",
    "gemm_compute",
    "elementwise",
    "tp_comm",
    "ep_comm",
    "pp_comm",
    "kernel_overhead",
    "step_overhead",
)


@dataclass
class StepResult:
    """One iteration (arrays broadcast over the inputs). Seconds; tokens per attention group."""

    time: np.ndarray  # the iteration, as a sequence sees it (all pp stages)
    breakdown: dict[str, np.ndarray]  # sums to ``time``
    decode_tokens: np.ndarray  # tokens emitted per attention group (after acceptance)
    prefill_tokens: np.ndarray  # prompt tokens processed per attention group
    extra: dict[str, np.ndarray] = field(default_factory=dict)


_K = np.arange(0, 400, dtype=float)
_LGAMMA_K1 = np.array([math.lgamma(x + 1.0) for x in _K])


def busiest_prompts(mean_prompts, dp) -> np.ndarray:
    """Expected prompts on the busiest of ``dp`` attention-DP ranks in one iteration, when the
    instance admits a Poisson number ``n`` of prompts (mean ``dp x mean_prompts``) and the
    scheduler spreads them evenly: ``E[ceil(n / dp)]``. Equals the mean for ``dp = 1``; for a
    trickle of prompts it is the probability that any arrives (one rank then prefills a whole
    prompt while the others wait for it at the expert all-to-all)."""
    lam = np.asarray(mean_prompts, dtype=float) * np.asarray(dp, dtype=float)
    dpa = np.asarray(dp, dtype=float)
    lam, dpa = np.broadcast_arrays(lam, dpa)
    k = _K
    lgam = _LGAMMA_K1
    lam_c = np.minimum(lam, 150.0)[..., None]
    with np.errstate(divide="ignore"):
        logp = -lam_c + k * np.log(np.maximum(lam_c, 1e-300)) - lgam
    pmf = np.where(lam_c > 0, np.exp(logp), (k == 0).astype(float))
    exact = np.sum(pmf * np.ceil(k / dpa[..., None]), axis=-1)
    large = lam / dpa + (dpa - 1.0) / (2.0 * dpa)  # ceil of a fine-grained n/dp: +(dp-1)/2dp
    return np.where(lam > 150.0, large, exact)


def gemm_efficiency(cal, precision: str, scal=None) -> float:
    """GEMM efficiency at ``precision``: the compute calibration's (per-precision where it has
    it), and in serving (``scal`` given) that times the forward ratio
    (:meth:`ServingCalibration.forward_efficiency`)."""
    fn = getattr(cal, "gemm_efficiency_for", None)
    base = float(fn(precision)) if fn is not None else float(cal.gemm_efficiency)
    return base if scal is None else scal.forward_efficiency(base)


def attention_precision(m: ModelSpec, precision: str) -> str:
    """Precision of the attention projections at a serving ``precision``. FP4 deployments of
    MLA models quantise the FFN / expert GEMMs only and keep the low-rank MLA projections at FP8
    (NVIDIA's DeepSeek-R1-FP4 / DeepSeek-V3-FP4 ModelOpt checkpoints exclude ``self_attn`` from
    NVFP4; SGLang's GB200 NVFP4 recipe runs the MLA projections in FP8); dense GQA models
    quantised with ModelOpt NVFP4 keep every linear layer but the LM head in FP4."""
    return _attention_precision(m, precision)


def mla_absorbed_flops_per_key(m: ModelSpec) -> float:
    """Decode attention FLOPs per query token per cached key in MLA's weight-absorbed form:
    scores over the latent + rotary key (d_c + d_rope) and values over the latent (d_c)."""
    a = m.mla
    assert a is not None
    return 2.0 * m.heads * (2 * a.kv_lora_rank + a.qk_rope_head_dim)


def _split(a, b):
    """Attribute a roofline max(a, b) to the larger part (for the breakdown)."""
    t = np.maximum(a, b)
    return t, np.where(b >= a, t, 0.0), np.where(b >= a, 0.0, t)


def serving_step(
    m: ModelSpec,
    system: System,
    *,
    seqs=0.0,
    context=0.0,
    prefill_tokens=0.0,
    prefill_busiest=None,
    prompt_len=1.0,
    cached_prefix=0.0,
    tp=1,
    ep=1,
    dp=1,
    pp=1,
    precision: str = "bf16",
    kv_precision: str | None = None,
    draft_tokens=0,
    acceptance=DEFAULT_ACCEPTANCE,
    moe_imbalance=DEFAULT_MOE_IMBALANCE,
    overlap: str = "auto",
    step_overhead: float | None = None,
) -> StepResult:
    """Time of one iteration decoding ``seqs`` sequences at ``context`` cached tokens and
    prefilling ``prefill_tokens`` prompt tokens of prompts ``prompt_len`` long, per attention
    group (see the module docstring). Everything broadcasts. ``prefill_busiest``: prompt
    tokens on the busiest attention group (default: the mean); with attention data parallelism
    every rank waits for it at the MoE layers, while the experts see the mean.
    ``cached_prefix``: tokens at the start of each prompt whose KV is already cached (prefix
    caching): the ``prompt_len - cached_prefix`` computed tokens attend over it, reading its KV.

    ``overlap``: ``"none"`` runs the batch as one micro-batch; ``"tbo"`` splits it into two
    micro-batches whose TP/EP communication overlaps the other's compute (SGLang two-batch
    overlap, DeepSeek's dual micro-batch, CloudMatrix-Infer micro-batch pipelining), phase by
    phase: each layer runs four slots -- [A attention | B combine], [A dispatch | B attention],
    [A experts | B dispatch], [A combine | B experts] -- each as long as the longer of its pair,
    so communication hides only behind the phase it meets (never better than ``max(compute,
    communication)``), paying the weight reads twice; ``"auto"`` takes the faster of the two
    where experts are spread over EP ranks (as a tuned wide-EP deployment does) and no overlap
    for tensor parallelism alone.
    ``step_overhead``: per-iteration engine cost in seconds (default: the serving calibration
    of the chip's family).
    """
    check_choice(overlap, OVERLAP_MODES, "overlap", "unknown overlap mode")
    chip = system.chip
    cal = compute_calibration(chip.family)
    scal = serving_calibration(chip.family)
    peak = chip.sustained_flops(precision)  # compute-bound work at the sustained clock
    peak16 = chip.sustained_flops("bf16")
    bw = chip.hbm_bandwidth.value
    eta_m = cal.memory_efficiency
    eta_g = gemm_efficiency(cal, precision, scal)
    eta_g16 = gemm_efficiency(cal, "bf16", scal)
    ratio = scal.expert_ratio(m.moe.expert_ffn) if m.moe is not None else None
    if ratio is None:
        ratio = float(getattr(cal, "grouped_gemm_ratio", 1.0))
    eta_grouped = eta_g * ratio
    m0 = scal.grouped_m0
    wb = weight_bytes_per_element(precision)
    att_prec = attention_precision(m, precision)
    att_split = att_prec != precision
    wb_att = weight_bytes_per_element(att_prec)
    peak_att = chip.sustained_flops(att_prec)
    eta_att = gemm_efficiency(cal, att_prec, scal)
    kvb = kv_bytes_per_element(kv_precision)
    a16 = 2.0  # activations in 16-bit
    h = m.hidden

    f = lambda x: np.asarray(x, dtype=float)  # noqa: E731
    tp, ep, dp, pp = f(tp), f(ep), f(dp), f(pp)
    d = f(draft_tokens)
    S = np.maximum(f(prompt_len), 1.0)
    cached = np.clip(f(cached_prefix), 0.0, S - 1.0)
    S_new = S - cached  # prompt tokens computed per prompt
    ctx = f(context)
    is_moe = m.moe is not None and m.moe_layers > 0
    dense_ops = layer_ops(m, S, moe=False)
    moe_ops = layer_ops(m, S, moe=True) if is_moe else None
    kv_layer = kv_elems_per_layer(m) * kv_shard(m, tp) * kvb

    def gemm(flops, wbytes, tokens_in_out, eta=eta_g, pk=peak):
        return _split(flops / (pk * eta), (wbytes + tokens_in_out * a16) / (bw * eta_m))

    def layer(ops: LayerOps, moe: bool, B, P, q, Pb) -> dict[str, np.ndarray]:
        """One layer on the busiest chip: B decoding sequences of q query tokens, P prompt
        tokens per attention group on average and Pb on the busiest group."""
        T = B * q + Pb  # tokens of the busiest attention group
        T_mean = B * q + P
        out: dict[str, np.ndarray] = {}
        # attention projections (+ dense FFN or shared experts), split by TP
        act = T * (ops.gemm_in_elems + 2 * ops.out_elems) / tp
        # GEMMs of few rows fill their tiles and waves only partly (grouped_m0, as for experts)
        fillT = row_fill(T, m0) if m0 > 0 else 1.0
        # the attention projections and the dense FFN / shared experts on their own rooflines
        # (also the two phases of the two-batch-overlap schedule, see below)
        t_a, w_a, c_a = gemm(
            T * ops.proj_flops / tp, ops.proj_weights / tp * wb_att, 0.0, eta_att * fillT, peak_att
        )
        t_f, w_f, c_f = gemm(T * ops.ffn_flops / tp, ops.ffn_weights / tp * wb, act, eta_g * fillT)
        if att_split:
            # MLA projections at fp8, the FFN / shared experts at fp4 (see attention_precision)
            out["weights"], out["gemm_compute"] = w_a + w_f, c_a + c_f
        else:
            w = (ops.proj_weights + ops.ffn_weights) / tp * wb
            fl = T * (ops.proj_flops + ops.ffn_flops) / tp
            _, out["weights"], out["gemm_compute"] = gemm(fl, w, act, eta_g * fillT)
        dense_gemm = out["weights"] + out["gemm_compute"]
        att_share = t_a / np.maximum(t_a + t_f, 1e-300)
        # attention core: decode over the cache, prefill causal over the prompt
        if m.mla is not None:
            dec_fl = B * q * ctx * mla_absorbed_flops_per_key(m) / tp
        else:
            dec_fl = B * q * attention_core_flops(m, ctx) / tp
        pre_fl = Pb * attention_core_flops(m, cached + causal_context(S_new)) / tp
        t_att_c = (dec_fl + pre_fl) / (peak16 * cal.attention_efficiency)
        # read the cache (decoding contexts, cached prompt prefixes), write the new entries
        t_kv = (B * ctx + Pb / S_new * cached + T) * kv_layer / (bw * eta_m)
        _, out["kv_cache"], out["attention_compute"] = _split(t_att_c, t_kv)
        # elementwise traffic (+ quantisation of GEMM inputs at low precision)
        elem = T * ops.act_elems / tp * a16
        if wb < 2.0:
            elem = elem + T * ops.gemm_in_elems / tp * (a16 + wb)
        out["elementwise"] = memory_time(elem, bw, eta_m)
        # TP: all-reduce of the attention output and of the FFN output
        ar = coll.all_reduce(T * h * a16, tp, 1, system)
        out["tp_comm"] = np.where(tp > 1, 2.0 * ar, 0.0)
        out["ep_comm"] = np.zeros_like(T)
        disp = comb = np.zeros_like(T)
        expert_t = np.zeros_like(T)
        kernels = KERNELS_DENSE_LAYER
        if moe and m.moe is not None:
            e = m.moe
            kernels += KERNELS_MOE_EXTRA
            E = float(e.experts)
            tokens_inst = dp * T_mean  # distinct tokens in the instance
            recv = tokens_inst * e.top_k / ep * moe_imbalance  # token copies, busiest rank
            mats = 3 if m.activation == "swiglu" else 2
            w_one = mats * h * e.expert_ffn
            hit = 1.0 - np.power(1.0 - e.top_k / E, tokens_inst)
            touched = (E / ep) * hit  # experts of this rank that the step uses
            etp = tp * dp / ep  # each EP rank splits its experts over etp chips
            # few tokens per expert fill the GEMM tiles partly (grouped_m0, serving calibration)
            m_exp = recv / np.maximum(touched, 1e-12)
            fill = row_fill(m_exp, m0) if m0 > 0 else 1.0
            _, w_t, c_t = gemm(
                recv * 2.0 * w_one / etp,
                touched * w_one / etp * wb,
                recv * (h + e.expert_ffn) / etp,
                eta_grouped * np.maximum(fill, 1e-6),
            )
            _, w_r, c_r = gemm(T * ops.router_flops / tp, h * E * a16 / tp, 0.0, eta_g16, peak16)
            out["weights"] = out["weights"] + w_t + w_r
            out["gemm_compute"] = out["gemm_compute"] + c_t + c_r
            expert_t = w_t + c_t + w_r + c_r
            # dispatch / combine: one copy per distinct destination rank of each token
            copies = ep * (1.0 - np.power(1.0 - 1.0 / ep, e.top_k))
            sent = T / tp * copies * h * moe_imbalance
            disp = coll.all_to_all(sent * max(wb, 1.0), ep, 1, system)
            comb = coll.all_to_all(sent * COMBINE_BYTES, ep, 1, system)
            # prefill-only iterations use the throughput kernels (DeepEP normal mode,
            # CloudMatrix FusedDispatch): across a slower level a token goes once per distinct
            # remote group and is forwarded inside it (podsim.cost.moe); decode iterations use
            # the low-latency kernels, one copy per destination rank, as above
            tok = T / tp * moe_imbalance
            disp_h = moe_dispatch.dispatch_time(
                system, tok, h * max(wb, 1.0), e.top_k, e.experts, ep
            )
            comb_h = moe_dispatch.dispatch_time(
                system, tok, h * COMBINE_BYTES, e.top_k, e.experts, ep
            )
            use_h = (B <= 0) & (disp_h + comb_h < disp + comb)
            disp = np.where(ep > 1, np.where(use_h, disp_h, disp), 0.0)
            comb = np.where(ep > 1, np.where(use_h, comb_h, comb), 0.0)
            out["ep_comm"] = disp + comb
        out["kernel_overhead"] = np.full_like(T, kernels * cal.kernel_overhead_s)
        # the two phases of a layer for the two-batch-overlap schedule: attention (projections,
        # core attention) and MoE (router, experts, dense FFN / shared experts); elementwise work
        # and kernel launches split evenly; communication after each phase (TP all-reduce, EP
        # dispatch after attention, combine after the experts)
        rest = 0.5 * (out["elementwise"] + out["kernel_overhead"])
        out["_c1"] = dense_gemm * att_share + out["kv_cache"] + out["attention_compute"] + rest
        out["_c2"] = dense_gemm * (1.0 - att_share) + expert_t + rest
        out["_d"] = disp + 0.5 * out["tp_comm"]
        out["_k"] = comb + 0.5 * out["tp_comm"]
        return out

    def model_pass(B, P, Pb) -> dict[str, np.ndarray]:
        """The whole model (all pp stages in turn) for B sequences and P prompt tokens."""
        q = 1.0 + d
        comp = {k: np.zeros_like(B * q + P) for k in (*BREAKDOWN_KEYS, "_slots", "_busy")}

        def add(parts: dict[str, np.ndarray], n) -> None:
            for k, v in parts.items():
                if not k.startswith("_"):
                    comp[k] = comp[k] + n * v
            # two-batch overlap, one layer: micro-batch A's phases run beside B's communication
            # and vice versa -- [A attention | B combine], [A dispatch | B attention],
            # [A experts | B dispatch], [A combine | B experts] -- so each slot takes the longer
            # of the two (SGLang two-batch overlap, DeepSeek dual micro-batch decode)
            c1, c2, dd, kk = parts["_c1"], parts["_c2"], parts["_d"], parts["_k"]
            slots = (
                np.maximum(c1, kk) + np.maximum(c1, dd) + np.maximum(c2, dd) + np.maximum(c2, kk)
            )
            comp["_slots"] = comp["_slots"] + n * slots
            comp["_busy"] = comp["_busy"] + n * 2.0 * (c1 + c2)

        add(layer(dense_ops, False, B, P, q, Pb), m.dense_layers)
        if moe_ops is not None:
            add(layer(moe_ops, True, B, P, q, Pb), m.moe_layers)
        # LM head for decoding tokens and the last token of each prompt, vocab-parallel, 16-bit
        head_tokens = B * q + Pb / S_new
        _, w_t, c_t = gemm(
            head_tokens * 2.0 * h * m.vocab / tp, h * m.vocab / tp * a16, 0.0, eta_g16, peak16
        )
        comp["weights"] = comp["weights"] + w_t
        comp["gemm_compute"] = comp["gemm_compute"] + c_t
        # speculative draft: d sequential passes of an MTP module (a layer, projection, head)
        if np.any(d > 0):
            draft = layer(moe_ops if moe_ops is not None else dense_ops, is_moe, B, 0.0, 1.0, 0.0)
            _, w_h, c_h = gemm(
                B * (2.0 * h * m.vocab + 4.0 * h * h) / tp,
                (h * m.vocab + 2 * h * h) / tp * a16,
                0.0,
                eta_g16,
                peak16,
            )
            draft["weights"] = draft["weights"] + w_h
            draft["gemm_compute"] = draft["gemm_compute"] + c_h
            add(draft, np.where(d > 0, d, 0.0))
        # pipeline hand-offs: pp - 1 stage boundaries per micro-batch
        p2p = coll.send_recv((B * q + Pb) * h * a16, tp * dp, system, size=pp)
        comp["pp_comm"] = np.where(pp > 1, (pp - 1.0) * p2p, 0.0)
        return comp

    # one micro-batch of the pp in flight; a token's iteration runs it through every stage
    B1 = f(seqs) / pp
    P1 = f(prefill_tokens) / pp
    Pb1 = (f(prefill_tokens) if prefill_busiest is None else f(prefill_busiest)) / pp
    one = model_pass(B1, P1, Pb1)
    half = model_pass(B1 / 2.0, P1 / 2.0, Pb1 / 2.0)
    comm_keys = ("tp_comm", "ep_comm")
    t_one = sum(one[k] for k in BREAKDOWN_KEYS)
    comm2 = sum(2.0 * half[k] for k in comm_keys)
    busy2 = sum(2.0 * half[k] for k in BREAKDOWN_KEYS if k not in comm_keys)
    # the layers' communication that the phase-by-phase schedule leaves exposed
    exposed = np.maximum(half["_slots"] - half["_busy"], 0.0)
    t_two = busy2 + exposed
    if overlap == "none":
        use_two = np.zeros(np.shape(t_one), dtype=bool)
    elif overlap == "tbo":
        use_two = np.ones(np.shape(t_one), dtype=bool)
    else:
        # deployments overlap the expert all-to-all (DeepEP / CloudMatrix micro-batching); dense
        # tensor-parallel engines run their all-reduces in line
        use_two = (t_two < t_one) & (ep > 1)
    shape = np.broadcast_shapes(np.shape(t_one), np.shape(t_two))
    comp: dict[str, np.ndarray] = {}
    for k in BREAKDOWN_KEYS:
        if k in comm_keys:
            share = np.where(comm2 > 0, 2.0 * half[k] / np.where(comm2 > 0, comm2, 1.0), 0.0)
            two_k = exposed * share
        else:
            two_k = 2.0 * half[k]
        comp[k] = np.broadcast_to(np.where(use_two, two_k, one[k]), shape).astype(float)
    fixed = scal.step_overhead_s if step_overhead is None else float(step_overhead)
    comp["step_overhead"] = np.full(shape, fixed)
    total = sum(comp.values())
    emitted = f(seqs) * (1.0 + d * f(acceptance))
    return StepResult(
        time=total,
        breakdown=comp,
        decode_tokens=np.broadcast_to(emitted, shape).astype(float),
        prefill_tokens=np.broadcast_to(f(prefill_tokens), shape).astype(float),
        extra={
            "two_batch_overlap": np.broadcast_to(use_two, shape),
            "tp_comm_total": np.broadcast_to(
                np.where(use_two, 2 * half["tp_comm"], one["tp_comm"]), shape
            ),
            "ep_comm_total": np.broadcast_to(
                np.where(use_two, 2 * half["ep_comm"], one["ep_comm"]), shape
            ),
        },
    )
