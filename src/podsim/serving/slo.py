"""Serving scenarios over a range of batch sizes, and the batch a real system would run.

Three ways an engine runs a batch of ``B`` sequences per attention group:

* ``decode``: steady-state decoding; every sequence is somewhere in its output, so the mean
  cached context is ``input + output / 2``. TPOT = iteration / tokens emitted per sequence.
* ``prefill``: a prefill instance processes ``B`` prompts per iteration; TTFT = the iteration.
* ``end_to_end``: continuous (in-flight) batching: each iteration decodes the ``B`` running
  sequences and prefills the prompts of the sequences that replace the finished ones --
  ``B x emitted / output`` new prompts per iteration in steady state -- so the iteration carries
  both (TensorRT-LLM in-flight batching, vLLM chunked prefill). TPOT = the iteration per emitted
  token; TTFT = an iteration that also carries one whole new prompt, plus the wait behind the
  prompts queued before it (:func:`queued_ttft`).

Throughput per chip divides by the ``tp x pp`` chips of an attention group. Memory limits ``B``
(:mod:`podsim.serving.capacity`) at the mean KV occupancy of continuous batching.

Choosing the batch: without a latency target, the batch that maximises throughput within memory
(offline); with TPOT and/or TTFT targets, the largest batch meeting them (both reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from podsim.errors import PlanError, SpecError
from podsim.hardware.system import System
from podsim.serving.capacity import (
    RESERVE_FRACTION,
    max_batch,
    serving_memory,
    weight_bytes_per_chip,
)
from podsim.serving.step import (
    DEFAULT_ACCEPTANCE,
    DEFAULT_MOE_IMBALANCE,
    OVERLAP_MODES,
    busiest_prompts,
    serving_step,
)
from podsim.spec.checks import (
    MAKE_MODEL,
    MAKE_SYSTEM,
    check_choice,
    check_number,
    check_type,
    check_whole,
    is_real,
)
from podsim.spec.model import ModelSpec

PHASES = ("prefill", "decode", "end_to_end")
MAKE_CONFIG = "ServingConfig(...) or podsim.serving.predict.config_for(model, system, spec)"
KNEE = 0.99


def check_target(value, field: str) -> float | None:
    """A latency target (TPOT or TTFT) in seconds: None (no target) or a finite time above 0."""
    if value is None:
        return None
    return check_number(
        value,
        field,
        "latency target in seconds",
        low=0.0,
        high=float("inf"),
        low_open=True,
        allowed="a finite number of seconds above 0, or None",
    )


def check_output_cv(output_cv: float) -> None:
    """Reject an output-length coefficient of variation outside [0, 10] with the reason."""
    if not is_real(output_cv) or not 0.0 <= output_cv <= 10.0:
        raise SpecError(
            "output-length coefficient of variation (std / mean)",
            field="output_cv",
            value=output_cv,
            allowed="0 to 10 (0: fixed length, 1: exponential-like)",
        )


def check_max_output_len(max_output_len: float | None, output_len: float) -> None:
    """Reject a reserved output length below the mean output, or absurd, with the reason."""
    if max_output_len is None:
        return
    if not is_real(max_output_len) or not output_len <= max_output_len <= 1.0e7:
        raise SpecError(
            "the output the engine reserves KV cache for runs from the mean output length "
            "(it cannot be shorter) to 10 million tokens",
            field="max_output_len",
            value=max_output_len,
            allowed=f"{output_len:,.0f} (the mean output) to 10,000,000 tokens",
        )


def check_prefix_hit(prefix_hit: float) -> None:
    """Reject a prefix-cache hit fraction outside [0, 1) with the reason."""
    if not is_real(prefix_hit) or not 0.0 <= prefix_hit < 1.0:
        raise SpecError(
            "fraction of each prompt's tokens found in the prefix cache",
            field="prefix_hit",
            value=prefix_hit,
            allowed="0 (no cache) up to, not including, 1 (the last prompt token is always computed)",
        )


KV_ALLOCATIONS = ("reserved", "paged")


def check_kv_allocation(kv_allocation: str | None, max_output_len: float | None) -> None:
    """Reject an unknown KV allocation, or a reserved output length with paged allocation."""
    if kv_allocation is None:
        return
    if kv_allocation not in KV_ALLOCATIONS:
        raise SpecError(
            "unknown KV-cache allocation",
            field="kv_allocation",
            value=kv_allocation,
            allowed="reserved (a request is admitted only if its prompt and output fit: "
            "TensorRT-LLM's no-evict scheduler), paged (pages allocated as sequences grow: "
            "vLLM, SGLang)",
        )
    if kv_allocation == "paged" and max_output_len is not None:
        raise SpecError(
            "a reserved output length needs the reserved KV allocation",
            field="max_output_len",
            value=max_output_len,
            allowed="none with kv_allocation paged",
        )


def resolve_kv_allocation(
    kv_allocation: str | None, max_output_len: float | None, *, batch_given: bool
) -> str:
    """The allocation a prediction uses. Unless told: a batch the model chooses is limited by
    the no-evict reservation (``reserved``); a given batch is one that ran, so it is checked
    against the KV it actually holds (``paged``, the mean context), whatever its engine."""
    check_kv_allocation(kv_allocation, max_output_len)
    if kv_allocation is not None:
        return kv_allocation
    if max_output_len is not None:
        return "reserved"
    return "paged" if batch_given else "reserved"


@dataclass
class ServingConfig:
    """Everything but the batch (scalars)."""

    model: ModelSpec
    system: System
    input_len: float
    output_len: float
    phase: str = "end_to_end"
    precision: str = "bf16"
    kv_precision: str | None = None
    tp: int = 1
    ep: int = 1
    dp: int = 1
    pp: int = 1
    draft_tokens: int = 0
    acceptance: float = DEFAULT_ACCEPTANCE
    moe_imbalance: float = DEFAULT_MOE_IMBALANCE
    step_overhead: float | None = None  # None: the family's serving calibration
    # coefficient of variation of the output length (0: every sequence output_len long)
    output_cv: float = 0.0
    # how the engine holds the KV cache (see memory_context): "reserved" (each admitted request
    # holds input_len + max_output_len tokens, max_output_len None: output_len) or "paged"
    kv_allocation: str = "reserved"
    max_output_len: float | None = None
    # fraction of each prompt found in the prefix cache (shared system prompts, earlier turns):
    # its KV is read, not recomputed (vLLM automatic prefix caching, SGLang RadixAttention)
    prefix_hit: float = 0.0
    # two-batch overlap of the MoE all-to-all (serving_step's ``overlap``): "auto" (where it is
    # faster and experts are spread over EP ranks), "tbo" (always) or "none" (e.g. SGLang
    # without --enable-two-batch-overlap)
    overlap: str = "auto"

    def __post_init__(self) -> None:
        check_config(self)

    @property
    def group_chips(self) -> int:
        """Chips of one attention group (one DP rank): tp x pp."""
        return self.tp * self.pp

    @property
    def instance_chips(self) -> int:
        return self.tp * self.dp * self.pp

    @property
    def emitted_per_seq(self) -> float:
        return 1.0 + self.draft_tokens * self.acceptance

    @property
    def decode_context(self) -> float:
        """Mean cached tokens of a decoding sequence in steady state.

        A slot of a continuous batch holds each sequence for as many iterations as it has
        output tokens, so long outputs weigh more: the time-mean context is
        ``input + E[out^2] / (2 E[out]) = input + output (1 + cv^2) / 2`` for outputs of mean
        ``output_len`` and coefficient of variation ``output_cv`` (``input + output / 2`` for
        equal lengths; ``input + output`` for exponentially distributed ones). Validation cases
        give only the means, so they use ``output_cv = 0``.
        """
        return self.input_len + self.output_len * (1.0 + self.output_cv**2) / 2.0

    @property
    def computed_prompt_len(self) -> float:
        """Prompt tokens a prefill computes: the part not in the prefix cache (at least the
        last token, whose logits give the first output token)."""
        return max(self.input_len * (1.0 - self.prefix_hit), 1.0)

    @property
    def mtp(self) -> bool:
        return self.draft_tokens > 0 and self.model.mtp_layers > 0


def check_config(c: ServingConfig) -> None:
    """Check every field of a serving configuration (run when one is made): the model and
    system objects, the phase, precisions, parallel degrees, lengths, speculation, expert
    imbalance, step overhead and the KV-cache options. A mistake is a SpecError naming the
    field, the value and what is allowed, never an error (or a silent NaN, negative or wrong
    answer) from inside the model. Whole-number fields are stored as ints, lengths as floats."""
    from podsim.serving.capacity import WEIGHT_PRECISIONS
    from podsim.serving.kv import KV_PRECISIONS
    from podsim.spec.jobs import MAX_DEGREE, MAX_DRAFT_TOKENS, MAX_MOE_IMBALANCE, MAX_TOKENS

    check_type(c.model, ModelSpec, "model", MAKE_MODEL)
    check_type(c.system, System, "system", MAKE_SYSTEM)
    check_choice(c.phase, PHASES, "phase", "unknown serving phase")
    check_choice(c.precision, WEIGHT_PRECISIONS, "precision", "unknown serving precision")
    if c.kv_precision is not None and c.kv_precision not in KV_PRECISIONS:
        raise SpecError(
            "unknown KV-cache precision",
            field="kv_precision",
            value=c.kv_precision,
            allowed=", ".join(KV_PRECISIONS) + " or None (bf16)",
        )
    for name in ("tp", "ep", "dp", "pp"):
        v = check_whole(getattr(c, name), name, "parallel degree", low=1, high=MAX_DEGREE)
        setattr(c, name, v)
    tokens = f"a number of tokens from 1 to {MAX_TOKENS:,}"
    for name in ("input_len", "output_len"):
        v = check_number(getattr(c, name), name, "length", low=1.0, high=MAX_TOKENS, allowed=tokens)
        setattr(c, name, v)
    c.draft_tokens = check_whole(
        c.draft_tokens, "draft_tokens", "speculative draft tokens", low=0, high=MAX_DRAFT_TOKENS
    )
    c.acceptance = check_number(
        c.acceptance,
        "acceptance",
        "draft-token acceptance rate",
        low=0.0,
        high=1.0,
        allowed="0 to 1",
    )
    c.moe_imbalance = check_number(
        c.moe_imbalance,
        "moe_imbalance",
        "expert load imbalance is the busiest rank's tokens over the mean",
        low=1.0,
        high=MAX_MOE_IMBALANCE,
        allowed=f"1 to {MAX_MOE_IMBALANCE:g}",
    )
    if c.step_overhead is not None:
        c.step_overhead = check_number(
            c.step_overhead,
            "step_overhead",
            "fixed time per iteration in seconds",
            low=0.0,
            high=float("inf"),
            allowed="a finite number of seconds, 0 or more, or None (the calibrated value)",
        )
    check_output_cv(c.output_cv)
    check_prefix_hit(c.prefix_hit)
    check_choice(c.overlap, OVERLAP_MODES, "overlap", "unknown overlap mode")
    # resolved here (resolve_kv_allocation): None is not an allocation
    check_kv_allocation(c.kv_allocation or "none", c.max_output_len)
    check_max_output_len(c.max_output_len, c.output_len)


def check_batch(batch) -> np.ndarray:
    """Batches to evaluate as a float array: whole numbers of sequences from 1 to the spec
    limit, any shape (empty included); anything else is a SpecError naming the first bad one."""
    from podsim.spec.jobs import MAX_SEQUENCES

    arr = np.atleast_1d(np.asarray(batch))
    allowed = f"whole numbers of sequences from 1 to {MAX_SEQUENCES:,}"
    if arr.dtype.kind not in "iuf":
        raise SpecError(
            "batch sizes must be whole numbers",
            field="batch",
            value=batch if np.ndim(batch) == 0 else type(batch).__name__,
            allowed=allowed,
        )
    B = arr.astype(float)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(B) | (B != np.floor(B)) | (B < 1) | (B > MAX_SEQUENCES)
    if bool(np.any(bad)):
        raise SpecError(
            "batch size out of range", field="batch", value=arr[bad][0].item(), allowed=allowed
        )
    return B


@dataclass
class ServingPoints:
    """Metrics per batch size (arrays over ``batch``)."""

    batch: np.ndarray
    iteration_s: np.ndarray
    tpot_s: np.ndarray
    ttft_s: np.ndarray  # mean, including queueing for the prefill
    ttft_p99_s: np.ndarray
    prefill_tokens_per_s_per_chip: np.ndarray
    decode_tokens_per_s_per_chip: np.ndarray
    tokens_per_s_per_chip: np.ndarray  # input + output per second (end to end)
    fits: np.ndarray
    breakdown: dict[str, np.ndarray]
    memory: dict[str, np.ndarray | float] = field(default_factory=dict)
    # whether the iteration runs as two overlapped micro-batches (ServingConfig.overlap)
    two_batch_overlap: np.ndarray | bool = False

    def take(self, i: int) -> dict:
        """One batch's metrics as plain floats."""
        pick = lambda v: float(np.broadcast_to(v, self.batch.shape)[i])  # noqa: E731
        return {
            "batch": int(self.batch[i]),
            "iteration_s": pick(self.iteration_s),
            "tpot_s": pick(self.tpot_s),
            "ttft_s": pick(self.ttft_s),
            "ttft_p99_s": pick(self.ttft_p99_s),
            "prefill_tokens_per_s_per_chip": pick(self.prefill_tokens_per_s_per_chip),
            "decode_tokens_per_s_per_chip": pick(self.decode_tokens_per_s_per_chip),
            "tokens_per_s_per_chip": pick(self.tokens_per_s_per_chip),
            "fits": bool(np.broadcast_to(self.fits, self.batch.shape)[i]),
            "two_batch_overlap": bool(np.broadcast_to(self.two_batch_overlap, self.batch.shape)[i]),
            "breakdown_s": {k: pick(v) for k, v in self.breakdown.items()},
            "memory_bytes": {k: pick(v) for k, v in self.memory.items()},
        }


