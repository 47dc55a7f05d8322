"""Multi-objective Optuna searches over training hyperparameters and hardware cost.

A search config (YAML)::

    base: {train: {epochs: 5}}              # run config shared by every trial
    space:                                  # one entry per searched setting
      model.surrogate: {choices: [fast_sigmoid, atan, spike_rate_escape, sso]}
      model.slope: {low: 0.5, high: 50, log: true}
      model.beta: {low: 0.1, high: 0.95}
      model.neuron: {choices: [lif, lapicque]}
      train.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    objectives: [accuracy, latency]         # accuracy (max), latency (min), fps_per_w (max),
                                            # firing_rate (min), energy (min)
    sampler: nsga2                          # or tpe
    pruner: median                          # optional, single objective only: stop trials whose
                                            # validation accuracy falls below the median of earlier
                                            # trials at the same epoch ({median: {n_startup_trials:
                                            # 5, n_warmup_steps: 0}} sets Optuna's options)
    hardware: {}
    seeds: [0, 1, 2]                        # optional: each trial trains one replicate per seed
                                            # (or replicates: N) and is scored by their mean

The trials run on the exploration engine (:mod:`spiketune.explore.engine`). Storage: an
SQLite file (default ``OUT/study.db``) or a PostgreSQL URL
(``postgresql+psycopg://user:pass@host/db``) shared by workers on many machines, each
running ``spiketune search CONFIG --storage URL --study NAME``. Heartbeats mark the
trials of a killed worker failed; each failed trial is retried once by a live worker.
Workers stop once the study holds ``trials`` completed trials (with a pruner: completed or
pruned, as Optuna counts them). Trials whose training diverges (NaN/inf) are pruned, never
reported as results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.study import MaxTrialsCallback, StudyDirection
from optuna.trial import TrialState
from pydantic import BaseModel
from tqdm.auto import tqdm

from spiketune import schema
from spiketune.errors import ConfigError, SpiketuneError
from spiketune.explore import energy_table
from spiketune.explore.engine import StudyLock, Worker, join_study, show, storage_for
from spiketune.explore.pareto import non_dominated
from spiketune.explore.replicates import parse_seeds, replicate
from spiketune.explore.storage_url import scrub
from spiketune.explore.table import write_table
from spiketune.hardware.config import HardwareConfig
from spiketune.hardware.config import from_dict as hw_from_dict
from spiketune.results import check_name, read_mapping, write_text
from spiketune.training import config as cfgmod

OBJECTIVES: dict[str, schema.Metric] = {  # name in a search config -> the metric it optimises
    "accuracy": schema.TEST_ACCURACY,
    "latency": schema.LATENCY_CYCLES,
    "fps_per_w": schema.FPS_PER_W,
    "firing_rate": schema.FIRING_RATE,
    "energy": schema.ENERGY_UJ,
}


def directions(objectives: list[str]) -> list[StudyDirection]:
    """Optuna's study directions of the named objectives (from the schema)."""
    return [StudyDirection.MAXIMIZE if OBJECTIVES[o].direction == "max" else StudyDirection.MINIMIZE
            for o in objectives]


