"""Systems: the seed's Huawei supernodes and superclusters against NVL72-class rivals.

Every figure is ``podsim.facility.summary.system_summary`` (what ``podsim compare`` prints); the
plots are ``podsim compare --plot``'s.
"""

from __future__ import annotations

from podsim.report.section import Note, ReportContext, Section, Table, Text

SUPERNODES = (
    "cloudmatrix-384",
    "atlas-950-superpod",
    "atlas-960-superpod",
    "gb200-nvl72",
    "gb300-nvl72",
)
CLUSTERS = (
    "cloudmatrix-384-cluster",
    "atlas-950-supercluster",
    "atlas-960-supercluster",
    "gb200-nvl72-cluster",
    "gb300-nvl72-cluster",
)
# rows of the cluster table (the full metric list is in the supernode tables)
CLUSTER_METRICS = (
    "chips",
    "scale_up_domain",
    "peak_flops_bf16",
    "peak_flops_fp8",
    "peak_flops_fp4",
    "hbm_capacity",
    "scale_out_bandwidth",
    "power",
    "floor_area",
    "cabinets",
    "capital_cost",
)


def _table(summaries, labels, keys, per_chip: bool, caption: str) -> Table:
    from podsim.report.compare_view import cell as _cell

    rows = []
    for key in keys:
        rows_for = [s["metrics"].get(key) for s in summaries]
        present = [r for r in rows_for if r is not None]
        if not present:
            continue
        rows.append([present[0]["label"], *[_cell(r, per_chip) for r in rows_for]])
    return Table(["metric", *labels], rows, caption=caption)


def _missing_notes(summaries, labels) -> list[str]:
    notes = []
    for lb, s in zip(labels, summaries, strict=True):
        miss = sorted({m for r in s["metrics"].values() for m in r["missing"]} - {"reported_power"})
        if miss:
            notes.append(f"{lb}: n/a where the catalog lacks {', '.join(miss)}")
    return notes


def build(ctx: ReportContext) -> Section:
    from podsim.facility.summary import system_summary
    from podsim.hardware.resolve import resolve_system_arg
    from podsim.report.compare_view import metric_order as _metric_order
    from podsim.report.compare_view import plot_compare as _plot
    from podsim.report.section import Figure

    nodes = [resolve_system_arg(s) for s in SUPERNODES]
    node_sum = [system_summary(s) for s in nodes]
    labels = [s.name.split(" (")[0].removeprefix("Huawei ").removeprefix("NVIDIA ") for s in nodes]
    keys = _metric_order(node_sum)
    clusters = [resolve_system_arg(s) for s in CLUSTERS]
    cl_sum = [system_summary(s) for s in clusters]
    cl_labels = [
        s.name.split(" (")[0].removeprefix("Huawei ").removeprefix("NVIDIA ") for s in clusters
    ]

    sec = Section("systems", "Systems")
    sec.add(
        Text(
            "One scale-up domain of each system (a CloudMatrix 384 supernode, an Atlas 950 or 960 "
            "SuperPoD, one GB200 or GB300 NVL72 rack), then the scaled-out clusters. Figures are "
            "recomputed from per-chip and per-link catalog figures by the same code as "
            "`podsim compare`; power, floor area, cabinets and cost come from the facility plant "
            "model. Bandwidths are one direction; peaks are dense."
        ),
        _table(node_sum, labels, keys, False, "Supernodes: whole system"),
        _table(node_sum, labels, keys, True, "Supernodes: per chip"),
        _table(cl_sum, cl_labels, CLUSTER_METRICS, False, "Clusters: whole system"),
    )
    for n in _missing_notes(node_sum + cl_sum, labels + cl_labels):
        sec.add(Note(n))
    sec.add(
        Note(
            "'–' = precision not native on the chip; '≥' = known parts only (a lower bound); "
            "plant figures (power, area, cabinets, cost) are estimates with the inputs named "
            "in the catalog."
        )
    )
    path, rel = ctx.figure_path("systems_per_chip.png")
    _plot(node_sum, labels, path, True)
    sec.add(Figure(rel, "Per chip: each panel normalised to the largest; labels are absolute."))
    path, rel = ctx.figure_path("systems_whole.png")
    _plot(node_sum, labels, path, False)
    sec.add(Figure(rel, "Whole supernode: each panel normalised to the largest."))

    by = {s["id"]: s for s in node_sum}
    cm, nv = by["cloudmatrix-384"]["metrics"], by["gb200-nvl72"]["metrics"]
    ratio = cm["peak_flops_bf16"]["total"] / nv["peak_flops_bf16"]["total"]
    per = cm["peak_flops_bf16"]["per_chip"] / nv["peak_flops_bf16"]["per_chip"]
    sec.summary = (
        f"{len(nodes)} supernodes, {len(clusters)} clusters; CloudMatrix 384 has {ratio:.2f}x a "
        f"GB200 NVL72's BF16 peak with {per:.2f}x the per-chip peak"
    )
    return sec
