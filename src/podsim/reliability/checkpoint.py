"""Checkpoint cost and interval (reference B4, C3.5).

Symbols: C = blocking checkpoint time (s), M = mean time between job interruptions (s),
R = recovery time per interruption without lost work (detection + restart + reload, s).

- Young (1974): T = sqrt(2·C·M).
- Daly (2006) first order: T = sqrt(2·C·(R + M)).
- Daly higher order: T = sqrt(2CM)·[1 + (1/3)·sqrt(C/2M) + (1/9)·(C/2M)] − C for C < 2M, else M.
- NVIDIA availability-optimal (arXiv 2410.18124): T = C + sqrt(2·(M + R)·C + C²).

The last one is the exact maximiser of the ETTR model podsim uses,
ETTR(T) = (1 − C/T) / (1 + (R + T/2)/M): setting d ln ETTR/dT = 0 gives
T² − 2CT − 2C(M + R) = 0. So it is the default interval; the others are reported alongside.
T here is the period between checkpoint starts (it includes C).

Checkpoint modes:
- ``storage``: every chip writes its share of the state to shared storage; C = overhead +
  bytes/write bandwidth; reload = bytes/read bandwidth.
- ``in-memory``: a blocking device-to-host snapshot (C = bytes/host copy bandwidth), then an
  asynchronous copy to a peer's memory over the scale-out network (Gemini, ByteRobust); the
  interval cannot be shorter than that copy or than one training step; reload from the peer.
All functions broadcast over numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podsim.errors import SpecError
from podsim.reliability.params import ReliabilityParams, load_params

MODES = ("storage", "in-memory")


def _free_is_zero(c, t) -> np.ndarray:
    """An interval formula's value, 0 where the checkpoint is free (C = 0): every formula tends to
    0 there for a finite MTBF, and with no failures (M = ∞) the product C·M is 0·∞ = NaN."""
    return np.where(np.asarray(c, float) > 0, t, 0.0)


def young_interval(c, m):
    """Young: sqrt(2 C M)."""
    with np.errstate(invalid="ignore"):
        return _free_is_zero(c, np.sqrt(2.0 * np.asarray(c, float) * np.asarray(m, float)))


def daly_interval(c, m, r=0.0):
    """Daly first order: sqrt(2 C (R + M))."""
    c = np.asarray(c, float)
    with np.errstate(invalid="ignore"):
        return _free_is_zero(c, np.sqrt(2.0 * c * (np.asarray(r, float) + np.asarray(m, float))))


def daly_higher_order_interval(c, m):
    """Daly higher order; M where C >= 2M."""
    c = np.asarray(c, float)
    m = np.asarray(m, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = c / (2.0 * m)
        t = np.sqrt(2.0 * c * m) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - c
    return _free_is_zero(c, np.where(c < 2.0 * m, t, m))


def availability_optimal_interval(ts, tf, tr=0.0):
    """NVIDIA: Ts + sqrt(2 (Tf + Tr) Ts + Ts²); exact optimum of podsim's ETTR model."""
    ts = np.asarray(ts, float)
    with np.errstate(invalid="ignore"):
        t = ts + np.sqrt(2.0 * (np.asarray(tf, float) + np.asarray(tr, float)) * ts + ts * ts)
    return _free_is_zero(ts, t)


def storage_write_time(bytes_per_chip, params: ReliabilityParams | None = None):
    """Blocking checkpoint to shared storage: fixed overhead + bytes / per-chip write bandwidth."""
    p = params or load_params()
    return (
        p.checkpoint_write_overhead_s
        + np.asarray(bytes_per_chip, float) / p.storage_write_bw_per_chip
    )


def storage_reload_time(bytes_per_chip, params: ReliabilityParams | None = None):
    p = params or load_params()
    return np.asarray(bytes_per_chip, float) / p.storage_read_bw_per_chip


def in_memory_times(bytes_per_chip, scale_out_bandwidth, params: ReliabilityParams | None = None):
    """(blocking snapshot s, peer copy s, reload from peer s) for an in-memory checkpoint."""
    p = params or load_params()
    b = np.asarray(bytes_per_chip, float)
    peer = np.asarray(scale_out_bandwidth, float) * p.peer_network_efficiency
    return b / p.host_copy_bw, b / peer, b / peer


