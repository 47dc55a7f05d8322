"""Study findings tested on replicated results, from the stored run folders alone.

Each finding is a dict: ``study``, ``finding``, ``figure``, ``measured`` (the numbers in
words), and the test's outcome from :mod:`spiketune.explore.stats`: ``verdict``
(reproduced / contradicted / inconclusive), ``effect`` (in ``metric``'s unit; ``baseline`` is
the compared-against group's mean), ``ci_low``/``ci_high`` (95%), ``effect_size``,
``p_value``, ``n``, ``test``, ``seeds_needed`` (replicates for 80% power at the observed effect
and spread) and ``note``. A finding whose compared runs include a degenerate one (a silent
layer or chance accuracy, :mod:`spiketune.explore.degenerate`) is inconclusive.

Study A (surrogate-slope): the replicates are training seeds; fast sigmoid and arctangent are
paired by seed, with each seed's difference averaged over the slopes where neither surrogate
has a degenerate replicate. Study B (surrogates-neurons): the replicates are study seeds (one
Optuna study per configuration and seed, its sampler and training seeded alike); a
configuration's value in one study is the mean of its best-k trials by accuracy, and
configurations are paired by study seed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from spiketune import schema
from spiketune.explore import stats
from spiketune.explore.degenerate import run_degenerate
from spiketune.explore.replicates import SEED, summary_rows

ACC, RATE, EFF, LAT = (m.name for m in (schema.TEST_ACCURACY, schema.FIRING_RATE, schema.FPS_PER_W,
                                        schema.LATENCY_CYCLES))
SIMILAR_ACCURACY = 0.03  # "similar accuracy": within 3 points (Study A's tuned-point budget)
POOR_CORRELATION = 0.5  # "predicts poorly": |Spearman rho| below this


def finding(study: str, text: str, figure: str, metric: str | None, verdict: stats.Verdict,
            baseline: float, measured: str, note: str = "") -> dict[str, Any]:
    """One finding's record (see the module docstring)."""
    d = verdict.to_dict()
    d["note"] = "; ".join(x for x in (verdict.note, note) if x)
    return {"study": study, "finding": text, "figure": figure, "metric": metric, **d,
            "baseline": baseline, "measured": measured}


# ---- Study A ---------------------------------------------------------------------------------


def _slope_table(rows: list[dict[str, Any]]) -> dict[tuple[str, float], dict[int, dict[str, Any]]]:
    """(surrogate, slope) -> seed -> row."""
    out: dict[tuple[str, float], dict[int, dict[str, Any]]] = {}
    for r in rows:
        out.setdefault((r["model.surrogate"], float(r["model.slope"])), {})[int(r[SEED])] = r
    return out


def study_a(slope_rows: list[dict[str, Any]], grid_rows: list[dict[str, Any]],
            degenerate: dict[str, bool]) -> list[dict[str, Any]]:
    """Study A's findings from the slope sweep's and the beta x threshold grid's per-seed rows;
    ``degenerate`` maps run ids to the flag."""
    study = "A (DATE 2024)"
    table = _slope_table(slope_rows)
    slopes = sorted({s for _, s in table})
    seeds = sorted(set.intersection(*(set(v) for v in table.values()))) if table else []
    pairs = [s for s in slopes if ("fast_sigmoid", s) in table and ("atan", s) in table]
    healthy = [s for s in pairs if not any(degenerate[table[(n, s)][k]["run"]]
                                           for n in ("fast_sigmoid", "atan") for k in seeds)]
    dropped = sorted(set(pairs) - set(healthy))
    note = (f"slopes {', '.join(f'{s:g}' for s in dropped)} left out: a degenerate replicate"
            if dropped else "")

    def per_seed(name: str, metric: str) -> list[float]:  # the seed's mean over the healthy slopes
        return [float(np.mean([table[(name, s)][k][metric] for s in healthy])) for k in seeds]

    where = (f"paired by seed (n = {len(seeds)}), each seed's difference averaged over slopes "
             f"{', '.join(f'{s:g}' for s in healthy)}") if healthy else "no slope without a degenerate run"
    out = []
    for metric, sign, text, figure in (
            (RATE, -1, "fast sigmoid fires less than arctangent", "slope curves (firing activity)"),
            (EFF, +1, "fast sigmoid is more efficient on the accelerator (FPS/W)",
             "slope curves (hardware efficiency)")):
        a, b = (per_seed(n, metric) for n in ("fast_sigmoid", "atan")) if healthy else ([], [])
        v = stats.compare(a, b, sign, paired=True, degenerate=not healthy)
        m = schema.METRICS[metric]
        measured = (f"fast sigmoid {m.show(float(np.mean(a)))} vs arctangent {m.show(float(np.mean(b)))} "
                    f"(mean over seeds and slopes), {where}") if healthy else where
        out.append(finding(study, text, figure, metric, v, float(np.mean(b)) if b else float("nan"),
                           measured, note))
    a, b = (per_seed(n, ACC) for n in ("fast_sigmoid", "atan")) if healthy else ([], [])
    v = stats.equivalent(a, b, SIMILAR_ACCURACY, paired=True, degenerate=not healthy)
    shown = [schema.TEST_ACCURACY.show(float(np.mean(x))) for x in (a, b)] if healthy else []
    out.append(finding(study, f"... at similar accuracy (within {100 * SIMILAR_ACCURACY:g} pts)",
                       "slope curves (accuracy)", ACC, v, float(np.mean(b)) if b else float("nan"),
                       f"fast sigmoid {shown[0]} vs arctangent {shown[1]}, {where}" if healthy else where,
                       note))
    if (tuned := _tuned(grid_rows, degenerate)) is not None:
        out.append(tuned)
    return out


