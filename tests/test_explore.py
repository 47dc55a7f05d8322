import json
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import optuna
import pytest
import yaml

import pg
from spiketune import schema
from spiketune.errors import ConfigError
from spiketune.explore.pareto import non_dominated
from spiketune.explore.predict import fit, predict
from spiketune.explore.search import SearchConfig, run_search
from spiketune.explore.sweep import SweepConfig, collect, run_sweep

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

TINY = {"data": {"num_steps": 3, "batch_size": 128, "train_limit": 400, "test_limit": 100},
        "train": {"epochs": 1, "patience": None}}
# a run that trains in about a second: one epoch on 32 digits, a 64-8-10 network
POINT = {"data": {"num_steps": 2, "batch_size": 32, "train_limit": 32, "test_limit": 16},
         "train": {"epochs": 1, "patience": None}, "model": {"arch": "8-10"}}


def brute_front(p, dirs):
    q = p * np.array([-1 if d == "max" else 1 for d in dirs])
    out = []
    for i in range(len(q)):
        dom = any(np.all(q[j] <= q[i]) and np.any(q[j] < q[i]) for j in range(len(q)) if j != i)
        out.append(not dom)
    return np.array(out)


@pytest.mark.parametrize("seed", range(5))
def test_pareto_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 6, size=(60, 3)).astype(float)  # ties on purpose
    dirs = ["max", "min", "max"]
    assert np.array_equal(non_dominated(p, dirs), brute_front(p, dirs))


def test_pareto_ignores_nan():
    p = np.array([[1.0, np.nan], [0.5, 1.0], [0.4, 2.0]])
    assert non_dominated(p, ["max", "min"]).tolist() == [False, True, False]


def unknown_metric_columns(csv_path):
    """Columns of a results table that are neither a run id, a setting, a layer's rate, a
    search objective nor a metric of the schema."""
    import csv

    from spiketune.explore.search import OBJECTIVES
    from spiketune.training import config

    sections = set(config.RunConfig().to_dict())
    with open(csv_path) as f:
        columns = next(csv.reader(f))
    known = {"run", "trial", "pareto"}
    return [c for c in columns if c not in known and c.split(".")[0] not in sections
            and not c.startswith(schema.LAYER_RATE_PREFIX)
            and not (c.startswith("objective.") and c.split(".", 1)[1] in OBJECTIVES)
            and c not in schema.METRICS]


def test_sweep_points_union_and_dedup():
    sc = SweepConfig.from_dict({"base": TINY, "grids": [
        {"model.surrogate": ["fast_sigmoid", "atan"], "model.slope": [2, 4]},
        {"model.surrogate": ["atan"], "model.slope": [2]}]})
    assert len(sc.points()) == 4


def test_interrupted_sweep_finishes_with_one_row_per_point(tmp_path):
    cfg = {"base": TINY, "grids": [{"model.beta": [0.3, 0.6, 0.9]}, {"model.threshold": [0.5, 1.5]}]}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "spiketune", "sweep", str(path), "--out", str(out), "--no-progress"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and \
            len(list(out.glob("runs/*/finished.json"))) < 1:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    first = {m.parent.name: (m.parent / "metrics.json").stat().st_mtime_ns
             for m in out.glob("runs/*/finished.json")}
    assert 1 <= len(first) < 5, "the sweep was not interrupted mid-way"
    subprocess.run(cmd, check=True, capture_output=True)
    rows = collect(out)
    table = json.loads((out / "results.json").read_text())
    assert len(rows) == len(table) == 5
    assert len({r["run"] for r in table}) == 5
    # finished points were not recomputed
    for rid, mtime in first.items():
        assert (out / "runs" / rid / "metrics.json").stat().st_mtime_ns == mtime
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == []  # 1-D grids: no slope/heatmap
    betas = sorted(r["model.beta"] for r in table)
    assert betas.count(0.5) == 2 and {0.3, 0.6, 0.9} <= set(betas)


