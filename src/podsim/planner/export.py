"""A chosen plan as launch arguments: Megatron-LM, MindSpeed (Ascend), vLLM and SGLang.

Flag names and meanings, from the frameworks' documentation:

* Megatron-LM / Megatron-Core ``megatron/training/arguments.py`` and the parallelism guide
  (https://docs.nvidia.com/megatron-core/developer-guide/latest/user-guide/parallelism-guide.html):
  ``--tensor-model-parallel-size``, ``--pipeline-model-parallel-size``,
  ``--num-layers-per-virtual-pipeline-stage`` (interleaved 1F1B when the layers split evenly;
  ``--num-virtual-stages-per-pipeline-rank`` otherwise), ``--context-parallel-size``,
  ``--expert-model-parallel-size``, ``--sequence-parallel``, ``--use-distributed-optimizer``
  (ZeRO-1: optimizer states sharded over data parallel), Megatron-FSDP
  ``--use-megatron-fsdp --data-parallel-sharding-strategy optim_grads`` (ZeRO-2) /
  ``optim_grads_params`` (ZeRO-3), ``--recompute-granularity selective|full`` with
  ``--recompute-method uniform --recompute-num-layers 1`` for full-layer recompute
  (https://docs.nvidia.com/nemo/megatron-bridge/latest/training/activation-recomputation.html),
  ``--pipeline-model-parallel-layout`` for uneven stages (stages split by ``|``, ``E`` embedding,
  ``t`` decoder layer, ``m`` MTP layer, ``L`` loss; ``pp x vpp`` stages; Megatron-Core "Custom
  Pipeline Model Parallel Layout",
  https://docs.nvidia.com/megatron-core/developer-guide/latest/user-guide/features/pipeline_parallel_layout.html;
  MindSpeed supports the same flag, gitcode.com/Ascend/MindSpeed
  docs/zh/features/pipeline-model-parallel-layout.md), ``--micro-batch-size``,
  ``--global-batch-size``, ``--seq-length``, ``--bf16`` / ``--fp16``, ``--fp8-format hybrid``
  (Transformer Engine FP8: E4M3 forward, E5M2 backward).
* MindSpeed-LLM (Ascend) accepts the Megatron flags and adds fused-kernel switches used in its
  pretrain scripts (e.g. ``tests/.../pretrain_qwen3_32b_ms.sh`` in gitee/github
  Ascend/MindSpeed-LLM): ``--use-flash-attn``, ``--use-fused-rotary-pos-emb``,
  ``--use-fused-swiglu``, ``--use-fused-rmsnorm``, ``--use-mcore-models``, and
  ``--context-parallel-algo megatron_cp_algo`` (ring attention, as the step model assumes).
* vLLM engine arguments (https://docs.vllm.ai/en/latest/models/engine_args.html; data- and
  expert-parallel deployment,
  https://docs.vllm.ai/en/latest/serving/data_parallel_deployment/):
  ``--tensor-parallel-size``, ``--pipeline-parallel-size``, ``--data-parallel-size``,
  ``--enable-expert-parallel`` (EP size = TP x DP; without it the experts are tensor-sharded over
  TP x DP), ``--max-num-seqs`` (per engine, i.e. per DP rank), ``--kv-cache-dtype``,
  ``--quantization``.
* SGLang server arguments (https://docs.sglang.io/advanced_features/server_arguments.html):
  ``--tp-size`` (all GPUs of the instance), ``--dp-size`` with ``--enable-dp-attention``
  (attention data parallel inside the TP group), ``--ep-size``, ``--max-running-requests``.
"""

from __future__ import annotations

import shlex

from podsim.errors import SpecError

FRAMEWORKS_TRAIN = ("megatron", "mindspeed")
FRAMEWORKS_SERVE = ("vllm", "sglang")

MINDSPEED_FUSED = (
    "--use-mcore-models",
    "--use-flash-attn",
    "--use-fused-rotary-pos-emb",
    "--use-fused-swiglu",
    "--use-fused-rmsnorm",
)


def pipeline_layout(layers: int, pp: int, vpp: int = 1, *, mtp_layers: int = 0) -> str:
    """A balanced ``--pipeline-model-parallel-layout``: ``pp x vpp`` stages in forward order
    (virtual chunk 0 of ranks 0..pp-1, then chunk 1, ...), the embedding (E) on the first, the
    MTP layers (m) and the loss (L) on the last; the LM head and each MTP layer count as one
    decoder layer when the layers are spread, as the step model's uneven-stage balance assumes.
    """
    stages = pp * vpp
    head = 1 + mtp_layers
    q, r = divmod(layers + head, stages)
    count = [q + (1 if i < r else 0) for i in range(stages)]
    count[-1] -= head
    # the head units may outweigh the last stage's share: take the excess from the largest
    while count[-1] < 0:
        j = max(range(stages - 1), key=lambda k: (count[k], -k))
        count[j] -= 1
        count[-1] += 1
    parts = []
    for k, c in enumerate(count):
        tokens = ["E"] if k == 0 else []
        if c:
            tokens.append("t" if c == 1 else f"t*{c}")
        if k == stages - 1:
            tokens += ["m"] * mtp_layers + ["L"]
        parts.append(",".join(tokens))  # commas are cosmetic in the layout grammar
    return "|".join(parts)


