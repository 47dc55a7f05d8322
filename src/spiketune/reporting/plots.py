"""Figures (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401

from spiketune import schema  # noqa: E402
from spiketune.results import save_figure  # noqa: E402


def firing_rates(runs: dict[str, Sequence[tuple[str, float]]], path: str | Path,
                 title: str = "Per-layer firing rate") -> Path:
    """Grouped bars of firing rate per layer, one bar colour per run."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    names = list(runs)
    layers = [name for name, _ in next(iter(runs.values()))]
    width = 0.8 / max(1, len(names))
    for j, run in enumerate(names):
        rates = [100 * r for _, r in runs[run]]
        xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(layers))]
        bars = ax.bar(xs, rates, width, label=run)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(layers)), layers, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("firing rate (% of neurons per time step)")
    ax.set_xlabel("spiking layer")
    ax.set_title(title)
    if len(names) > 1:
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def training_curves(history: Sequence[dict], path: str | Path) -> Path:
    """Loss, accuracy, firing rate and chi (neuron and parameter) per epoch."""
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), dpi=120)
    axes[0].plot(ep, [h["loss"] for h in history], marker="o")
    axes[0].set_ylabel("training loss")
    axes[1].plot(ep, [100 * h["train_accuracy"] for h in history], marker="o", label="train")
    axes[1].plot(ep, [100 * h["val_accuracy"] for h in history], marker="s", label="validation")
    axes[1].set_ylabel("accuracy (%)")
    axes[1].legend()
    axes[2].plot(ep, [100 * h["firing_rate"] for h in history], marker="o", color="C3")
    axes[2].set_ylabel("mean firing rate (%)")
    axes[3].plot(ep, [h.get("chi", float("nan")) for h in history], marker="o", label="neuron chi")
    axes[3].plot(ep, [h.get("param_chi", float("nan")) for h in history], marker="s",
                 label="parameter chi")
    axes[3].set_ylabel("chi (fraction reached by gradient)")
    axes[3].set_ylim(0, 1.05)
    axes[3].legend(fontsize=8)
    for ax, title in zip(axes, ("Loss", "Accuracy", "Firing rate", "Chi"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def hardware_cycles(layers: Sequence[dict], path: str | Path, title: str = "Cycles per layer") -> Path:
    """Stacked bars per layer of its cycles by activity (a CostReport layer's ``breakdown``)."""
    names = [layer["name"] for layer in layers]
    parts = list(dict.fromkeys(k for layer in layers for k in layer["breakdown"]))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    bottom = [0.0] * len(layers)
    for part in parts:
        vals = [layer["breakdown"].get(part, 0.0) for layer in layers]
        ax.bar(names, vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel("cycles per inference (mean)")
    ax.set_xlabel("layer")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def slope_curves(rows: Sequence[dict], path: str | Path, cost: schema.Metric = schema.FPS_PER_W) -> Path:
    """Accuracy, firing rate and hardware cost versus surrogate slope, one line per surrogate."""
    from spiketune.network.surrogate import FAMILIES

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=120)
    panels = ((axes[0], schema.TEST_ACCURACY, "Accuracy"), (axes[1], schema.FIRING_RATE, "Firing activity"),
              (axes[2], cost, "Hardware efficiency"))
    names = sorted({r["model.surrogate"] for r in rows})
    widths = " / ".join(f"{n} {FAMILIES[n].width_param}" for n in names if FAMILIES[n].width_param)
    for name in names:
        pts = sorted((float(r["model.slope"]), r) for r in rows if r["model.surrogate"] == name)
        xs = [p[0] for p in pts]
        for ax, m, _ in panels:
            ax.plot(xs, [m.scaled(float(p[1][m.name])) for p in pts], marker="o", label=name)
    for ax, m, title in panels:
        ax.set_xscale("log")
        ax.set_xlabel(f"surrogate slope ({widths})", fontsize=7)
        ax.set_ylabel(m.axis_label)
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    axes[2].yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def beta_threshold_heatmaps(rows: Sequence[dict], path: str | Path,
                            chosen: dict | None = None, best: dict | None = None) -> Path:
    """Heatmaps of accuracy, latency and firing rate over beta x threshold; marks the
    best-accuracy point (circle) and the chosen tuned point (star)."""
    import numpy as np

    betas = sorted({float(r["model.beta"]) for r in rows})
    thrs = sorted({float(r["model.threshold"]) for r in rows})
    panels = ((schema.TEST_ACCURACY, "viridis"), (schema.LATENCY_CYCLES, "magma_r"),
              (schema.FIRING_RATE, "cividis"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), dpi=120)
    for ax, (m, cmap) in zip(axes, panels, strict=True):
        grid = np.full((len(thrs), len(betas)), np.nan)
        for r in rows:
            grid[thrs.index(float(r["model.threshold"])), betas.index(float(r["model.beta"]))] = \
                m.scaled(float(r[m.name]))
        im = ax.imshow(grid, origin="lower", cmap=cmap, aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if not np.isnan(v):
                r, g, b, _ = im.cmap(im.norm(v))
                ax.text(j, i, f"{v:.1f}" if m.percent else f"{v:.0f}", ha="center", va="bottom",
                        fontsize=7, color="white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black")
        for point, marker, name in ((best, "o", "best accuracy"), (chosen, "*", "tuned")):
            if point is not None:
                ax.scatter(betas.index(float(point["model.beta"])),
                           thrs.index(float(point["model.threshold"])), marker=marker, s=260,
                           facecolors="none", edgecolors="red", linewidths=2, label=name)
        ax.set_xticks(range(len(betas)), [f"{b:g}" for b in betas])
        ax.set_yticks(range(len(thrs)), [f"{t:g}" for t in thrs])
        ax.set_xlabel("beta (membrane decay)")
        ax.set_ylabel("threshold")
        ax.set_title(m.axis_label)
        fig.colorbar(im, ax=ax, shrink=0.85)
    if chosen is not None or best is not None:
        axes[0].legend(loc="upper left", fontsize=7, framealpha=0.8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def pareto_front(points: Sequence[tuple[float, float]], on_front: Sequence[bool], path: str | Path,
                 xlabel: str = schema.LATENCY_CYCLES.axis_label,
                 ylabel: str = schema.TEST_ACCURACY.axis_label,
                 title: str = "Accuracy vs hardware cost") -> Path:
    """Scatter of trials, non-dominated ones highlighted and joined, dominated ones grey."""
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    dom = [p for p, f in zip(points, on_front, strict=True) if not f]
    front = sorted(p for p, f in zip(points, on_front, strict=True) if f)
    if dom:
        ax.scatter(*zip(*dom, strict=True), color="0.7", label="dominated", s=22)
    if front:
        ax.plot(*zip(*front, strict=True), color="C3", marker="o", label="Pareto front",
                drawstyle="steps-post")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def surrogate_profiles(curves: Sequence[tuple[str, dict]], path: str | Path) -> Path:
    """dS/dU versus (U - threshold) for each (surrogate name, params)."""
    import torch

    from spiketune.network import surrogate as sg

    x = torch.linspace(-2, 3, 1001, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for name, params in curves:
        s = sg.get(name, **params)
        label = f"{name} " + ", ".join(f"{k}={v:g}" for k, v in params.items())
        ax.plot(x.numpy(), s.derivative(x).numpy(), label=label)
    ax.set_xlabel("U - threshold")
    ax.set_ylabel("dS/dU (surrogate derivative)")
    ax.set_title("Surrogate derivative profiles")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def dataset_samples(x: Sequence, labels: Sequence[int], path: str | Path, title: str,
                    frames: bool) -> Path:
    """Images side by side, or one row per sample of its event frames over time (ON red,
    OFF blue, colour scaled to the sample's largest count)."""
    import numpy as np

    n = len(labels)
    rows, cols = (n, x[0].shape[0]) if frames else (1, n)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols + 0.6, 1.4 * rows + 0.6), dpi=110, squeeze=False)
    for i in range(n):
        sample = np.asarray(x[i], dtype=np.float32)
        top = max(float(sample.max()), 1e-9)
        for t in range(cols if frames else 1):
            ax = axes[i][t] if frames else axes[0][i]
            if frames:
                on, off = sample[t, 1] / top, sample[t, 0] / top
                ax.imshow(np.stack([1 - off, 1 - on - off, 1 - on], -1).clip(0, 1), interpolation="nearest")
                if i == 0:
                    ax.set_title(f"t{t}", fontsize=8)
                if t == 0:
                    ax.set_ylabel(f"label {labels[i]}", fontsize=8)
            else:
                img = sample.transpose(1, 2, 0) if sample.shape[0] == 3 else sample[0]
                ax.imshow(img, cmap=None if sample.shape[0] == 3 else "gray", interpolation="nearest")
                ax.set_title(f"label {labels[i]}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)