def test_sweep_writes_slope_and_heatmap_figures(tmp_path):
    sc = SweepConfig.from_dict({"base": TINY, "grids": [
        {"model.surrogate": ["fast_sigmoid", "atan"], "model.slope": [2, 8]},
        {"model.beta": [0.3, 0.8], "model.threshold": [0.5, 1.0]}]})
    rows = run_sweep(sc, tmp_path, progress=False)
    assert len(rows) == 8
    assert unknown_metric_columns(tmp_path / "results.csv") == []
    assert {m.name for m in schema.TABLE} <= set(rows[0])
    figs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert figs == ["grid0_slope_fps_per_w.png", "grid0_slope_latency.png", "grid1_beta_threshold.png"]
    from PIL import Image

    for f in figs:  # real images with content, not empty canvases
        im = Image.open(tmp_path / "figures" / f).convert("L")
        assert im.size[0] > 800 and len(im.getcolors(maxcolors=1 << 16)) > 20


def test_failed_point_is_recorded_and_retried(tmp_path):
    sc = SweepConfig.from_dict({"base": POINT, "grids": [{"model.arch": ["16-10", "16C3-Q-10"]}]})
    rows = run_sweep(sc, tmp_path, progress=False)
    assert len(rows) == 1
    errs = list(tmp_path.glob("runs/*/error.txt"))
    assert len(errs) == 1 and "'Q' at position 2" in errs[0].read_text()


def test_predictor_learns_a_known_relation():
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(40):
        slope, beta = rng.uniform(1, 30), rng.uniform(0.1, 0.9)
        rows.append({"model.slope": slope, "model.beta": beta, "model.surrogate": "atan",
                     "latency_cycles": 1000 + 200 * np.log(slope) + 3000 * beta})
    p = fit(rows)
    assert p.cv_mae < 0.35 * p.baseline_mae
    assert set(list(p.importances)[:2]) == {"model.slope", "model.beta"}
    truth = 1000 + 200 * np.log(10) + 3000 * 0.5
    assert abs(predict(p, {"model.slope": 10, "model.beta": 0.5}) - truth) < 0.15 * truth


