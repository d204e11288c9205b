"""`podsim claims`: vendor headline claims recomputed from the catalog. Presentation only."""

from __future__ import annotations

from pathlib import Path

import typer

from podsim.cli.output import console, emit_json, table

VERDICT_STYLE = {"consistent": "green", "inconsistent": "red", "not computable": "yellow"}


def _short_source(text: str) -> str:
    """The URL (or first words) of a source, for a table cell."""
    first = text.split(" (", 1)[0].strip()
    return first if len(first) <= 60 else first[:57] + "..."


def claims(
    as_json: bool = typer.Option(False, "--json", help="one JSON object per claim"),
    file: Path | None = typer.Option(
        None, "--file", help="a claims YAML to check instead of the built-in catalog's"
    ),
    details: bool = typer.Option(False, "--details", help="print how each figure was recomputed"),
) -> None:
    """Check vendor claims (Huawei Atlas/CloudMatrix, NVIDIA comparisons) against the catalog."""
    from podsim.claims.check import check_claims

    results = check_claims(file)
    if as_json:
        emit_json([r.as_dict() for r in results])
        return
    rows = []
    for r in results:
        style = VERDICT_STYLE.get(r.verdict, "")
        rows.append(
            [
                r.claim,
                {"at_least": "≥ ", "at_most": "≤ "}.get(r.comparison, "") + r.claimed_text,
                r.recomputed_text,
                f"[{style}]{r.verdict}[/{style}]" if style else r.verdict,
                _short_source(r.sources[0]) if r.sources else "",
            ]
        )
    t = table(
        "podsim claims: vendor figures recomputed from per-chip catalog figures",
        ["claim", "claimed", "recomputed", "verdict", "source"],
        rows,
        justify_right=False,
    )
    console.print(t)
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICT_STYLE}
    console.print(
        ", ".join(f"{n} {v}" for v, n in counts.items()) + f" of {len(results)} claims",
        highlight=False,
    )
    if details:
        for r in results:
            console.print(f"[bold]{r.id}[/bold]: {r.detail}", highlight=False)
    else:
        console.print(
            "--details for how each figure was recomputed; --json for all fields", style="dim"
        )


def register(app: typer.Typer) -> None:
    app.command("claims")(claims)
