"""Chip (accelerator package) spec: dense peak FLOPS per precision, HBM, links, power, status."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from podsim.spec.base import Spec
from podsim.spec.figure import Figure, figure

Precision = Literal["fp32", "bf16", "fp16", "fp8", "int8", "fp4"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16", "fp8", "int8", "fp4")
# Bytes per element of each numeric format (fp4 packs two per byte; scales ignored).
BYTES_PER_ELEMENT: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
}

# A bound far beyond any chip (288 GB in 2025), so that a mistyped capacity is an error naming
# the field instead of an integer overflow when the serving model counts the sequences it holds.
MAX_HBM_BYTES = 1e15


class ChipSpec(Spec):
    """One accelerator package as it is sold (a dual-die 910C or B200 is one chip)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    vendor: Literal["nvidia", "amd", "google", "huawei"]
    family: str = Field(description="calibration family, e.g. 'hopper', 'ascend-910'")
    status: Literal["shipping", "announced"]
    date: str = Field(description="first shipment (or announced date), YYYY or YYYY-MM or YYYY-QN")
    dies: int = Field(ge=1)
    flops: dict[Precision, figure("flops", positive=True)] = Field(
        description="dense peak FLOP/s (or OP/s for int8) per precision; never sparse"
    )
    hbm_capacity: figure("bytes", positive=True, most=MAX_HBM_BYTES, unit=" B (1 PB)")
    hbm_bandwidth: figure("bandwidth", positive=True)
    scale_up_bandwidth: figure("bandwidth", positive=True) = Field(
        description="per chip, one direction"
    )
    scale_up_domain: int = Field(
        ge=1, description="default scale-up domain size of this chip's platform"
    )
    scale_up_latency: figure("time") | None = None
    scale_out_bandwidth: figure("bandwidth", positive=True) = Field(
        description="scale-out NIC bandwidth per chip, one direction"
    )
    scale_out_latency: figure("time") | None = None
    boost_clock: figure("frequency", positive=True) | None = Field(
        default=None, description="the clock the datasheet peak FLOPS are quoted at"
    )
    sustained_matrix_clock: figure("frequency", positive=True) | None = Field(
        default=None,
        description="measured clock under sustained dense matrix load at the chip's power "
        "limit; with boost_clock, compute-bound work runs at peak x sustained / boost",
    )
    tdp: figure("power", positive=True) | None = None
    price: figure("money", positive=True) | None = None
    platform: str | None = Field(
        default=None,
        description="catalog system id of this chip's reference platform (levels, latencies)",
    )
    notes: str | None = None

    @field_validator("flops")
    @classmethod
    def _need_bf16(cls, v: dict[str, Figure]) -> dict[str, Figure]:
        if not v:
            raise ValueError("at least one precision is needed (bf16 or fp16)")
        if "bf16" not in v and "fp16" not in v:
            raise ValueError("a chip needs a bf16 or fp16 peak")
        return v

    def rate_precision(self, precision: str) -> str:
        """The format whose dense rate ``precision`` runs at: itself where the chip has it, else
        the nearest wider one it has. fp4 falls back to fp8 then bf16; fp8 to bf16 (the int8
        rate is not used for float formats); int8 to fp8 then bf16; fp16/bf16 share the 16-bit
        rate; fp32 runs at half the 16-bit rate where no fp32 figure is given."""
        chain = {
            "fp4": ("fp4", "fp8", "bf16", "fp16"),
            "fp8": ("fp8", "bf16", "fp16"),
            "int8": ("int8", "fp8", "bf16", "fp16"),
            "bf16": ("bf16", "fp16"),
            "fp16": ("fp16", "bf16"),
            "fp32": ("fp32", "bf16", "fp16"),
        }[precision]
        for p in chain:
            if p in self.flops:
                return p
        raise AssertionError("unreachable: bf16 or fp16 always present")

    def fallback_rate(self, precision: str) -> str | None:
        """The format whose rate ``precision`` runs at when the chip has no matrix rate of its
        own for it (fp8 on an A100: bf16); None where it has one (bf16 and fp16 count as one
        16-bit rate)."""
        used = self.rate_precision(precision)
        if used == precision or {used, precision} <= {"bf16", "fp16"}:
            return None
        return used

    def peak_flops(self, precision: str) -> float:
        """Dense peak at ``precision``; formats the chip lacks run at the nearest wider one it
        has (:meth:`rate_precision`)."""
        p = self.rate_precision(precision)
        val = self.flops[p].value
        return val if p != "bf16" or precision != "fp32" else val / 2.0

    @property
    def sustained_clock_ratio(self) -> float:
        """Sustained matrix clock over the datasheet's boost clock (1 where not measured: the
        family's fitted efficiency then carries any power-limited clock)."""
        if self.boost_clock is None or self.sustained_matrix_clock is None:
            return 1.0
        return min(self.sustained_matrix_clock.value / self.boost_clock.value, 1.0)

    def sustained_flops(self, precision: str) -> float:
        """Peak that compute-bound kernels can reach: the dense peak at the sustained clock."""
        return self.peak_flops(precision) * self.sustained_clock_ratio

    def native(self, precision: str) -> bool:
        return precision in self.flops
