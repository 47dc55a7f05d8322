"""Each DatasetSpec against what its loader returns: real data where it is offline (digits, and
Fashion-MNIST when Debian's package is installed), files in the real formats otherwise."""

import numpy as np
import pytest
import torch

from eventfiles import nmnist_bytes, write_aedat4
from spiketune.data import registry
from spiketune.data.datasets import get_dataset
from spiketune.errors import DatasetError
from spiketune.network.models import build


def _svhn(root, rng):
    from scipy.io import savemat

    y = np.arange(1, 11, dtype=np.uint8)[:, None]  # SVHN's labels 1..10 (10 = the digit 0)
    savemat(root / "test_32x32.mat", {"X": rng.integers(0, 256, (32, 32, 3, 10), dtype=np.uint8), "y": y})


def _nmnist(root, rng):
    for digit in range(10):  # the sensor's corners, so the frame size shows
        folder = root / "Test" / str(digit)
        folder.mkdir(parents=True)
        (folder / "a.bin").write_bytes(nmnist_bytes([(0, 0, 1, 0), (33, 33, 0, 50), (5, 6, 1, 99)]))


def _dvsgesture(root, rng):
    folder = root / "ibmGestureTest" / "user24_led"
    folder.mkdir(parents=True)
    for label in range(11):  # DVS128 Gesture's 11 gestures
        np.save(folder / f"{label}.npy", np.array([[0, 0, 1, 0.0], [127, 127, 0, 5.0], [3, 4, 1, 9.0]]))


def _cifar10dvs(root, rng):
    from spiketune.data.events import CIFAR10DVS_CLASSES

    for c in CIFAR10DVS_CLASSES:
        for i in range(10):  # 9:1 per class: one test recording of each class
            write_aedat4(root / "CIFAR10DVS" / c / f"cifar10_{c}_{i}.aedat4", [10, 20, 30], [0, 127, 5],
                         [0, 127, 6], [1, 0, 1])


FIXTURES = {"svhn": _svhn, "nmnist": _nmnist, "dvsgesture": _dvsgesture, "cifar10dvs": _cifar10dvs}


def test_every_dataset_has_a_check():
    assert set(registry.SPECS) == {"digits", "fashion-mnist", *FIXTURES}


@pytest.mark.parametrize("name", sorted(registry.SPECS))
def test_spec_matches_what_its_loader_returns(name, tmp_path):
    spec = registry.SPECS[name]
    if name in FIXTURES:
        if spec.is_event:
            pytest.importorskip("tonic")
        FIXTURES[name](tmp_path, np.random.default_rng(0))
        ds = get_dataset(name, "test", root=tmp_path, download=False)
    else:
        try:
            ds = get_dataset(name, "test", download=False)
        except DatasetError as e:
            pytest.skip(f"{name} is not installed here: {e}")
    assert ds.input_shape == spec.input_shape
    assert len(torch.unique(ds.y)) == spec.num_classes and int(ds.y.max()) == spec.num_classes - 1
    assert ds.frames == spec.is_event and spec.encoding == ("events" if ds.frames else "direct")
    if ds.frames:  # the default T is what an unset num_steps frames
        assert ds.x.shape[1] == spec.num_steps
    net = build(spec.arch, spec.input_shape, spec.num_classes)  # the default network fits
    assert net.num_classes == spec.num_classes and spec.citation


def test_names_and_aliases_resolve_and_unknown_names_list_the_valid_ones():
    for spec in registry.SPECS.values():
        for alias in (spec.name.upper(), spec.name.replace("-", "_"), *spec.aliases):
            assert registry.spec(alias) is spec
    with pytest.raises(DatasetError) as e:
        registry.spec("imagenet")
    assert all(n in str(e.value) for n in registry.SPECS)
