"""Search workers on one study: a restarted sole worker cleans up after its killed self, and
workers that start together on a fresh database all join it (SQLite and PostgreSQL)."""

import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml

import pg

TINY = {"data": {"num_steps": 3, "batch_size": 128, "train_limit": 400, "test_limit": 100}}
RUNNING, COMPLETE, FAIL = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.COMPLETE,
                           optuna.trial.TrialState.FAIL)


def _search_yaml(tmp_path, epochs):
    cfg = {"base": {**TINY, "train": {"epochs": epochs, "patience": None}},
           "space": {"model.beta": {"low": 0.2, "high": 0.9}}, "objectives": ["accuracy", "latency"]}
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _search(path, out, trials, *extra):
    return [sys.executable, "-m", "spiketune", "search", str(path), "--out", str(out),
            "--trials", str(trials), "--study", "s", "--no-progress", *extra]


def test_a_killed_sole_sqlite_worker_leaves_no_trial_running_after_a_restart(tmp_path):
    path = _search_yaml(tmp_path, epochs=200)  # the first trial outlives the wait below
    out = tmp_path / "search"
    url = f"sqlite:///{out / 'study.db'}"
    # default heartbeat (60 s) and grace (180 s): a restart within the grace period must not wait
    victim = subprocess.Popen(_search(path, out, 1), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, killed = time.time() + 120, None
    while time.time() < deadline and killed is None:
        try:
            trials = optuna.load_study(study_name="s", storage=url).get_trials(deepcopy=False)
        except (KeyError, Exception):  # the database or the study may not exist yet
            trials = []
        running = [t for t in trials if t.state == RUNNING]
        if running and (out / "trials" / f"s-{running[0].number}").is_dir():  # training
            victim.send_signal(signal.SIGKILL)
            killed = running[0]
        time.sleep(0.2)
    victim.wait()
    assert killed is not None, "the first worker never started a trial"
    # the restarted worker trains the same parameters with a short schedule
    path.write_text(path.read_text().replace("epochs: 200", "epochs: 1"))
    r = subprocess.run(_search(path, out, 1), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    trials = optuna.load_study(study_name="s", storage=url).trials
    assert [t.state for t in trials].count(RUNNING) == 0
    dead = trials[killed.number]
    assert dead.state == FAIL
    rerun = [t for t in trials if t.state == COMPLETE and t.number != dead.number]
    assert len(rerun) == 1 and rerun[0].params == dead.params


JOIN = """
import sys, time
from pathlib import Path
from spiketune.explore.search import SearchConfig, open_study
sc = SearchConfig.load(sys.argv[1])
while time.time() < float(sys.argv[4]):
    time.sleep(0.001)
open_study(sc, Path(sys.argv[2]), study_name="race", storage=sys.argv[3])
"""


def _race(tmp_path, url, workers=6):
    path = _search_yaml(tmp_path, epochs=1)
    start = time.time() + 4  # every worker has imported spiketune by then
    procs = [subprocess.Popen([sys.executable, "-c", JOIN, str(path), str(tmp_path / f"w{i}"), url,
                               str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(workers)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    failed = [err for rc, err in results if rc != 0]
    assert not failed, failed[0][-2000:]
    assert [s.study_name for s in optuna.study.get_all_study_summaries(storage=url)] == ["race"]


def test_workers_starting_together_on_a_fresh_sqlite_database_all_join(tmp_path):
    _race(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")


def test_workers_starting_together_on_a_fresh_postgres_database_all_join(tmp_path):
    if not pg.available():
        pytest.skip("PostgreSQL server binaries not installed")
    server = pg.Server().init()
    server.start()
    try:
        _race(tmp_path, server.create_db("fresh"))
    finally:
        server.stop()
        server.remove()
