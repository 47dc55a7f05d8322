"""Grid sweeps with resume.

A sweep config (YAML)::

    base:            # a run config (see spiketune.training.config), shared by every point
      train: {epochs: 10}
    grids:           # each grid is a product of its lists; the sweep is their union
      - {model.surrogate: [fast_sigmoid, atan], model.slope: [2, 10, 25]}
      - {model.beta: [0.25, 0.5, 0.9], model.threshold: [0.5, 1.0, 1.5]}
    hardware: {}     # a hardware config for every point (spiketune.hardware.config)
    seeds: [0, 1, 2] # optional: every point once per training seed (or replicates: N)

Each point runs in ``OUT/runs/<id>`` where ``id`` hashes its resolved config, so
re-running the sweep skips finished points (finished marker present and whole), resumes
interrupted ones from their checkpoint and retries failed ones. The points run on the
exploration engine (:mod:`spiketune.explore.engine`): each unfinished one is queued as a
trial of an Optuna study (default: SQLite ``OUT/sweep.db``, study ``sweep``) that carries
its run id and config, and workers take the trials one by one; workers sharing a storage
URL, here or on other machines, run each point exactly once. ``OUT/results.csv``
and ``results.json`` hold one row per finished point and are rebuilt from the run
folders, so no row is ever duplicated or lost. With ``seeds`` every replicate is a point of
its own (replicates of a configuration share the data split, see
:mod:`spiketune.explore.replicates`), and ``results_summary.csv``/``.json`` aggregate them:
mean, standard deviation, 95% confidence interval and ``n`` per configuration.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from pydantic import BaseModel
from tqdm.auto import tqdm

from spiketune import schema
from spiketune.errors import ConfigError, SpiketuneError
from spiketune.explore import energy_table
from spiketune.explore.engine import JOB, StudyLock, Worker, join_study, show, storage_for
from spiketune.explore.figures import sweep_figures
from spiketune.explore.replicates import parse_seeds, replicate, replicate_figures, replicated, summary_rows
from spiketune.explore.storage_url import redact, scrub
from spiketune.explore.table import row, write_table
from spiketune.hardware.config import from_dict as hw_from_dict
from spiketune.hardware.config import identity as hw_identity
from spiketune.results import check_name, folder_lock, is_finished, read_mapping, write_json, write_text
from spiketune.training import config as cfgmod


@dataclass
class SweepConfig:
    base: cfgmod.RunConfig
    grids: list[dict[str, list[Any]]]
    hardware: BaseModel  # a design's validated config (spiketune.hardware.config)
    seeds: list[int] | None = None  # training seeds of the replicates; None: one run per point

    @staticmethod
    def from_dict(d: dict[str, Any]) -> SweepConfig:
        unknown = set(d) - {"base", "grids", "grid", "hardware", "seeds", "replicates"}
        if unknown:
            raise ConfigError(f"unknown sweep keys {sorted(unknown)}; use base, grids, hardware, "
                              f"seeds or replicates")
        grids = d.get("grids") or ([d["grid"]] if "grid" in d else [])
        if not grids:
            raise ConfigError("a sweep needs 'grids' (a list of {setting: [values]})")
        for g in grids:
            if not isinstance(g, dict) or not all(isinstance(v, list) and v for v in g.values()):
                raise ConfigError(f"each grid maps settings to non-empty lists, got {g!r}")
        return SweepConfig(cfgmod.from_dict(d.get("base") or {}), grids,
                           hw_from_dict(d.get("hardware") or {}), parse_seeds(d, "sweep config"))

    @staticmethod
    def load(path: str | Path) -> SweepConfig:
        return SweepConfig.from_dict(read_mapping(path, "sweep config"))

    def grid_points(self, grid: dict[str, list[Any]]) -> list[cfgmod.RunConfig]:
        """Resolved run configs of one grid (each once per seed when the sweep has seeds)."""
        keys = list(grid)
        return [rep.resolved() for values in itertools.product(*grid.values())
                for rep in replicate(cfgmod.with_overrides(self.base, dict(zip(keys, values, strict=True))),
                                     self.seeds)]

    def points(self) -> list[cfgmod.RunConfig]:
        """Every distinct resolved run config of the sweep, in grid order."""
        seen, out = set(), []
        for grid in self.grids:
            for cfg in self.grid_points(grid):
                key = run_id(cfg, self.hardware)
                if key not in seen:
                    seen.add(key)
                    out.append(cfg)
        return out


def run_id(cfg: cfgmod.RunConfig, hw: BaseModel) -> str:
    blob = json.dumps({"run": cfgmod.identity(cfg), "hw": hw_identity(hw)}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def finished_run(folder: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(config, metrics) of a finished run folder; None when it is unfinished, or damaged
    (a warning names the file; a sweep then re-runs the point)."""
    if not is_finished(folder):
        return None
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        if not isinstance(metrics, dict):
            raise ValueError("not a mapping")
        return cfgmod.load(folder / "config.yaml").to_dict(), metrics
    except (OSError, ValueError) as e:  # SpiketuneError is a ValueError
        warnings.warn(f"{folder} is damaged ({type(e).__name__}: {e}); it is skipped, and re-run by a sweep",
                      stacklevel=2)
        return None


