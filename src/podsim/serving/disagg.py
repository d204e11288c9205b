"""Prefill/decode disaggregation: pool sizes for an input/output mix and the KV hand-over.

Prefill instances turn prompts into KV caches; decode instances generate from them (DistServe,
OSDI'24, arXiv 2401.09670; Splitwise, ISCA'24; CloudMatrix-Infer, arXiv 2506.12708). In steady
state both pools serve the same request rate ``r``:

    r = n_prefill x R_prefill / input_len = n_decode x R_decode / output_len

with ``R`` the per-chip token rates of each pool at its own batch (:mod:`podsim.serving.slo`), so
``n_prefill / n_decode = (input_len / R_prefill) / (output_len / R_decode)``. End-to-end
throughput per chip is ``r (input_len + output_len) / (n_prefill + n_decode)``.

Each request's KV cache (all layers, ``input_len`` tokens) moves from a prefill chip to a decode
chip once, over the scale-up fabric when both pools share a supernode (CloudMatrix UB) or over
the scale-out network otherwise; it adds to TTFT, and its bandwidth demand per chip is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from podsim.cost import collectives as coll
from podsim.errors import SpecError
from podsim.serving.kv import kv_bytes_per_token
from podsim.serving.slo import ServingConfig, choose_batch
from podsim.spec.checks import check_type, check_whole
from podsim.spec.jobs import MAX_DEGREE

NETWORKS = ("scale_up", "scale_out")


@dataclass
class DisaggResult:
    prefill: dict  # chosen point of the prefill pool
    decode: dict  # chosen point of the decode pool
    prefill_chips_per_decode_chip: float
    prefill_fraction: float  # prefill chips / all chips
    requests_per_s_per_chip: float
    tokens_per_s_per_chip: float  # input + output per second per chip of both pools
    output_tokens_per_s_per_chip: float
    kv_bytes_per_request: float
    kv_transfer_s: float
    ttft_s: float  # prefill iteration + KV transfer
    tpot_s: float
    network: str
    # pool sizes for a given chip count, in whole instances (None: not given, or fewer chips than
    # one instance of each pool)
    prefill_chips: int | None = None
    decode_chips: int | None = None
    idle_chips: int | None = None  # what no whole instance of either pool fits
    min_chips: int = 0  # one instance of each pool
    tokens_per_s_per_chip_whole_instances: float | None = None  # over all chips, idle included

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def whole_instance_pools(
    chips: int,
    prefill_instance: int,
    decode_instance: int,
    rate_p: float,
    rate_d: float,
    input_len: float,
    output_len: float,
) -> dict:
    """Split ``chips`` into whole prefill instances (``prefill_instance`` chips each, ``rate_p``
    prompt tokens/s per chip) and whole decode instances (``decode_instance`` chips, ``rate_d``
    output tokens/s per chip): the split with the highest request rate, each pool serving
    ``instances x chips x rate / length`` requests per second; what no whole instance fits is
    idle. No split (zero instances) when one instance of each does not fit or a rate is zero."""
    best = (0.0, 0, 0)
    if rate_p and rate_d:
        for k in range(1, chips // prefill_instance + 1):
            j = (chips - k * prefill_instance) // decode_instance
            if j < 1:
                break
            req = min(
                k * prefill_instance * rate_p / input_len,
                j * decode_instance * rate_d / output_len,
            )
            if req > best[0]:
                best = (req, k, j)
    req, k, j = best
    return {
        "prefill_instances": k,
        "prefill_chips": k * prefill_instance,
        "decode_instances": j,
        "decode_chips": j * decode_instance,
        "idle_chips": chips - k * prefill_instance - j * decode_instance,
        "tokens_per_s_per_chip_whole_instances": req * (input_len + output_len) / chips,
    }


def check_network(network: str) -> None:
    """Reject a KV-transfer network other than the scale-up or scale-out one."""
    if network not in NETWORKS:
        raise SpecError(
            "unknown KV-transfer network",
            field="network",
            value=network,
            allowed=", ".join(NETWORKS),
        )


def kv_transfer_time(c: ServingConfig, network: str) -> tuple[float, float]:
    """(bytes, seconds) to move one request's KV cache from a prefill to a decode chip."""
    check_network(network)
    nbytes = c.input_len * kv_bytes_per_token(c.model, c.kv_precision, mtp=c.mtp)
    sysm = c.system
    # a peer inside the scale-up domain (stride 1) or one domain away (stride = domain size)
    stride = 1 if network == "scale_up" else max(sysm.scale_up_domain, 1)
    if network == "scale_out" and sysm.chips <= sysm.scale_up_domain:
        # a single domain: the transfer still uses the NICs (RDMA plane) -- cost it at the
        # scale-out bandwidth directly
        bw = sysm.scale_out_bandwidth
        return nbytes, nbytes / bw
    t = float(coll.send_recv(nbytes, stride, sysm))
    return nbytes, t