def _search_yaml(tmp_path, epochs=1):
    base = {**TINY, "train": {"epochs": epochs, "patience": None}}
    cfg = {"base": base, "space": {"model.beta": {"low": 0.2, "high": 0.9},
                                   "model.surrogate": {"choices": ["fast_sigmoid", "atan"]}},
           "objectives": ["accuracy", "latency"]}
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_search_sqlite_writes_study_and_pareto(tmp_path):
    path = _search_yaml(tmp_path)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "spiketune", "search", str(path), "--out", str(out),
                        "--trials", "3", "--seed", "1", "--no-progress"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    study = optuna.load_study(study_name="spiketune", storage=f"sqlite:///{out / 'study.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 3
    front = json.loads((out / "pareto.json").read_text())
    pts = np.array([t.values for t in done])
    expected = brute_front(pts, ["max", "min"]).sum()
    assert len(front) == expected >= 1
    assert unknown_metric_columns(out / "trials.csv") == []
    trials = json.loads((out / "trials.json").read_text())
    assert {m.name for m in schema.TRIAL} | {"objective.accuracy", "objective.latency"} <= set(trials[0])


@pytest.fixture
def pg_server():
    """A private PostgreSQL server with a database 'study': (server, URL)."""
    if not pg.available():
        pytest.skip("PostgreSQL server binaries not installed")
    server = pg.Server().init()
    server.start()
    try:
        yield server, server.create_db("study")
    finally:
        server.stop()
        server.remove()


def test_postgres_two_workers_survive_a_killed_worker(tmp_path, pg_server):
    server, url = pg_server
    path = _search_yaml(tmp_path, epochs=4)  # trials outlast the heartbeat grace period
    trials = 8
    def cmd(i):
        return [sys.executable, "-m", "spiketune", "search", str(path), "--out",
                str(tmp_path / f"w{i}"), "--trials", str(trials), "--storage", url,
                "--study", "shared", "--heartbeat", "1", "--grace", "2", "--no-progress"]
    victim = subprocess.Popen(cmd(0), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    survivor = subprocess.Popen(cmd(1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    storage = optuna.storages.RDBStorage(url)
    deadline = time.time() + 120
    killed_running = False
    while time.time() < deadline:
        try:
            study = optuna.load_study(study_name="shared", storage=storage)
        except KeyError:
            time.sleep(0.2)
            continue
        states = [t.state for t in study.get_trials(deepcopy=False)]
        # kill the victim while it has a trial running and another trial has finished
        if states.count(optuna.trial.TrialState.COMPLETE) >= 1 and \
                states.count(optuna.trial.TrialState.RUNNING) == 2:
            victim.send_signal(signal.SIGKILL)
            killed_running = True
            break
        time.sleep(0.1)
    victim.wait()
    assert killed_running
    _, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="shared", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) >= trials
    assert all(t.values is not None and len(t.values) == 2 for t in complete)
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    # the killed worker's trial failed on its heartbeat and was re-run once, to completion
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback
    retried = [t for t in complete if retry.retried_trial_number(t) == failed[0].number]
    # (the worker may die between two suggestions: the retry keeps what was chosen)
    assert len(retried) == 1 and failed[0].params.items() <= retried[0].params.items()


def test_search_survives_a_database_outage(tmp_path, pg_server):
    server, url = pg_server
    path = _search_yaml(tmp_path, epochs=2)
    cmd = [sys.executable, "-m", "spiketune", "search", str(path), "--out", str(tmp_path / "w"),
           "--trials", "5", "--storage", url, "--study", "outage", "--heartbeat", "1",
           "--grace", "2", "--no-progress"]
    worker = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    storage = optuna.storages.RDBStorage(url)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            study = optuna.load_study(study_name="outage", storage=storage)
            if any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
                break
        except KeyError:
            pass
        time.sleep(0.2)
    storage.remove_session()
    storage.engine.dispose()
    server.stop()  # the database goes away mid-search ...
    time.sleep(4)
    assert worker.poll() is None, "the worker died with the database"
    server.start()  # ... and comes back
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="outage", storage=optuna.storages.RDBStorage(url))
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 5
    assert optuna.trial.TrialState.RUNNING not in states


def test_median_pruner_stops_a_trial_below_the_median(tmp_path):
    """Three good trials, then one with a threshold no input reaches: the median pruner stops
    it after its first epoch; it counts as a finished trial and holds no metrics."""
    from optuna.trial import TrialState

    base = {"data": {"num_steps": 6, "batch_size": 32, "train_limit": 600, "test_limit": 100},
            "model": {"threshold": 0.5}, "train": {"epochs": 2, "patience": None}}
    good = SearchConfig.from_dict({"base": base, "space": {"model.beta": {"low": 0.85, "high": 0.95}},
                                   "objectives": ["accuracy"], "sampler": "tpe",
                                   "pruner": {"median": {"n_startup_trials": 3}}})
    run_search(good, tmp_path, trials=3, study_name="s", seed=0, progress=False)
    bad = SearchConfig.from_dict({"base": base, "space": {"model.threshold": {"choices": [1000.0]}},
                                  "objectives": ["accuracy"], "sampler": "tpe",
                                  "pruner": {"median": {"n_startup_trials": 3}}})
    study = run_search(bad, tmp_path, trials=4, study_name="s", seed=0, progress=False)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.PRUNED]
    pruned = study.trials[3]
    assert pruned.user_attrs["pruned_reason"].startswith("validation accuracy 0.")
    assert "below the median of earlier trials at epoch 1" in pruned.user_attrs["pruned_reason"]
    assert list(pruned.intermediate_values) == [1]
    folder = tmp_path / "trials" / "s-3"
    assert (folder / "config.yaml").is_file() and not (folder / "metrics.json").exists()
    with pytest.raises(ConfigError, match="single objective"):
        SearchConfig.from_dict({"base": base, "space": {"model.beta": {"low": 0.5, "high": 0.9}},
                                "objectives": ["accuracy", "latency"], "pruner": "median"})
    with pytest.raises(ConfigError, match="pruner must be"):
        SearchConfig.from_dict({"base": base, "space": {"model.beta": {"low": 0.5, "high": 0.9}},
                                "objectives": ["accuracy"], "pruner": "hyperband"})


def test_predictor_keeps_the_model_that_cross_validates_better():
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(14):  # a smooth cost seen in few runs: the linear model wins
        beta, thr = rng.uniform(0.1, 0.9), rng.uniform(0.5, 1.5)
        rows.append({"model.beta": beta, "model.threshold": thr,
                     "latency_cycles": 50_000 + 20_000 * beta - 9_000 * thr})
    p = fit(rows)
    assert p.method == "ridge"
    assert p.cv_mae == p.cv_mae_by_method["ridge"] < p.cv_mae_by_method["gradient boosting"]
    assert p.cv_mae < 0.1 * p.baseline_mae
    assert abs(predict(p, {"model.beta": 0.5, "model.threshold": 1.0}) - 51_000) < 500


def test_example_configs_are_valid():
    from pathlib import Path

    from spiketune.explore.search import SearchConfig

    examples = Path(__file__).parent.parent / "examples"
    assert SweepConfig.load(examples / "sweep-digits.yaml").points()
    assert SearchConfig.load(examples / "search-digits.yaml").space
    framing = SweepConfig.load(examples / "sweep-nmnist-framing.yaml").points()
    assert len(framing) == 5 and all(c.data.dataset == "nmnist" for c in framing)
    assert {(c.data.time_window_us, c.data.denoise_us) for c in framing[:4]} == {
        (10000, None), (10000, 5000), (30000, None), (30000, 5000)}


def test_a_trial_whose_end_was_lost_with_the_database_is_failed_and_rerun(tmp_path, monkeypatch):
    """The database refuses the write that would finish a trial (once): the worker backs
    off, reconnects, fails that trial instead of leaving it RUNNING, and runs it again."""
    from sqlalchemy.exc import OperationalError

    real = optuna.storages.RDBStorage.set_trial_state_values
    refused = []

    def flaky(self, trial_id, state, values=None):
        if state == optuna.trial.TrialState.COMPLETE and not refused:
            refused.append(trial_id)
            raise OperationalError("UPDATE trials", {}, Exception("server closed the connection"))
        return real(self, trial_id, state, values)

    monkeypatch.setattr(optuna.storages.RDBStorage, "set_trial_state_values", flaky)
    sc = SearchConfig.from_dict({"base": POINT, "space": {"model.beta": {"low": 0.2, "high": 0.9}},
                                 "objectives": ["accuracy"], "sampler": "tpe"})
    with pytest.warns(UserWarning, match="study database unreachable"):
        study = run_search(sc, tmp_path, trials=2, study_name="s", seed=0, progress=False)
    states = [t.state for t in study.trials]
    assert refused and states == [optuna.trial.TrialState.FAIL] + [optuna.trial.TrialState.COMPLETE] * 2
    assert study.trials[1].params == study.trials[0].params  # the lost trial, run again


def test_a_resumed_sweep_recosts_a_run_costed_under_an_older_default_without_retraining(tmp_path):
    """A run costed before the default power model changed keeps its run id (defaults are not
    part of it); the resumed sweep re-costs it from its traces, so its table holds one model."""
    from spiketune.explore.run import cost_results
    from spiketune.hardware.snn_dse.config import HardwareConfig, PowerConfig
    from spiketune.results import is_finished, mark_finished

    sc = SweepConfig.from_dict({"base": TINY, "grids": [{"model.arch": ["16-10"]}]})
    [now] = run_sweep(sc, tmp_path, progress=False)
    folder = tmp_path / "runs" / now["run"]
    metrics_now = json.loads((folder / "metrics.json").read_text())
    model_bytes, history = (folder / "model.pt").read_bytes(), (folder / "history.csv").read_text()
    # the folder as the older default (power from operations) left it
    older = HardwareConfig(power=PowerConfig(model="operations"))
    old = cost_results(folder, older, out_dir=folder).to_dict()
    assert old["fps_per_w"] != metrics_now["hardware"]["fps_per_w"]
    stale = {**metrics_now, "hardware": old,
             "energy": {**metrics_now["energy"],
                        "accelerator_modelled_uj": old["power_w"] * old["latency_us"]}}
    (folder / "metrics.json").write_text(json.dumps(stale))
    mark_finished(folder)
    said = rf"runs/{now['run']}: re-costed from its traces: .*\(power differ\)"
    with pytest.warns(UserWarning, match=said):
        [again] = run_sweep(sc, tmp_path, progress=False)
    assert again["fps_per_w"] == now["fps_per_w"] and again["run"] == now["run"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["hardware"] == metrics_now["hardware"] and metrics["energy"] == metrics_now["energy"]
    assert json.loads((folder / "hardware.json").read_text()) == metrics_now["hardware"]
    assert is_finished(folder)  # the marker lists the rewritten files
    assert (folder / "model.pt").read_bytes() == model_bytes
    assert (folder / "history.csv").read_text() == history  # not retrained
    # a current run is left alone: no warning, nothing rewritten
    stamp = (folder / "metrics.json").stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_sweep(sc, tmp_path, progress=False)
    assert (folder / "metrics.json").stat().st_mtime_ns == stamp
