"""Reproduction presets: the studies' experiment plans from one command.

``surrogate-slope`` (Study A, DATE 2024): fast sigmoid vs arctangent over a slope range at
default beta/threshold, then a beta x threshold cross-sweep with fast sigmoid at the
chosen slope. Full size follows the authors' SVHN script (T = 18, batch 32, Adam 2e-3,
cosine annealing over 4,690 iterations, 25 epochs with 5-epoch early stopping, beta 0.25,
threshold 1.0, slopes 1..48, MSE spike-count loss, on SVHN a 450-neuron population output).

``surrogates-neurons`` (Study B): Fast Sigmoid, Arctangent, SRE and SSO x LIF/Lapicque,
each configuration tuned by its own Optuna study for accuracy (as the study did, 40
trials, early stopping), the best trial of each costed on the accelerator. Full size uses
the study's published configuration: T = 4, 4-bit weights, beta 0.15, threshold 0.5, slope
1, Adam 5e-3 with cosine warm restarts every 4,690 iterations, mean-squared spike-count
loss, up to 200 epochs, Optuna's median pruner; its batch size and early-stopping patience are not published
(32 and 5 here). The dataset's default network supplies batch norm, dropout and the
population output (Study B's VGG-9 for the event datasets).

Each writes a sweep-style folder (``results.csv/json``), ``findings.json`` (what each
finding predicts, what this run measured, reproduced yes/no) and the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from spiketune import schema
from spiketune.errors import ConfigError
from spiketune.explore.sweep import SweepConfig, run_id, run_sweep
from spiketune.reporting.report import build, tuned_vs_best
from spiketune.results import write_json, write_text
from spiketune.training import config as cfgmod

PRESETS = ("surrogate-slope", "surrogates-neurons")
ACC, RATE, EFF, LAT = (m.name for m in (schema.TEST_ACCURACY, schema.FIRING_RATE, schema.FPS_PER_W,
                                        schema.LATENCY_CYCLES))


def _base(dataset: str, quick: bool) -> dict[str, Any]:
    if quick:
        return {"data": {"dataset": dataset, "num_steps": 6, "batch_size": 64},
                "train": {"epochs": 8, "patience": 3, "lr": 5e-3}}
    full = {"data": {"dataset": dataset, "num_steps": 18, "batch_size": 32},
            "train": {"epochs": 25, "patience": 5, "lr": 2e-3, "loss": "mse_count", "t_max": 4690}}
    if dataset == "svhn":  # the script's 450-neuron population output (45 per class)
        full["model"] = {"arch": "32C3-P2-32C3-MP2-256-450"}
    return full


def _study_b_base(dataset: str, quick: bool) -> dict[str, Any]:
    """Study B's published training configuration (from its public scripts; see the module docstring)."""
    model = {"beta": 0.15, "threshold": 0.5, "slope": 1.0}
    if quick:
        return {**_base(dataset, True), "model": model}
    return {"data": {"dataset": dataset, "num_steps": 4, "batch_size": 32},
            "model": {**model, "weight_bits": 4},
            "train": {"epochs": 200, "patience": 5, "lr": 5e-3, "loss": "mse_count",
                      "correct_rate": 1.0, "incorrect_rate": 0.0, "scheduler": "cosine_restarts",
                      "t_0": 4690, "eta_min": 0.0}}


TRIALS = {True: 3, False: 40}  # Optuna trials per configuration (quick, full); the study ran 40


def _best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return max(rows, key=lambda r: r[ACC])