def parse_layout(layout: str) -> list[str]:
    """Stages of a layout string, expanded (``t*3`` -> ``ttt``; ``(tt|)*2`` -> ``tt|tt|``)."""
    import re

    s = layout.replace(",", "")
    group = re.compile(r"\(([^()]*)\)\*(\d+)")
    while group.search(s):
        s = group.sub(lambda g: g.group(1) * int(g.group(2)), s)
    s = re.sub(r"([EtmL])\*(\d+)", lambda g: g.group(1) * int(g.group(2)), s)
    return s.split("|")


def megatron_args(
    plan: dict, *, layers: int, precision: str = "bf16", mtp_layers: int = 0
) -> list[str]:
    """Megatron-LM arguments for a training plan (a :func:`podsim.planner.search.plan_dict`)."""
    p = plan
    a = [
        "--num-layers",
        str(layers),
        "--tensor-model-parallel-size",
        str(p["tp"]),
        "--pipeline-model-parallel-size",
        str(p["pp"]),
    ]
    uneven = bool(p.get("uneven_pp")) and p["pp"] > 1
    if uneven:
        a += [
            "--pipeline-model-parallel-layout",
            pipeline_layout(layers, p["pp"], p["vpp"], mtp_layers=mtp_layers),
        ]
    elif p["vpp"] > 1:
        if layers % (p["pp"] * p["vpp"]) == 0:
            a += ["--num-layers-per-virtual-pipeline-stage", str(layers // (p["pp"] * p["vpp"]))]
        else:
            a += ["--num-virtual-stages-per-pipeline-rank", str(p["vpp"])]
    a += ["--context-parallel-size", str(p["cp"])]
    if p["ep"] > 1:
        a += ["--expert-model-parallel-size", str(p["ep"])]
    if p["sequence_parallel"] and p["tp"] > 1:
        a.append("--sequence-parallel")
    z = p["zero"]
    if z == 1:
        a.append("--use-distributed-optimizer")
    elif z == 2:
        a += ["--use-megatron-fsdp", "--data-parallel-sharding-strategy", "optim_grads"]
    elif z == 3:
        a += ["--use-megatron-fsdp", "--data-parallel-sharding-strategy", "optim_grads_params"]
    rc = p["recompute"]
    if rc == "selective":
        a += ["--recompute-granularity", "selective"]
    elif rc == "full":
        a += [
            "--recompute-granularity",
            "full",
            "--recompute-method",
            "uniform",
            "--recompute-num-layers",
            "1",
        ]
    a += [
        "--micro-batch-size",
        str(p["micro_batch"]),
        "--global-batch-size",
        str(p["global_batch"]),
        "--seq-length",
        str(p["seq_len"]),
    ]
    if precision == "fp16":
        a.append("--fp16")
    else:
        a.append("--bf16")
    if precision == "fp8":
        a += ["--fp8-format", "hybrid"]
    elif precision == "fp4":
        raise SpecError(
            "no documented Megatron-LM flag set for FP4 training is exported",
            field="precision",
            value=precision,
            allowed="bf16, fp16, fp8",
        )
    return a


def mindspeed_args(
    plan: dict, *, layers: int, precision: str = "bf16", mtp_layers: int = 0
) -> list[str]:
    """MindSpeed-LLM arguments: the Megatron flags plus Ascend fused kernels and ring CP."""
    a = megatron_args(plan, layers=layers, precision=precision, mtp_layers=mtp_layers)
    if plan["cp"] > 1:
        a += ["--context-parallel-algo", "megatron_cp_algo"]
    return a + list(MINDSPEED_FUSED)


def parse_megatron_args(args: list[str], *, chips: int) -> dict:
    """Read a plan back from Megatron-LM arguments (the inverse of :func:`megatron_args`)."""
    it = iter(range(len(args)))
    vals: dict[str, str | bool] = {}
    for i in it:
        tok = args[i]
        if not tok.startswith("--"):
            raise SpecError("expected a --flag", field="args", value=tok)
        nxt = args[i + 1] if i + 1 < len(args) else None
        if nxt is not None and not nxt.startswith("--"):
            vals[tok] = nxt
            next(it)
        else:
            vals[tok] = True
    geti = lambda k, d=1: int(vals.get(k, d))  # noqa: E731
    layers = geti("--num-layers", 0)
    tp, pp, cp = (
        geti("--tensor-model-parallel-size"),
        geti("--pipeline-model-parallel-size"),
        geti("--context-parallel-size"),
    )
    layout = vals.get("--pipeline-model-parallel-layout")
    if isinstance(layout, str):
        vpp = len(parse_layout(layout)) // pp
    elif "--num-layers-per-virtual-pipeline-stage" in vals:
        vpp = layers // (pp * geti("--num-layers-per-virtual-pipeline-stage"))
    else:
        vpp = geti("--num-virtual-stages-per-pipeline-rank")
    if "--use-megatron-fsdp" in vals:
        zero = {"optim": 1, "optim_grads": 2, "optim_grads_params": 3}[
            str(vals["--data-parallel-sharding-strategy"])
        ]
    else:
        zero = 1 if "--use-distributed-optimizer" in vals else 0
    rc = str(vals.get("--recompute-granularity", "none"))
    if "--fp8-format" in vals:
        precision = "fp8"
    elif "--fp16" in vals:
        precision = "fp16"
    else:
        precision = "bf16"
    return {
        "tp": tp,
        "pp": pp,
        "vpp": vpp,
        "cp": cp,
        "ep": geti("--expert-model-parallel-size"),
        "dp": chips // (tp * pp * cp),
        "zero": zero,
        "recompute": rc,
        "micro_batch": geti("--micro-batch-size"),
        "global_batch": geti("--global-batch-size"),
        "seq_len": geti("--seq-length"),
        "sequence_parallel": "--sequence-parallel" in vals,
        "uneven_pp": isinstance(layout, str),
        "precision": precision,
    }


VLLM_QUANT = {"fp8": "fp8"}
KV_DTYPE = {"fp8": "fp8"}


def vllm_args(plan: dict) -> tuple[list[str], list[str]]:
    """(vLLM arguments, notes) for a serving plan with keys tp, pp, dp, ep, batch, precision,
    kv_precision."""
    p = plan
    notes: list[str] = []
    a = [
        "--tensor-parallel-size",
        str(p["tp"]),
        "--pipeline-parallel-size",
        str(p["pp"]),
    ]
    if p["dp"] > 1:
        a += ["--data-parallel-size", str(p["dp"])]
    if p["ep"] > 1:
        a.append("--enable-expert-parallel")
        if p["ep"] != p["tp"] * p["dp"]:
            notes.append(
                f"vLLM sets the EP size to TP x DP = {p['tp'] * p['dp']}; the plan's ep "
                f"{p['ep']} is not expressible"
            )
    a += ["--max-num-seqs", str(p["batch"])]
    kv = p.get("kv_precision") or None
    a += ["--kv-cache-dtype", KV_DTYPE.get(kv, "auto") if kv else "auto"]
    if kv and kv not in KV_DTYPE and kv not in ("bf16", "fp16"):
        notes.append(f"no vLLM KV-cache dtype for {kv}; left at auto")
    q = p.get("precision", "bf16")
    if q in VLLM_QUANT:
        a += ["--quantization", VLLM_QUANT[q]]
    elif q not in ("bf16", "fp16"):
        notes.append(f"{q} weights: load a pre-quantised checkpoint (no --quantization value)")
    return a, notes


def sglang_args(plan: dict) -> tuple[list[str], list[str]]:
    """(SGLang arguments, notes): --tp-size counts every GPU of the instance; attention DP
    splits it into --dp-size groups."""
    p = plan
    notes: list[str] = []
    a = ["--tp-size", str(p["tp"] * p["dp"])]
    if p["dp"] > 1:
        a += ["--dp-size", str(p["dp"]), "--enable-dp-attention"]
    if p["ep"] > 1:
        a += ["--ep-size", str(p["ep"])]
    if p["pp"] > 1:
        a += ["--pp-size", str(p["pp"])]
    a += ["--max-running-requests", str(p["batch"] * p["dp"])]
    kv = p.get("kv_precision")
    if kv == "fp8":
        a += ["--kv-cache-dtype", "fp8_e4m3"]
    if p.get("precision") == "fp8":
        a += ["--quantization", "fp8"]
    elif p.get("precision") not in (None, "bf16", "fp16", "fp8"):
        notes.append(f"{p['precision']} weights: load a pre-quantised checkpoint")
    return a, notes


def as_command(args: list[str]) -> str:
    return " ".join(shlex.quote(x) for x in args)
