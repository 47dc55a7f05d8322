"""Training settings of the authors' as-run protocol: per-epoch optimizer reset, checkpoint
selection on the test set, first-time-step accuracy and the rate-coded hardware input."""

import json
import math

import numpy as np
import pytest
import torch

from spiketune import traces
from spiketune.data.datasets import TensorDataset
from spiketune.data.normalize import channel_stats, standardize
from spiketune.explore.run import load_model, run
from spiketune.measure.profile import run_profile
from spiketune.network.models import build
from spiketune.training import config
from spiketune.training.losses import ce_count_loss
from spiketune.training.trainer import CHECKPOINT, build_model, evaluate, load_splits, train

NEW_KEYS = {("data", "normalize"): "mean_std", ("data", "resize"): 12,
            ("train", "optimizer_reset"): "epoch", ("train", "select_on"): "test",
            ("train", "accuracy_from"): "first_step", ("profile", "hardware_input"): "rate"}


def test_the_new_keys_leave_default_run_ids_unchanged():
    default = config.identity(config.RunConfig())
    for (section, key), value in NEW_KEYS.items():
        assert key not in default[section]
        assert config.LATER_KEYS[(section, key)] == getattr(getattr(config.RunConfig(), section), key)
        changed = config.with_overrides(config.RunConfig(), {f"{section}.{key}": value})
        assert config.identity(changed)[section][key] == value


def _cfg(**train_keys):
    return config.from_dict({"data": {"num_steps": 4, "batch_size": 50, "train_limit": 500},
                             "train": {"epochs": 2, "patience": None, "scheduler": "none", "lr": 0.02,
                                       **train_keys}}).resolved()


def _two_epochs(folder, reset):
    """Train one epoch, then continue to two (a resumed run): epoch-1 weights, checkpoint."""
    cfg = _cfg(optimizer_reset=reset)
    train(config.with_overrides(cfg, {"train.epochs": 1}), folder, progress=False)
    after_one = torch.load(folder / CHECKPOINT, weights_only=True)["model"]
    train(cfg, folder, progress=False)
    return cfg, after_one, torch.load(folder / CHECKPOINT, weights_only=True)


def _epoch_two_with_a_fresh_adam(cfg, weights):
    """Epoch 2 by hand: a newly built torch.optim.Adam over the trainer's batch order."""
    tr, _, _ = load_splits(cfg)
    model = build_model(cfg, tr.input_shape, tr.num_classes)
    model.load_state_dict(weights)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, betas=cfg.train.adam_betas)
    order = torch.randperm(len(tr), generator=torch.Generator().manual_seed(cfg.train.seed * 100_003 + 2))
    model.train()
    for start in range(0, len(tr), cfg.data.batch_size):
        idx = order[start:start + cfg.data.batch_size]
        loss = ce_count_loss(model(tr.x[idx], num_steps=cfg.data.num_steps), tr.y[idx], tr.num_classes)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.state_dict(), math.ceil(len(tr) / cfg.data.batch_size)


def test_optimizer_reset_epoch_trains_each_epoch_with_a_fresh_adam(tmp_path):
    cfg, after_one, ck = _two_epochs(tmp_path / "reset", "epoch")
    expected, iters = _epoch_two_with_a_fresh_adam(cfg, after_one)
    for k, v in expected.items():
        assert torch.equal(ck["model"][k], v), k
    # moments and step count restarted at the epoch boundary: one epoch's steps, not two
    assert {float(s["step"]) for s in ck["optimizer"]["state"].values()} == {float(iters)}
    # the run resumed after epoch 1 equals one trained straight through
    train(cfg, tmp_path / "straight", progress=False)
    straight = torch.load(tmp_path / "straight" / CHECKPOINT, weights_only=True)
    assert all(torch.equal(straight["model"][k], v) for k, v in ck["model"].items())
    def curve(h):
        return [(r["loss"], r["train_accuracy"], r["val_accuracy"]) for r in h]

    assert curve(straight["history"]) == curve(ck["history"])
    # without the reset, Adam carries its moments over and epoch 2 differs from a fresh Adam's
    cfg_n, after_one_n, ck_n = _two_epochs(tmp_path / "never", "never")
    fresh_n, _ = _epoch_two_with_a_fresh_adam(cfg_n, after_one_n)
    assert not all(torch.equal(ck_n["model"][k], v) for k, v in fresh_n.items())
    assert {float(s["step"]) for s in ck_n["optimizer"]["state"].values()} == {2.0 * iters}


