"""Pareto fronts against Optuna's own, the predictor's cross-validation against
scikit-learn's, and sweep resume against run folders prepared by hand."""

import json
import math

import numpy as np
import optuna
import pytest
import yaml

from spiketune.errors import ConfigError
from spiketune.explore.pareto import non_dominated
from spiketune.explore.predict import _features, fit, predict
from spiketune.explore.search import write_pareto
from spiketune.explore.sweep import SweepConfig, collect, point_errors, run_id, run_sweep
from spiketune.hardware import HardwareConfig
from spiketune.results import mark_finished
from spiketune.training import config as cfgmod

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def test_pareto_by_hand_with_mixed_directions():
    p = np.array([[0.9, 100.0], [0.8, 50.0], [0.7, 60.0], [0.9, 120.0], [0.95, 200.0]])
    assert non_dominated(p, ["max", "min"]).tolist() == [True, True, False, False, True]
    # minimised accuracy, maximised latency: (0.9, 120) now beats (0.9, 100)
    assert non_dominated(p, ["min", "max"]).tolist() == [False, False, True, True, True]
    # both minimised: (0.7, 60) is beaten by nobody in accuracy, (0.8, 50) by nobody in latency
    assert non_dominated(p, ["min", "min"]).tolist() == [False, True, True, False, False]
    assert non_dominated(p, ["max", "max"]).tolist() == [False, False, False, False, True]


def test_pareto_keeps_duplicates_and_drops_nan_rows_from_comparison():
    p = np.array([[1.0, 1.0], [1.0, 1.0], [np.nan, 0.0], [0.0, 5.0]])
    # the NaN row would dominate (0, 5) on the second objective if it were compared
    assert non_dominated(p, ["max", "max"]).tolist() == [True, True, False, True]


@pytest.mark.parametrize("directions", [["maximize", "minimize"], ["minimize", "minimize"],
                                        ["maximize", "maximize", "minimize"]])
def test_search_pareto_file_equals_optunas_front(tmp_path, directions):
    rng = np.random.default_rng(len(directions) + (directions[0] == "minimize"))
    study = optuna.create_study(directions=directions)
    # objective names whose schema directions are the study's (the schema decides the front)
    names = {("maximize", "minimize"): ["accuracy", "latency"],
             ("minimize", "minimize"): ["latency", "energy"],
             ("maximize", "maximize", "minimize"): ["accuracy", "fps_per_w", "latency"]}[tuple(directions)]
    study.set_metric_names(names)
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for i in range(40):
        vals = [float(v) for v in rng.integers(0, 8, len(directions))]
        study.add_trial(optuna.trial.create_trial(params={"x": i / 40}, distributions=dist, values=vals))
    front = write_pareto(study, tmp_path)
    want = sorted(t.number for t in study.best_trials)
    assert sorted(r["trial"] for r in front) == want
    assert sorted(r["trial"] for r in json.loads((tmp_path / "pareto.json").read_text())) == want
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert len(trials) == 40 and sorted(r["trial"] for r in trials if r["pareto"]) == want
    # the front depends on the directions: all-maximised gives another one
    flipped = optuna.create_study(directions=["maximize"] * len(directions))
    flipped.add_trials(study.trials)
    assert sorted(t.number for t in flipped.best_trials) != want


# ---- predictor ----

