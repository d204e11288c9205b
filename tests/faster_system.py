"""A system with one kind of hardware made k times faster, for the invariant tests."""

from __future__ import annotations

from dataclasses import replace


def faster(sysm, what: str, k: float = 2.0):
    """``sysm`` with its chip's peak FLOPs (``flops``), its HBM bandwidth (``hbm``) or every
    link level's bandwidth (``links``) multiplied by ``k``."""
    chip = sysm.chip
    if what == "flops":
        flops = {p: f.model_copy(update={"value": f.value * k}) for p, f in chip.flops.items()}
        return replace(sysm, chip=chip.model_copy(update={"flops": flops}))
    if what == "hbm":
        bw = chip.hbm_bandwidth.model_copy(update={"value": chip.hbm_bandwidth.value * k})
        return replace(sysm, chip=chip.model_copy(update={"hbm_bandwidth": bw}))
    assert what == "links"
    return replace(
        sysm,
        levels=tuple(replace(lv, bandwidth=lv.bandwidth * k) for lv in sysm.levels),
        nominal_levels=None,
    )
