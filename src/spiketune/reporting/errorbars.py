"""Figures of replicated results: means with 95% confidence intervals as error bars, every
replicate as a dot, and the effects of tested findings with their intervals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from spiketune import schema  # noqa: E402
from spiketune.results import save_figure  # noqa: E402

VERDICT_COLOURS = {"reproduced": "#1b7837", "contradicted": "#b2182b", "inconclusive": "#777777"}


def _moved(v: float, shift: float, span: float, log_x: bool) -> float:
    """``v`` moved by ``shift`` of the axis span (a factor on a log axis)."""
    return v * span ** shift if log_x else v + shift * span


def _label(key: str, value: Any) -> str:
    return f"{key.split('.')[-1]}={value}"


def replicate_curves(summary: Sequence[dict], rows: Sequence[dict], path: str | Path, x: str,
                     series: Sequence[str], cost: schema.Metric = schema.FPS_PER_W,
                     log_x: bool = False) -> Path:
    """Accuracy, firing rate and ``cost`` versus setting ``x``, one line per value of the
    ``series`` settings: the mean over replicates with its 95% confidence interval (error
    bars; ``summary`` rows as written by :func:`spiketune.explore.replicates.summary_rows`)
    and each replicate of ``rows`` as a dot."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), dpi=120)
    panels = ((axes[0], schema.TEST_ACCURACY), (axes[1], schema.FIRING_RATE), (axes[2], cost))
    keys = sorted({tuple(r.get(k) for k in series) for r in summary}, key=str)
    xs_all = sorted({float(r[x]) for r in summary})
    span = (xs_all[-1] / xs_all[0]) if log_x and xs_all[0] > 0 else (xs_all[-1] - xs_all[0]) or 1.0
    ns = sorted({int(r["n"]) for r in summary})
    for i, key in enumerate(keys):
        colour = f"C{i % 10}"
        name = ", ".join(_label(k, v) for k, v in zip(series, key, strict=True)) or "mean"
        pts = sorted((float(r[x]), r) for r in summary if tuple(r.get(k) for k in series) == key)
        seeds = [r for r in rows if tuple(r.get(k) for k in series) == key]
        # bars and dots of a series shifted a little sideways, so overlapping series stay readable
        shift = (i - (len(keys) - 1) / 2) * 0.015
        xs = [_moved(p[0], shift, span, log_x) for p in pts]
        dots = [_moved(float(r[x]), shift, span, log_x) for r in seeds]
        for ax, m in panels:
            mean = [m.scaled(float(p[1][m.name])) for p in pts]
            low = [m.scaled(float(p[1].get(f"{m.name}.ci_low", float("nan")))) for p in pts]
            high = [m.scaled(float(p[1].get(f"{m.name}.ci_high", float("nan")))) for p in pts]
            ax.errorbar(xs, mean, yerr=[[mu - lo for mu, lo in zip(mean, low, strict=True)],
                                        [hi - mu for mu, hi in zip(mean, high, strict=True)]],
                        color=colour, marker="o", capsize=3, lw=1.4, label=name)
            ax.scatter(dots, [m.scaled(float(r[m.name])) for r in seeds], s=9, color=colour,
                       alpha=0.45, zorder=3, linewidths=0)
    for ax, m in panels:
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(xs_all, [f"{v:g}" for v in xs_all])
        if not m.percent:
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_xlabel(x)
        ax.set_ylabel(m.axis_label)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    n_text = "/".join(str(n) for n in ns)
    fig.suptitle(f"mean with 95% confidence interval over {n_text} seeds (dots: each seed)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def finding_effects(findings: Sequence[dict], path: str | Path) -> Path:
    """Each finding's effect with its 95% confidence interval, in percent of its baseline
    (the compared-against group's mean), coloured by verdict; zero is no effect."""
    rows = [f for f in findings if f.get("baseline") and f.get("effect") is not None]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.4), dpi=120)
    for i, f in enumerate(rows):
        b = abs(float(f["baseline"]))
        e, lo, hi = (100 * float(f[k]) / b for k in ("effect", "ci_low", "ci_high"))
        colour = VERDICT_COLOURS.get(f["verdict"], "black")
        y = len(rows) - 1 - i
        if lo == lo and hi == hi:  # an interval exists (not NaN)
            ax.errorbar([e], [y], xerr=[[e - lo], [hi - e]], fmt="o", color=colour, capsize=4, lw=2)
        else:
            ax.plot([e], [y], "o", color=colour)
        ax.text(1.01, y, f"{f['verdict']} (n={f.get('n')})", transform=ax.get_yaxis_transform(),
                va="center", fontsize=8, color=colour)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [_short(f["finding"]) for f in reversed(rows)], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("effect (% of the baseline group's mean), 95% confidence interval")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
