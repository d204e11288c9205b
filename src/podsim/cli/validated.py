"""The line under a prediction that says how well such predictions have matched real runs."""

from __future__ import annotations

from podsim.validate.accuracy import SETS, accuracy_for


def _part(label: str, s: dict) -> str:
    return (
        f"{label} median {100 * s['median_abs_error']:.0f}%, 90% of runs within "
        f"{100 * s['p90_abs_error']:.0f}% ({s['runs']} runs)"
    )


def validation_record(kind: str, family: str) -> dict:
    """For ``--json``: the kind/family group of the validation summary (None: not validated)."""
    return {"kind": kind, "chip_family": family, "accuracy": accuracy_for(kind, family)}


def validation_line(kind: str, family: str) -> str:
    """One line: the model's |error| on published ``kind`` runs on ``family`` chips."""
    acc = accuracy_for(kind, family)
    if acc is None:
        return (
            f"[yellow]not validated: no published {kind} run on {family} chips has been "
            "checked, so this prediction rests on the model and catalog alone[/]"
        )
    labels = dict(zip(SETS, ("fitted-on runs", "unseen runs"), strict=True))
    parts = [_part(labels[key], acc[key]) for key in SETS if key in acc]
    if "out_of_sample" not in acc:
        parts.append("no unseen runs")
    chips = ", ".join(acc["chips"])
    return f"validated on published {kind} runs on {family} chips ({chips}): " + "; ".join(parts)
