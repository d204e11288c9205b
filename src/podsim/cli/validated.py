"""The line under a prediction that says how well such predictions have matched real runs."""

from __future__ import annotations

from podsim.spec.chip import ChipSpec
from podsim.units import format_quantity
from podsim.validate.accuracy import SETS, accuracy_for, chip_accuracy

_LABELS = dict(zip(SETS, ("fitted-on runs", "unseen runs"), strict=True))


def _part(label: str, s: dict) -> str:
    side = "above" if s["median_error"] > 0 else "below"
    return (
        f"{label} median {100 * s['median_abs_error']:.0f}% (model {side} measured), 90% of runs "
        f"within {100 * s['p90_abs_error']:.0f}% ({s['runs']} runs)"
    )


def validation_record(kind: str, family: str, chip: str | None = None) -> dict:
    """For ``--json``: the kind/family group of the validation summary (None: not validated),
    and ``chip``'s own runs within it (None: none of that chip)."""
    out = {"kind": kind, "chip_family": family, "accuracy": accuracy_for(kind, family)}
    if chip is not None:
        out["chip"] = chip
        out["chip_accuracy"] = chip_accuracy(kind, family, chip)
    return out


def validation_line(kind: str, family: str, chip: str | None = None) -> str:
    """One line: the model's |error| on published ``kind`` runs on ``family`` chips, then on
    ``chip`` itself (a family's record can hide a chip of its own that the model misses)."""
    acc = accuracy_for(kind, family)
    if acc is None:
        return (
            f"[yellow]not validated: no published {kind} run on {family} chips has been "
            "checked, so this prediction rests on the model and catalog alone[/]"
        )
    parts = [_part(_LABELS[key], acc[key]) for key in SETS if key in acc]
    if "out_of_sample" not in acc:
        parts.append("no unseen runs")
    chips = ", ".join(acc["chips"])
    line = f"validated on published {kind} runs on {family} chips ({chips}): " + "; ".join(parts)
    if chip is None or len(acc["chips"]) == 1 and chip in acc["chips"]:
        return line
    own = chip_accuracy(kind, family, chip)
    if own is None:
        return line + f". None on {chip} itself"
    return (
        line
        + f". On {chip} itself: "
        + "; ".join(_part(_LABELS[key], own[key]) for key in SETS if key in own)
    )


def too_slow_note(kind: str, family: str, chip: str) -> str | None:
    """When the model has run well below measured on ``chip`` itself (median signed error of
    its unseen runs, else its fitted-on runs, below -25%), a clause saying so, for an error
    that says a target cannot be met: there the real chip may well meet it."""
    own = chip_accuracy(kind, family, chip)
    if not own:
        return None
    s = own.get("out_of_sample") or own.get("public")
    if s is None or s["median_error"] > -0.25:
        return None
    return (
        f"note: on {chip} the model has been {100 * -s['median_error']:.0f}% below measured "
        f"(median of {s['runs']} published {kind} runs), so the real chip may meet it"
    )


def precision_note(chip: ChipSpec, precision: str) -> str | None:
    """When ``chip`` has no matrix rate of its own at ``precision`` (fp8 on an A100 or a TPU v5p,
    fp4 on a Hopper), what the prediction assumes instead: the GEMMs at the nearest wider rate
    (:meth:`ChipSpec.fallback_rate`), the sizes in memory still those of ``precision``. None where
    the chip has the rate."""
    used = chip.fallback_rate(precision)
    if used is None:
        return None
    peak = format_quantity(chip.peak_flops(precision), "flops")
    return (
        f"{chip.id} has no {precision} matrix rate: its {precision} GEMMs are costed at the "
        f"{used} peak ({peak}); weights and activations keep their {precision} sizes"
    )
