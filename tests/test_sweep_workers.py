"""Sweep workers on one study: three `spiketune sweep --storage URL` processes train every
(point, seed) of a grid exactly once, also when one of them is killed mid-trial (SQLite and
PostgreSQL); and the progress bar counts the requested trials."""

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml

import pg

TrialState = optuna.trial.TrialState
TINY = {"data": {"num_steps": 2, "batch_size": 128, "train_limit": 200, "test_limit": 60},
        "train": {"epochs": 1, "patience": None}}
# a point that trains in about a second: one epoch on 32 digits, a 64-8-10 network
POINT = {"data": {"num_steps": 2, "batch_size": 32, "train_limit": 32, "test_limit": 16},
         "train": {"epochs": 1, "patience": None}, "model": {"arch": "8-10"}}
BETAS = [0.3, 0.6, 0.9]
EXPECTED = {(b, s) for b in BETAS for s in (0, 1)}  # (beta, seed): 3 points x 2 replicates


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _sweep_yaml(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, "grids": [{"model.beta": BETAS}], "seeds": [0, 1]}))
    return path


def _trials(url):
    try:
        return optuna.load_study(study_name="grid", storage=url).get_trials(deepcopy=False)
    except Exception:  # the database or the study may not exist yet
        return []


def _three_workers_one_killed(tmp_path, url):
    path, out = _sweep_yaml(tmp_path), tmp_path / "out"
    cmd = [sys.executable, "-m", "spiketune", "sweep", str(path), "--out", str(out), "--storage", url,
           "--study", "grid", "--no-progress"]
    workers = {}
    for _ in range(3):
        w = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env())
        workers[w.pid] = w
    # kill a worker while it trains a run and another worker trains one too
    deadline, killed = time.time() + 300, None
    while time.time() < deadline and killed is None:
        training = {}
        for t in _trials(url):
            pid = int(t.user_attrs.get("worker", ":0").rpartition(":")[2])
            folder = t.user_attrs.get("folder", "")
            if t.state == TrialState.RUNNING and pid in workers and os.path.isdir(folder):
                training[pid] = t
        if len(training) >= 2:
            pid, killed = next(iter(training.items()))
            victim = workers.pop(pid)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
        time.sleep(0.05)
    assert killed is not None, "two workers never trained at once"
    for w in workers.values():
        _, err = w.communicate(timeout=600)
        assert w.returncode == 0, err[-2000:]
    trials = _trials(url)
    runs = [t.user_attrs["job"]["run"] for t in trials]
    complete = [r for t, r in zip(trials, runs, strict=True) if t.state == TrialState.COMPLETE]
    # every (point, seed) completed once; the only other trial is the killed one, retried once
    assert sorted(complete) == sorted(set(runs)) and len(complete) == len(EXPECTED)
    assert [t.number for t in trials if t.state != TrialState.COMPLETE] == [killed.number]
    assert trials[killed.number].state == TrialState.FAIL
    assert runs.count(killed.user_attrs["job"]["run"]) == 2
    retry = next(t for t in trials
                 if t.state == TrialState.COMPLETE and t.user_attrs["job"] == killed.user_attrs["job"])
    assert retry.user_attrs["worker"] != killed.user_attrs["worker"]
    # one finished run folder per (point, seed), and the table holds each once
    folders = sorted(p for p in (out / "runs").iterdir())
    assert [p.name for p in folders] == sorted(complete)
    assert all((p / "finished.json").is_file() for p in folders)
    settings = {(c["model"]["beta"], c["train"]["seed"])
                for c in (yaml.safe_load((p / "config.yaml").read_text()) for p in folders)}
    assert settings == EXPECTED
    rows = json.loads((out / "results.json").read_text())
    assert sorted((r["model.beta"], r["train.seed"]) for r in rows) == sorted(EXPECTED)


@pytest.mark.slow
def test_three_sqlite_sweep_workers_train_each_point_once_despite_a_kill(tmp_path):
    _three_workers_one_killed(tmp_path, f"sqlite:///{tmp_path / 'out' / 'grid.db'}")