def _rows(n=30, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        slope, beta = rng.uniform(1, 30), rng.uniform(0.1, 0.9)
        sur = ["atan", "fast_sigmoid"][i % 2]
        rows.append({"model.slope": slope, "model.beta": beta, "model.surrogate": sur,
                     "model.neuron": "lif", "firing_rate": 0.1 + 0.01 * (i % 7),
                     "latency_cycles": 1000 + 40 * slope + 2000 * beta + (300 if sur == "atan" else 0)})
    return rows


@pytest.fixture(scope="module")
def fitted():
    return fit(_rows(30), folds=5, seed=3)


def test_predictor_errors_equal_scikit_learn_cross_validation(fitted):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows, p = _rows(30), fitted
    x = np.array([[r["model.slope"], r["model.beta"], float(r["model.surrogate"] == "atan"),
                   float(r["model.surrogate"] == "fast_sigmoid")] for r in rows])
    y = np.array([r["latency_cycles"] for r in rows])
    cv = KFold(5, shuffle=True, random_state=3)  # 5 equal folds of 6: mean of fold MAEs = MAE
    ridge = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                          RidgeCV(alphas=np.logspace(-3, 3, 13)))
    ridge_mae = -cross_val_score(ridge, x, y, cv=cv, scoring="neg_mean_absolute_error").mean()
    assert p.cv_mae_by_method["ridge"] == pytest.approx(ridge_mae, rel=1e-9)
    # the baseline predicts each held-out fold by the mean of the other folds
    base = np.mean([np.abs(y[te] - y[tr].mean()).mean() for tr, te in cv.split(x)])
    assert p.baseline_mae == pytest.approx(base, rel=1e-12)
    assert p.baseline_mae > np.abs(y - y.mean()).mean()  # out of sample is worse than in sample
    assert p.method == min(p.cv_mae_by_method, key=p.cv_mae_by_method.get)
    assert p.cv_mae == p.cv_mae_by_method[p.method]
    assert set(p.cv_mae_by_method) == {"gradient boosting", "ridge"}
    assert p.n_runs == 30 and p.target == "latency_cycles"
    assert p.features == ["model.slope", "model.beta", "model.surrogate=atan", "model.surrogate=fast_sigmoid"]
    assert list(p.importances)[0] == "model.beta"  # sorted, largest first
    assert list(p.importances.values()) == sorted(p.importances.values(), reverse=True)


def test_predictor_percentage_error_by_hand(fitted):
    rows, p = _rows(30), fitted
    y = np.array([r["latency_cycles"] for r in rows])
    assert p.method == "ridge"  # a linear relation: ridge cross-validates better
    # MAPE and MAE of the same predictions: MAPE between MAE/max|y| and MAE/min|y|
    assert p.cv_mae / y.max() <= p.cv_mape <= p.cv_mae / y.min()


def test_predictor_prediction_uses_one_hot_and_nan(fitted):
    p = fitted
    s = {"model.slope": 10.0, "model.beta": 0.5, "model.surrogate": "atan"}
    truth = 1000 + 400 + 1000 + 300
    assert predict(p, s) == pytest.approx(truth, rel=0.02)
    other = predict(p, {**s, "model.surrogate": "fast_sigmoid"})
    assert predict(p, s) - other == pytest.approx(300, rel=0.1)
    assert math.isfinite(predict(p, {"model.slope": 10.0, "model.surrogate": "atan"}))  # beta imputed


def test_predictor_features_by_hand():
    rows = [{"model.slope": 2, "model.beta": None, "model.surrogate": "atan", "model.neuron": "lif",
             "train.lr": "", "firing_rate": 0.5},
            {"model.slope": "3", "model.beta": 0.4, "model.surrogate": "sigmoid", "model.neuron": "lif",
             "firing_rate": 0.25}]
    x, names = _features(rows, with_rate=True)
    assert names == ["model.slope", "model.beta", "model.surrogate=atan", "model.surrogate=sigmoid",
                     "firing_rate"]
    np.testing.assert_array_equal(x, [[2, np.nan, 1, 0, 0.5], [3, 0.4, 0, 1, 0.25]])
    with pytest.raises(ConfigError, match="the runs differ in no known knob"):
        _features([{"model.neuron": "lif"}], with_rate=False)


def test_predictor_needs_six_runs_with_the_target():
    rows = _rows(7)
    rows[0]["latency_cycles"] = None
    rows[1]["latency_cycles"] = ""
    with pytest.raises(ConfigError) as e:
        fit(rows)
    assert str(e.value) == "need at least 6 finished runs with 'latency_cycles' to fit, got 5"
    assert fit(_rows(6), folds=3).n_runs == 6


def test_predictor_with_rate_and_another_target():
    rows = _rows(12)
    for r in rows:
        r["fps"] = 5.0 / r["firing_rate"]
    p = fit(rows, target="fps", with_rate=True, folds=4)
    assert p.target == "fps" and p.features[-1] == "firing_rate"
    assert list(p.importances)[0] == "firing_rate"


def _noisy_rows(n, seed):
    """Runs whose latency has noise (ridge then picks an interior alpha of its grid) and
    three without a recorded beta (imputed by the median, which is not the mean here)."""
    rng = np.random.default_rng(seed)
    rows = _rows(n, seed)
    for r in rows:
        r["latency_cycles"] += float(rng.normal(0, 400))
    for i in (1, 6, 11):
        rows[i]["model.beta"] = None
    return rows


def _reference_x(rows):
    return np.array([[r["model.slope"], np.nan if r["model.beta"] is None else r["model.beta"],
                      float(r["model.surrogate"] == "atan"), float(r["model.surrogate"] == "fast_sigmoid")]
                     for r in rows])