def disaggregate(
    prefill: ServingConfig,
    decode: ServingConfig,
    *,
    tpot: float | None = None,
    ttft: float | None = None,
    network: str = "scale_up",
    chips: int | None = None,
) -> DisaggResult:
    """Size the prefill and decode pools for ``prefill.input_len`` / ``decode.output_len``;
    with ``chips``, split that many chips into whole prefill and decode instances."""
    for c, name in ((prefill, "prefill"), (decode, "decode")):
        check_type(
            c,
            ServingConfig,
            name,
            f"ServingConfig(..., phase='{name}') or config_for(model, system, spec)",
        )
    if prefill.phase != "prefill" or decode.phase != "decode":
        raise SpecError("disaggregate needs a prefill config and a decode config", field="phase")
    if decode.input_len != prefill.input_len:
        # the decode pool caches the prompts the prefill pool computed
        raise SpecError(
            f"the decode config's prompt ({decode.input_len:,.0f} tokens) is not the prefill "
            f"config's ({prefill.input_len:,.0f})",
            field="input_len",
            value=decode.input_len,
            allowed=f"{prefill.input_len:,.0f}, the same prompt length in both configs",
        )
    if chips is not None:
        chips = check_whole(chips, "chips", "chips to split into pools", low=1, high=MAX_DEGREE)
    pc = choose_batch(prefill, ttft=ttft)
    dc = choose_batch(decode, tpot=tpot)
    pp_ = pc.constrained or pc.unconstrained
    dp_ = dc.constrained or dc.unconstrained
    if (ttft is not None and pc.constrained is None) or (
        tpot is not None and dc.constrained is None
    ):
        from podsim.errors import PlanError

        raise PlanError(
            (pc.reason or dc.reason) or "no batch meets the latency targets", field="slo"
        )
    rp = pp_["prefill_tokens_per_s_per_chip"]
    rd = dp_["decode_tokens_per_s_per_chip"]
    inp, out = prefill.input_len, decode.output_len
    # chips per request/s in each pool
    cp = inp / rp
    cd = out / rd
    req_per_chip = 1.0 / (cp + cd)
    nbytes, t_kv = kv_transfer_time(prefill, network)
    pools = None
    if chips is not None:
        # whole instances of each pool's plan; the ideal split above is rarely a whole number.
        # Fewer chips than one instance of each: no pools (the per-chip figures of the ideal
        # split still hold for a deployment of many instances)
        pools = whole_instance_pools(
            chips, prefill.instance_chips, decode.instance_chips, rp, rd, inp, out
        )
        if pools["prefill_instances"] == 0:
            pools = None
    return DisaggResult(
        prefill=pp_,
        decode=dp_,
        prefill_chips_per_decode_chip=float(cp / cd),
        prefill_fraction=float(cp / (cp + cd)),
        requests_per_s_per_chip=float(req_per_chip),
        tokens_per_s_per_chip=float(req_per_chip * (inp + out)),
        output_tokens_per_s_per_chip=float(req_per_chip * out),
        kv_bytes_per_request=float(nbytes),
        kv_transfer_s=float(t_kv),
        ttft_s=float(pp_["ttft_s"] + t_kv),
        tpot_s=float(dp_["tpot_s"]),
        network=network,
        prefill_chips=None if pools is None else pools["prefill_chips"],
        decode_chips=None if pools is None else pools["decode_chips"],
        idle_chips=None if pools is None else pools["idle_chips"],
        min_chips=prefill.instance_chips + decode.instance_chips,
        tokens_per_s_per_chip_whole_instances=(
            None if pools is None else pools["tokens_per_s_per_chip_whole_instances"]
        ),
    )