@dataclass
class SearchConfig:
    base: cfgmod.RunConfig
    space: dict[str, dict[str, Any]]
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "latency"])
    sampler: str = "nsga2"
    hardware: BaseModel = field(default_factory=HardwareConfig)  # a design's validated config
    pruner: dict[str, Any] | None = None  # MedianPruner options, None: no pruning
    seeds: list[int] | None = None  # training seeds of each trial's replicates; None: one run

    @staticmethod
    def from_dict(d: dict[str, Any]) -> SearchConfig:
        unknown = set(d) - {"base", "space", "objectives", "sampler", "hardware", "pruner", "seeds",
                            "replicates"}
        if unknown:
            raise ConfigError(f"unknown search keys {sorted(unknown)}")
        space = d.get("space") or {}
        if not space:
            raise ConfigError("a search needs a 'space' of settings to vary")
        for key, spec in space.items():
            if not isinstance(spec, dict) or not ("choices" in spec or {"low", "high"} <= set(spec)):
                raise ConfigError(f"space.{key} needs 'choices' or 'low' and 'high', got {spec!r}")
        objectives = d.get("objectives") or ["accuracy", "latency"]
        bad = [o for o in objectives if o not in OBJECTIVES]
        if bad or len(objectives) < 1:
            raise ConfigError(f"unknown objectives {bad}; valid: {', '.join(OBJECTIVES)}")
        sampler = d.get("sampler", "nsga2")
        if sampler not in ("nsga2", "tpe"):
            raise ConfigError(f"unknown sampler '{sampler}'; valid: nsga2, tpe")
        pruner = _pruner_options(d.get("pruner"), objectives)
        sc = SearchConfig(cfgmod.from_dict(d.get("base") or {}), space, objectives, sampler,
                          hw_from_dict(d.get("hardware") or {}), pruner, parse_seeds(d, "search config"))
        cfgmod.with_overrides(sc.base, {k: _example(v) for k, v in space.items()})  # keys valid?
        return sc

    @staticmethod
    def load(path: str | Path) -> SearchConfig:
        return SearchConfig.from_dict(read_mapping(path, "search config"))


def _pruner_options(spec: Any, objectives: list[str]) -> dict[str, Any] | None:
    """``None``/``none``, ``median`` or ``{median: {MedianPruner options}}`` -> options."""
    if spec in (None, "none"):
        return None
    opts: object = {} if spec == "median" else None
    if isinstance(spec, dict) and set(spec) == {"median"}:
        opts = spec["median"]
    if not isinstance(opts, dict):
        raise ConfigError(f"pruner must be 'median' or {{median: {{options}}}}, got {spec!r}")
    if len(objectives) != 1:
        raise ConfigError(f"a pruner needs a single objective (Optuna prunes only single-objective "
                          f"studies), got objectives {objectives}")
    bad = set(opts) - {"n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"}
    if bad:
        raise ConfigError(f"unknown median pruner options {sorted(bad)}")
    return dict(opts)


def _example(spec: dict[str, Any]) -> Any:
    return spec["choices"][0] if "choices" in spec else spec["low"]


def suggest(trial: optuna.Trial, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for key, spec in space.items():
        if "choices" in spec:
            out[key] = trial.suggest_categorical(key, spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int) and not spec.get("float"):
            out[key] = trial.suggest_int(key, spec["low"], spec["high"], log=spec.get("log", False))
        else:
            out[key] = trial.suggest_float(key, float(spec["low"]), float(spec["high"]),
                                           log=spec.get("log", False))
    return out


def counted_states(sc: SearchConfig) -> tuple[TrialState, ...]:
    """The trial states that count towards a study's target (with a pruner: pruned too)."""
    return (TrialState.COMPLETE,) if sc.pruner is None else (TrialState.COMPLETE, TrialState.PRUNED)


def open_study(sc: SearchConfig, out: Path, study_name: str = "spiketune", storage: str | None = None,
               seed: int | None = None, heartbeat: int = 60, grace: int = 180) -> optuna.Study:
    """Write ``out/search.yaml`` and create the study, or join it when it exists: its storage
    (default ``out/study.db``), sampler, pruner, and objectives named and directed by the schema."""
    return _open(sc, out, study_name, storage, seed, heartbeat, grace)[0]


def _open(sc: SearchConfig, out: Path, study_name: str, storage: str | None, seed: int | None,
          heartbeat: int, grace: int) -> tuple[optuna.Study, StudyLock]:
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "search.yaml", yaml.safe_dump(
        {"base": sc.base.to_dict(), "space": sc.space, "objectives": sc.objectives,
         "sampler": sc.sampler, "pruner": None if sc.pruner is None else {"median": sc.pruner},
         "hardware": sc.hardware.model_dump(), **({"seeds": sc.seeds} if sc.seeds is not None else {})},
        sort_keys=False))
    sampler = (optuna.samplers.NSGAIISampler(seed=seed) if sc.sampler == "nsga2"
               else optuna.samplers.TPESampler(seed=seed))
    pruner = optuna.pruners.MedianPruner(**sc.pruner) if sc.pruner is not None else optuna.pruners.NopPruner()
    rdb = storage_for(storage or f"sqlite:///{(out / 'study.db').resolve()}", heartbeat, grace)
    return join_study(rdb, study_name, sc.objectives, directions(sc.objectives), sampler, pruner)


