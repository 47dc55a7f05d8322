"""Figures (matplotlib, Agg backend): constrained layout, legends outside the data, one
colormap per quantity, tick labels at the swept values; PNG, plus PDF/SVG copies when
:func:`set_vector_formats` asks for them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from spiketune import schema  # noqa: E402
from spiketune.results import save_figure  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

STYLE: dict[RcKeyType, Any] = {"figure.dpi": 120, "savefig.dpi": 200, "font.size": 9, "axes.titlesize": 10,
         "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
         "figure.constrained_layout.use": True}
# one colormap per quantity, in every figure that colours by it
COLORMAPS = {schema.TEST_ACCURACY.name: "viridis", schema.FIRING_RATE.name: "cividis",
             schema.LATENCY_CYCLES.name: "magma_r", schema.LATENCY_US.name: "magma_r",
             schema.FPS_PER_W.name: "magma", schema.FPS.name: "magma", schema.POWER_W.name: "magma_r"}
VECTOR_FORMATS = ("pdf", "svg")
_vector: list[str] = []  # vector formats written beside every PNG


def set_vector_formats(formats: Sequence[str]) -> None:
    """Also write every figure as these formats (pdf, svg) beside its PNG."""
    bad = [f for f in formats if f not in VECTOR_FORMATS]
    if bad:
        from spiketune.errors import ConfigError

        raise ConfigError(f"unknown figure format {bad[0]!r}; valid: png, {', '.join(VECTOR_FORMATS)}")
    _vector[:] = list(dict.fromkeys(formats))


def styled(fn: Callable[..., Path]) -> Callable[..., Path]:
    """Draw ``fn``'s figure under the house style."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Path:
        with plt.rc_context(STYLE):
            return fn(*args, **kwargs)
    return wrapper


def _save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (and its vector copies), close it, return ``path``."""
    path = Path(path)
    save_figure(fig, path)
    for fmt in _vector:
        save_figure(fig, path.with_suffix(f".{fmt}"))
    plt.close(fig)
    return path


def _legend_outside(fig: Any, ax: Any, **kw: Any) -> None:
    """One legend for the figure, right of the axes, from ``ax``'s labelled artists."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", frameon=False, **kw)


def _chance_line(ax: Any, chance: float | None) -> None:
    """A dashed line at chance accuracy (percent) on an accuracy axis."""
    if chance is not None:
        ax.axhline(100 * chance, color="0.4", ls="--", lw=1, label=f"chance ({100 * chance:.1f}%)")


def chance_of(rows: Sequence[dict]) -> float | None:
    """The rows' chance accuracy (they share a test set), None when they do not record one."""
    values = {round(float(r[schema.CHANCE_ACCURACY.name]), 6) for r in rows
              if r.get(schema.CHANCE_ACCURACY.name) not in (None, "")}
    return max(values) if values else None


def run_caption(rows: Sequence[dict], hardware: str = "") -> str:
    """'digits, T=8, 5 epochs; snn_dse ideal, sequential, 120 cores' from the rows' settings."""
    def one(key: str) -> str:
        vals = sorted({str(r.get(key)) for r in rows if r.get(key) not in (None, "")})
        return vals[0] if len(vals) == 1 else "/".join(vals) if vals else "?"

    epochs = one("train.epochs")
    text = f"{one('data.dataset')}, T={one('data.num_steps')}, {epochs} epoch{'' if epochs == '1' else 's'}"
    return f"{text}; {hardware}" if hardware else text


ESTIMATORS = (("synops", "synaptic operations per inference"), ("compute_only_uj", "compute-only (uJ)"),
              ("lemaire_snn_uj", "Lemaire et al., SNN (uJ)"))