def collect(out_dir: str | Path, pattern: str = "runs/*/") -> list[dict[str, Any]]:
    """Rows of every finished run in the folders ``out_dir/pattern`` (sorted by path); a
    sweep's are under ``runs/``, a search's under ``trials/``, a Study B reproduction's
    under ``studies/*/trials/``."""
    rows = []
    for d in sorted(Path(out_dir).glob(pattern)):
        done = finished_run(d)
        if done is not None:
            rows.append(row(d.name, done[0], done[1]))
    return rows


def point_errors(sc: SweepConfig, out_dir: str | Path) -> list[tuple[str, str]]:
    """(run id, error message) of each point of the sweep whose last attempt failed: the
    last line of its ``error.txt`` (the exception, also when a traceback precedes it)."""
    found = []
    for cfg in sc.points():
        rid = run_id(cfg, sc.hardware)
        err = Path(out_dir) / "runs" / rid / "error.txt"
        if err.is_file():
            text = err.read_text(encoding="utf-8", errors="replace")
            lines = [ln for ln in text.splitlines() if ln.strip()]
            found.append((rid, lines[-1] if lines else "unknown error"))
    return found


CONFIRM_ABOVE = 64  # points; a larger grid runs only when confirmed (``--yes``)


def run_sweep(sc: SweepConfig, out_dir: str | Path, progress: bool = True, storage: str | None = None,
              study_name: str = "sweep", heartbeat: int = 60, grace: int = 180,
              db_retries: int = 8) -> list[dict[str, Any]]:
    """Run every unfinished point; returns the table rows of all finished points.

    The points are trials of the study ``study_name`` in ``storage`` (default: SQLite
    ``out_dir/sweep.db``). With the default storage the sweep folder is locked while it runs:
    a second sweep on it gets an error naming the holder. With a storage URL, any number of
    workers (here, or on other machines) may run the same sweep: each point runs once."""
    check_name(study_name, "study name")
    out = Path(out_dir)
    if storage is None:
        with folder_lock(out):
            return _run_sweep(sc, out, progress, f"sqlite:///{(out / 'sweep.db').resolve()}",
                              study_name, heartbeat, grace, db_retries)
    return _run_sweep(sc, out, progress, storage, study_name, heartbeat, grace, db_retries)


class PointFailed(SpiketuneError):
    """A sweep point raised an error (recorded in its ``error.txt``)."""