def _step(c: ServingConfig, **kw):
    return serving_step(
        c.model,
        c.system,
        tp=c.tp,
        ep=c.ep,
        dp=c.dp,
        pp=c.pp,
        precision=c.precision,
        kv_precision=c.kv_precision,
        draft_tokens=c.draft_tokens if c.phase != "prefill" else 0,
        acceptance=c.acceptance,
        moe_imbalance=c.moe_imbalance,
        step_overhead=c.step_overhead,
        prompt_len=c.input_len,
        cached_prefix=c.input_len - c.computed_prompt_len,
        overlap=c.overlap,
        **kw,
    )


def tokens_per_seq_per_step(c: ServingConfig) -> float:
    """Tokens one sequence puts through an iteration (activation workspace)."""
    if c.phase == "prefill":
        return c.computed_prompt_len
    q = 1.0 + (c.draft_tokens or 0)
    if c.phase == "decode":
        return q
    return q + c.emitted_per_seq * c.computed_prompt_len / c.output_len


def memory_context(c: ServingConfig) -> float:
    """Cached tokens per sequence that HBM must hold. Prefill: the prompt. Decoding, by the
    engine's KV allocation (:attr:`ServingConfig.kv_allocation`):

    * ``reserved`` (the default for a batch the model chooses): a request is admitted only if
      the cache can hold its prompt plus its whole output, so no running request is ever
      evicted: ``input_len + max_output_len`` (``output_len`` when no limit is given; never
      less than the mean context in use). This is TensorRT-LLM's default ``GUARANTEED_NO_EVICT``
      capacity scheduler, which reserves the prompt plus ``max_new_tokens``
      (https://nvidia.github.io/TensorRT-LLM/performance/performance-tuning-guide/
      useful-runtime-flags.html; NVIDIA Dynamo's scheduler mocker reserves "prompt plus maximum
      output" for it), and trtllm-bench sizes its batch the same way: KV memory over
      ``bytes per token x (ISL + OSL)`` (tensorrt_llm/bench/build/tuning.py,
      ``calc_engine_setting``). For a reasoning workload (MLPerf DeepSeek-R1: mean output
      3,886 tokens, limit 20,000, https://mlcommons.org/2025/09/deepseek-inference-5-1/) the
      limit, not the mean, is reserved, and it caps the batch.
    * ``paged``: pages are allocated as sequences grow and a request is preempted when the
      cache is full (vLLM PagedAttention, SGLang), so the cache holds the steady-state mean
      context (:attr:`ServingConfig.decode_context`)."""
    if c.phase == "prefill":
        return c.input_len
    if c.kv_allocation == "paged":
        return c.decode_context
    out = c.output_len if c.max_output_len is None else c.max_output_len
    return max(c.input_len + out, c.decode_context)


