"""Faults and bad input: nothing lost, every error clear (see docs/guarantees.md)."""

import json
import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spiketune.errors import SpiketuneError
from spiketune.explore.run import run
from spiketune.training import config

TINY = {"data": {"num_steps": 3, "batch_size": 128, "train_limit": 400, "test_limit": 100},
        "train": {"epochs": 2, "patience": None}}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "spiketune", *args], capture_output=True, text=True)


def test_results_path_that_is_a_file_fails_before_training(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("user data")
    r = _cli("run", "--out", str(blocker / "run"), "--epochs", "1")
    assert r.returncode == 2 and "not usable" in r.stderr and "Traceback" not in r.stderr
    assert blocker.read_text() == "user data"


def test_full_disk_fails_before_training(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mnt)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        r = _cli("run", "--out", str(mnt / "run"), "--epochs", "1")
        assert r.returncode == 2 and "No space left" in r.stderr
        assert not (mnt / "run" / "metrics.json").exists()
    finally:
        subprocess.run(["umount", str(mnt)])


def test_results_files_are_replaced_atomically(tmp_path, monkeypatch):
    from spiketune import results

    target = tmp_path / "metrics.json"
    results.write_json(target, {"ok": 1})

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        results.write_json(target, {"ok": 2, "big": "x" * 1000})
    assert json.loads(target.read_text()) == {"ok": 1}  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no half-written leftovers


def _poison_inputs(monkeypatch):
    """Inject the fault: every training batch carries NaN pixels (corrupt data)."""
    from spiketune.training import trainer as train_mod

    real = train_mod.encode
    monkeypatch.setattr(train_mod, "encode", lambda x, *a: real(x * float("nan"), *a))


def test_huge_learning_rate_overflows_and_is_caught(tmp_path):
    cfg = config.from_dict({**TINY, "train": {"epochs": 3, "lr": 1e37, "patience": None}})
    with pytest.raises(SpiketuneError, match="training diverged at epoch 1"):
        run(cfg, tmp_path, progress=False)


def test_nan_stops_the_run_with_the_reason_recorded(tmp_path, monkeypatch):
    _poison_inputs(monkeypatch)
    cfg = config.from_dict(TINY)
    with pytest.raises(SpiketuneError, match="epoch 1"):
        run(cfg, tmp_path, progress=False)
    failed = json.loads((tmp_path / "failed.json").read_text())
    assert "non-finite membrane input in layer L0" in failed["reason"]
    assert not (tmp_path / "metrics.json").exists()


def test_diverging_trials_are_pruned_not_reported(tmp_path, monkeypatch):
    import optuna

    from spiketune.explore.search import SearchConfig, run_search

    _poison_inputs(monkeypatch)
    sc = SearchConfig.from_dict({"base": TINY,
                                 "space": {"model.beta": {"low": 0.3, "high": 0.9}},
                                 "objectives": ["accuracy", "latency"]})
    study = run_search(sc, tmp_path, trials=2, progress=False)
    states = [t.state for t in study.trials]
    assert states and all(s == optuna.trial.TrialState.PRUNED for s in states)
    assert len(states) == 6  # at most 3x the requested trials, then the worker ends
    assert not (tmp_path / "pareto.csv").exists()


def test_truncated_checkpoint_is_named(tmp_path):
    cfg = config.from_dict(TINY)
    run(cfg, tmp_path, progress=False)
    ck = tmp_path / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[:200])
    (tmp_path / "metrics.json").unlink()
    with pytest.raises(SpiketuneError, match="checkpoint.pt is unreadable"):
        run(cfg, tmp_path, progress=False)


def test_hardware_with_too_little_memory(tmp_path):
    cfg = config.from_dict(TINY)
    run(cfg, tmp_path, progress=False)
    hw = tmp_path / "hw.yaml"
    hw.write_text("bram_count: 1\nbram_kbits: 1\n")
    r = _cli("hw", str(tmp_path), "--hw-config", str(hw))
    assert r.returncode == 2 and "block RAM" in r.stderr


def test_same_config_and_seed_give_bit_identical_metrics(tmp_path):
    cfg = config.from_dict(TINY)
    a = run(cfg, tmp_path / "a", progress=False)
    b = run(cfg, tmp_path / "b", progress=False)
    speeds = [m.pop("timing")["train_samples_per_s"] for m in (a, b)]  # wall-clock: differs
    assert a == b and all(v > 0 for v in speeds)
    env = a["environment"]
    assert env["torch"] == torch.__version__ and env["device"] == "cpu" and "git_revision" in env


values = st.recursive(st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True)
                      | st.text(max_size=12), lambda c: st.lists(c, max_size=3)
                      | st.dictionaries(st.text(max_size=10), c, max_size=3), max_leaves=8)
sections = st.sampled_from(["data", "model", "train", "profile", "chi", "other"])
fields = st.sampled_from(["dataset", "num_steps", "arch", "beta", "threshold", "surrogate", "slope",
                          "epochs", "lr", "loss", "low", "high", "eps", "trace_samples", "junk"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(sections, st.dictionaries(fields, values, max_size=4) | values, max_size=4))
def test_fuzz_config_parses_or_raises_own_error(d):
    try:
        config.from_dict(d).resolved()
    except SpiketuneError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["cores", "clock_mhz", "mode", "bram_count", "power",
                                        "membrane_bits", "membrane_frac_bits", "x"]), values, max_size=4))
def test_fuzz_hardware_config_parses_or_raises_own_error(d):
    from spiketune.hardware.config import from_dict

    try:
        from_dict(d)
    except SpiketuneError:
        pass