class SweepWorker(Worker):
    """Runs the queued runs of a sweep's study into ``out/runs/<id>`` until the queue is empty
    and no worker runs a trial any more."""

    POLL_S = 2.0  # seconds between looks at the queue while other workers finish their trials

    def __init__(self, study: optuna.Study, lock: StudyLock, out: Path, ids: set[str]) -> None:
        super().__init__(study, lock)
        self.out, self.ids = out, ids
        self.failed = 0  # points that failed in this worker
        self.finished: set[str] = set()  # runs whose folder here was finished when queueing began

    def folder(self, rid: str) -> Path:
        return (self.out / "runs" / rid).resolve()

    def ran_here(self, t: FrozenTrial) -> bool:
        """Whether trial ``t`` ran on this machine into this sweep's folder."""
        host = str(t.user_attrs.get("worker", "")).rpartition(":")[0]
        return host == socket.gethostname() and t.user_attrs.get("folder") == str(self.folder(_run(t)))

    def enqueue(self, points: list[cfgmod.RunConfig], hardware: BaseModel) -> None:
        """Queue each point that no worker runs, has queued or has finished: its run folder
        here is unfinished, and no trial of it completed on another machine or folder (whose
        run folder is then elsewhere). Call under the lock."""
        queued, done = set(), set()
        for t in self.study.get_trials(deepcopy=False):
            if JOB not in t.user_attrs:
                continue
            if t.state in (TrialState.WAITING, TrialState.RUNNING):
                queued.add(_run(t))
            elif t.state == TrialState.COMPLETE and not self.ran_here(t):
                done.add(_run(t))
        for cfg in points:
            rid = run_id(cfg, hardware)
            if rid in queued | done:
                continue
            if (done_here := finished_run(self.folder(rid))) is not None:
                self.refresh(rid, done_here[1], hardware)
                self.finished.add(rid)
                continue
            queued.add(rid)
            self.study.enqueue_trial({}, user_attrs={JOB: {"run": rid, "config": cfg.to_dict(),
                                                          "hardware": hardware.model_dump()}})

    def refresh(self, rid: str, metrics: dict[str, Any], hardware: BaseModel) -> None:
        """Re-cost finished run ``rid`` (its ``metrics``) if its cost report was made under another
        accelerator config (a changed default), so one table never mixes two hardware models."""
        from spiketune.explore.run import refresh_cost

        changed = refresh_cost(self.folder(rid), metrics, hardware)
        if changed:
            warnings.warn(f"runs/{rid}: re-costed from its traces: its cost report was made under "
                          f"another accelerator config ({', '.join(changed)} differ)", stacklevel=2)

    def objective(self, trial: optuna.Trial) -> float:
        """Train, profile and cost the trial's run (unless its folder holds it finished); its
        test accuracy. A failure is written to the folder's ``error.txt``."""
        from spiketune.explore.run import run

        self.claim(trial)
        self.lock.release()  # the trial is ours: other workers may take the next one
        job = trial.user_attrs[JOB]
        folder = self.folder(job["run"])
        trial.set_user_attr("folder", str(folder))
        done = finished_run(folder)
        if done is not None:
            return float(schema.TEST_ACCURACY.read(done[1]))
        hardware: Any = hw_from_dict(job["hardware"])  # any accelerator's config
        # the last attempt's error goes first: the finished marker lists the folder's files
        (folder / "error.txt").unlink(missing_ok=True)
        try:
            metrics = run(cfgmod.from_dict(job["config"]), folder, progress=False, hardware=hardware)
            return float(schema.TEST_ACCURACY.read(metrics))
        except SpiketuneError as e:
            message = f"{type(e).__name__}: {e}\n"
        except Exception:  # a failed point must not stop the sweep; it is retried next time
            message = traceback.format_exc()
        self.failed += 1
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / "error.txt", message)
        raise PointFailed(f"runs/{job['run']}: {message.strip().splitlines()[-1]}")

    def step(self, bar: tqdm) -> bool:
        """Take the next queued run, or wait while others run; False once none is queued or running.
        The lock is held from the look at the queue until the trial is taken (in ``objective``)."""
        self.lock.acquire()
        try:
            self.retry_lost_trials()
            self.retry_dead_workers_trials()
            self.retry_unclaimed_trials()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(self.study)
            self.update_bar(bar)
            if self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
                self.study.optimize(self.objective, n_trials=1, catch=(SpiketuneError,))
                write_table(self.out, collect(self.out))
                self.update_bar(bar)
                return True
            if not self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                return False
        finally:
            self.lock.release()
        time.sleep(self.POLL_S)
        return True

    def retry_unclaimed_trials(self) -> None:
        """Queue again a RUNNING run with no worker recorded: a worker takes and claims a trial
        under the queue lock, which this worker now holds, so its taker died in between
        (before its first heartbeat, so no heartbeat check will ever see it). Call under the lock."""
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if JOB in t.user_attrs and "worker" not in t.user_attrs:
                self.requeue(t)

    def update_bar(self, bar: tqdm) -> None:
        """Set the bar to this sweep's runs that are finished here or completed elsewhere."""
        done = {_run(t) for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if JOB in t.user_attrs}
        show(bar, len(self.ids & (done | self.finished)))


def _run(t: FrozenTrial) -> str:
    """The run id of a sweep's trial."""
    return str(t.user_attrs[JOB]["run"])


def _run_sweep(sc: SweepConfig, out: Path, progress: bool, storage: str, study_name: str, heartbeat: int,
               grace: int, db_retries: int) -> list[dict[str, Any]]:
    (out / "runs").mkdir(parents=True, exist_ok=True)
    rdb = storage_for(storage, heartbeat, grace)
    study, lock = join_study(rdb, study_name, [schema.TEST_ACCURACY.name], [StudyDirection.MAXIMIZE])
    if not lock.exclusive:
        raise ConfigError(f"a sweep's storage must be a SQLite file or PostgreSQL (its queue needs their "
                          f"locks), got {redact(storage)}")
    write_text(out / "sweep.yaml", yaml.safe_dump(
        {"base": sc.base.to_dict(), "grids": sc.grids, "hardware": sc.hardware.model_dump(),
         **({"seeds": sc.seeds} if sc.seeds is not None else {})}, sort_keys=False))
    points = sc.points()
    worker = SweepWorker(study, lock, out, {run_id(c, sc.hardware) for c in points})
    with lock:
        worker.enqueue(points, sc.hardware)
    try:
        worker.run(len(points), "sweep", progress, db_retries)
    except SpiketuneError as e:  # a driver's message may quote the storage URL
        raise SpiketuneError(scrub(str(e), storage)) from None
    rows = collect(out)
    write_table(out, rows)
    write_table(out, summary_rows(rows), "results_summary")
    energy_table.write_if_any(out)
    by_id = {r["run"]: r for r in rows}
    grid_rows = [(g, [by_id[i] for i in (run_id(c, sc.hardware) for c in sc.grid_points(g)) if i in by_id])
                 for g in sc.grids]
    if replicated(rows):  # figures of the means, and of every replicate with error bars
        sweep_figures([(g, summary_rows(r)) for g, r in grid_rows], out / "figures", sc.hardware)
        replicate_figures(grid_rows, out / "figures")
    else:
        sweep_figures(grid_rows, out / "figures", sc.hardware)
    write_json(out / "sweep_status.json", {"points": len(points), "finished": len(rows),
                                           "failed_this_time": worker.failed})
    return rows