def batch_limit(c: ServingConfig) -> int:
    """Largest batch per attention group that fits in memory (0: the weights do not fit).

    A prefill instance whose weights do not fit keeps half of its usable HBM for the prompts'
    KV cache and activations and streams the other weights from host memory layer by layer,
    prefetched behind the compute of the layer before (SGLang "scaling down by offloading",
    DeepSpeed ZeRO-Inference); the transfer is assumed hidden behind prefill compute.
    """
    kw = dict(
        precision=c.precision,
        kv_precision=c.kv_precision,
        context=memory_context(c),
        tokens_per_seq=tokens_per_seq_per_step(c),
        tp=c.tp,
        ep=c.ep,
        dp=c.dp,
        pp=c.pp,
        mtp=c.mtp,
    )
    n = int(max_batch(c.model, c.system.chip, **kw))
    if n < 1 and c.phase == "prefill" and weights_offloaded(c) > 0:
        n = int(max_batch(c.model, c.system.chip, weights=0.5 * usable_hbm(c), **kw))
    return n


def usable_hbm(c: ServingConfig) -> float:
    return c.system.chip.hbm_capacity.value * (1.0 - RESERVE_FRACTION)


def weights_offloaded(c: ServingConfig) -> float:
    """Weight bytes per chip a prefill instance keeps in host memory (0 when they fit)."""
    w = float(
        weight_bytes_per_chip(c.model, c.precision, tp=c.tp, ep=c.ep, dp=c.dp, pp=c.pp, mtp=c.mtp)
    )
    if c.phase != "prefill":
        return 0.0
    return max(w - 0.5 * usable_hbm(c), 0.0) if w > usable_hbm(c) else 0.0


