"""Figures (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


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
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def training_curves(history: Sequence[dict], path: str | Path) -> Path:
    """Loss, accuracy and firing rate per epoch."""
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), dpi=120)
    axes[0].plot(ep, [h["loss"] for h in history], marker="o")
    axes[0].set_ylabel("training loss")
    axes[1].plot(ep, [100 * h["train_accuracy"] for h in history], marker="o", label="train")
    axes[1].plot(ep, [100 * h["val_accuracy"] for h in history], marker="s", label="validation")
    axes[1].set_ylabel("accuracy (%)")
    axes[1].legend()
    axes[2].plot(ep, [100 * h["firing_rate"] for h in history], marker="o", color="C3")
    axes[2].set_ylabel("mean firing rate (%)")
    for ax, title in zip(axes, ("Loss", "Accuracy", "Firing rate")):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def hardware_cycles(layers: Sequence[dict], path: str | Path, title: str = "Cycles per layer") -> Path:
    """Stacked bars per layer: accumulate, neuron sweep, and ECU/control time."""
    names = [l["name"] for l in layers]
    acc = [l["accumulate_cycles"] for l in layers]
    act = [l["activate_cycles"] for l in layers]
    other = [l["other_cycles"] for l in layers]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.bar(names, acc, label="accumulate (NC replay)")
    ax.bar(names, act, bottom=acc, label="neuron sweep")
    ax.bar(names, other, bottom=[a + b for a, b in zip(acc, act)], label="ECU scan / control")
    ax.set_ylabel("cycles per inference (mean)")
    ax.set_xlabel("layer")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