class SearchWorker(Worker):
    """Runs suggested trials of ``study`` into ``out/trials/<study>-<number>`` until the study
    holds enough."""

    def __init__(self, sc: SearchConfig, out: Path, study: optuna.Study, lock: StudyLock,
                 trials: int) -> None:
        super().__init__(study, lock)
        self.sc, self.out, self.trials = sc, out, trials

    def objective(self, trial: optuna.Trial) -> tuple[float, ...]:
        """Train, profile and cost one suggested config (once per seed when the search has
        seeds: folders ``<study>-<number>-s<seed>``); its objective values (the replicates' mean).
        A pruner sees the first replicate's accuracy on the set that selects its checkpoint
        (validation, or test under ``train.select_on: test``)."""
        import numpy as np

        from spiketune.explore.run import run
        from spiketune.explore.sweep import finished_run
        from spiketune.training.trainer import TrainingDiverged

        self.claim(trial)
        params = suggest(trial, self.sc.space)
        configs = replicate(cfgmod.with_overrides(self.sc.base, params), self.sc.seeds)
        name = f"{self.study.study_name}-{trial.number}"
        folders = [self.out / "trials" / (name if self.sc.seeds is None else f"{name}-s{c.train.seed}")
                   for c in configs]

        selecting = "test" if self.sc.base.train.select_on == "test" else "validation"

        def report(epoch: int, val_accuracy: float) -> None:  # the selecting set's accuracy
            trial.report(val_accuracy, epoch)
            if trial.should_prune():
                trial.set_user_attr("pruned_reason", f"{selecting} accuracy {val_accuracy:.4f} below the "
                                                     f"median of earlier trials at epoch {epoch}")
                trial.set_user_attr("folder", str(folders[0]))
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")

        results = []
        for i, (cfg, folder) in enumerate(zip(configs, folders, strict=True)):
            done = finished_run(folder)  # a replicate finished before this trial was retried
            if done is not None:
                results.append(done[1])
                continue
            try:
                results.append(run(cfg, folder, progress=False, hardware=self.sc.hardware,
                                   on_epoch=report if self.sc.pruner is not None and i == 0 else None))
            except TrainingDiverged as e:
                trial.set_user_attr("pruned_reason", str(e))
                raise optuna.TrialPruned(str(e)) from None
        values = tuple(float(np.mean([OBJECTIVES[o].read(m) for m in results])) for o in self.sc.objectives)
        trial.set_user_attr("folder", str(folders[0]))
        trial.set_user_attr("metrics", {metric.name: _mean([metric.read(m) for m in results])
                                        for metric in schema.TRIAL})
        if self.sc.seeds is not None:
            trial.set_user_attr("folders", [str(f) for f in folders])
            trial.set_user_attr("n_seeds", len(results))
        return values

    def counted(self) -> int:
        """Trials of the study that count towards the target."""
        return len(self.study.get_trials(deepcopy=False, states=counted_states(self.sc)))

    def step(self, bar: tqdm) -> bool:
        """Add trials until the study holds ``trials`` counted ones; a worker runs at most 3x
        the requested trials, so a space where trials keep diverging (pruned) or failing ends."""
        with self.lock:
            self.retry_lost_trials()
            self.retry_dead_workers_trials()
        counted = self.counted()
        show(bar, counted)
        if counted < self.trials:
            self.study.optimize(self.objective, n_trials=3 * self.trials,
                                callbacks=[MaxTrialsCallback(self.trials, states=counted_states(self.sc)),
                                           lambda study, trial: show(bar, self.counted())],
                                catch=(SpiketuneError,))
        return False