def evaluate(c: ServingConfig, batch) -> ServingPoints:
    """Metrics of ``batch`` sequences per attention group (array-valued; whole numbers of at
    least 1, :func:`check_batch`)."""
    check_type(c, ServingConfig, "config", MAKE_CONFIG)
    B = check_batch(batch)
    g = float(c.group_chips)
    e = c.emitted_per_seq
    L = c.computed_prompt_len  # prompt tokens computed; throughputs count every prompt token
    if c.phase == "prefill":
        st = _step(c, prefill_tokens=B * L)
        t = st.time
        pre = B * c.input_len / t / g
        dec = np.zeros_like(t)
        tot = pre
        tpot = np.full_like(t, np.nan)
        ttft = ttft99 = t
    else:
        ctx = c.decode_context
        pf = B * e * L / c.output_len if c.phase == "end_to_end" else 0.0 * B
        # whole prompts land on one attention-DP rank; the busiest rank sets the pace
        pfb = busiest_prompts(pf / L, c.dp) * L
        st = _step(c, seqs=B, context=ctx, prefill_tokens=pf, prefill_busiest=pfb)
        t = st.time
        dec = B * e / t / g
        tpot = t / e
        if c.phase == "end_to_end":
            tot = B * e * (1.0 + c.input_len / c.output_len) / t / g
            first = _step(
                c,
                seqs=B,
                context=ctx,
                prefill_tokens=pf + L / c.dp,
                prefill_busiest=pfb + L,
            )
            ttft, ttft99 = queued_ttft(c, B, t, first.time)
        else:
            tot = dec
            # a decode instance's TTFT: one prompt's prefill on one attention-DP rank
            ttft = _step(
                c,
                prefill_tokens=np.ones_like(B) * L / c.dp,
                prefill_busiest=np.ones_like(B) * L,
            ).time
            ttft99 = ttft
        pre = (
            np.where(pf > 0, pf * (c.input_len / L) / t / g, 0.0)
            if c.phase == "end_to_end"
            else np.zeros_like(t)
        )
    mem = serving_memory(
        c.model,
        c.system.chip,
        precision=c.precision,
        kv_precision=c.kv_precision,
        batch=B,
        context=memory_context(c),
        tokens_per_step=B * tokens_per_seq_per_step(c),
        tp=c.tp,
        ep=c.ep,
        dp=c.dp,
        pp=c.pp,
        mtp=c.mtp,
        offloaded=weights_offloaded(c),
    )
    return ServingPoints(
        batch=B,
        iteration_s=t,
        tpot_s=tpot,
        ttft_s=ttft,
        ttft_p99_s=ttft99,
        prefill_tokens_per_s_per_chip=pre,
        decode_tokens_per_s_per_chip=dec,
        tokens_per_s_per_chip=tot,
        fits=mem.fits,
        breakdown=st.breakdown,
        two_batch_overlap=st.extra["two_batch_overlap"],
        memory=mem.as_dict(),
    )


