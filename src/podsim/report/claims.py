"""Vendor claims check: every headline in ``claims.yaml`` recomputed from per-chip figures
(``podsim.claims.check.check_claims``, what ``podsim claims`` prints)."""

from __future__ import annotations

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text

COMPARISON = {"at_least": "≥ ", "at_most": "≤ "}


def _short_source(text: str) -> str:
    first = text.split(" (", 1)[0].strip()
    return first if len(first) <= 70 else first[:67] + "..."


def claims_table(results, notes: dict[str, str | None], caption: str | None = None) -> Table:
    rows = []
    for r in results:
        remark = r.reason or r.convention or ""
        extra = notes.get(r.id)
        if extra:
            remark = f"{remark}; {extra}" if remark else extra
        rows.append(
            [
                r.id,
                r.claim,
                COMPARISON.get(r.comparison, "") + r.claimed_text,
                r.recomputed_text,
                fmt.signed_pct(r.deviation),
                r.verdict,
                remark,
            ]
        )
    return Table(
        ["id", "claim", "claimed", "recomputed", "deviation", "verdict", "reading / note"],
        rows,
        caption=caption,
        left=(0, 1, 5, 6),
    )


def _plot(results, ctx: ReportContext):
    from podsim.report import plots

    fig, axes = plots.new(width=8.0, height=0.22 * len(results) + 1.2)
    ax = axes[0][0]
    ys = list(range(len(results)))[::-1]
    cap = 1.0
    for y, r in zip(ys, results, strict=True):
        d = r.deviation if fmt.ok(r.deviation) else 0.0
        colour = plots.VERDICT_COLOURS.get(r.verdict, "grey")
        ax.barh(y, max(-cap, min(cap, d)) * 100, color=colour, height=0.7)
        if abs(d) > cap:
            ax.text(
                100 * cap * (1 if d > 0 else -1),
                y,
                f" {100 * d:+.0f}%",
                va="center",
                ha="left" if d > 0 else "right",
                fontsize=6,
            )
        ax.plot([-100 * r.tolerance, 100 * r.tolerance], [y, y], color="black", lw=0.6)
    ax.set_yticks(ys)
    ax.set_yticklabels([r.id for r in results], fontsize=6)
    ax.axvline(0, color="black", lw=0.5)
    ax.set_xlim(-115, 115)
    ax.set_xlabel("recomputed vs claimed (%, clipped at ±100%); black line: tolerance")
    ax.set_title("Vendor claims: green consistent, red inconsistent, olive not computable")
    return plots.save(
        fig,
        ctx,
        "claims_deviation.png",
        "Deviation of each recomputed figure from the claim, with its tolerance.",
    )


def build(ctx: ReportContext) -> Section:
    from podsim.claims.check import check_claims, load_claims

    results = check_claims()
    ctx.cache["claims"] = results
    notes = {c.id: c.note for c in load_claims().claims}
    counts = {
        v: sum(r.verdict == v for r in results)
        for v in ("consistent", "inconsistent", "not computable")
    }
    summary = ", ".join(f"{n} {v}" for v, n in counts.items()) + f" of {len(results)} claims"
    sec = Section("claims", "Vendor claims check", summary=summary)
    sec.add(
        Text(
            "Each published headline (Huawei Connect 2025, the CloudMatrix 384 paper and press, "
            "NVIDIA's NVL144 figures) is recomputed from per-chip catalog figures and the system "
            "structure, never from a total typed into the catalog. Where the vendor's convention "
            "is ambiguous (decimal or binary TB, one or both directions) the reading closest to "
            "the claim is used and named. `podsim claims --details` shows each derivation."
        ),
        Text(summary + "."),
        claims_table(results, notes),
    )
    bad = [r for r in results if r.verdict != "consistent"]
    for r in bad:
        sec.add(Note(f"{r.id} ({r.verdict}): {r.detail}"))
    sec.add(_plot(results, ctx))
    srcs = sorted({_short_source(s) for r in results for s in r.sources})
    sec.add(Note("Sources: " + "; ".join(srcs)))
    return sec