def _tuned(rows: list[dict[str, Any]], degenerate: dict[str, bool]) -> dict[str, Any] | None:
    """'A tuned (beta, threshold) cuts latency': the tuned and best-accuracy configurations are
    picked on the means over seeds, then their latencies compared paired by seed."""
    summary = [s for s in summary_rows(rows) if s.get(LAT) is not None]
    picked = schema.tuned_point(summary)
    if picked is None or len(summary) < 2:
        return None
    best, tuned = picked
    runs = {r["run"]: r for r in rows}
    b_rows, t_rows = ({int(runs[i][SEED]): runs[i] for i in s["runs"].split()} for s in (best, tuned))
    seeds = sorted(set(b_rows) & set(t_rows))
    a, b = [t_rows[k][LAT] for k in seeds], [b_rows[k][LAT] for k in seeds]
    bad = any(degenerate[r["run"]] for k in seeds for r in (t_rows[k], b_rows[k]))
    v = stats.compare(a, b, -1, paired=True, degenerate=bad)
    cost = stats.summarize([b_rows[k][ACC] - t_rows[k][ACC] for k in seeds])
    label = "the same configuration" if tuned["runs"] == best["runs"] else (
        f"tuned beta={tuned['model.beta']}, threshold={tuned['model.threshold']} vs best-accuracy "
        f"beta={best['model.beta']}, threshold={best['model.threshold']}")
    measured = (f"{label}: latency {100 * v.effect / np.mean(b):+.1f}%, accuracy cost "
                f"{100 * cost.mean:.2f} pts (95% CI {100 * cost.ci_low:.2f} to {100 * cost.ci_high:.2f}); "
                f"chosen on the means over {len(seeds)} seeds, then paired by seed")
    return finding("A (DATE 2024)", "a tuned (beta, threshold) cuts latency (paper: -48%) for a small "
                   "accuracy loss (paper: -2.88 pts)", "beta x threshold heatmaps", LAT, v,
                   float(np.mean(b)), measured,
                   "configurations chosen on the same seeds they are tested on (optimistic)")


# ---- Study B ---------------------------------------------------------------------------------

SURROGATES = ("fast_sigmoid", "atan", "spike_rate_escape", "sso")
NEURONS = ("lif", "lapicque")
BEST_TRIALS = "best trials per configuration"