def queued_ttft(c: ServingConfig, B, iteration, first) -> tuple[np.ndarray, np.ndarray]:
    """(mean, p99) TTFT of continuous batching under Poisson arrivals.

    Prompts reach an attention group at ``lambda = B x emitted / output`` per iteration (steady
    state). Each needs a prefill service time ``D``: the time its whole prompt adds to an
    iteration of the running batch (``first - iteration``) -- a short prompt rides on the
    batch's weight reads and costs its marginal FLOPs, a long one turns the iteration
    compute-bound and costs nearly what it costs alone. The group spends ``rho = lambda D`` of
    its time prefilling; a prompt waits for the prefills queued before it: M/D/1 mean wait
    ``W = rho D / (2 (1 - rho))`` (Pollaczek-Khinchine), with an exponential tail
    ``P(wait > t) = rho exp(-t rho / W)``, so ``p99 = (W / rho) ln(100 rho)``. TTFT is the
    iteration that carries the prompt plus the wait; latency targets are checked at p99, as
    MLPerf's server and interactive scenarios do.
    """
    D = np.maximum(first - iteration, 0.0)
    lam = B * c.emitted_per_seq / c.output_len / iteration  # prompts per second per group
    rho = lam * D
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(rho < 1.0, rho * D / (2.0 * (1.0 - rho)), np.inf)
        tail = np.where(rho > 0.01, w / np.maximum(rho, 1e-12) * np.log(100.0 * rho), 0.0)
    return first + w, first + np.where(rho < 1.0, tail, np.inf)