def _hand_accuracy(model, ds, num_steps, first_step=False):
    """Accuracy from the output spikes (one neuron per class) summed over time, or step 0's."""
    with torch.no_grad():
        out = model(ds.x, num_steps=num_steps)
    scores = out[0] if first_step else out.sum(0)
    return float((scores.argmax(1) == ds.y).double().mean())


def test_select_on_test_picks_the_checkpoint_and_stops_on_test_accuracy():
    """A crafted run whose validation labels are noise: the checkpoint follows the test set
    with select_on test, the (noise) validation set otherwise."""
    cfg = _cfg(epochs=4)
    tr, val, test = load_splits(cfg)
    noise = torch.randint(0, 10, val.y.shape, generator=torch.Generator().manual_seed(3))
    data = (tr, TensorDataset(val.name, val.x, noise, val.num_classes, val.source), test)
    on_test = train(config.with_overrides(cfg, {"train.select_on": "test"}), progress=False, data=data)
    accs = [h.test_accuracy for h in on_test.history]
    assert on_test.best_epoch == 1 + int(np.argmax(accs))
    assert _hand_accuracy(on_test.model, test, 4) == max(accs)
    assert on_test.best_val_accuracy == on_test.history[on_test.best_epoch - 1].val_accuracy
    on_val = train(cfg, progress=False, data=data)
    assert on_val.best_epoch == 1 + int(np.argmax([h.val_accuracy for h in on_val.history]))
    assert all(math.isnan(h.test_accuracy) for h in on_val.history)  # the test set stays unread
    # early stopping reads the test accuracy: with patience 1 every epoch but the last improves it
    stop = train(config.with_overrides(cfg, {"train.select_on": "test", "train.patience": 1,
                                             "train.epochs": 6}), progress=False, data=data)
    accs = [h.test_accuracy for h in stop.history]
    assert all(b > a for a, b in zip(accs[:-2], accs[1:-1], strict=True))
    assert stop.stopped_early == (len(accs) > 1 and accs[-1] <= max(accs[:-1]))


def test_first_step_accuracy_on_a_network_whose_first_step_and_sum_disagree():
    """Two output neurons read one input channel each (weight 3, threshold 1, no leak):
    channel 0 fires at step 0 only, channel 1 at steps 1..4. Step 0 says class 0, the sum
    over the five steps class 1; every sample is labelled 0."""
    model = build("2", (2, 1, 1), 2, neuron="lif", beta=0.0, threshold=1.0)
    layer = model.spiking_blocks()[0].weight_layer
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 3.0]]))
        layer.bias.zero_()
    x = torch.zeros(6, 5, 2, 1, 1)
    x[:, 0, 0] = 1
    x[:, 1:, 1] = 1
    ds = TensorDataset("crafted", x, torch.zeros(6, dtype=torch.long), 2, "by hand", frames=True)
    assert evaluate(model, ds, 5, "events", accuracy_from="first_step") == 1.0
    assert evaluate(model, ds, 5, "events") == 0.0