def test_predictor_matches_each_model_refitted_by_hand_fold_by_fold():
    # the documented models, fitted by hand on each training fold of a shuffled 4-fold split,
    # then on every run for the kept model; importances by sklearn's permutation_importance
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = _noisy_rows(16, 5)
    p = fit(rows, folds=4, seed=7)
    x, y = _reference_x(rows), np.array([r["latency_cycles"] for r in rows])
    models = {"gradient boosting": HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1,
                                                                 min_samples_leaf=2, random_state=7),
              "ridge": make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                     RidgeCV(alphas=np.logspace(-3, 3, 13)))}
    held_out = {m: np.empty_like(y) for m in models}
    for tr, te in KFold(4, shuffle=True, random_state=7).split(x):
        for m, est in models.items():
            held_out[m][te] = clone(est).fit(x[tr], y[tr]).predict(x[te])
    for m in models:
        assert p.cv_mae_by_method[m] == pytest.approx(np.abs(held_out[m] - y).mean(), rel=1e-9)
    assert p.method == "ridge" and p.cv_mae == p.cv_mae_by_method["ridge"]
    assert p.cv_mape == pytest.approx(np.mean(np.abs(held_out["ridge"] - y) / y), rel=1e-9)
    kept = clone(models["ridge"]).fit(x, y)
    assert 1e-3 < kept[-1].alpha_ < 1e3  # an interior alpha: the grid itself matters
    assert kept[-1].alpha_ == p.model[-1].alpha_
    np.testing.assert_allclose(p.model.predict(x), kept.predict(x), rtol=1e-12)
    imp = permutation_importance(kept, x, y, n_repeats=5, random_state=7).importances_mean
    assert p.importances == pytest.approx(dict(zip(p.features, imp, strict=True)), rel=1e-9)


def test_predictor_with_fewer_runs_than_folds_leaves_one_out():
    rows = _rows(7)
    p = fit(rows, folds=10)
    y = np.array([r["latency_cycles"] for r in rows])
    # leave-one-out: each run predicted by the mean of the six others
    loo = np.abs(y - (y.sum() - y) / 6).mean()
    assert p.baseline_mae == pytest.approx(loo, rel=1e-12)


def test_predictor_percentage_error_of_a_target_below_one():
    # energy in uJ below 1: the percentage divides by |y| itself, not by a floor of 1;
    # the defaults: 5 shuffled folds, seed 0
    rows = _rows(10)
    for i, r in enumerate(rows):
        r["energy_per_inference_uj"] = 0.01 * (1 + i % 4) + 0.001 * r["model.slope"]
    p = fit(rows, target="energy_per_inference_uj")
    y = np.array([r["energy_per_inference_uj"] for r in rows])
    from sklearn.model_selection import KFold

    base = np.empty_like(y)
    for tr, te in KFold(5, shuffle=True, random_state=0).split(y):
        base[te] = y[tr].mean()
    assert p.baseline_mae == pytest.approx(np.abs(base - y).mean(), rel=1e-12)
    assert p.cv_mape > 0.05 and p.cv_mape <= p.cv_mae / y.min() and p.cv_mape >= p.cv_mae / y.max()


# ---- sweep resume ----

TINY = {"data": {"num_steps": 3, "batch_size": 128, "train_limit": 200, "test_limit": 50},
        "train": {"epochs": 1, "patience": None}}


def _finished(folder, cfg, acc):
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
    (folder / "metrics.json").write_text(json.dumps({"test_accuracy": acc, "hardware": {"fps": 10.0}}))
    mark_finished(folder)  # a complete folder ends with its finished marker


def test_sweep_skips_finished_points_and_retries_unfinished_folders(tmp_path, capsys):
    # point 1 finished (marker); point 2 has a folder without metrics (interrupted) and a
    # config that fails fast: it must be attempted again (error.txt), not taken as finished
    sc = SweepConfig.from_dict({"base": TINY, "grids": [{"model.arch": ["16-10", "16C3-Q-10"]}]})
    done, broken = sc.points()
    _finished(tmp_path / "runs" / run_id(done, sc.hardware), done, 0.75)
    interrupted = tmp_path / "runs" / run_id(broken, sc.hardware)
    interrupted.mkdir()
    (interrupted / "config.yaml").write_text(yaml.safe_dump(broken.to_dict()))
    rows = run_sweep(sc, tmp_path)
    assert [r["test_accuracy"] for r in rows] == [0.75]  # the finished point was not re-run
    err = capsys.readouterr().err  # the bar counts the point finished before the sweep began
    assert "sweep:" in err and "1/2" in err and "2/2" not in err
    assert "'Q' at position 2" in (interrupted / "error.txt").read_text()
    status = json.loads((tmp_path / "sweep_status.json").read_text())
    assert status == {"points": 2, "finished": 1, "failed_this_time": 1}
    assert json.loads((tmp_path / "results.json").read_text())[0]["fps"] == 10.0
    saved = yaml.safe_load((tmp_path / "sweep.yaml").read_text())
    assert saved["grids"] == [{"model.arch": ["16-10", "16C3-Q-10"]}] and "hardware" in saved


