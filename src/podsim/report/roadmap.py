"""Ascend roadmap: 910B -> 910C -> 950 -> 960 -> 970 per-chip figures from the catalog, NVIDIA's
parts of the same years beside them, and the roadmap claims from the claims check."""

from __future__ import annotations

import re

from podsim.report import fmt
from podsim.report.section import Note, ReportContext, Section, Table, Text

ASCEND = ("ascend-910b", "ascend-910c", "ascend-950pr", "ascend-950dt", "ascend-960", "ascend-970")
RIVALS = ("h100-sxm", "h200", "b200", "gb200", "gb300")
ROADMAP_SYSTEMS = (
    "cloudmatrix-384",
    "atlas-950-superpod",
    "atlas-960-superpod",
    "atlas-950-supercluster",
    "atlas-960-supercluster",
)


def year(date: str) -> float:
    """'2027-Q4' -> 2027.875, '2025-09' -> 2025.71, '2024' -> 2024.5 (for the plot's x axis)."""
    m = re.match(r"^(\d{4})(?:-(Q[1-4]|\d{1,2}))?", date.strip())
    if not m:
        return float("nan")
    y = float(m.group(1))
    part = m.group(2)
    if part is None:
        return y + 0.5
    if part.startswith("Q"):
        return y + (int(part[1]) - 0.5) / 4
    return y + (int(part) - 0.5) / 12


def _peak(chip, p: str) -> float | None:
    return chip.peak_flops(p) if chip.native(p) else None


def _chip_rows(chips) -> list[list[str]]:
    rows = []
    for c in chips:
        rows.append(
            [
                c.name,
                c.status,
                c.date,
                fmt.q(_peak(c, "bf16"), "flops"),
                fmt.q(_peak(c, "fp8"), "flops"),
                fmt.q(_peak(c, "fp4"), "flops"),
                fmt.q(c.hbm_capacity.value, "bytes"),
                fmt.q(c.hbm_bandwidth.value, "bandwidth"),
                fmt.q(c.scale_up_bandwidth.value, "bandwidth"),
                fmt.num(c.scale_up_domain) if c.scale_up_domain else fmt.NA,
                fmt.q(c.tdp.value if c.tdp else None, "power"),
            ]
        )
    return rows


def _plot(ascend, rivals, ctx: ReportContext):
    from podsim.report import plots

    fig, axes = plots.new(2, 1, width=9.0, height=3.6)
    panels = (
        ("dense peak per chip (FP8; BF16 where FP8 is not native)", "flops"),
        ("HBM bandwidth per chip", "hbm"),
    )
    for ax, (title, what) in zip(axes[0], panels, strict=True):
        for chips, colour, vendor in (
            (ascend, "tab:red", "Huawei"),
            (rivals, "tab:green", "NVIDIA"),
        ):
            xs, ys, hollow = [], [], []
            for c in chips:
                if what == "flops":
                    v = _peak(c, "fp8")
                    hollow.append(v is None)
                    v = v if v is not None else c.peak_flops("bf16")
                else:
                    v = c.hbm_bandwidth.value
                    hollow.append(False)
                xs.append(year(c.date))
                ys.append(v / (1e12 if what == "flops" else 1e12))
            ax.plot(xs, ys, "-", color=colour, lw=0.8, alpha=0.6)
            for x, y, h, c in zip(xs, ys, hollow, chips, strict=True):
                ax.plot(
                    x,
                    y,
                    linestyle="none",
                    color=colour,
                    mfc="white" if h else colour,
                    ms=5 if c.status == "shipping" else 6,
                    marker="o" if c.status == "shipping" else "s",
                )
                ax.annotate(
                    c.id.replace("ascend-", ""),
                    (x, y),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
            ax.plot([], [], "o", color=colour, label=vendor)
        ax.set_yscale("log")
        ax.set_ylabel("TFLOPS" if what == "flops" else "TB/s")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return plots.save(
        fig,
        ctx,
        "roadmap.png",
        "Per-chip roadmap by first-shipment date (circles shipping, squares announced; hollow: "
        "BF16 because the chip has no FP8).",
    )


def build(ctx: ReportContext) -> Section:
    from podsim import catalog
    from podsim.claims.check import check_claims
    from podsim.report.claims import claims_table

    ascend = [catalog.chip(c) for c in ASCEND]
    rivals = [catalog.chip(c) for c in RIVALS]
    cols = [
        "chip",
        "status",
        "date",
        "BF16",
        "FP8",
        "FP4",
        "HBM",
        "HBM bandwidth",
        "scale-up (1 dir)",
        "scale-up domain",
        "TDP",
    ]
    results = ctx.cache.get("claims") or check_claims()
    road = [r for r in results if r.id.startswith("ascend-roadmap")]
    bad = [r.id for r in road if r.verdict != "consistent"]
    c910, c970 = ascend[1], ascend[-1]
    growth = c970.peak_flops("fp8") / c910.peak_flops("bf16")
    sec = Section(
        "roadmap",
        "Ascend roadmap",
        summary=(
            f"{len(ascend)} Ascend chips; 910C BF16 to 970 FP8 is {growth:.1f}x; "
            f"{len(road) - len(bad)} of {len(road)} roadmap claims consistent"
        ),
    )
    sec.add(
        Text(
            "Huawei's roadmap (Huawei Connect 2025): Ascend 950PR/950DT (2026), 960 (2027), 970 "
            "(2028), in Atlas 950 and 960 SuperPoDs and SuperClusters. Announced parts carry "
            "vendor figures (and assumptions where none is published; the catalog names them)."
        ),
        Table(
            cols, _chip_rows(ascend), caption="Ascend chips (dense peaks, per chip)", left=(0, 1, 2)
        ),
        Table(cols, _chip_rows(rivals), caption="NVIDIA chips of the same years", left=(0, 1, 2)),
        _plot(ascend, rivals, ctx),
        claims_table(road, {}, caption="Roadmap claims (from the claims check)"),
    )
    for r in road:
        if r.verdict != "consistent":
            sec.add(Note(f"{r.id}: {r.detail}"))
    from podsim.hardware.resolve import resolve_system_arg

    rows = []
    for sid in ROADMAP_SYSTEMS:
        s = resolve_system_arg(sid)
        peak = s.chip.peak_flops("fp8") if s.chip.native("fp8") else s.chip.peak_flops("bf16")
        rows.append(
            [
                s.name,
                s.chip.date,
                fmt.num(s.chips),
                fmt.num(s.scale_up_domain),
                fmt.q(s.chips * peak, "flops"),
                fmt.q(s.hbm_capacity, "bytes"),
            ]
        )
    sec.add(
        Table(
            ["system", "chip date", "chips", "scale-up domain", "FP8 peak (BF16 on 910C)", "HBM"],
            rows,
            caption="Roadmap systems",
            left=(0, 1),
        )
    )
    return sec
