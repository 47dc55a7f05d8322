"""Datasets: tensors of images in [0, 1] with integer labels.

* ``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, ships offline).
  It has no official split: a stratified 80/20 train/test split with a fixed seed.
* ``svhn``: the ``.mat`` files of the cropped-digit SVHN (downloaded to
  ``$SPIKETUNE_DATA/svhn`` or ``~/.cache/spiketune/svhn`` when absent).
* ``fashion-mnist``: the four IDX files (optionally gzipped) from any directory,
  by default ``/usr/share/datasets/fashion-mnist`` (Debian package
  ``dataset-fashion-mnist``) or ``$SPIKETUNE_DATA/fashion-mnist``.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DatasetError

SPLIT_SEED = 0  # the fixed seed of splits that datasets do not define themselves


@dataclass
class TensorDataset:
    """Images ``x`` [N, C, H, W] float32 in [0, 1] and labels ``y`` [N] int64."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    source: str
    frames: bool = False  # x holds event frames [N, T, C, H, W] rather than images

    def __len__(self) -> int:
        return len(self.y)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[2:] if self.frames else self.x.shape[1:])

    def subset(self, idx: np.ndarray | torch.Tensor) -> "TensorDataset":
        idx = torch.as_tensor(idx, dtype=torch.long)
        return TensorDataset(self.name, self.x[idx], self.y[idx], self.num_classes, self.source,
                             self.frames)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, held_out) with ``fraction`` of each class held out, seeded."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        held.append(idx[: int(round(fraction * len(idx)))])
    held_idx = np.sort(np.concatenate(held))
    rest = np.setdiff1d(np.arange(len(labels)), held_idx)
    return rest, held_idx


def load_digits(split: str) -> TensorDataset:
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    train_idx, test_idx = stratified_split(y, 0.2, SPLIT_SEED)
    idx = train_idx if split == "train" else test_idx
    return TensorDataset("digits", torch.from_numpy(x[idx]), torch.from_numpy(y[idx]), 10,
                         "sklearn.datasets.load_digits")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (raw or gzipped); DatasetError names the file if it is corrupt."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(f"cannot read IDX file {path}: {e}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path} is truncated (header of {header} bytes incomplete)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    size = int(np.prod(dims))
    if len(data) - header != size:
        raise DatasetError(f"{path} holds {len(data) - header} bytes of data, "
                           f"its header promises {size} ({'x'.join(map(str, dims))})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


FASHION_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                 "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
FASHION_DEFAULT = Path("/usr/share/datasets/fashion-mnist")


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def fashion_root(root: str | os.PathLike | None) -> Path:
    """Directory holding Fashion-MNIST: ``root``, else $SPIKETUNE_DATA/fashion-mnist, else Debian's."""
    if root is not None:
        return Path(root)
    env = os.environ.get("SPIKETUNE_DATA")
    if env and (Path(env) / "fashion-mnist").is_dir():
        return Path(env) / "fashion-mnist"
    return FASHION_DEFAULT


def load_fashion_mnist(split: str, root: str | os.PathLike | None = None) -> TensorDataset:
    base = fashion_root(root)
    stems = FASHION_FILES[split]
    paths = [_find(base, s) for s in stems]
    if not base.is_dir() or None in paths:
        raise DatasetError(
            f"Fashion-MNIST {split} files not found in {base}: expected {stems[0]}[.gz] and "
            f"{stems[1]}[.gz]. Install them with 'apt-get install dataset-fashion-mnist' "
            f"or pass --data-root DIR holding the four IDX files.")
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{paths[0]} and {paths[1]} disagree: images {images.shape}, "
                           f"labels {labels.shape}")
    if labels.max(initial=0) > 9:
        raise DatasetError(f"{paths[1]} holds label {labels.max()} outside 0..9")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return TensorDataset("fashion-mnist", x, torch.from_numpy(labels.astype(np.int64)), 10,
                         str(base))


SVHN_URL = "http://ufldl.stanford.edu/housenumbers/{split}_32x32.mat"
SVHN_MD5 = {"train": "e26dedcc434d2e4c54c9b2d4a06d8373", "test": "eb5a983be6a315427106f1b164d9cef3"}


def svhn_root(root: str | os.PathLike | None) -> Path:
    if root is not None:
        return Path(root)
    return Path(os.environ.get("SPIKETUNE_DATA", Path.home() / ".cache" / "spiketune")) / "svhn"


def _download(url: str, target: Path, md5: str) -> None:
    import hashlib
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    try:
        urllib.request.urlretrieve(url, tmp)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise DatasetError(f"{target} is missing and could not be downloaded from {url} ({e}); "
                           f"download it by hand into {target.parent}") from None
    digest = hashlib.md5(tmp.read_bytes()).hexdigest()
    if digest != md5:
        tmp.unlink()
        raise DatasetError(f"download of {url} is corrupt (md5 {digest}, expected {md5})")
    tmp.rename(target)