# a point that trains in about a second: one epoch on 32 digits, a 64-8-10 network
QUICK = {"data": {"num_steps": 2, "batch_size": 32, "train_limit": 32, "test_limit": 16},
         "train": {"epochs": 1, "patience": None}, "model": {"arch": "8-10"}}


def test_a_retried_point_that_succeeds_is_finished_and_its_old_error_gone(tmp_path, capsys):
    # point "16-10" failed in an earlier attempt (its error.txt is there); "16C3-Q-10" fails fast
    spec = {"base": QUICK, "grids": [{"model.arch": ["16-10", "16C3-Q-10"]}], "hardware": {"clock_mhz": 100}}
    sc = SweepConfig.from_dict(spec)
    good, bad = (run_id(c, sc.hardware) for c in sc.points())
    out = tmp_path / "sweep"
    (out / "runs" / good).mkdir(parents=True)
    (out / "runs" / good / "error.txt").write_text("Traceback ...\nRuntimeError: out of memory\n")
    assert point_errors(sc, out) == [(good, "RuntimeError: out of memory")]

    rows = run_sweep(sc, out)  # progress shown by default: one bar over the points, none per run
    err = capsys.readouterr().err
    # the bar counts finished runs out of the points (the failed one is not finished); none per run
    assert "sweep:" in err and "1/2" in err and "2/2" not in err and "epoch" not in err.lower()
    assert [r["run"] for r in rows] == [good]
    # the retried point's stale error is gone, and its finished marker does not list it
    assert not (out / "runs" / good / "error.txt").exists()
    assert "error.txt" not in json.loads((out / "runs" / good / "finished.json").read_text())["files"]
    assert [(i, e.split(":")[0]) for i, e in point_errors(sc, out)] == [(bad, "ArchError")]
    status = json.loads((out / "sweep_status.json").read_text())
    assert status == {"points": 2, "finished": 1, "failed_this_time": 1}
    table = json.loads((out / "results.json").read_text())
    assert [r["run"] for r in table] == [good] and table[0]["model.arch"] == "16-10"
    # costed on the sweep's hardware: 100 cycles per microsecond
    assert table[0]["latency_us"] == pytest.approx(table[0]["latency_cycles"] / 100, rel=1e-12)
    # the study in the sweep folder: accuracy maximised, one trial per attempt, the value its accuracy
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{out / 'sweep.db'}")
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE]
    assert study.metric_names == ["test_accuracy"]
    assert [(t.state.name, t.value) for t in study.trials] == [("COMPLETE", rows[0]["test_accuracy"]),
                                                               ("FAIL", None)]
    # the saved sweep.yaml, in the documented key order, reloads to the same points
    saved = yaml.safe_load((out / "sweep.yaml").read_text())
    assert list(saved) == ["base", "grids", "hardware"] and saved["grids"] == spec["grids"]
    assert [run_id(c, sc.hardware) for c in SweepConfig.load(out / "sweep.yaml").points()] == [good, bad]

    # the sweep folder holds the study, its lock, the tables, the (empty: a 1-D grid) figures folder
    assert sorted(x.name for x in out.iterdir()) == [
        ".sweep.db.sweep.lock", "figures", "results.csv", "results.json", "results_summary.csv",
        "results_summary.json", "runs", "sweep.db", "sweep.yaml", "sweep_status.json"]
    mtime = (out / "runs" / good / "metrics.json").stat().st_mtime_ns
    assert run_sweep(sc, out, progress=False) == rows  # the finished point is not trained again
    assert good not in capsys.readouterr().err  # only the failing point is reported
    assert (out / "runs" / good / "metrics.json").stat().st_mtime_ns == mtime
    assert json.loads((out / "sweep_status.json").read_text())["failed_this_time"] == 1


