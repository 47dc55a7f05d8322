import csv
import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from spiketune.explore.run import run
from spiketune.training import config
from spiketune.training.trainer import CHECKPOINT, train


def test_default_network_learns_digits(tmp_path):
    m = run(config.RunConfig(), tmp_path, progress=False)
    assert m["test_accuracy"] >= 0.90
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "firing_rates.png").exists()
    saved = config.load(tmp_path / "config.yaml")
    assert saved == config.RunConfig().resolved()
    layers = m["profile"]["layers"]
    assert all(0 < layer["firing_rate"] < 1 for layer in layers)
    # the NeuroBench counts come from the same test pass as the profile
    nb, prof = m["neurobench"], m["profile"]
    assert nb["accuracy"] == m["test_accuracy"]
    assert nb["activation_sparsity"] == pytest.approx(1 - prof["firing_rate"], rel=1e-12)
    assert nb["synaptic_operations"]["Effective_ACs"] > 0 and nb["synaptic_operations"]["Effective_MACs"] > 0
    # compute-only energy (profile fan-out counts) equals NeuroBench's operation counts x 4.6 / 0.9 pJ
    ops = nb["synaptic_operations"]
    assert m["energy"]["compute_only_uj"] == pytest.approx(
        (ops["Effective_MACs"] * 4.6 + ops["Effective_ACs"] * 0.9) * 1e-6, rel=1e-12)
    assert m["energy"]["accelerator_modelled_uj"] == pytest.approx(
        m["hardware"]["power_w"] * m["hardware"]["latency_us"], rel=1e-12)


def test_training_is_deterministic(tiny_cfg):
    a = train(tiny_cfg, progress=False)
    b = train(tiny_cfg, progress=False)
    assert [h.loss for h in a.history] == [h.loss for h in b.history]
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_early_stopping_stops_and_keeps_best(tiny_cfg):
    cfg = config.with_overrides(tiny_cfg, {"train.epochs": 30, "train.patience": 1,
                                           "train.lr": 0.5})  # unstable lr: val acc stalls
    r = train(cfg, progress=False)
    assert r.stopped_early and len(r.history) < 30
    assert r.best_val_accuracy == max(h.val_accuracy for h in r.history)


def _cli(out, epochs, extra=()):
    return [sys.executable, "-m", "spiketune", "run", "--out", str(out), "--epochs", str(epochs),
            "--set", "data.num_steps=4", "--set", "train.patience=null", "--no-progress", *extra]


def test_sigkill_mid_training_resumes_to_same_result(tmp_path):
    ref = tmp_path / "ref"
    subprocess.run(_cli(ref, 6), check=True, capture_output=True)
    out = tmp_path / "killed"
    p = subprocess.Popen(_cli(out, 6), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = out / CHECKPOINT
    deadline = time.time() + 120
    while not ck.exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert ck.exists() and not (out / "metrics.json").exists(), "run was not interrupted mid-way"
    done = torch.load(ck, weights_only=False)["epoch"]
    assert done < 6
    subprocess.run(_cli(out, 6), check=True, capture_output=True)
    a = json.loads((ref / "metrics.json").read_text())
    b = json.loads((out / "metrics.json").read_text())
    assert a["test_accuracy"] == b["test_accuracy"]
    assert a["profile"] == b["profile"]
    def history(folder):  # every column but wall-clock seconds
        with open(folder / "history.csv") as f:
            return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]

    assert history(ref) == history(out) and len(history(ref)) == 6


@pytest.mark.parametrize("args,msg", [
    (["--arch", "16C3-Q-10"], "'Q' at position 2"),
    (["--set", "model.surrogate=gauss"], "unknown surrogate 'gauss'"),
    (["--set", "model.beta=-0.5"], "model.beta"),
    (["--set", "model.threshold=-1"], "model.threshold"),
    (["--set", "data.num_steps=-3"], "data.num_steps"),
    (["--set", "data.batch_size=100000"], "larger than the"),
    (["--dataset", "fashion-mnist", "--set", "data.root=/no/such/dir"], "/no/such/dir"),
    (["--set", "model.colour=red"], "unknown setting 'model.colour'"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path, args, msg):
    out = tmp_path / "o"
    r = subprocess.run([sys.executable, "-m", "spiketune", "run", "--out", str(out), *args],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_checkpoint_holds_only_tensors_and_plain_values(tiny_cfg, tmp_path):
    """The file loads with weights_only=True, and restoring it into freshly built objects
    gives back the saved weights, optimizer and scheduler states, RNG and loop state."""
    from spiketune.training.checkpoint import Checkpoint
    from spiketune.training.trainer import _scheduler, build_model, load_splits

    cfg = config.with_overrides(tiny_cfg, {"train.epochs": 2}).resolved()
    result = train(cfg, tmp_path, progress=False)
    saved = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert saved["epoch"] == 2 and saved["config"] == cfg.to_dict()
    tr, _, _ = load_splits(cfg)
    model = build_model(cfg, tr.input_shape, tr.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    sched = _scheduler(cfg, opt, 1)
    torch.manual_seed(12345)
    state = Checkpoint(tmp_path / CHECKPOINT, cfg.to_dict(), model, opt, sched).restore()
    assert torch.equal(torch.get_rng_state(), saved["rng"])
    for k, v in saved["model"].items():
        assert torch.equal(model.state_dict()[k], v)
    restored = opt.state_dict()["state"]
    assert restored.keys() == saved["optimizer"]["state"].keys()
    for i, st in saved["optimizer"]["state"].items():
        assert all(torch.equal(restored[i][k], v) for k, v in st.items())
    assert sched.state_dict() == saved["scheduler"]
    assert state.epoch == 2 and [h["loss"] for h in state.history] == [h.loss for h in result.history]
    assert state.best.epoch == result.best_epoch and state.best.acc == result.best_val_accuracy


def test_a_checkpoint_holding_arbitrary_objects_is_refused(tiny_cfg, tmp_path):
    from spiketune.errors import SpiketuneError

    torch.save({"epoch": 1, "config": tiny_cfg.resolved().to_dict(), "payload": object()},
               tmp_path / CHECKPOINT)
    with pytest.raises(SpiketuneError, match="checkpoint.pt is unreadable"):
        train(tiny_cfg, tmp_path, progress=False)
