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

Both plans run once per seed (replicates sharing the data split; Study B: one Optuna study
per configuration and seed). Each writes a sweep-style folder (``results.csv/json`` per seed,
``results_summary.csv/json`` per configuration), ``findings.json`` (each finding tested on the
replicates with a verdict, see :mod:`spiketune.explore.findings`) and the report;
:func:`restate` tests the findings again on the stored runs alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from spiketune import schema
from spiketune.errors import ConfigError
from spiketune.explore import as_run, energy_table, findings
from spiketune.explore.replicates import check_seeds, replicate_figures, summary_rows
from spiketune.explore.sweep import SweepConfig, collect, run_id, run_sweep
from spiketune.explore.table import write_table
from spiketune.reporting.report import build
from spiketune.results import read_mapping, write_json, write_text
from spiketune.training import config as cfgmod

PRESETS = ("surrogate-slope", "surrogates-neurons")


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
TOP_K = {True: 2, False: 5}  # best trials per configuration and study seed that enter a comparison
DEFAULT_SEEDS = (0, 1, 2)  # replicates: training seeds (Study A), study seeds (Study B)


def _adjusted(base: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """``base`` with dotted settings (``data.root``, ``train.epochs``, ...) applied on top."""
    return cfgmod.with_overrides(cfgmod.from_dict(base), settings).to_dict() if settings else base


def _slope_sweep(base: dict[str, Any], grids: list[dict[str, list[Any]]], seeds: list[int],
                 hardware: dict[str, Any] | None = None) -> SweepConfig:
    return SweepConfig.from_dict({"base": base, "grids": grids, "seeds": seeds, "hardware": hardware or {}})


def surrogate_slope(dataset: str, quick: bool, out: Path, progress: bool, settings: dict[str, Any],
                    seeds: list[int], protocol: str, trials: int | None) -> list[dict[str, Any]]:
    plan = as_run.study_a(dataset, quick) if protocol == "as-run" else as_run.Plan(_base(dataset, quick))
    base = _adjusted(plan.base, settings)
    base["model"] = {**base.get("model", {}), "beta": 0.25, "threshold": 1.0}
    slopes = [1, 4, 16] if quick else [1, 2, 4, 6, 8, 12, 16, 32, 48]
    grid1: dict[str, list[Any]] = {"model.surrogate": ["fast_sigmoid", "atan"], "model.slope": slopes}
    s1 = _slope_sweep(base, [grid1], seeds, plan.hardware)
    rows = run_sweep(s1, out, progress)
    ids1 = {run_id(c, s1.hardware) for c in s1.points()}
    fs = [r for r in rows if r["run"] in ids1 and r["model.surrogate"] == "fast_sigmoid"]
    if not fs or not any(r["run"] in ids1 and r["model.surrogate"] == "atan" for r in rows):
        raise ConfigError("the slope sweep finished no fast sigmoid or arctangent run")
    # chosen slope: the tuned fast-sigmoid point by efficiency (highest mean FPS/W near its best
    # accuracy); when every run is degenerate, the tuned point among them
    means = summary_rows(fs)
    tuned = (schema.tuned_point(means, schema.FPS_PER_W)
             or schema.tuned_point(means, schema.FPS_PER_W, include_degenerate=True))
    if tuned is None:
        raise ConfigError(f"the slope sweep's fast sigmoid runs have no {schema.FPS_PER_W.name}")
    _, chosen = tuned
    slope = float(chosen["model.slope"])
    betas = [0.25, 0.5, 0.9] if quick else [0.1, 0.25, 0.5, 0.75, 0.9]
    thrs = [0.5, 1.0, 1.5] if quick else [0.5, 0.75, 1.0, 1.25, 1.5]
    grid2: dict[str, list[Any]] = {"model.surrogate": ["fast_sigmoid"], "model.slope": [slope],
                                   "model.beta": betas, "model.threshold": thrs}
    run_sweep(_slope_sweep(base, [grid1, grid2], seeds, plan.hardware), out, progress)
    write_text(out / "preset.yaml", yaml.safe_dump(
        {"preset": "surrogate-slope", "protocol": protocol, "dataset": dataset, "quick": quick,
         "base": base, "hardware": plan.hardware, "notes": plan.notes, "seeds": seeds,
         "slope_grid": grid1, "chosen_slope": slope, "beta_threshold_grid": grid2}, sort_keys=False))
    return study_a_findings(out)


def study_a_findings(out: Path) -> list[dict[str, Any]]:
    """Study A's findings from a finished (or partly finished) surrogate-slope folder; rewrites
    its results.csv (per seed) and results_summary.csv (per configuration)."""
    preset = read_mapping(out / "preset.yaml", "preset")
    grid1, grid2, seeds = preset["slope_grid"], preset["beta_threshold_grid"], preset.get("seeds") or [0]
    hardware = preset.get("hardware") or {}
    s1 = _slope_sweep(preset["base"], [grid1], seeds, hardware)
    s2 = _slope_sweep(preset["base"], [grid1, grid2], seeds, hardware)
    rows = collect(out)
    ids1 = {run_id(c, s1.hardware) for c in s1.points()}
    ids2 = {run_id(c, s2.hardware) for c in s2.grid_points(preset["beta_threshold_grid"])}
    phase1, phase2 = [r for r in rows if r["run"] in ids1], [r for r in rows if r["run"] in ids2]
    write_table(out, rows)
    write_table(out, summary_rows(rows), "results_summary")
    replicate_figures([(preset["slope_grid"], phase1), (preset["beta_threshold_grid"], phase2)],
                      out / "figures")
    flags = findings.degenerate_flags(rows, {r["run"]: out / "runs" / r["run"] for r in rows})
    return findings.study_a(phase1, phase2, flags)


def _study_name(surrogate: str, neuron: str, seed: int) -> str:
    return f"{surrogate}-{neuron}-s{seed}"


def _corrected_b(dataset: str, quick: bool) -> as_run.SearchPlan:
    """Study B's plan under the corrected protocol: every knob the study varied searched."""
    space = {"model.beta": {"low": 0.1, "high": 0.95}, "model.threshold": {"low": 0.3, "high": 1.5},
             "model.slope": {"low": 0.5, "high": 30.0, "log": True},
             "train.lr": {"low": 1e-3, "high": 1e-2, "log": True}}
    return as_run.SearchPlan(_study_b_base(dataset, quick), space=space, trials=TRIALS[quick],
                             pruner=None if quick else "median",  # the study used Optuna's median pruner
                             top_k=TOP_K[quick])


def surrogates_neurons(dataset: str, quick: bool, out: Path, progress: bool, settings: dict[str, Any],
                       seeds: list[int], protocol: str, trials: int | None) -> list[dict[str, Any]]:
    import optuna

    from spiketune.explore.search import SearchConfig, run_search

    plan = as_run.study_b(dataset, quick) if protocol == "as-run" else _corrected_b(dataset, quick)
    base = _adjusted(plan.base, settings)
    split = base.get("data", {}).get("split_seed") or base.get("train", {}).get("seed", 0)
    trials, space = trials or plan.trials, plan.space
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed in seeds:  # one Optuna study per configuration and seed: sampler and training seeded alike
        for neuron in findings.NEURONS:
            for surrogate in findings.SURROGATES:
                cfg = {"base": {**base, "model": {**base["model"], "surrogate": surrogate, "neuron": neuron},
                                "data": {**base.get("data", {}), "split_seed": split},
                                "train": {**base.get("train", {}), "seed": seed}},
                       "space": space, "objectives": ["accuracy"], "sampler": "tpe",
                       "pruner": plan.pruner, "hardware": plan.hardware}
                name = _study_name(surrogate, neuron, seed)
                run_search(SearchConfig.from_dict(cfg), out / "studies" / name, trials, name,
                           seed=seed, progress=progress)
    write_text(out / "preset.yaml", yaml.safe_dump(
        {"preset": "surrogates-neurons", "protocol": protocol, "dataset": dataset, "quick": quick,
         "base": base, "hardware": plan.hardware, "notes": plan.notes, "seeds": seeds, "space": space,
         "trials_per_configuration": trials, "pruner": plan.pruner, "best_k": plan.top_k},
        sort_keys=False))
    return study_b_findings(out)


def study_b_findings(out: Path) -> list[dict[str, Any]]:
    """Study B's findings from a finished surrogates-neurons folder; writes results.csv (the best
    trial of each configuration and study seed), results_summary.csv (their mean, sd, CI over
    study seeds per configuration) and all_trials.csv."""
    preset = read_mapping(out / "preset.yaml", "preset")
    k, seeds = int(preset.get("best_k", 1)), preset.get("seeds") or [0]
    trials, folders = {}, {}
    for seed in seeds:
        for neuron in findings.NEURONS:
            for surrogate in findings.SURROGATES:
                name = _study_name(surrogate, neuron, seed)
                rows = collect(out, f"studies/{name}/trials/*/")
                if not rows:
                    raise ConfigError(f"no trial of {name} finished (all pruned or failed); "
                                      f"see {out / 'studies' / name}")
                trials[(surrogate, neuron, seed)] = rows
                folders.update({r["run"]: out / "studies" / name / "trials" / r["run"] for r in rows})
    every = [r for rows in trials.values() for r in rows]
    best = [findings.best_k(rows, 1)[0] for rows in trials.values()]
    write_table(out, best)
    searched = set(preset["space"])
    write_table(out, summary_rows([{k_: v for k_, v in r.items() if k_ not in searched} for r in best]),
                "results_summary")
    write_table(out, every, "all_trials")
    return findings.study_b(trials, k, findings.degenerate_flags(every, folders))


PLANS = {"surrogate-slope": (surrogate_slope, study_a_findings),
         "surrogates-neurons": (surrogates_neurons, study_b_findings)}


def restate(folder: str | Path) -> tuple[Path, list[dict[str, Any]]]:
    """Test the findings again on a reproduction folder's stored results (after more seeds, or
    another engineer's runs copied in) and rewrite findings.json and the report."""
    folder = Path(folder)
    preset = read_mapping(folder / "preset.yaml", "preset")
    if preset.get("preset") not in PLANS:
        raise ConfigError(f"{folder / 'preset.yaml'}: unknown preset {preset.get('preset')!r}; "
                          f"valid: {', '.join(PRESETS)}")
    return _write(folder, PLANS[preset["preset"]][1](folder))


def _write(folder: Path, found: list[dict[str, Any]]) -> tuple[Path, list[dict[str, Any]]]:
    write_json(folder / "findings.json", found)
    energy_table.write_if_any(folder)
    html, _ = build(folder)
    return html, found


def _check_folder(folder: Path, name: str, protocol: str) -> None:
    """Refuse a folder that holds another plan or protocol: their runs would mix in its tables."""
    if not (folder / "preset.yaml").is_file():
        return
    preset = read_mapping(folder / "preset.yaml", "preset")
    held = (preset.get("preset"), preset.get("protocol", "corrected"))
    if held != (name, protocol):
        raise ConfigError(f"{folder / 'preset.yaml'}: this folder holds {held[0]} under the {held[1]} "
                          f"protocol, not {name} under {protocol}; give another --out")


def reproduce(name: str, dataset: str = "digits", quick: bool = False,
              out: str | Path | None = None, progress: bool = True,
              data_root: str | Path | None = None,
              settings: dict[str, Any] | None = None,
              seeds: list[int] | None = None,
              protocol: str = "corrected", trials: int | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """Run preset ``name`` on ``dataset`` (stored in ``data_root``, else its default place),
    with dotted ``settings`` (e.g. ``{"train.epochs": 4}``) over the preset's base config, once
    per seed of ``seeds`` (default :data:`DEFAULT_SEEDS`), under ``protocol`` (``corrected``, or
    ``as-run``: the authors' scripts, see :mod:`spiketune.explore.as_run`), with ``trials`` Optuna
    trials per configuration in Study B (default: the plan's); returns
    (report.html path, findings). Re-running with more seeds adds only the missing replicates."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; valid: {', '.join(PRESETS)}")
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {trials}")
    if protocol not in as_run.PROTOCOLS:
        raise ConfigError(f"unknown protocol '{protocol}'; valid: {', '.join(as_run.PROTOCOLS)}")
    seeds = check_seeds(list(seeds if seeds is not None else DEFAULT_SEEDS), "--seeds")
    suffix = ("-quick" if quick else "") + ("-as-run" if protocol == "as-run" else "")
    folder = Path(out or f"results/reproduce-{name}-{dataset}{suffix}")
    _check_folder(folder, name, protocol)
    folder.mkdir(parents=True, exist_ok=True)
    settings = dict(settings or {})
    if data_root is not None:
        settings["data.root"] = str(data_root)
    return _write(folder, PLANS[name][0](dataset, quick, folder, progress, settings, seeds, protocol,
                                         trials))
