"""The exploration engine: an Optuna study on shared storage, worked by any number of workers.

Searches and sweeps run on it alike. A search's trials are suggested by its sampler; a sweep
enqueues each of its runs as a trial that any worker pops. The storage is a SQLite file
(default, in the output folder) or a PostgreSQL database shared by workers on many machines.
Every trial records its worker (``host:pid``) and keeps a heartbeat: a trial whose heartbeat
goes stale, or whose worker process is gone from this machine, is failed and queued again once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import random
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from spiketune.errors import ConfigError, SpiketuneError
from spiketune.explore.storage_url import redact, scrub

JOB = "job"  # user attribute of a queued trial that carries its own work (a sweep's run)


def storage_for(url: str, heartbeat: int = 60, grace: int = 180) -> RDBStorage:
    """The study storage at ``url`` (``postgresql://`` means psycopg); heartbeats + one retry
    of a trial whose heartbeat went stale."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs = {"pool_pre_ping": True} if url.startswith("postgresql") else {}

    def make() -> RDBStorage:
        with warnings.catch_warnings():  # heartbeats are marked experimental by optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat,
                              grace_period=grace,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))

    try:
        return despite_schema_race(make)
    except Exception as e:  # sqlalchemy/driver errors: unreachable server, bad URL
        raise ConfigError(scrub(f"cannot open study storage {redact(url)}: {e}", url)) from None


def join_study(storage: RDBStorage, name: str, objectives: list[str], directions: list[StudyDirection],
               sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None) -> tuple[optuna.Study, StudyLock]:
    """Create the study ``name``, or load it when it exists, with its objectives named; and
    the lock over its queue."""
    study = despite_schema_race(lambda: optuna.create_study(
        study_name=name, storage=storage, directions=directions, sampler=sampler, pruner=pruner,
        load_if_exists=True))
    if study.metric_names not in (None, objectives):
        raise ConfigError(f"study '{name}' optimises {study.metric_names}, not {objectives} (a sweep's "
                          f"study optimises ['test_accuracy']); use another --study")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(objectives)
    return study, StudyLock(storage, name)