def _adjusted(base: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """``base`` with dotted settings (``data.root``, ``train.epochs``, ...) applied on top."""
    return cfgmod.with_overrides(cfgmod.from_dict(base), settings).to_dict() if settings else base


def surrogate_slope(dataset: str, quick: bool, out: Path, progress: bool,
                    settings: dict[str, Any]) -> list[dict[str, Any]]:
    base = _adjusted(_base(dataset, quick), settings)
    base["model"] = {**base.get("model", {}), "beta": 0.25, "threshold": 1.0}
    slopes = [1, 4, 16] if quick else [1, 2, 4, 6, 8, 12, 16, 32, 48]
    grid1 = {"model.surrogate": ["fast_sigmoid", "atan"], "model.slope": slopes}
    s1 = SweepConfig.from_dict({"base": base, "grids": [grid1]})
    rows = run_sweep(s1, out, progress)
    ids1 = {run_id(c, s1.hardware) for c in s1.points()}
    phase1 = [r for r in rows if r["run"] in ids1]
    fs = [r for r in phase1 if r["model.surrogate"] == "fast_sigmoid"]
    at = [r for r in phase1 if r["model.surrogate"] == "atan"]
    if not fs or not at:
        raise ConfigError("the slope sweep finished no fast sigmoid or arctangent run")
    # chosen slope: the tuned fast-sigmoid point by efficiency (highest FPS/W near its best accuracy)
    _, chosen = (schema.tuned_point(fs, schema.FPS_PER_W)  # all degenerate: the tuned point among them
                 or schema.tuned_point(fs, schema.FPS_PER_W, include_degenerate=True))
    slope = float(chosen["model.slope"])
    betas = [0.25, 0.5, 0.9] if quick else [0.1, 0.25, 0.5, 0.75, 0.9]
    thrs = [0.5, 1.0, 1.5] if quick else [0.5, 0.75, 1.0, 1.25, 1.5]
    grid2 = {"model.surrogate": ["fast_sigmoid"], "model.slope": [slope], "model.beta": betas,
             "model.threshold": thrs}
    s2 = SweepConfig.from_dict({"base": base, "grids": [grid1, grid2]})
    rows = run_sweep(s2, out, progress)
    ids2 = {run_id(c, s2.hardware) for c in s2.grid_points(grid2)}
    phase2 = [r for r in rows if r["run"] in ids2]
    write_text(out / "preset.yaml", yaml.safe_dump(
        {"preset": "surrogate-slope", "dataset": dataset, "quick": quick, "base": base,
         "slope_grid": grid1, "chosen_slope": slope, "beta_threshold_grid": grid2}, sort_keys=False))
    bf, ba = _best(fs), _best(at)
    gap = bf[ACC] - ba[ACC]
    cmp = tuned_vs_best(phase2)
    findings = [
        {"study": "A (DATE 2024)", "finding": "fast sigmoid fires less than arctangent at similar accuracy",
         "figure": "slope curves (firing activity)",
         "measured": f"best-accuracy runs: fast sigmoid {100 * bf[RATE]:.2f}% vs arctangent "
                     f"{100 * ba[RATE]:.2f}% firing, accuracy {100 * bf[ACC]:.2f}% vs "
                     f"{100 * ba[ACC]:.2f}% ({100 * gap:+.2f} pts)",
         "reproduced": "yes" if bf[RATE] < ba[RATE] and abs(gap) <= 0.03 else "no"},
        {"study": "A (DATE 2024)", "finding": "fast sigmoid is more efficient on the accelerator (FPS/W)",
         "figure": "slope curves (hardware efficiency)",
         "measured": f"best-accuracy runs: {bf[EFF]:,.0f} vs {ba[EFF]:,.0f} FPS/W "
                     f"({bf[EFF] / ba[EFF]:.3f}x)",
         "reproduced": "yes" if bf[EFF] > ba[EFF] else "no"}]
    if cmp:
        findings.append(
            {"study": "A (DATE 2024)", "finding": "a tuned (beta, threshold) cuts latency substantially "
             "(paper: -48%) for a small accuracy loss (paper: -2.88 pts)",
             "figure": "beta x threshold heatmaps",
             "measured": f"tuned beta={cmp['tuned']['model.beta']}, "
                         f"threshold={cmp['tuned']['model.threshold']}: "
                         f"latency {-100 * cmp['latency_reduction']:+.1f}%, accuracy "
                         f"{-100 * cmp['accuracy_cost']:+.2f} pts vs best-accuracy "
                         f"beta={cmp['best']['model.beta']}, threshold={cmp['best']['model.threshold']}",
             "reproduced": "yes" if cmp["latency_reduction"] >= 0.10 and cmp["accuracy_cost"] <= 0.03 else
                           ("partly (same direction, smaller)" if cmp["latency_reduction"] > 0 else "no")})
    elif phase2:
        findings.append({"study": "A (DATE 2024)", "finding": "a tuned (beta, threshold) cuts latency substantially",
                         "figure": "beta x threshold heatmaps", "reproduced": "not tested",
                         "measured": "no tuned point: the beta x threshold runs are degenerate (see the report)"})
    return findings


def _spearman(a: list[float], b: list[float]) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1]) if len(a) > 2 else float("nan")