def best_k(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The ``k`` trials of highest test accuracy (ties: earlier first)."""
    return sorted(rows, key=lambda r: -r[ACC])[:k]


def study_b(trials: dict[tuple[str, str, int], list[dict[str, Any]]], k: int,
            degenerate: dict[str, bool]) -> list[dict[str, Any]]:
    """Study B's findings from the finished trials of each (surrogate, neuron, study seed)."""
    study = "B (Surrogates, Spikes, and Sparsity)"
    seeds = sorted({s for (_, _, s) in trials})
    top = {key: best_k(rows, k) for key, rows in trials.items()}

    def value(surrogate: str, neuron: str, seed: int, metric: str) -> float:
        return float(np.mean([r[metric] for r in top[(surrogate, neuron, seed)]]))

    def bad(keys: list[tuple[str, str]]) -> bool:
        return any(degenerate[r["run"]] for s in seeds for sg, n in keys for r in top[(sg, n, s)])

    def mean_over(keys: list[tuple[str, str]], seed: int, metric: str) -> float:
        return float(np.mean([value(sg, n, seed, metric) for sg, n in keys]))

    every = [(sg, n) for sg in SURROGATES for n in NEURONS]
    design = f"best {k} trials per configuration, paired by study seed (n = {len(seeds)})"
    out = []
    # accuracy vs efficiency over all healthy trials of each study seed
    rhos = []
    for s in seeds:
        rows = [r for (_, _, seed), rs in trials.items() if seed == s for r in rs if not degenerate[r["run"]]]
        rhos.append(abs(spearman([r[ACC] for r in rows], [r[EFF] for r in rows])))
    v = stats.compare(rhos, [POOR_CORRELATION] * len(rhos), -1, paired=True)
    v = replace(v, test=f"one-sample t-test of |rho| against {POOR_CORRELATION}")
    n_deg = sum(degenerate[r["run"]] for rs in trials.values() for r in rs)
    out.append(finding(study, "accuracy alone predicts hardware efficiency poorly", "all trials: accuracy vs "
                       "FPS/W", None, v, POOR_CORRELATION,
                       f"|Spearman rho| of accuracy and FPS/W per study seed: "
                       f"{', '.join(f'{x:.2f}' for x in rhos)}",
                       f"{n_deg} degenerate trials left out" if n_deg else ""))
    sre = [(sg, n) for sg, n in every if sg == "spike_rate_escape"]
    others = [(sg, n) for sg, n in every if sg != "spike_rate_escape"]
    a = [mean_over(sre, s, LAT) for s in seeds]
    b = [mean_over(others, s, LAT) for s in seeds]
    v = stats.compare(a, b, -1, paired=True, degenerate=bad(every))
    out.append(finding(study, "SRE lowers latency (paper: up to -12.2% on DVS128 Gesture)", BEST_TRIALS,
                       LAT, v, float(np.mean(b)),
                       f"SRE {100 * v.effect / np.mean(b):+.1f}% latency vs the other surrogates' mean; "
                       f"{design}"))
    a = [mean_over([(sg, "lapicque") for sg in SURROGATES], s, LAT) for s in seeds]
    b = [mean_over([(sg, "lif") for sg in SURROGATES], s, LAT) for s in seeds]
    v = stats.compare(a, b, -1, paired=True, degenerate=bad(every))
    out.append(finding(study, "LIF -> Lapicque lowers latency (paper: up to -28%)", BEST_TRIALS, LAT, v,
                       float(np.mean(b)),
                       f"Lapicque {100 * v.effect / np.mean(b):+.1f}% latency vs LIF (mean over "
                       f"surrogates); {design}"))
    acc = {sg: [mean_over([(sg, n) for n in NEURONS], s, ACC) for s in seeds] for sg in SURROGATES}
    rival = max((sg for sg in SURROGATES if sg != "fast_sigmoid"), key=lambda sg: np.mean(acc[sg]))
    v = stats.compare(acc["fast_sigmoid"], acc[rival], +1, paired=True,
                      degenerate=bad([(sg, n) for sg in ("fast_sigmoid", rival) for n in NEURONS]))
    shown = {sg: schema.TEST_ACCURACY.show(float(np.mean(acc[sg]))) for sg in ("fast_sigmoid", rival)}
    out.append(finding(study, "fast sigmoid gives the best accuracy (paper: on CIFAR10-DVS)", BEST_TRIALS,
                       ACC, v, float(np.mean(acc[rival])),
                       f"fast sigmoid {shown['fast_sigmoid']} vs the strongest other surrogate, {rival}, "
                       f"{shown[rival]} (mean over neurons); {design}"))
    return out


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman rank correlation (NaN with fewer than three points)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic) if len(a) > 2 else float("nan")


def degenerate_flags(rows: list[dict[str, Any]], folder_of: dict[str, Path]) -> dict[str, bool]:
    """Run id -> degenerate, for rows whose run folders ``folder_of`` names."""
    return {r["run"]: run_degenerate(r, folder_of[r["run"]]) for r in rows}
