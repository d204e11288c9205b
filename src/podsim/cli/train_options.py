"""Turn the training-plan options shared by `podsim train` and `podsim goodput` into a spec."""

from __future__ import annotations

from pydantic import ValidationError

from podsim.spec.errors import spec_error
from podsim.spec.jobs import TrainingSpec

DEFAULT_SEQ_LEN = 4096


def training_spec(
    chips: int,
    *,
    precision: str,
    seq_len: int | None,
    global_batch: int | None,
    micro_batch: int,
    tp: int,
    pp: int,
    cp: int,
    ep: int,
    dp: int | None,
    vpp: int,
    zero: int,
    recompute: str,
    sequence_parallel: bool = True,
) -> TrainingSpec:
    """A validated TrainingSpec; the global batch defaults to one sequence per DP rank."""
    try:
        return TrainingSpec(
            precision=precision,
            seq_len=DEFAULT_SEQ_LEN if seq_len is None else seq_len,
            global_batch=(
                max(chips // max(tp * pp * cp, 1), 1) if global_batch is None else global_batch
            ),
            micro_batch=micro_batch,
            tp=tp,
            pp=pp,
            cp=cp,
            ep=ep,
            dp=dp,
            vpp=vpp,
            sequence_parallel=sequence_parallel,
            zero=zero,
            recompute=recompute,
        )
    except ValidationError as exc:
        raise spec_error(exc, what="training plan") from None