def load_svhn(split: str, root: str | os.PathLike | None = None, download: bool = True) -> TensorDataset:
    """SVHN cropped digits: ``{split}_32x32.mat`` (MATLAB v5: ``X`` [32, 32, 3, N] uint8,
    ``y`` [N, 1] with digit 0 stored as 10), as torchvision reads it; needs scipy."""
    from scipy.io import loadmat

    base = svhn_root(root)
    path = base / f"{split}_32x32.mat"
    if not path.is_file():
        if not download:
            raise DatasetError(f"SVHN {split} file {path} not found")
        _download(SVHN_URL.format(split=split), path, SVHN_MD5[split])
    try:
        mat = loadmat(path)
        x, y = mat["X"], mat["y"]
    except Exception as e:  # scipy raises several types for corrupt files
        raise DatasetError(f"cannot read SVHN file {path}: {type(e).__name__}: {e}") from None
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or y.reshape(-1).shape[0] != x.shape[3]:
        raise DatasetError(f"{path} has X {x.shape} and y {y.shape}; expected X (32, 32, 3, N), y (N, 1)")
    labels = y.reshape(-1).astype(np.int64) % 10  # the digit 0 is stored as 10
    images = torch.from_numpy(np.transpose(x, (3, 2, 0, 1)).astype(np.float32) / 255.0)
    return TensorDataset("svhn", images, torch.from_numpy(labels), 10, str(base))


NMNIST_SENSOR = (34, 34)