def surrogates_neurons(dataset: str, quick: bool, out: Path, progress: bool,
                       settings: dict[str, Any]) -> list[dict[str, Any]]:
    import json

    import optuna
    from optuna.trial import TrialState

    from spiketune.explore.search import SearchConfig, run_search
    from spiketune.explore.table import row, write_table

    base = _adjusted(_study_b_base(dataset, quick), settings)
    trials = TRIALS[quick]
    space = {"model.beta": {"low": 0.1, "high": 0.95}, "model.threshold": {"low": 0.3, "high": 1.5},
             "model.slope": {"low": 0.5, "high": 30.0, "log": True},
             "train.lr": {"low": 1e-3, "high": 1e-2, "log": True}}
    best_rows, all_rows = [], []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for neuron in ("lif", "lapicque"):
        for surrogate in ("fast_sigmoid", "atan", "spike_rate_escape", "sso"):
            cfg = {"base": {**base, "model": {**base["model"], "surrogate": surrogate, "neuron": neuron}},
                   "space": space, "objectives": ["accuracy"], "sampler": "tpe",
                   "pruner": None if quick else "median"}  # the study used Optuna's median pruner
            name = f"{surrogate}-{neuron}"
            study = run_search(SearchConfig.from_dict(cfg), out / "studies" / name, trials, name,
                               seed=0, progress=progress)
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            for t in done:
                folder = Path(t.user_attrs["folder"])
                r = row(folder.name, yaml.safe_load((folder / "config.yaml").read_text()),
                        json.loads((folder / "metrics.json").read_text()))
                all_rows.append(r)
            if not done:
                raise ConfigError(f"no trial of {name} finished (all pruned or failed); "
                                  f"see {out / 'studies' / name}")
            best = max(done, key=lambda t: t.values[0])
            best_rows.append(next(r for r in all_rows if r["run"] == Path(best.user_attrs["folder"]).name))
    write_table(out, best_rows)
    write_table(out, all_rows, "all_trials")
    write_text(out / "preset.yaml", yaml.safe_dump(
        {"preset": "surrogates-neurons", "dataset": dataset, "quick": quick, "base": base,
         "space": space, "trials_per_configuration": trials}, sort_keys=False))
    acc = [r[ACC] for r in all_rows]
    eff = [r[EFF] for r in all_rows]
    rho = _spearman(acc, eff)
    lat = {(r["model.surrogate"], r["model.neuron"]): r[LAT] for r in best_rows}
    sre = [lat[("spike_rate_escape", n)] for n in ("lif", "lapicque")]
    others = [lat[(s, n)] for s in ("fast_sigmoid", "atan", "sso") for n in ("lif", "lapicque")]
    sre_gain = 1 - np.mean(sre) / np.mean(others)
    lap = [1 - lat[(s, "lapicque")] / lat[(s, "lif")]
           for s in ("fast_sigmoid", "atan", "spike_rate_escape", "sso")]
    accs = {(r["model.surrogate"], r["model.neuron"]): r[ACC] for r in best_rows}
    best_cfg = max(accs, key=accs.get)
    return [
        {"study": "B (Surrogates, Spikes, and Sparsity)",
         "finding": "accuracy alone predicts hardware efficiency poorly",
         "figure": "all trials: accuracy vs FPS/W",
         "measured": f"Spearman rank correlation of accuracy and FPS/W over {len(all_rows)} trials: "
                     f"{rho:+.2f}",
         "reproduced": "yes" if abs(rho) < 0.5 else "no"},
        {"study": "B", "finding": "SRE lowers latency (paper: up to -12.2% on DVS128 Gesture)",
         "figure": "best trial per configuration",
         "measured": f"SRE best trials {-100 * sre_gain:+.1f}% latency vs the other surrogates' mean",
         "reproduced": "yes" if sre_gain > 0 else "no"},
        {"study": "B", "finding": "LIF -> Lapicque lowers latency (paper: up to -28%)",
         "figure": "best trial per configuration",
         "measured": "Lapicque vs LIF latency per surrogate: " + ", ".join(
             f"{s} {-100 * g:+.1f}%"
             for s, g in zip(("fast sigmoid", "atan", "SRE", "SSO"), lap, strict=True)),
         "reproduced": "yes" if np.mean(lap) > 0 else "no"},
        {"study": "B", "finding": "fast sigmoid gives the best accuracy (paper: on CIFAR10-DVS)",
         "figure": "best trial per configuration",
         "measured": f"best configuration: {best_cfg[0]} + {best_cfg[1]} at {100 * accs[best_cfg]:.2f}%",
         "reproduced": "yes" if best_cfg[0] == "fast_sigmoid" else "no"}]


def reproduce(name: str, dataset: str = "digits", quick: bool = False,
              out: str | Path | None = None, progress: bool = True,
              data_root: str | Path | None = None,
              settings: dict[str, Any] | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """Run preset ``name`` on ``dataset`` (stored in ``data_root``, else its default place),
    with dotted ``settings`` (e.g. ``{"train.epochs": 4}``) over the preset's base config;
    returns (report.html path, findings)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; valid: {', '.join(PRESETS)}")
    folder = Path(out or f"results/reproduce-{name}-{dataset}{'-quick' if quick else ''}")
    folder.mkdir(parents=True, exist_ok=True)
    fn = surrogate_slope if name == "surrogate-slope" else surrogates_neurons
    settings = dict(settings or {})
    if data_root is not None:
        settings["data.root"] = str(data_root)
    findings = fn(dataset, quick, folder, progress, settings)
    write_json(folder / "findings.json", findings)
    html, _ = build(folder)
    return html, findings