def run_search(sc: SearchConfig, out_dir: str | Path, trials: int, study_name: str = "spiketune",
               storage: str | None = None, seed: int | None = None, heartbeat: int = 60,
               grace: int = 180, progress: bool = True, db_retries: int = 8) -> optuna.Study:
    """Add trials to the study until it holds ``trials`` completed ones, then write its tables.

    When the database becomes unreachable the worker waits (exponential back-off, up to
    ``db_retries`` times) and carries on; a trial it was running when the connection
    dropped is failed by its stale heartbeat and re-run once.
    """
    check_name(study_name, "study name")
    out = Path(out_dir)
    study, lock = _open(sc, out, study_name, storage, seed, heartbeat, grace)
    try:
        SearchWorker(sc, out, study, lock, trials).run(trials, "search", progress, db_retries)
    except SpiketuneError as e:  # a driver's message may quote the storage URL
        raise SpiketuneError(scrub(str(e), storage)) from None
    write_pareto(study, out)
    return study


def _mean(values: list[Any]) -> float | None:
    """Mean of the present values (None when none is)."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """One row per completed trial: its parameters, objective values and schema.TRIAL metrics."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        r = {"trial": t.number, **t.params}
        r.update({f"objective.{n}": v for n, v in zip(study.metric_names or [], t.values, strict=False)})
        r.update(t.user_attrs.get("metrics", {}))
        rows.append(r)
    return rows


def study_objectives(study: optuna.Study) -> list[schema.Metric]:
    """The metrics a study optimises, from its objective names."""
    names = study.metric_names or []
    unknown = [n for n in names if n not in OBJECTIVES]
    if not names or unknown:
        raise ConfigError(f"study '{study.study_name}' has objectives {names}; "
                          f"known: {', '.join(OBJECTIVES)}")
    return [OBJECTIVES[n] for n in names]


def write_pareto(study: optuna.Study, out_dir: Path,
                 include_degenerate: bool = False) -> list[dict[str, Any]]:
    """Write trials.csv and pareto.csv (non-dominated trials under the schema's directions;
    degenerate trials are never on the front unless ``include_degenerate``) and, for two
    objectives, pareto.png; return the Pareto rows."""
    rows = trial_rows(study)
    if not rows:
        return []
    names, metrics = study.metric_names or [], study_objectives(study)
    ranked = [include_degenerate or not schema.is_degenerate(r) for r in rows]
    mask = non_dominated([[r[f"objective.{n}"] if keep else float("nan") for n in names]
                          for r, keep in zip(rows, ranked, strict=True)],
                         ["max" if m.direction == "max" else "min" for m in metrics])
    for r, on_front in zip(rows, mask, strict=True):
        r["pareto"] = bool(on_front)
    write_table(out_dir, rows, "trials")
    energy_table.write_if_any(out_dir)
    front = [r for r in rows if r["pareto"]]
    write_table(out_dir, front, "pareto")
    if len(names) == 2:
        from spiketune.reporting.plots import chance_of, pareto_front

        (y_name, x_name), (y, x) = names, metrics
        pts = [(x.scaled(r[f"objective.{x_name}"]), y.scaled(r[f"objective.{y_name}"])) for r in rows]
        pareto_front(pts, mask, Path(out_dir) / "pareto.png", xlabel=x.axis_label, ylabel=y.axis_label,
                     title=f"{y.label} vs {x.label}: {len(front)} of {len(rows)} trials non-dominated",
                     degenerate=[not k for k in ranked],
                     chance=chance_of(rows) if y is schema.TEST_ACCURACY else None)
    return front


def summary(study: optuna.Study) -> str:
    """How many trials of the study are in each state, as JSON."""
    states: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        states[t.state.name] = states.get(t.state.name, 0) + 1
    return json.dumps(states)
