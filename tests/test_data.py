import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from spiketune.data import datasets as data
from spiketune.data.encoding import encode
from spiketune.errors import DatasetError


def test_digits_split_is_stratified_and_disjoint():
    tr, te = data.get_dataset("digits", "train"), data.get_dataset("digits", "test")
    assert len(tr) + len(te) == 1797 and tr.input_shape == (1, 8, 8)
    assert 0 <= float(tr.x.min()) and float(tr.x.max()) <= 1
    counts = np.bincount(te.y.numpy(), minlength=10)
    assert counts.min() >= 35  # ~20% of each ~180-image class
    tr2 = data.get_dataset("digits", "train")
    assert torch.equal(tr.x, tr2.x)


def _write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> Path:
    header = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(payload)
    return path


def test_fashion_idx_reader_on_files_in_real_format(tmp_path):
    imgs = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28) % 256
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", imgs, gz=True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([9, 0, 3]))
    ds = data.get_dataset("fashion-mnist", "test", root=tmp_path)
    assert ds.x.shape == (3, 1, 28, 28)
    assert ds.y.tolist() == [9, 0, 3]
    assert float(ds.x[0, 0, 0, 5]) == pytest.approx(5 / 255)


def test_truncated_idx_names_the_file(tmp_path):
    p = _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 28, 28)))
    p.write_bytes(p.read_bytes()[:-10])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 3]))
    with pytest.raises(DatasetError, match=str(p)):
        data.get_dataset("fashion-mnist", "test", root=tmp_path)


def test_missing_fashion_files_say_what_and_how(tmp_path):
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        data.get_dataset("fashion-mnist", "train", root=tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        data.get_dataset("fashion-mnist", "train", root=tmp_path / "nope")
    with pytest.raises(DatasetError, match="cifar10dvs, digits, dvsgesture, fashion-mnist, nmnist, svhn"):
        data.get_dataset("imagenet")


@pytest.mark.skipif(not data.FASHION_DEFAULT.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    te = data.get_dataset("fashion-mnist", "test")
    assert te.x.shape == (10000, 1, 28, 28)
    assert np.bincount(te.y.numpy()).tolist() == [1000] * 10


def test_encoders():
    x = torch.tensor([[0.0, 0.25, 1.0]])
    assert torch.equal(encode(x, "direct", 5), x)
    lat = encode(x, "latency", 5)
    # steps round((1-x)*(T-1)): 0.25 -> 3, 1.0 -> 0; zero never fires
    expected = torch.zeros(5, 1, 3)
    expected[3, 0, 1] = 1
    expected[0, 0, 2] = 1
    assert torch.equal(lat, expected)
    g = torch.Generator().manual_seed(0)
    rate = encode(torch.full((1, 4000), 0.3), "rate", 10, g)
    assert rate.shape == (10, 1, 4000)
    assert abs(rate.mean().item() - 0.3) < 0.01


def test_svhn_mat_file_in_real_layout(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(32, 32, 3, 4), dtype=np.uint8)  # H, W, C, N as SVHN stores it
    y = np.array([[10], [1], [9], [10]], dtype=np.uint8)  # digit 0 is stored as 10
    savemat(tmp_path / "test_32x32.mat", {"X": x, "y": y})
    ds = data.get_dataset("svhn", "test", root=tmp_path)
    assert ds.x.shape == (4, 3, 32, 32) and ds.y.tolist() == [0, 1, 9, 0]
    # pixel (row 5, col 7, green) of image 2
    assert float(ds.x[2, 1, 5, 7]) == pytest.approx(x[5, 7, 1, 2] / 255)


def test_corrupt_svhn_file_is_named(tmp_path):
    (tmp_path / "test_32x32.mat").write_bytes(b"MATLAB 5.0 garbage" * 3)
    with pytest.raises(DatasetError, match="test_32x32.mat"):
        data.get_dataset("svhn", "test", root=tmp_path)


def test_svhn_trains_one_epoch_on_a_fixture(tmp_path):
    from scipy.io import savemat

    from spiketune.explore.run import run
    from spiketune.training import config

    rng = np.random.default_rng(1)
    for split, n in (("train", 64), ("test", 16)):
        labels = rng.integers(1, 11, size=n)
        labels[0] = 10
        savemat(tmp_path / f"{split}_32x32.mat",
                {"X": rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8),
                 "y": labels[:, None].astype(np.uint8)})
    cfg = config.from_dict({"data": {"dataset": "svhn", "root": str(tmp_path), "num_steps": 2,
                                     "batch_size": 16}, "train": {"epochs": 1}})
    m = run(cfg, tmp_path / "out", progress=False)
    assert m["profile"]["num_samples"] == 16 and len(m["profile"]["layers"]) == 4
    # the fixture's test images were read, in order, with SVHN's label 10 meaning digit 0
    from spiketune import traces

    np.testing.assert_array_equal(traces.read(tmp_path / "out" / "traces").labels, labels % 10)


def test_data_info_command(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "spiketune", "data", "info", "digits"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "train 1438, test 359" in r.stdout and "(1, 8, 8)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "spiketune", "data", "info", "svhn",
                        "--data-root", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "not present" in r.stdout