@pytest.mark.slow
def test_three_postgres_sweep_workers_train_each_point_once_despite_a_kill(tmp_path):
    if not pg.available():
        pytest.skip("PostgreSQL server binaries not installed")
    server = pg.Server().init()
    server.start()
    try:
        _three_workers_one_killed(tmp_path, server.create_db("grid"))
    finally:
        server.stop()
        server.remove()


HOLD = """
import sys, time
from spiketune.explore.engine import StudyLock, storage_for
lock = StudyLock(storage_for(sys.argv[1]), "q")
print("ready", flush=True)
lock.acquire()
print(time.time(), flush=True)
"""


def _lock_excludes_another_process(url):
    from spiketune.explore.engine import StudyLock, storage_for

    lock = StudyLock(storage_for(url), "q")
    assert lock.exclusive
    lock.acquire()
    child = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    time.sleep(1.0)  # the child waits on the lock meanwhile
    released = time.time()
    lock.release()
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and float(out) >= released


def test_the_queue_lock_excludes_another_process_sqlite(tmp_path):
    _lock_excludes_another_process(f"sqlite:///{tmp_path / 'q.db'}")


def test_the_queue_lock_excludes_another_process_postgres():
    if not pg.available():
        pytest.skip("PostgreSQL server binaries not installed")
    server = pg.Server().init()
    server.start()
    try:
        _lock_excludes_another_process(server.create_db("q"))
    finally:
        server.stop()
        server.remove()


def test_search_progress_bar_counts_the_requested_trials(tmp_path):
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, "space": {"model.beta": {"low": 0.2, "high": 0.9}},
                                    "objectives": ["accuracy", "latency"]}))
    r = subprocess.run([sys.executable, "-m", "spiketune", "search", str(path), "--out", str(tmp_path / "s"),
                        "--trials", "2", "--study", "s", "--seed", "0"],
                       capture_output=True, text=True, timeout=600, env=_env())
    assert r.returncode == 0, r.stderr[-2000:]
    frames = [f for f in r.stderr.replace("\r", "\n").splitlines() if f.startswith("search:")]
    assert frames and all("/2 [" in f for f in frames), frames  # out of 2 trials, never 3x
    assert "2/2 [" in frames[-1]
    assert "Trial 0 finished" not in r.stderr  # Optuna's per-trial lines do not break the bar


def test_a_sweep_refuses_a_search_study(tmp_path):
    from spiketune.errors import ConfigError
    from spiketune.explore.sweep import SweepConfig, run_sweep

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    search = optuna.create_study(study_name="s", storage=url, directions=["maximize", "minimize"])
    search.set_metric_names(["accuracy", "latency"])
    sc = SweepConfig.from_dict({"base": TINY, "grids": [{"model.beta": [0.3]}]})
    with pytest.raises(ConfigError, match=r"study 's' optimises \['accuracy', 'latency'\]"):
        run_sweep(sc, tmp_path / "out", progress=False, storage=url, study_name="s")
    assert optuna.load_study(study_name="s", storage=url).get_trials() == []
    assert not (tmp_path / "out" / "sweep.yaml").exists() and not any((tmp_path / "out" / "runs").iterdir())


def _two_point_sweep(tmp_path):
    """A two-point sweep, its run ids and an empty shared SQLite study it can join."""
    from spiketune.explore.sweep import SweepConfig, run_id

    sc = SweepConfig.from_dict({"base": POINT, "grids": [{"model.beta": [0.3, 0.6]}]})
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    study = optuna.create_study(study_name="grid", storage=url, direction="maximize")
    study.set_metric_names(["test_accuracy"])
    return sc, [run_id(c, sc.hardware) for c in sc.points()], url, study


def _queue_first_point(sc, study, rid):
    """Queue the sweep's first point in ``study`` under run id ``rid``, as a sweep queues a run."""
    study.enqueue_trial({}, user_attrs={"job": {"run": rid, "config": sc.points()[0].to_dict(),
                                                "hardware": sc.hardware.model_dump()}})


def _run_states(url):
    """(state, run id) of every trial of the shared study, in trial order."""
    return [(t.state, t.user_attrs["job"]["run"]) for t in optuna.load_study(study_name="grid",
                                                                             storage=url).trials]