def despite_schema_race(make: Callable[[], Any], attempts: int = 7) -> Any:
    """``make()``, retried after a database error: workers that start together on a fresh
    database race to create its tables (SQLite: "table already exists", "database is locked";
    PostgreSQL: duplicate types or keys); the loser finds them made on a later attempt.
    Back-off with jitter, about 3 s in all before the last error is raised."""
    for attempt in range(attempts):
        try:
            return make()
        except Exception as exc:
            if db_error(exc) is None or attempt == attempts - 1:
                raise
            time.sleep(0.05 * 2 ** attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")


def db_error(exc: BaseException | None) -> DBAPIError | None:
    """The database error behind ``exc`` (itself, its cause or its context), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DBAPIError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class StudyLock:
    """Mutual exclusion over one study's queue among workers on every machine: a file lock
    beside a SQLite database, a session advisory lock on PostgreSQL (both released when
    their holder dies); none for an in-memory SQLite database (one process) or other
    databases. ``release`` may be called when the lock is not held."""

    def __init__(self, storage: RDBStorage, study_name: str) -> None:
        url = storage.engine.url
        self.engine = storage.engine
        self.backend = url.get_backend_name()
        self.key = int.from_bytes(hashlib.sha1(study_name.encode()).digest()[:8], "big", signed=True)
        db = url.database or ":memory:"
        self.file = (Path(db).resolve().parent / f".{Path(db).name}.{study_name}.lock"
                     if self.backend == "sqlite" and db != ":memory:" else None)
        self.held: int | Connection | None = None

    @property
    def exclusive(self) -> bool:
        """Whether the lock excludes other processes."""
        return self.file is not None or self.backend == "postgresql"

    def acquire(self) -> None:
        if self.held is not None:
            return
        if self.file is not None:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.held = fd
        elif self.backend == "postgresql":
            conn = self.engine.connect()
            try:
                conn.execute(text("SELECT pg_advisory_lock(CAST(:key AS bigint))"), {"key": self.key})
                conn.commit()
            except Exception:
                conn.invalidate()
                conn.close()
                raise
            self.held = conn

    def release(self) -> None:
        held, self.held = self.held, None
        if isinstance(held, int):
            fcntl.flock(held, fcntl.LOCK_UN)
            os.close(held)
        elif held is not None:
            try:
                held.execute(text("SELECT pg_advisory_unlock(CAST(:key AS bigint))"), {"key": self.key})
                held.commit()
            except DBAPIError:  # the connection is gone, and its lock with it
                held.invalidate()
            finally:
                held.close()

    def __enter__(self) -> StudyLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def trial_bar(total: int, desc: str, enabled: bool) -> Iterator[tqdm]:
    """A progress bar of finished trials out of ``total``. While it shows, Optuna logs only
    warnings, and they are written above the bar."""
    bar = tqdm(total=total, desc=desc, unit="trial", disable=not enabled)
    verbosity = optuna.logging.get_verbosity()
    try:
        if not enabled:
            yield bar
            return
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with logging_redirect_tqdm(loggers=[logging.getLogger("optuna")]):
            yield bar
    finally:
        optuna.logging.set_verbosity(verbosity)
        bar.close()


def show(bar: tqdm, done: int) -> None:
    """Set ``bar`` to ``done`` finished trials."""
    if bar.n != done:
        bar.n = done
        bar.refresh()


class Worker:
    """Runs trials of ``study`` until its job is done: the loop shared by searches and sweeps.

    Subclasses give ``objective`` and ``step`` (run trials, show the finished ones on the bar;
    False once nothing is left to run); this loop survives a lost database."""

    def __init__(self, study: optuna.Study, lock: StudyLock) -> None:
        self.study = study
        self.lock = lock
        self.started: set[int] = set()  # trial numbers this worker has run

    def objective(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        raise NotImplementedError

    def step(self, bar: tqdm) -> bool:
        raise NotImplementedError

    def claim(self, trial: optuna.Trial) -> None:
        """Record this worker on ``trial`` (how a dead worker's trials are found)."""
        self.started.add(trial.number)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")

    def requeue(self, t: FrozenTrial) -> None:
        """Fail ``t`` and queue its parameters (and job) again."""
        self.study.tell(t.number, state=TrialState.FAIL)
        self.study.enqueue_trial(t.params, user_attrs={k: v for k, v in t.user_attrs.items() if k == JOB})

    def retry_lost_trials(self) -> None:
        """A trial of ours still RUNNING lost the database before its end was written (and
        maybe before its first heartbeat): fail it and queue it again."""
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.number in self.started:
                self.requeue(t)

    def retry_dead_workers_trials(self) -> None:
        """A RUNNING trial of a worker on this machine whose process is gone (killed, say, as
        the only worker of a SQLite study, so no live worker's heartbeat check will see it):
        fail it and queue it again, without waiting for its heartbeat to go stale."""
        host = socket.gethostname()
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            name, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
            if name == host and pid.isdigit() and not _alive(int(pid)):
                self.requeue(t)

    def run(self, total: int, desc: str, progress: bool = True, db_retries: int = 8) -> None:
        """Step until the job is done, with a bar of ``total`` trials, surviving a lost
        database: wait (exponential back-off, up to ``db_retries`` times), reconnect, go on."""
        failures = 0
        with trial_bar(total, desc, progress) as bar:
            while True:
                try:
                    if not self.step(bar):
                        return
                except Exception as exc:  # optuna may wrap the storage error in another exception
                    e = db_error(exc)
                    if e is None:
                        raise
                    failures += 1
                    if failures > db_retries:
                        raise SpiketuneError(
                            f"lost the study database {failures} times; last error: "
                            f"{type(e.orig).__name__}: {str(e.orig).splitlines()[0]}") from None
                    wait = min(30.0, 0.5 * 2 ** failures)
                    warnings.warn(f"study database unreachable ({type(e.orig).__name__}); "
                                  f"retrying in {wait:.1f} s", stacklevel=2)
                    time.sleep(wait)
