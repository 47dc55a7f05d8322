"""Input transforms of the as-run protocol: bilinear resize and per-channel standardisation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spiketune.data import datasets as data
from spiketune.data.datasets import TensorDataset
from spiketune.data.normalize import channel_stats, standardize
from spiketune.data.resize import resize
from spiketune.errors import ConfigError, DatasetError
from spiketune.training import config
from spiketune.training.trainer import load_splits


def test_bilinear_resize_by_hand():
    """2x2 -> 4x4 with align_corners=False: each axis samples at 0, 1/4, 3/4, 1 of the way
    between the two pixels (the outer quarter clamps to the edge)."""
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    w = torch.tensor([0.0, 0.25, 0.75, 1.0])
    expected = (2.0 * w[:, None] + 1.0 * w[None, :])[None, None]
    assert torch.equal(resize(x, 4, frames=False), expected)


def test_resize_at_load_time_equals_the_authors_per_step_interpolation_in_forward():
    """Study B's Net.forward resized each time step's frames with F.interpolate(bilinear);
    resizing every frame once gives the same tensor, bit for bit."""
    gen = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 4, (3, 5, 2, 34, 34), generator=gen, dtype=torch.int16)  # [N, T, C, H, W]
    per_step = torch.stack([F.interpolate(frames[:, t].float(), size=(16, 16), mode="bilinear")
                            for t in range(frames.shape[1])], 1)
    assert torch.equal(resize(frames, 16, frames=True), per_step)


def test_static_dataset_is_resized_at_load():
    raw = data.get_dataset("digits", "test")
    big = config.from_dict({"data": {"resize": 16}}).data.load("test")
    assert big.input_shape == (1, 16, 16)
    assert torch.equal(big.x, F.interpolate(raw.x, size=(16, 16), mode="bilinear"))


def test_event_frames_are_resized_from_the_full_sensor(tmp_path):
    pytest.importorskip("tonic")
    from eventfiles import write_dvsgesture

    write_dvsgesture(tmp_path, {"ibmGestureTrain": ("user01_led",), "ibmGestureTest": ("user24_led",)},
                     np.random.default_rng(0))
    full = data.get_dataset("dvsgesture", "test", tmp_path, 2, downsample=1)
    assert full.input_shape == (2, 128, 128)  # the dataset's default (downsample 4) is 32 x 32
    got = data.get_dataset("dvsgesture", "test", tmp_path, 2, resize=32)
    assert got.frames and got.input_shape == (2, 32, 32)
    expected = torch.stack([F.interpolate(full.x[:, t].float(), size=(32, 32), mode="bilinear")
                            for t in range(2)], 1)
    assert torch.equal(got.x, expected)


@pytest.mark.parametrize("overrides,msg", [
    ({"data.dataset": "nmnist", "data.resize": 16, "data.downsample": 2}, "data.downsample (2)"),
    ({"data.dataset": "nmnist", "data.resize": 16, "data.binary_frames": True}, "data.binary_frames"),
    ({"data.normalize": "mean_std", "data.encoding": "rate"}, "data.normalize 'mean_std'"),
    ({"data.dataset": "nmnist", "data.normalize": "mean_std"}, "'events'"),
])
def test_settings_that_cannot_combine_are_one_clear_error(overrides, msg):
    with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        config.with_overrides(config.RunConfig(), overrides).resolved()


def test_resize_and_downsample_are_refused_by_the_loader_too():
    with pytest.raises(DatasetError, match="data.resize"):
        data.get_dataset("nmnist", "test", resize=8, downsample=2)


def test_channel_statistics_against_numpy_float64():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (70, 3, 5, 4)).astype(np.float32) * np.array([1, 2, 3], np.float32)[:, None, None]
    ds = TensorDataset("t", torch.from_numpy(x), torch.zeros(70, dtype=torch.long), 1, "test")
    mean, std = channel_stats(ds)
    x64 = x.astype(np.float64).transpose(1, 0, 2, 3).reshape(3, -1)
    np.testing.assert_allclose(mean.numpy(), x64.mean(1), rtol=1e-13)
    np.testing.assert_allclose(std.numpy(), x64.std(1, ddof=0), rtol=1e-12)
    out = standardize(ds, mean, std).x.numpy()
    ref = (x.astype(np.float64) - x64.mean(1)[:, None, None]) / x64.std(1)[:, None, None]
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_event_frames_have_no_channel_statistics():
    frames = TensorDataset("f", torch.zeros(2, 3, 2, 4, 4), torch.zeros(2, dtype=torch.long), 1, "f",
                           frames=True)
    with pytest.raises(DatasetError, match="event frames"):
        channel_stats(frames)


def test_splits_are_standardised_by_the_training_part_only():
    """The statistics are those of the training part (validation excluded); validation and
    test images are mapped with them."""
    base = {"data": {"num_steps": 4, "val_fraction": 0.5, "train_limit": 60, "batch_size": 16}}
    raw = load_splits(config.from_dict(base).resolved())
    norm = load_splits(config.from_dict({"data": {**base["data"], "normalize": "mean_std"}}).resolved())
    train64 = raw[0].x.double().numpy()
    m, s = train64.mean(), train64.std()  # digits: one channel
    with_val = np.concatenate([train64, raw[1].x.double().numpy()])
    # statistics including the validation part would move every value by far more than atol
    assert abs(with_val.mean() - m) / s > 1e-4
    for before, after in zip(raw, norm, strict=True):
        np.testing.assert_allclose(after.x.numpy(), (before.x.double().numpy() - m) / s, atol=1e-6)
        assert torch.equal(after.y, before.y)
    assert abs(float(norm[0].x.double().mean())) < 1e-6
    assert abs(float(norm[0].x.double().std(correction=0)) - 1) < 1e-6