def test_a_point_completed_on_another_machine_is_not_trained_again(tmp_path):
    from spiketune.explore.sweep import run_sweep

    sc, (elsewhere, here), url, study = _two_point_sweep(tmp_path)
    study.add_trial(optuna.create_trial(value=0.5, user_attrs={
        "job": {"run": elsewhere}, "worker": "another-host:1", "folder": f"/data/sweep/runs/{elsewhere}"}))
    rows = run_sweep(sc, tmp_path / "out", progress=False, storage=url, study_name="grid")
    assert [r["run"] for r in rows] == [here]
    assert [p.name for p in (tmp_path / "out" / "runs").iterdir()] == [here]
    assert _run_states(url) == [(TrialState.COMPLETE, elsewhere), (TrialState.COMPLETE, here)]
    # the trial records its worker (this host and process) and the run folder it trained into
    import socket

    attrs = optuna.load_study(study_name="grid", storage=url).trials[1].user_attrs
    assert attrs["worker"] == f"{socket.gethostname()}:{os.getpid()}"
    assert attrs["folder"] == str((tmp_path / "out" / "runs" / here).resolve())


def test_a_run_taken_by_a_worker_that_died_before_claiming_it_is_trained_once(tmp_path):
    # a worker killed between taking a queued run (WAITING -> RUNNING) and recording itself on
    # it leaves a RUNNING trial with no worker and no heartbeat; the next sweep must queue it
    # again, not wait for it forever (found by the interrupted-sweep test)
    from spiketune.explore.sweep import run_sweep

    sc, (orphan, other), url, study = _two_point_sweep(tmp_path)
    _queue_first_point(sc, study, orphan)
    study.ask()  # taken, never claimed: the taker is gone
    rows = run_sweep(sc, tmp_path / "out", progress=False, storage=url, study_name="grid")
    assert sorted(r["run"] for r in rows) == sorted([orphan, other])
    # the sweep queues the other point first, then finds the orphan and queues it again
    assert _run_states(url) == [(TrialState.FAIL, orphan), (TrialState.COMPLETE, other),
                                (TrialState.COMPLETE, orphan)]


def test_a_point_completed_here_whose_folder_is_gone_is_trained_again(tmp_path):
    # both points completed on this machine: A into this sweep's folder (since deleted), B into
    # another sweep folder on this machine; A's run is missing here, so it is queued and trained
    # again, B's lives in the other folder, so it is not
    import socket

    from spiketune.explore.sweep import run_sweep

    sc, (a, b), url, study = _two_point_sweep(tmp_path)
    out = tmp_path / "out"
    here = f"{socket.gethostname()}:1"
    study.add_trial(optuna.create_trial(value=0.5, user_attrs={
        "job": {"run": a}, "worker": here, "folder": str((out / "runs" / a).resolve())}))
    study.add_trial(optuna.create_trial(value=0.5, user_attrs={
        "job": {"run": b}, "worker": here, "folder": str((tmp_path / "other" / "runs" / b).resolve())}))
    rows = run_sweep(sc, out, progress=False, storage=url, study_name="grid")
    assert [r["run"] for r in rows] == [a]
    assert [p.name for p in (out / "runs").iterdir()] == [a]
    assert _run_states(url) == [(TrialState.COMPLETE, a), (TrialState.COMPLETE, b), (TrialState.COMPLETE, a)]