def read_nmnist_bin(path: Path) -> np.ndarray:
    """Events of one N-MNIST ``.bin`` file as a structured array (x, y, t [us], p).

    Each event is 40 bits: x (8), y (8), polarity (1) and a 23-bit timestamp; events with
    y = 240 mark a timestamp overflow (+2^13 us for every later event), as in the
    dataset's own reader."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 5:
        raise DatasetError(f"{path} is truncated: {raw.size} bytes is not a whole number of 5-byte events")
    ev = raw.reshape(-1, 5).astype(np.int64)
    t = ((ev[:, 2] & 127) << 16) | (ev[:, 3] << 8) | ev[:, 4]
    overflow = ev[:, 1] == 240
    t = t + np.cumsum(overflow) * (1 << 13)
    keep = ~overflow
    out = np.zeros(int(keep.sum()), dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    out["x"], out["y"], out["t"], out["p"] = ev[keep, 0], ev[keep, 1], t[keep], ev[keep, 2] >> 7
    if out.size and (out["x"].max() >= NMNIST_SENSOR[0] or out["y"].max() >= NMNIST_SENSOR[1]):
        raise DatasetError(f"{path} holds events outside the 34x34 sensor (not an N-MNIST file?)")
    return out


def events_to_frames(ev: np.ndarray, num_steps: int, sensor: tuple[int, int]) -> np.ndarray:
    """Counts [T, 2, H, W] of events in T equal time bins from the first to the last event
    (the binning of tonic's ``ToFrame(n_time_bins=T)``); channel = polarity."""
    frames = np.zeros((num_steps, 2, sensor[1], sensor[0]), dtype=np.uint8)
    if ev.size == 0:
        return frames
    t0, t1 = ev["t"].min(), ev["t"].max()
    span = max(1, t1 - t0)
    b = np.minimum((ev["t"] - t0) * num_steps // span, num_steps - 1)
    np.add.at(frames, (b, ev["p"], ev["y"], ev["x"]), 1)
    return frames


def _event_root(root: str | os.PathLike | None, name: str) -> Path:
    return Path(root) if root is not None else Path(os.environ.get(
        "SPIKETUNE_DATA", Path.home() / ".cache" / "spiketune")) / name


def _frames_dataset(name: str, folder: Path, split: str, num_steps: int,
                    samples: list[tuple[Path, int]], read, sensor: tuple[int, int],
                    factor: int, classes: int) -> TensorDataset:
    """Frames of every (file, label), computed once and cached beside ``folder``."""
    cache = folder.parent / f"spiketune-frames-{split}-T{num_steps}-d{factor}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return TensorDataset(name, torch.from_numpy(z["x"]), torch.from_numpy(z["y"]), classes,
                                 str(folder), frames=True)
    if not samples:
        raise DatasetError(f"{folder} holds no event files")
    out = (sensor[0] // factor, sensor[1] // factor)
    frames = []
    for path, _ in samples:
        ev = read(path)
        if factor > 1:
            ev["x"] //= factor
            ev["y"] //= factor
        frames.append(events_to_frames(ev, num_steps, out))
    x = np.stack(frames)
    y = np.array([label for _, label in samples], dtype=np.int64)
    from .results import write_atomic

    write_atomic(cache, lambda f: np.savez(f, x=x, y=y))
    return TensorDataset(name, torch.from_numpy(x), torch.from_numpy(y), classes, str(folder), frames=True)


def _find_split(base: Path, names: tuple[str, ...], hint: str) -> Path:
    for folder in (base / n for n in names):
        if folder.is_dir():
            return folder
    raise DatasetError(f"{hint} not found under {base}: expected one of "
                       f"{', '.join(str(base / n) for n in names)}")


def load_nmnist(split: str, root: str | os.PathLike | None = None, num_steps: int = 10) -> TensorDataset:
    """N-MNIST (Orchard et al. 2015): ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin`` as the
    dataset's archives extract (also accepted under ``NMNIST/``, tonic's layout). Frames are
    computed once and cached beside the data as ``spiketune-frames-<split>-T<T>-d1.npz``."""
    base = _event_root(root, "nmnist")
    sub = "Train" if split == "train" else "Test"
    folder = _find_split(base, (sub, f"NMNIST/{sub}"),
                         f"N-MNIST {split} files (<digit>/*.bin; fetch them with tonic: "
                         f"tonic.datasets.NMNIST(save_to='{base}', train={split == 'train'}))")
    samples = [(f, int(f.parent.name)) for f in sorted(folder.glob("[0-9]/*.bin"))]
    return _frames_dataset("nmnist", folder, split, num_steps, samples, read_nmnist_bin,
                           NMNIST_SENSOR, 1, 10)


DVSGESTURE_SENSOR = (128, 128)


def read_dvsgesture_npy(path: Path) -> np.ndarray:
    """Events of one DVS128 Gesture sample in tonic's layout: an (N, 4) array of x, y,
    polarity, t [ms]."""
    try:
        raw = np.load(path)
    except (OSError, ValueError, EOFError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    if raw.ndim != 2 or raw.shape[1] != 4:
        raise DatasetError(f"{path} holds an array of shape {raw.shape}; expected (N, 4) = x, y, p, t")
    out = np.zeros(len(raw), dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    out["x"], out["y"], out["p"] = raw[:, 0], raw[:, 1], raw[:, 2]
    out["t"] = np.round(raw[:, 3] * 1000)
    if len(out) and (out["x"].max() >= 128 or out["y"].max() >= 128 or out["p"].max() > 1):
        raise DatasetError(f"{path} holds events outside the 128x128 sensor or polarities > 1")
    return out


def load_dvsgesture(split: str, root: str | os.PathLike | None = None, num_steps: int = 20) -> TensorDataset:
    """DVS128 Gesture (Amir et al. 2017) in tonic's preprocessed layout
    ``ibmGestureTrain|ibmGestureTest/user<NN>_<lighting>/<label>.npy`` (also under ``DVSGesture/``),
    11 classes, 128x128 downsampled 4x to 32x32."""
    base = _event_root(root, "dvsgesture")
    sub = "ibmGestureTrain" if split == "train" else "ibmGestureTest"
    folder = _find_split(base, (sub, f"DVSGesture/{sub}"),
                         f"DVS128 Gesture {split} files (user*/<label>.npy; fetch them with tonic: "
                         f"tonic.datasets.DVSGesture(save_to='{base}', train={split == 'train'}))")
    samples = [(f, int(f.stem)) for f in sorted(folder.glob("user*/*.npy"))]
    return _frames_dataset("dvsgesture", folder, split, num_steps, samples, read_dvsgesture_npy,
                           DVSGESTURE_SENSOR, 4, 11)


LOADERS = {"digits": lambda split, root, steps: load_digits(split),
           "fashion-mnist": lambda split, root, steps: load_fashion_mnist(split, root),
           "svhn": lambda split, root, steps: load_svhn(split, root),
           "nmnist": lambda split, root, steps: load_nmnist(split, root, steps),
           "dvsgesture": lambda split, root, steps: load_dvsgesture(split, root, steps)}


def get_dataset(name: str, split: str = "train", root: str | os.PathLike | None = None,
                num_steps: int = 10) -> TensorDataset:
    """Dataset ``name``, ``split`` 'train' or 'test'; ``num_steps`` time bins for event data."""
    key = name.strip().lower().replace("_", "-")
    if key not in LOADERS:
        raise DatasetError(f"unknown dataset '{name}'; valid: {', '.join(sorted(LOADERS))}")
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split '{split}'; valid: train, test")
    if root is not None and not Path(root).is_dir():
        raise DatasetError(f"dataset directory {root} does not exist")
    return LOADERS[key](split, root, num_steps)