def batch_grid(limit: int) -> np.ndarray:
    """Candidate batches 1..limit: every integer to 512, then ~1% steps."""
    if limit < 1:
        return np.zeros(0)
    small = np.arange(1, min(limit, 512) + 1, dtype=float)
    big = np.unique(np.floor(np.geomspace(512, limit, 400))) if limit > 512 else np.zeros(0)
    return np.unique(np.concatenate([small, big, [float(limit)]]))


def throughput_key(c: ServingConfig, pts: ServingPoints) -> np.ndarray:
    if c.phase == "prefill":
        return pts.prefill_tokens_per_s_per_chip
    if c.phase == "decode":
        return pts.decode_tokens_per_s_per_chip
    return pts.tokens_per_s_per_chip


@dataclass
class BatchChoice:
    constrained: dict | None  # the largest batch meeting the targets (None: no target given)
    unconstrained: dict  # the best throughput within memory
    limit: int  # memory limit on the batch
    reason: str | None = None  # why no batch meets the targets
    # when none does: the batch that comes closest (smallest worst ratio of latency to target)
    closest: dict | None = None


def choose_batch(
    c: ServingConfig, *, tpot: float | None = None, ttft: float | None = None
) -> BatchChoice:
    """Unconstrained best throughput within memory, and the largest batch meeting the targets
    (``tpot``, ``ttft``: seconds above 0, or None)."""
    check_type(c, ServingConfig, "config", MAKE_CONFIG)
    tpot = check_target(tpot, "tpot")
    ttft = check_target(ttft, "ttft")
    limit = batch_limit(c)
    if limit < 1:
        from podsim.units import format_quantity as fq

        w = float(
            weight_bytes_per_chip(
                c.model, c.precision, tp=c.tp, ep=c.ep, dp=c.dp, pp=c.pp, mtp=c.mtp
            )
        )
        raise PlanError(
            f"not even one sequence fits: weights {fq(w, 'bytes')} per chip leave no room for "
            f"the KV cache in {fq(c.system.chip.hbm_capacity.value, 'bytes')} HBM",
            field="batch",
            allowed="more TP/PP/EP chips, a lower precision or a shorter context",
        )
    grid = batch_grid(limit)
    pts = evaluate(c, grid)
    key = throughput_key(c, pts)
    # the smallest batch within 1% of the best throughput: an engine gains nothing beyond it
    best = int(np.flatnonzero(key >= KNEE * np.nanmax(key))[0])
    unconstrained = pts.take(best)
    if tpot is None and ttft is None:
        return BatchChoice(None, unconstrained, limit)
    ok = np.ones(grid.shape, dtype=bool)
    if tpot is not None and c.phase != "prefill":
        ok &= pts.tpot_s <= tpot
    if ttft is not None:
        ok &= pts.ttft_p99_s <= ttft
    if not ok.any():
        floor_tpot = float(np.nanmin(pts.tpot_s)) if c.phase != "prefill" else None
        floor_ttft = float(np.nanmin(pts.ttft_p99_s))
        parts = []
        if tpot is not None and floor_tpot is not None and floor_tpot > tpot:
            parts.append(
                f"TPOT target {tpot * 1e3:.3g} ms is below the one-sequence floor "
                f"{floor_tpot * 1e3:.3g} ms"
            )
        if ttft is not None and floor_ttft > ttft:
            parts.append(f"TTFT target {ttft:.3g} s is below the floor {floor_ttft:.3g} s")
        reason = "; ".join(parts) or "no batch meets the latency targets"
        excess = np.ones(grid.shape)
        if tpot is not None and c.phase != "prefill":
            excess = np.maximum(excess, pts.tpot_s / tpot)
        if ttft is not None:
            excess = np.maximum(excess, pts.ttft_p99_s / ttft)
        closest = pts.take(int(np.nanargmin(excess)))
        return BatchChoice(None, unconstrained, limit, reason, closest)
    # the best throughput among the batches that meet the targets (the largest, as TPOT grows
    # with the batch)
    idx = np.flatnonzero(ok)
    i = int(idx[np.nanargmax(key[idx])])
    if i + 1 < grid.size and grid[i + 1] > grid[i] + 1:
        # refine between this grid point and the next (the grid is coarse above 512)
        fine = np.arange(grid[i], grid[i + 1])
        fp = evaluate(c, fine)
        fok = np.ones(fine.shape, dtype=bool)
        if tpot is not None and c.phase != "prefill":
            fok &= fp.tpot_s <= tpot
        if ttft is not None:
            fok &= fp.ttft_p99_s <= ttft
        fkey = throughput_key(c, fp)
        j = np.flatnonzero(fok)
        return BatchChoice(fp.take(int(j[np.nanargmax(fkey[j])])), unconstrained, limit)
    return BatchChoice(pts.take(i), unconstrained, limit)