def test_a_run_of_a_dead_worker_on_this_machine_is_queued_again_and_trained_once(tmp_path):
    # a worker on this machine took and claimed a run, then its process died (its pid is gone):
    # the next sweep fails that trial and queues the run again, without waiting for a heartbeat
    import socket

    from spiketune.explore.sweep import run_sweep

    sc, (lost, other), url, study = _two_point_sweep(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no process
    _queue_first_point(sc, study, lost)
    study.ask().set_user_attr("worker", f"{socket.gethostname()}:{gone.pid}")
    rows = run_sweep(sc, tmp_path / "out", progress=False, storage=url, study_name="grid")
    assert sorted(r["run"] for r in rows) == sorted([lost, other])
    assert _run_states(url) == [(TrialState.FAIL, lost), (TrialState.COMPLETE, other),
                                (TrialState.COMPLETE, lost)]


def test_a_run_held_by_a_worker_on_another_machine_is_waited_for_until_its_heartbeat_stops(tmp_path):
    # a worker on another machine took and claimed a run, beat once, then went silent: this sweep
    # trains the other point, waits (it cannot see that process), and once the heartbeat is older
    # than the grace period fails the trial and trains its retry
    from spiketune.explore.engine import storage_for
    from spiketune.explore.sweep import run_sweep

    sc, (held, other), url, study = _two_point_sweep(tmp_path)
    _queue_first_point(sc, study, held)
    storage = storage_for(url, heartbeat=1, grace=10)
    trial = optuna.load_study(study_name="grid", storage=storage).ask()
    trial.set_user_attr("worker", "another-host:1")
    storage.record_heartbeat(trial._trial_id)
    t0 = time.monotonic()
    rows = run_sweep(sc, tmp_path / "out", progress=False, storage=url, study_name="grid", heartbeat=1,
                     grace=10)
    assert time.monotonic() - t0 >= 10  # not before the heartbeat is 10 s old (optuna's default: 2 s)
    assert sorted(r["run"] for r in rows) == sorted([held, other])
    assert _run_states(url) == [(TrialState.FAIL, held), (TrialState.COMPLETE, other),
                                (TrialState.COMPLETE, held)]


def test_a_queued_run_whose_folder_is_already_finished_is_not_trained(tmp_path):
    # a run still queued in the study whose folder was finished meanwhile (its trainer died
    # after writing it): the worker that pops it takes the folder's accuracy, it trains nothing
    from spiketune.explore.sweep import run_sweep
    from spiketune.results import mark_finished

    sc, (done, other), url, study = _two_point_sweep(tmp_path)
    _queue_first_point(sc, study, done)
    folder = tmp_path / "out" / "runs" / done
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(sc.points()[0].to_dict()))
    (folder / "metrics.json").write_text(json.dumps({"test_accuracy": 0.375}))
    mark_finished(folder)
    mtime = (folder / "metrics.json").stat().st_mtime_ns
    rows = run_sweep(sc, tmp_path / "out", progress=False, storage=url, study_name="grid")
    assert sorted(r["run"] for r in rows) == sorted([done, other])
    assert (folder / "metrics.json").stat().st_mtime_ns == mtime and not (folder / "model.pt").exists()
    trials = optuna.load_study(study_name="grid", storage=url).trials
    assert [(t.state, t.user_attrs["job"]["run"]) for t in trials] == [(TrialState.COMPLETE, done),
                                                                      (TrialState.COMPLETE, other)]
    assert trials[0].value == 0.375


def test_a_sweep_refuses_a_storage_without_a_queue_lock_and_a_bad_study_name(tmp_path):
    from spiketune.errors import ConfigError
    from spiketune.explore.sweep import SweepConfig, run_sweep

    sc = SweepConfig.from_dict({"base": POINT, "grids": [{"model.beta": [0.3]}]})
    with pytest.raises(ConfigError) as e:
        run_sweep(sc, tmp_path / "mem", progress=False, storage="sqlite:///:memory:")
    assert str(e.value) == ("a sweep's storage must be a SQLite file or PostgreSQL (its queue needs their "
                            "locks), got sqlite:///:memory:")
    with pytest.raises(ConfigError, match=r"study name '\.\./x' cannot name a folder"):
        run_sweep(sc, tmp_path / "bad", progress=False, study_name="../x")
    assert not (tmp_path / "bad").exists()


def test_a_replicated_sweep_saves_its_seeds_and_counts_every_replicate(tmp_path):
    # two replicates of a point that fails fast (its architecture does not parse): nothing trains
    from spiketune.explore.sweep import SweepConfig, point_errors, run_id, run_sweep

    sc = SweepConfig.from_dict({"base": POINT, "grids": [{"model.arch": ["8C3-Q-10"]}], "seeds": [0, 1]})
    rows = run_sweep(sc, tmp_path, progress=False)
    assert rows == [] and len(sc.points()) == 2
    saved = yaml.safe_load((tmp_path / "sweep.yaml").read_text())
    assert list(saved) == ["base", "grids", "hardware", "seeds"] and saved["seeds"] == [0, 1]
    assert json.loads((tmp_path / "sweep_status.json").read_text()) == {"points": 2, "finished": 0,
                                                                        "failed_this_time": 2}
    assert [i for i, _ in point_errors(sc, tmp_path)] == [run_id(c, sc.hardware) for c in sc.points()]
