"""PNG plots of planner results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training_pareto(rows: list[dict], path: str | Path, *, title: str = "") -> Path:
    """Total tokens/s (and per chip) against chip count; the Pareto front highlighted."""
    plt = _plt()
    ok = [r for r in rows if "error" not in r]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if ok:
        x = np.array([r["chips"] for r in ok], dtype=float)
        y = np.array([r["tokens_per_s"] for r in ok], dtype=float)
        front = np.array([r.get("on_front", False) for r in ok])
        ax.plot(x, y, "o-", color="tab:blue", label="best plan")
        ax.plot(x[front], y[front], "s", color="tab:red", label="Pareto front")
        for r in ok:
            ax.annotate(
                r["label"].split(" zero")[0],
                (r["chips"], r["tokens_per_s"]),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax2 = ax.twinx()
        ax2.plot(
            x,
            [r["tokens_per_s_per_chip"] for r in ok],
            "--",
            color="tab:gray",
            label="tokens/s per chip",
        )
        ax2.set_ylabel("tokens/s per chip (dashed)")
        ax2.set_ylim(bottom=0)
        ax.set_xscale("log", base=2)
    ax.set_xlabel("chips")
    ax.set_ylabel("tokens/s")
    ax.set_title(title or "training throughput vs chips")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_serving_pareto(points: dict, path: str | Path, *, title: str = "") -> Path:
    """Tokens/s per chip against TPOT over every (plan, batch) point, front highlighted."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.asarray(points["tpot_s"], dtype=float) * 1e3
    y = np.asarray(points["tokens_per_s_per_chip"], dtype=float)
    front = np.asarray(points["on_front"], dtype=bool)
    ax.scatter(x, y, s=3, color="tab:blue", alpha=0.3, label="plan x batch")
    o = np.argsort(x[front])
    ax.plot(x[front][o], y[front][o], "-", color="tab:red", label="Pareto front")
    ax.set_xlabel("TPOT (ms)")
    ax.set_ylabel("tokens/s per chip")
    ax.set_title(title or "serving throughput vs latency")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
