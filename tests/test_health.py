"""Degenerate networks, resume rules and the results-at-a-glance table."""

import math
import os
import subprocess
import sys

import pytest
import torch

from spiketune import schema
from spiketune.errors import ConfigError
from spiketune.explore.show import format_table, sort_rows, varied
from spiketune.training import health
from spiketune.training.resume import check_resumable, differences


def test_chance_and_noise_band_by_hand():
    assert health.chance_accuracy([0, 1, 1, 2]) == 0.5
    # 100 samples at chance 0.1: sd = sqrt(0.1 * 0.9 / 100) = 0.03, band up to 0.1 + 3 * 0.03 = 0.19
    assert health.near_chance(0.189, 0.1, 100) and not health.near_chance(0.191, 0.1, 100)


def test_reasons_name_the_silent_layer_the_chance_loss_and_accuracy():
    found = health.reasons([("L0:16C3", 0.2), ("L1:64", 0.0)], 0.12, 0.1, 100, math.log(10), 10)
    assert found[0] == "layer L1:64 never fires"
    assert found[1].startswith("loss 2.3026 ~ ln(10)") and found[2].startswith("accuracy 12.00%")
    assert health.reasons([("L0", 0.01)], 0.95, 0.1, 100, 0.4, 10) == []
    assert len(health.reasons([("L0", 0.01)], 0.95, 0.1, 100, 1.005 * math.log(10), 10)) == 1  # in 1%
    assert health.reasons([("L0", 0.01)], 0.95, 0.1, 100, 1.02 * math.log(10), 10) == []


def test_a_network_that_never_fires_is_flagged_with_its_layer_and_epoch(tmp_path):
    from spiketune.explore.run import run
    from spiketune.training import config

    cfg = config.from_dict({"data": {"num_steps": 2, "batch_size": 128, "train_limit": 300, "test_limit": 60},
                            "model": {"arch": "8-10", "threshold": 1.0e6},
                            "train": {"epochs": 1, "patience": None}})
    with pytest.warns(health.DegenerateWarning, match=r"epoch 1: layer L0:8 never fires"):
        m = run(cfg, tmp_path, progress=False)
    assert m["degenerate"] is True and "layer L0:8 never fires" in m["degenerate_reasons"]
    # no output spikes: every class count is 0, so the CE loss is exactly ln(10)
    assert any(r.startswith("loss 2.3026") for r in m["degenerate_reasons"])
    labels = config.from_dict({}).resolved().data.load("test").y[:60]
    assert m["chance_accuracy"] == max(torch.bincount(labels).tolist()) / 60


ROWS = [  # a degenerate run with the best FPS/W and lowest latency, as a silent network has
    {"run": "a", "test_accuracy": 0.95, "latency_cycles": 900.0, "fps_per_w": 10.0, "degenerate": False},
    {"run": "b", "test_accuracy": 0.94, "latency_cycles": 700.0, "fps_per_w": 20.0, "degenerate": "False"},
    {"run": "c", "test_accuracy": 0.10, "latency_cycles": 100.0, "fps_per_w": 99.0, "degenerate": True},
    {"run": "d", "test_accuracy": 0.96, "latency_cycles": 100.0, "fps_per_w": 99.0, "degenerate": "True"}]


def test_rankings_leave_degenerate_runs_out_unless_asked():
    assert [r["run"] for r in schema.ranked(ROWS)] == ["a", "b"]
    best, tuned = schema.tuned_point(ROWS)
    assert (best["run"], tuned["run"]) == ("a", "b")
    best, tuned = schema.tuned_point(ROWS, include_degenerate=True)
    assert (best["run"], tuned["run"]) == ("d", "d")


def test_pareto_front_of_a_search_skips_degenerate_trials():
    import numpy as np

    from spiketune.explore.pareto import non_dominated

    pts = [[r["test_accuracy"], r["latency_cycles"]] if not schema.is_degenerate(r) else [np.nan, np.nan]
           for r in ROWS]
    assert non_dominated(pts, ["max", "min"]).tolist() == [True, True, False, False]


def test_resume_allows_only_more_epochs_and_names_the_keys():
    old = {"train": {"epochs": 5, "lr": 0.005}, "model": {"beta": 0.5}}
    check_resumable(old, {"train": {"epochs": 8, "lr": 0.005}, "model": {"beta": 0.5}}, "f")
    assert differences(old, {"train": {"epochs": 5, "lr": 0.1}, "model": {"beta": 0.9}}) == \
        ["model.beta", "train.lr"]
    with pytest.raises(ConfigError, match=r"model\.beta \(0\.5 -> 0\.9\), train\.lr \(0\.005 -> 0\.1\)"):
        check_resumable(old, {"train": {"epochs": 5, "lr": 0.1}, "model": {"beta": 0.9}}, "f")
    with pytest.raises(ConfigError, match=r"train\.epochs \(5 -> 3\)"):
        check_resumable(old, {"train": {"epochs": 3, "lr": 0.005}, "model": {"beta": 0.5}}, "f")


def test_show_table_lists_varied_knobs_sorted_by_direction():
    rows = [{"run": "r1", "model.beta": 0.5, "model.neuron": "lif", "test_accuracy": 0.9,
             "latency_cycles": 50.0},
            {"run": "r2", "model.beta": 0.9, "model.neuron": "lif", "test_accuracy": 0.8,
             "latency_cycles": 20.0}]
    assert varied(rows) == ["model.beta"]
    assert [r["run"] for r in sort_rows(rows, "latency_cycles")] == ["r2", "r1"]  # lower is better
    assert [r["run"] for r in sort_rows(rows, "test_accuracy")] == ["r1", "r2"]
    text = format_table(rows).splitlines()
    assert text[0].split()[:4] == ["run", "model.beta", "test", "accuracy"] and "90.00%" in text[1]
    with pytest.raises(ConfigError, match="cannot sort by 'nope'"):
        sort_rows(rows, "nope")


def test_cli_version_hardware_template_and_choices(tmp_path):
    import yaml

    from spiketune import __version__
    from spiketune.hardware.config import from_dict

    cli = [sys.executable, "-m", "spiketune"]
    r = subprocess.run([*cli, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"spiketune {__version__}"
    r = subprocess.run([*cli, "config", "--hardware"], capture_output=True, text=True)
    (tmp_path / "hw.yaml").write_text(r.stdout)
    assert from_dict(yaml.safe_load(r.stdout)).model_dump() == from_dict({}).model_dump()
    r = subprocess.run([*cli, "hw", str(tmp_path), "--mode", "fast"], capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 2 and "'fast' is not one of 'ideal', 'rtl'" in r.stderr, r.stderr