@styled
def energy_estimators(rows: Sequence[dict], spearman: dict[str, dict[str, float]],
                      misordered: dict[str, Sequence], path: str | Path, title: str = "") -> Path:
    """One panel per proxy: its value for each run against the accelerator's modelled energy
    per inference, with Spearman's rho and the pairs of runs it orders the other way; the
    Lemaire et al. formal-network estimate as a dashed line where the runs share one."""
    acc = [r["accelerator_modelled_uj"] for r in rows]
    n_pairs = len(rows) * (len(rows) - 1) // 2
    fig, axes = plt.subplots(1, len(ESTIMATORS), figsize=(4.6 * len(ESTIMATORS), 4.2))
    for ax, (key, label) in zip(axes, ESTIMATORS, strict=True):
        ax.scatter(acc, [r[key] for r in rows], s=16, alpha=0.8)
        rho = spearman[key]["accelerator_modelled_uj"]
        ax.set_title(f"{label.split(' (')[0]}\nSpearman rho {rho:.3f}, {len(misordered[key])} of "
                     f"{n_pairs} pairs ordered the other way", fontsize=9)
        ax.set_xlabel("accelerator, modelled (uJ per inference)")
        ax.set_ylabel(label)
        ann = {r.get("lemaire_ann_uj") for r in rows}
        if key == "lemaire_snn_uj" and len(ann) == 1 and None not in ann:
            ax.axhline(ann.pop(), ls="--", color="grey", label="formal network (same layers)")
            ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title or "Energy estimators against the accelerator, one point per run", fontsize=10)
    return _save(fig, path)


@styled
def firing_rates(runs: dict[str, Sequence[tuple[str, float]]], path: str | Path,
                 title: str = "Per-layer firing rate") -> Path:
    """Grouped bars of firing rate per layer, one bar colour per run, values above the bars."""
    names = list(runs)
    layers = [name for name, _ in next(iter(runs.values()))]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(layers) * max(1, len(names)) + 2), 4))
    width = 0.8 / max(1, len(names))
    for j, run in enumerate(names):
        rates = [100 * r for _, r in runs[run]]
        xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(layers))]
        bars = ax.bar(xs, rates, width, label=run)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(range(len(layers)), layers, rotation=25, ha="right")
    ax.set_ylabel("firing rate (% of neurons per time step)")
    ax.set_xlabel("spiking layer")
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    ax.margins(y=0.12)
    if len(names) > 1:
        _legend_outside(fig, ax)
    return _save(fig, path)