def test_rate_coded_hardware_input_is_snntorchs_spikegen_rate(tmp_path):
    """The traced input is spikegen.rate of each standardised image (values below 0 and above
    1 included); the network's spikes, predictions and profile are those of the direct input."""
    spikegen = pytest.importorskip("snntorch.spikegen")
    cfg = _cfg()
    tr, _, test = load_splits(cfg)
    test = standardize(test.subset(np.arange(40)), *channel_stats(tr))
    assert float(test.x.min()) < 0 and float(test.x.max()) > 1
    model = build_model(cfg, tr.input_shape, tr.num_classes)
    prof_rate = run_profile(model, test, 6, "direct", batch_size=64, trace_dir=tmp_path / "rate", seed=7,
                            hardware_input="rate")
    prof = run_profile(model, test, 6, "direct", batch_size=64, trace_dir=tmp_path / "direct", seed=7)
    assert prof_rate.to_dict() == prof.to_dict()  # the network's profile, direct input included
    rate, direct = traces.read(tmp_path / "rate"), traces.read(tmp_path / "direct")
    torch.manual_seed(7)
    expected = spikegen.rate(test.x, num_steps=6).transpose(0, 1).numpy() != 0  # [N, T, C, H, W]
    assert np.array_equal(rate.bits(0).reshape(expected.shape), expected)
    assert np.array_equal(rate.counts[0], expected.reshape(40, 6, 1, -1).sum(-1))
    assert rate.encoding == "rate" and rate.input_values() is None
    assert not np.array_equal(rate.counts[0], direct.counts[0])
    for k in range(1, len(rate.layers) + 1):
        assert np.array_equal(rate.bits(k), direct.bits(k))
        assert np.array_equal(rate.counts[k], direct.counts[k])
    assert np.array_equal(rate.predictions, direct.predictions)


def test_an_as_run_digits_run_labels_its_selection_and_accuracy(tmp_path):
    cfg = config.from_dict({"data": {"num_steps": 4, "batch_size": 128, "normalize": "mean_std",
                                     "resize": 12},
                            "train": {"epochs": 3, "optimizer_reset": "epoch", "select_on": "test",
                                      "accuracy_from": "first_step", "scheduler": "none"},
                            "profile": {"hardware_input": "rate"}})
    m = run(cfg, tmp_path, progress=False)
    assert (m["selected_on"], m["accuracy_from"]) == ("test", "first_step")
    model, resolved = load_model(tmp_path)
    _, _, test = load_splits(resolved)
    assert test.input_shape == (1, 12, 12)
    assert m["test_accuracy"] == _hand_accuracy(model, test, 4, first_step=True)
    assert m["test_accuracy_all_steps"] == _hand_accuracy(model, test, 4)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["selected_on"] == "test" and saved["best_epoch"] == m["best_epoch"]
    assert json.loads((tmp_path / "traces" / "manifest.json").read_text())["encoding"] == "rate"
    assert m["hardware"]["latency_cycles"] > 0


def test_a_run_written_before_the_later_keys_still_resumes():
    """A folder's config that lacks the later keys reads them as their defaults: more epochs
    resume, a changed later key is named with the default it had."""
    from spiketune.errors import ConfigError
    from spiketune.training.resume import check_resumable

    new = config.with_overrides(config.RunConfig(), {"train.epochs": 20}).resolved().to_dict()
    old = config.RunConfig().resolved().to_dict()
    for section, key in config.LATER_KEYS:
        del old[section][key]
    check_resumable(old, new, "old-folder")
    new["train"]["select_on"] = "test"
    with pytest.raises(ConfigError, match=r"train\.select_on \('validation' -> 'test'\)"):
        check_resumable(old, new, "old-folder")


def test_resized_event_frames_reach_the_hardware_as_their_nonzero_bitmap(tmp_path):
    """Fractional (resized) frames keep no input values: the traced input is the bitmap of
    non-zero pixels, whatever their size; integer counts above 1 are kept as they are."""
    x = torch.zeros(3, 2, 2, 2, 2)
    x[0, 0, 0, 0, 0], x[1, 1, 1, 1, 1], x[2, 0, 1, 0, 1] = 0.25, 2.5, 1.0
    model = build("2", (2, 2, 2), 2)
    fractional = TensorDataset("resized", x, torch.zeros(3, dtype=torch.long), 2, "by hand", frames=True)
    run_profile(model, fractional, 2, "events", trace_dir=tmp_path / "f")
    got = traces.read(tmp_path / "f")
    assert got.input_values() is None
    assert np.array_equal(got.bits(0).reshape(3, 2, -1)[..., :8], (x != 0).reshape(3, 2, -1).numpy())
    counts = TensorDataset("counts", (x * 4).to(torch.uint8), fractional.y, 2, "by hand", frames=True)
    run_profile(model, counts, 2, "events", trace_dir=tmp_path / "c")
    assert np.array_equal(traces.read(tmp_path / "c").input_values(), (x * 4).to(torch.uint8).numpy())