def test_a_replicated_sweep_draws_the_mean_curves_and_every_replicate(tmp_path):
    # two slopes x two seeds of the one-second point: the slope curves are drawn from the means
    # of the seeds and the replicate figure from every run
    from spiketune.explore.replicates import summary_rows

    sc = SweepConfig.from_dict({"base": QUICK, "grids": [{"model.slope": [2.0, 8.0]}], "seeds": [0, 1]})
    rows = run_sweep(sc, tmp_path, progress=False)
    assert len(rows) == 4
    means = summary_rows(rows)
    assert [(r["model.slope"], r["n"], r["seeds"]) for r in means] == [(2.0, 2, "0 1"), (8.0, 2, "0 1")]
    for m in means:
        accs = [r["test_accuracy"] for r in rows if r["model.slope"] == m["model.slope"]]
        assert m["test_accuracy"] == pytest.approx(sum(accs) / 2, rel=1e-12)
    assert sorted(f.name for f in (tmp_path / "figures").iterdir()) == [
        "grid0_replicates.png", "grid0_slope_fps_per_w.png", "grid0_slope_latency.png"]


def test_point_errors_read_undecodable_and_empty_error_files(tmp_path):
    sc = SweepConfig.from_dict({"base": TINY, "grids": [{"model.beta": [0.3, 0.6]}]})
    a, b = (run_id(c, sc.hardware) for c in sc.points())
    for rid, text in ((a, b"Traceback\nOSError: bad byte \xff in a path\n"), (b, b"\n  \n")):
        (tmp_path / "runs" / rid).mkdir(parents=True)
        (tmp_path / "runs" / rid / "error.txt").write_bytes(text)
    assert point_errors(sc, tmp_path) == [(a, "OSError: bad byte \ufffd in a path"), (b, "unknown error")]


def _interrupt_after_first_finished_point(runs, stop):
    """Ctrl-C the main thread as soon as one point of the sweep has its finished marker."""
    import _thread
    import time

    while not stop.is_set():
        if any(runs.glob("*/finished.json")):
            _thread.interrupt_main()
            return
        time.sleep(0.002)


@pytest.mark.slow
def test_sweep_interrupted_by_ctrl_c_resumes_without_rerunning_finished_points(tmp_path):
    import threading

    sc = SweepConfig.from_dict({"base": QUICK, "grids": [{"model.beta": [0.3, 0.6]}]})
    out = tmp_path / "sweep"
    stop = threading.Event()
    watcher = threading.Thread(target=_interrupt_after_first_finished_point, args=(out / "runs", stop))
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(sc, out, progress=False)
    finally:
        stop.set()
        watcher.join()
    first = {m.parent.name: (m.parent / "metrics.json").stat().st_mtime_ns
             for m in out.glob("runs/*/finished.json")}
    assert len(first) == 1, "the sweep was not interrupted mid-way"
    assert not (out / "sweep_status.json").exists() and not (out / ".spiketune.lock").exists()
    ids = [run_id(c, sc.hardware) for c in sc.points()]
    rows = run_sweep(sc, out, progress=False)
    assert sorted(r["run"] for r in rows) == sorted(ids)
    for rid, mtime in first.items():  # the finished point was not trained again
        assert (out / "runs" / rid / "metrics.json").stat().st_mtime_ns == mtime
    status = json.loads((out / "sweep_status.json").read_text())
    assert status == {"points": 2, "finished": 2, "failed_this_time": 0}
    table = json.loads((out / "results.json").read_text())
    assert sorted(r["model.beta"] for r in table) == [0.3, 0.6]


def test_collect_reads_only_finished_folders_in_path_order(tmp_path):
    base = cfgmod.from_dict(TINY).resolved()
    _finished(tmp_path / "runs" / "b", base, 0.5)
    _finished(tmp_path / "runs" / "a", base, 0.25)
    (tmp_path / "runs" / "c").mkdir()
    rows = collect(tmp_path)
    assert [(r["run"], r["test_accuracy"]) for r in rows] == [("a", 0.25), ("b", 0.5)]
    assert rows[0]["data.num_steps"] == 3
    _finished(tmp_path / "trials" / "t0", base, 0.125)
    assert [r["run"] for r in collect(tmp_path, "trials/*/")] == ["t0"]
    # a finished folder whose metrics are not a mapping is damaged: skipped with a warning
    (tmp_path / "runs" / "b" / "metrics.json").write_text("[0.5]")
    mark_finished(tmp_path / "runs" / "b")
    with pytest.warns(UserWarning) as w:
        assert [r["run"] for r in collect(tmp_path)] == ["a"]
    damaged = tmp_path / "runs" / "b"
    assert [str(x.message) for x in w] == [f"{damaged} is damaged (ValueError: not a mapping); it is "
                                           "skipped, and re-run by a sweep"]