@dataclass(frozen=True)
class CheckpointPlan:
    mode: str
    state_bytes_per_chip: float
    cost_s: float  # C, blocking time per checkpoint
    interval_s: float  # T used (period between checkpoint starts)
    reload_s: float
    min_interval_s: float
    young_s: float
    daly_s: float
    daly_higher_s: float
    optimal_s: float  # NVIDIA availability-optimal = ETTR-optimal

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def checkpoint_costs(
    mode: str,
    state_bytes_per_chip: float,
    scale_out_bandwidth: float | None,
    step_time_s: float | None,
    p: ReliabilityParams,
) -> tuple[float, float, float]:
    """(time one checkpoint stalls training, reload time after a failure, shortest interval) for
    a checkpoint ``mode``: storage writes, or in-memory snapshots copied to peers over the
    scale-out network (interval at least the copy and a few steps)."""
    step = float(step_time_s or 0.0)
    if mode == "storage":
        c = float(storage_write_time(state_bytes_per_chip, p))
        reload = (
            p.recovery.reload_s
            if p.recovery.reload_s is not None
            else float(storage_reload_time(state_bytes_per_chip, p))
        )
        return c, reload, max(c, step)
    if scale_out_bandwidth is None or scale_out_bandwidth <= 0:
        raise SpecError(
            "in-memory checkpoints need the scale-out bandwidth of the system",
            field="scale_out_bandwidth",
            value=scale_out_bandwidth,
        )
    snap, copy, peer_reload = (
        float(x) for x in in_memory_times(state_bytes_per_chip, scale_out_bandwidth, p)
    )
    reload = p.recovery.reload_s if p.recovery.reload_s is not None else peer_reload
    return snap, reload, max(snap, copy, step * p.in_memory_interval_floor_steps)


def plan_checkpoint(
    *,
    mode: str,
    state_bytes_per_chip: float,
    mtbf_s: float,
    recovery_s: float,
    scale_out_bandwidth: float | None = None,
    step_time_s: float | None = None,
    interval_s: float | None = None,
    params: ReliabilityParams | None = None,
) -> CheckpointPlan:
    """Checkpoint cost, reload time and interval for one job.

    ``recovery_s`` is detection + restart (without reload); the reload is added here.
    ``interval_s`` forces an interval (else the ETTR-optimal one, floored at the minimum).
    """
    p = params or load_params()
    if mode not in MODES:
        raise SpecError(
            "unknown checkpoint mode", field="checkpoint", value=mode, allowed=", ".join(MODES)
        )
    if state_bytes_per_chip < 0:
        raise SpecError(
            "checkpoint state must not be negative",
            field="state_bytes_per_chip",
            value=state_bytes_per_chip,
        )
    c, reload, floor = checkpoint_costs(
        mode, state_bytes_per_chip, scale_out_bandwidth, step_time_s, p
    )
    r = recovery_s + reload
    opt = float(availability_optimal_interval(c, mtbf_s, r)) if c > 0 else floor
    t = float(interval_s) if interval_s is not None else max(opt, floor)
    # the optimum exceeds C whenever C > 0; it is 0 only for a free checkpoint (no state, or an
    # in-memory snapshot of nothing) with no floor: checkpointing continuously then loses nothing
    # (the ETTR model reads C/T as 0 there), so only a forced interval can be too short
    if interval_s is not None and t <= c:
        raise SpecError(
            "checkpoint interval must exceed the checkpoint time",
            field="checkpoint_interval",
            value=t,
            allowed=f"more than {c:.3g} s",
        )
    return CheckpointPlan(
        mode=mode,
        state_bytes_per_chip=float(state_bytes_per_chip),
        cost_s=c,
        interval_s=t,
        reload_s=float(reload),
        min_interval_s=floor,
        young_s=float(young_interval(c, mtbf_s)),
        daly_s=float(daly_interval(c, mtbf_s, r)),
        daly_higher_s=float(daly_higher_order_interval(c, mtbf_s)),
        optimal_s=opt,
    )
