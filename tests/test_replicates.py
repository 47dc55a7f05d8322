"""Replicates: seeds in sweep and search configs share the data split, resume skips finished
replicates, and the summary table equals a hand computation."""

import json

import numpy as np
import pytest
from scipy import stats as st

from spiketune.data.splits import stratified_split
from spiketune.errors import ConfigError
from spiketune.explore.replicates import parse_seeds, summary_rows
from spiketune.explore.sweep import SweepConfig, run_id, run_sweep
from spiketune.training import config as cfgmod
from spiketune.training.trainer import load_splits

TINY = {"data": {"num_steps": 2, "batch_size": 128, "train_limit": 300, "test_limit": 60},
        "train": {"epochs": 1, "patience": None}}


@pytest.mark.parametrize("bad, message", [
    ({"seeds": [0, 1], "replicates": 2}, "either 'seeds' or 'replicates'"),
    ({"seeds": [0, 0]}, "repeats a seed"),
    ({"seeds": []}, "non-empty list"),
    ({"seeds": [True]}, "non-empty list"),
    ({"seeds": [-1]}, "non-empty list"),
    ({"replicates": 0}, "positive integer"),
])
def test_bad_seeds_are_named(bad, message):
    with pytest.raises(ConfigError, match=message):
        SweepConfig.from_dict({"grids": [{"model.beta": [0.5]}], **bad})


def test_replicates_share_the_split_and_differ_only_in_the_training_seed():
    assert parse_seeds({"replicates": 3}, "x") == [0, 1, 2]
    sc = SweepConfig.from_dict({"base": {"train": {"seed": 7}, **{"data": TINY["data"]}}, "seeds": [0, 1, 2],
                                "grids": [{"model.beta": [0.3, 0.6]}]})
    pts = sc.points()
    assert len(pts) == 6 and len({run_id(c, sc.hardware) for c in pts}) == 6
    assert [c.train.seed for c in pts] == [0, 1, 2, 0, 1, 2]
    assert {c.data.split_seed for c in pts} == {7}  # the base's split, kept by every replicate
    a, b = pts[0].to_dict(), pts[1].to_dict()
    assert {(s, k) for s in a for k in a[s] if a[s][k] != b[s][k]} == {("train", "seed")}
    val0, val1 = load_splits(pts[0])[1], load_splits(pts[1])[1]
    assert np.array_equal(val0.y.numpy(), val1.y.numpy()) and np.array_equal(val0.x.numpy(), val1.x.numpy())


def test_a_single_run_keeps_its_split_from_the_training_seed():
    cfg = cfgmod.from_dict({"data": TINY["data"], "train": {"seed": 3}}).resolved()
    assert cfg.data.split_seed is None
    full = cfg.data.load("train").subset(np.arange(300))
    _, val_idx = stratified_split(full.y.numpy(), cfg.data.val_fraction, 3)  # as before split_seed
    assert np.array_equal(load_splits(cfg)[1].x.numpy(), full.x[val_idx].numpy())


def test_summary_rows_by_hand():
    rows = [{"run": f"r{i}", "model.beta": beta, "train.seed": s, "test_accuracy": acc, "rate.L0": 0.1 * s}
            for i, (beta, s, acc) in enumerate([(0.5, 0, 0.8), (0.5, 1, 0.9), (0.5, 2, 0.7), (0.9, 0, 0.6)])]
    s = {r["model.beta"]: r for r in summary_rows(rows, ("test_accuracy", "rate.L0"))}
    assert s[0.5]["n"] == 3 and s[0.5]["seeds"] == "0 1 2" and s[0.9]["n"] == 1
    assert s[0.5]["test_accuracy"] == pytest.approx(0.8, abs=1e-15)
    assert s[0.5]["test_accuracy.sd"] == pytest.approx(0.1, rel=1e-12)  # deviations 0, .1, -.1 over n-1 = 2
    low, high = st.t.interval(0.95, 2, loc=0.8, scale=0.1 / np.sqrt(3))
    assert (s[0.5]["test_accuracy.ci_low"], s[0.5]["test_accuracy.ci_high"]) == pytest.approx((low, high))
    assert np.isnan(s[0.9]["test_accuracy.ci_low"]) and s[0.5]["rate.L0"] == pytest.approx(0.1)


def test_more_seeds_run_only_the_new_replicates(tmp_path):
    grid = {"grids": [{"model.beta": [0.5]}], "base": TINY}
    run_sweep(SweepConfig.from_dict({**grid, "seeds": [0, 1]}), tmp_path, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/metrics.json")}
    assert len(stamps) == 2
    rows = run_sweep(SweepConfig.from_dict({**grid, "seeds": [0, 1, 2]}), tmp_path, progress=False)
    assert len(rows) == 3 and all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    summary = json.loads((tmp_path / "results_summary.json").read_text())
    assert len(summary) == 1 and summary[0]["n"] == 3
    accs = [r["test_accuracy"] for r in rows]
    assert summary[0]["test_accuracy"] == pytest.approx(np.mean(accs), rel=1e-12)
    assert (tmp_path / "figures" / "grid0_replicates.png").is_file() is False  # one point: no curve


def test_search_trials_are_scored_by_the_mean_of_their_replicates(tmp_path):
    from spiketune.explore.search import SearchConfig, run_search

    sc = SearchConfig.from_dict({"base": TINY, "space": {"model.beta": {"low": 0.3, "high": 0.9}},
                                 "objectives": ["accuracy"], "sampler": "tpe", "seeds": [0, 1]})
    study = run_search(sc, tmp_path, 1, "s", seed=0, progress=False)
    t = study.best_trial
    folders = sorted(tmp_path.glob("trials/s-0-s*"))
    assert [f.name for f in folders] == ["s-0-s0", "s-0-s1"]
    accs = [json.loads((f / "metrics.json").read_text())["test_accuracy"] for f in folders]
    assert t.values[0] == pytest.approx(np.mean(accs), rel=1e-12) and t.user_attrs["n_seeds"] == 2


def test_run_ids_of_earlier_configs_are_unchanged():
    # run ids the previous release gave these configs (spiketune 0.1.0 before data.split_seed,
    # train.device, train.precision and train.cuda_graphs existed): earlier sweeps resume
    from spiketune.explore.sweep import run_id
    from spiketune.hardware import HardwareConfig
    from spiketune.training import config as cfgmod

    hw = HardwareConfig()
    assert run_id(cfgmod.RunConfig().resolved(), hw) == "a1f4d57093c9"
    c = cfgmod.from_dict({"model": {"surrogate": "fast_sigmoid", "slope": 5.0}, "train": {"seed": 2}})
    assert run_id(c.resolved(), hw) == "97b02424d0ad"
    # a later key away from its default is part of the identity
    b = cfgmod.from_dict({"train": {"precision": "bf16"}, "data": {"split_seed": 1}}).resolved()
    assert run_id(b, hw) != "a1f4d57093c9" and "split_seed" in cfgmod.identity(b)["data"]