def test_run_id_depends_on_config_and_hardware():
    sc = SweepConfig.from_dict({"base": TINY, "grids": [{"model.beta": [0.3, 0.6]}]})
    a, b = sc.points()
    assert run_id(a, sc.hardware) != run_id(b, sc.hardware)
    assert len(run_id(a, sc.hardware)) == 12
    other = SweepConfig.from_dict({"base": TINY, "grids": [{"model.beta": [0.3]}],
                                   "hardware": {"clock_mhz": 100}})
    assert run_id(a, other.hardware) != run_id(a, sc.hardware)
    assert run_id(other.points()[0], sc.hardware) == run_id(a, sc.hardware)


def test_sweep_config_errors_and_single_grid():
    sc = SweepConfig.from_dict({"base": TINY, "grid": {"model.beta": [0.3, 0.6]}})
    assert [c.model.beta for c in sc.points()] == [0.3, 0.6]
    with pytest.raises(ConfigError, match=r"unknown sweep keys \['grdis'\]"):
        SweepConfig.from_dict({"grdis": []})
    with pytest.raises(ConfigError, match="a sweep needs 'grids'"):
        SweepConfig.from_dict({"base": TINY})
    with pytest.raises(ConfigError, match="non-empty lists"):
        SweepConfig.from_dict({"grids": [{"model.beta": []}]})
    with pytest.raises(ConfigError, match="non-empty lists"):
        SweepConfig.from_dict({"grids": [{"model.beta": 0.3}]})


def test_sweep_config_keeps_the_base_settings_and_names_the_missing_grids():
    sc = SweepConfig.from_dict({"base": TINY, "grids": [{"model.beta": [0.3]}]})
    assert sc.base == cfgmod.from_dict(TINY) and sc.base != cfgmod.from_dict({})
    with pytest.raises(ConfigError) as e:
        SweepConfig.from_dict({})
    assert str(e.value) == "a sweep needs 'grids' (a list of {setting: [values]})"


def test_sweep_config_load_reads_yaml_and_names_the_file(tmp_path):
    f = tmp_path / "sweep.yaml"
    f.write_text(yaml.safe_dump({"base": TINY, "grids": [{"model.beta": [0.3, 0.6]}]}))
    assert [c.model.beta for c in SweepConfig.load(f).points()] == [0.3, 0.6]
    f.write_text("- 1\n")
    with pytest.raises(ConfigError) as e:
        SweepConfig.load(f)
    assert str(e.value) == f"sweep config {f} must be a mapping, got list"


def test_run_id_is_the_hash_of_the_documented_blob():
    # sha1 of {"run": the config's identity (later keys at their defaults left out), "hw": hardware
    # identity} with sorted keys, first 12 hex
    import hashlib

    cfg = cfgmod.from_dict(TINY).resolved()
    hw = HardwareConfig()
    blob = json.dumps({"hw": hw.identity(), "run": cfgmod.identity(cfg)}, sort_keys=True)
    assert run_id(cfg, hw) == hashlib.sha1(blob.encode()).hexdigest()[:12]


def test_sweep_points_are_distinct_across_grids():
    grids = [{"model.beta": [0.3, 0.6]}, {"model.beta": [0.6, 0.9]}]
    sc = SweepConfig.from_dict({"base": TINY, "grids": grids})
    assert [c.model.beta for c in sc.points()] == [0.3, 0.6, 0.9]


def test_predictor_features_read_empty_cells_as_missing():
    x, names = _features([{"model.slope": 2.0}, {"model.slope": ""}, {"model.slope": None}], False)
    assert names == ["model.slope"] and x[0, 0] == 2.0 and np.isnan(x[1:, 0]).all()
    with pytest.raises(ConfigError) as e:
        _features([{"model.neuron": "lif"}, {"model.neuron": "lif"}], False)
    assert str(e.value) == "the runs differ in no known knob; nothing to predict from"


def test_pareto_treats_a_missing_objective_as_nan():
    # a trial without a value (None) is never on the front and dominates nothing
    mask = non_dominated([[1.0, None], [2.0, 3.0], [1.5, 4.0]], ["min", "min"])
    assert mask.tolist() == [False, True, True]