@styled
def training_curves(history: Sequence[dict], path: str | Path, caption: str = "",
                    chance: float | None = None) -> Path:
    """Loss, accuracy (with the chance line), firing rate and chi (neuron and parameter) per epoch."""
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    axes[0].plot(ep, [h["loss"] for h in history], marker="o")
    axes[0].set_ylabel("training loss")
    axes[1].plot(ep, [100 * h["train_accuracy"] for h in history], marker="o", label="train")
    axes[1].plot(ep, [100 * h["val_accuracy"] for h in history], marker="s", label="validation")
    _chance_line(axes[1], chance)
    axes[1].set_ylabel("accuracy (%)")
    axes[2].plot(ep, [100 * h["firing_rate"] for h in history], marker="o", color="C3")
    axes[2].set_ylabel("mean firing rate (%)")
    axes[3].plot(ep, [h.get("chi", float("nan")) for h in history], marker="o", label="neuron chi")
    axes[3].plot(ep, [h.get("param_chi", float("nan")) for h in history], marker="s", label="parameter chi")
    axes[3].set_ylabel("chi (fraction reached by gradient)")
    axes[3].set_ylim(0, 1.05)
    for ax, title in zip(axes, ("Loss", "Accuracy", "Firing rate", "Chi"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:  # below the axes, off the curves
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    if caption:
        fig.suptitle(caption)
    return _save(fig, path)


@styled
def hardware_cycles(layers: Sequence[dict], path: str | Path, title: str = "Cycles per layer") -> Path:
    """Stacked bars per layer of its cycles by activity (a CostReport layer's ``breakdown``)."""
    names = [layer["name"] for layer in layers]
    parts = list(dict.fromkeys(k for layer in layers for k in layer["breakdown"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 3), 4))
    bottom = [0.0] * len(layers)
    for part in parts:
        vals = [layer["breakdown"].get(part, 0.0) for layer in layers]
        ax.bar(names, vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(names)), names, rotation=25, ha="right")
    ax.set_ylabel("cycles per inference (mean)")
    ax.set_xlabel("layer")
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    _legend_outside(fig, ax, title="activity")
    return _save(fig, path)


def _mean_by(rows: Sequence[dict], key: str, metric: schema.Metric) -> tuple[list[float], list[float]]:
    """x values (``key``) and the mean displayed ``metric`` of the rows at each."""
    xs = sorted({float(r[key]) for r in rows})
    return xs, [sum(metric.scaled(float(r[metric.name])) for r in rows if float(r[key]) == x)
                / sum(float(r[key]) == x for r in rows) for x in xs]


@styled
def slope_curves(rows: Sequence[dict], path: str | Path, cost: schema.Metric = schema.FPS_PER_W,
                 caption: str = "") -> Path:
    """Accuracy, firing rate and hardware cost versus surrogate slope, one line per surrogate
    (through the mean of the seeds where a point has several; each seed a small dot);
    degenerate runs crossed, chance accuracy dashed."""
    from spiketune.network.surrogate import FAMILIES

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = ((axes[0], schema.TEST_ACCURACY, "Accuracy"), (axes[1], schema.FIRING_RATE, "Firing activity"),
              (axes[2], cost, f"Hardware: {cost.label}"))
    names = sorted({r["model.surrogate"] for r in rows})
    widths = ", ".join(f"{n}: {FAMILIES[n].width_param}" for n in names if FAMILIES[n].width_param)
    slopes = sorted({float(r["model.slope"]) for r in rows})
    bad = [r for r in rows if schema.is_degenerate(r)]
    for k, name in enumerate(names):
        mine = [r for r in rows if r["model.surrogate"] == name]
        for ax, m, _ in panels:
            xs, ys = _mean_by(mine, "model.slope", m)
            ax.plot(xs, ys, marker="o", color=f"C{k}", label=name)
            if len(mine) > len(xs):  # replicates: every seed's value
                ax.scatter([float(r["model.slope"]) for r in mine],
                           [m.scaled(float(r[m.name])) for r in mine], s=9, color=f"C{k}", alpha=0.5)
    for ax, m, _ in panels:
        if bad:
            ax.scatter([float(r["model.slope"]) for r in bad], [m.scaled(float(r[m.name])) for r in bad],
                       marker="x", s=60, color="red", zorder=5, label="degenerate (excluded from rankings)")
    _chance_line(axes[0], chance_of(rows))
    for ax, m, title in panels:
        ax.set_xscale("log")
        ax.set_xticks(slopes, [f"{v:g}" for v in slopes])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("surrogate slope")
        ax.set_ylabel(m.axis_label)
        ax.set_title(title)
    axes[2].yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    _legend_outside(fig, axes[0], title="surrogate")
    fig.suptitle(caption + (f"\nslope = {widths}" if widths else ""), fontsize=9)
    return _save(fig, path)


@styled
def beta_threshold_heatmaps(rows: Sequence[dict], path: str | Path, chosen: dict | None = None,
                            best: dict | None = None, caption: str = "") -> Path:
    """Heatmaps of accuracy, latency and firing rate over beta x threshold (the mean over seeds
    where a cell has several): value in each cell, the best-accuracy point (circle) and
    the tuned point (star) marked beside it, degenerate cells hatched."""
    import numpy as np

    betas = sorted({float(r["model.beta"]) for r in rows})
    thrs = sorted({float(r["model.threshold"]) for r in rows})
    panels = (schema.TEST_ACCURACY, schema.LATENCY_CYCLES, schema.FIRING_RATE)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    cell = {(float(r["model.threshold"]), float(r["model.beta"])) for r in rows}
    for ax, m in zip(axes, panels, strict=True):
        grid = np.full((len(thrs), len(betas)), np.nan)
        for t, b in cell:
            vals = [m.scaled(float(r[m.name])) for r in rows
                    if (float(r["model.threshold"]), float(r["model.beta"])) == (t, b)]
            grid[thrs.index(t), betas.index(b)] = sum(vals) / len(vals)
        im = ax.imshow(grid, origin="lower", cmap=COLORMAPS[m.name], aspect="auto")
        bad = {(float(r["model.threshold"]), float(r["model.beta"])) for r in rows if schema.is_degenerate(r)}
        for t, b in sorted(bad):
            ax.add_patch(plt.Rectangle((betas.index(b) - 0.5, thrs.index(t) - 0.5), 1, 1, fill=False,
                                       hatch="//", edgecolor=(0.9, 0.1, 0.1, 0.55), lw=0, label="degenerate"))
        for (i, j), v in np.ndenumerate(grid):
            if not np.isnan(v):
                r, g, b, _ = im.cmap(im.norm(v))
                ax.text(j, i, f"{v:.1f}" if m.percent else f"{v:,.0f}", ha="center", va="center", fontsize=8,
                        color="white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black",
                        bbox={"boxstyle": "round,pad=0.2", "fc": (r, g, b), "ec": "none"}, zorder=3)
        for point, marker, name, dx in ((best, "o", "best accuracy", -0.32), (chosen, "*", "tuned", 0.32)):
            if point is not None:
                ax.scatter(betas.index(float(point["model.beta"])) + dx,
                           thrs.index(float(point["model.threshold"])), marker=marker, s=90,
                           facecolors="white", edgecolors="red", linewidths=1.5, label=name, zorder=4)
        ax.set_xticks(range(len(betas)), [f"{b:g}" for b in betas])
        ax.set_yticks(range(len(thrs)), [f"{t:g}" for t in thrs])
        ax.grid(False)
        ax.set_xlabel("beta (membrane decay)")
        ax.set_ylabel("threshold")
        ax.set_title(m.axis_label)
        bar = fig.colorbar(im, ax=ax, shrink=0.85)
        if m is schema.TEST_ACCURACY and (chance := chance_of(rows)) is not None:
            bar.ax.axhline(100 * chance, color="red", lw=1.5)
            bar.ax.text(1.05, 100 * chance, " chance", transform=bar.ax.get_yaxis_transform(),
                        va="center", fontsize=7, color="red", clip_on=False)
    handles = {lab: h for h, lab in zip(*axes[0].get_legend_handles_labels(), strict=True)}
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=len(handles),
                   frameon=False)
    if caption:
        fig.suptitle(caption, fontsize=9)
    return _save(fig, path)


@styled
def pareto_front(points: Sequence[tuple[float, float]], on_front: Sequence[bool], path: str | Path,
                 xlabel: str = schema.LATENCY_CYCLES.axis_label,
                 ylabel: str = schema.TEST_ACCURACY.axis_label,
                 title: str = "Accuracy vs hardware cost", degenerate: Sequence[bool] | None = None,
                 chance: float | None = None) -> Path:
    """Scatter of trials: non-dominated ones highlighted and joined, dominated ones grey,
    degenerate ones (never on the front) crossed; chance accuracy dashed."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    bad = list(degenerate) if degenerate is not None else [False] * len(points)
    dom = [p for p, f, d in zip(points, on_front, bad, strict=True) if not f and not d]
    front = sorted(p for p, f in zip(points, on_front, strict=True) if f)
    if dom:
        xs, ys = zip(*dom, strict=True)
        ax.scatter(xs, ys, color="0.65", label="dominated", s=22)
    if any(bad):
        xs, ys = zip(*[p for p, d in zip(points, bad, strict=True) if d], strict=True)
        ax.scatter(xs, ys, marker="x", color="red", s=40, label="degenerate (excluded)")
    if front:
        ax.plot(*zip(*front, strict=True), color="C3", marker="o", label="Pareto front",
                drawstyle="steps-post")
    _chance_line(ax, chance)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.4g}"))
    _legend_outside(fig, ax)
    return _save(fig, path)


def _expected_sso(x: Any, mean: float, variance: float) -> Any:
    """The SSO surrogate's expected derivative: 1 where the neuron spikes (x > 0), else the
    mean of its uniform noise, ``mean * variance``."""
    import torch

    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, mean * variance))


@styled
def surrogate_profiles(curves: Sequence[tuple[str, dict]], path: str | Path) -> Path:
    """dS/dU versus (U - threshold) for each (surrogate name, params); the stochastic SSO as
    its expected derivative."""
    import torch

    from spiketune.network import surrogate as sg

    x = torch.linspace(-2, 3, 1001, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, params in curves:
        s = sg.get(name, **params)
        label = f"{name} " + ", ".join(f"{k}={v:.3g}" for k, v in params.items())
        if name == "sso":
            y = _expected_sso(x, s.params["mean"], s.params["variance"])
            label += " (expected)"
        else:
            y = s.derivative(x)
        ax.plot(x.numpy(), y.numpy(), label=label)
    ax.set_xlabel("U - threshold")
    ax.set_ylabel("dS/dU (surrogate derivative)")
    ax.set_title("Surrogate derivative profiles (log scale; zero and negative parts not drawn)")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, None)
    _legend_outside(fig, ax)
    return _save(fig, path)


@styled
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
    return _save(fig, path)
