"""Datasets: tensors of images in [0, 1] with integer labels.

The readers of the static image datasets; :mod:`spiketune.data.registry` holds each
dataset's facts and ``get_dataset`` loads any registered dataset.

* ``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, ships offline).
  It has no official split: a stratified 80/20 train/test split with a fixed seed.
* ``svhn``: the ``.mat`` files of the cropped-digit SVHN (downloaded to
  ``$SPIKETUNE_DATA/svhn`` or ``~/.cache/spiketune/svhn`` when absent).
* ``fashion-mnist``: the four IDX files (optionally gzipped) from any directory,
  by default ``/usr/share/datasets/fashion-mnist`` (Debian package
  ``dataset-fashion-mnist``) or ``$SPIKETUNE_DATA/fashion-mnist``.
* event-camera datasets (``nmnist``, ``dvsgesture``, ``cifar10dvs``): see
  :mod:`spiketune.data.events`.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from spiketune.data import events as ev
from spiketune.data.splits import stratified_split
from spiketune.errors import DatasetError, DatasetMissingError


@dataclass
class TensorDataset:
    """Images ``x`` [N, C, H, W] float32 (in [0, 1] as loaded; see
    :mod:`spiketune.data.normalize`) and labels ``y`` [N] int64."""

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

    def subset(self, idx: np.ndarray | torch.Tensor) -> TensorDataset:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return TensorDataset(self.name, self.x[idx], self.y[idx], self.num_classes, self.source,
                             self.frames)


def load_digits(split: str) -> TensorDataset:
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    train_idx, test_idx = stratified_split(y, 0.2)
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
    img_path, label_path = (_find(base, s) for s in stems)
    if not base.is_dir() or img_path is None or label_path is None:
        raise DatasetMissingError(
            f"Fashion-MNIST {split} files not found in {base}: expected {stems[0]}[.gz] and "
            f"{stems[1]}[.gz]. Install them with 'apt-get install dataset-fashion-mnist' "
            f"or pass --data-root DIR holding the four IDX files.")
    images, labels = read_idx(img_path), read_idx(label_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{img_path} and {label_path} disagree: images {images.shape}, "
                           f"labels {labels.shape}")
    if labels.max(initial=0) > 9:
        raise DatasetError(f"{label_path} holds label {labels.max()} outside 0..9")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return TensorDataset("fashion-mnist", x, torch.from_numpy(labels.astype(np.int64)), 10,
                         str(base))


SVHN_URL = "http://ufldl.stanford.edu/housenumbers/{split}_32x32.mat"
SVHN_MD5 = {"train": "e26dedcc434d2e4c54c9b2d4a06d8373", "test": "eb5a983be6a315427106f1b164d9cef3"}


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

    base = ev.dataset_root(root, "svhn")
    path = base / f"{split}_32x32.mat"
    if not path.is_file():
        if not download:
            raise DatasetMissingError(f"SVHN {split} file {path} not found")
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


def get_dataset(name: str, split: str = "train", root: str | os.PathLike | None = None,
                num_steps: int | None = None, *, time_window_us: float | None = None,
                denoise_us: float | None = None, downsample: int | None = None,
                binary_frames: bool = False, resize: int | None = None, progress: bool = False,
                download: bool = True) -> TensorDataset:
    """Dataset ``name``, ``split`` 'train' or 'test', as its
    :class:`~spiketune.data.registry.DatasetSpec` says. Event datasets give ``num_steps``
    frames per sample (default: the dataset's T), framed as
    :class:`spiketune.data.events.Framing` describes (``binary_frames``: counts clipped to 1).
    ``resize``: every image or frame resized bilinearly to ``resize`` x ``resize``
    (:mod:`spiketune.data.resize`; event frames from the full sensor).
    Absent datasets are downloaded through their library's download path when ``download`` is set."""
    from spiketune.data import resize as rs
    from spiketune.data.registry import framing_error, spec  # the registry imports this module's loaders

    s = spec(name)
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split '{split}'; valid: train, test")
    if root is not None and not Path(root).is_dir() and not (download and s.downloadable):
        raise DatasetMissingError(f"dataset directory {root} does not exist")
    problem = rs.resize_error(resize, downsample, binary_frames)
    if problem:
        raise DatasetError(problem)
    if not isinstance(s.source, ev.EventSource):
        problem = framing_error(s.name, {"time_window_us": time_window_us, "denoise_us": denoise_us,
                                         "downsample": downsample, "binary_frames": binary_frames})
        if problem:
            raise DatasetError(problem)
        ds = s.source(split, root, download)
        if resize is not None:
            ds.x = rs.resize(ds.x, resize, frames=False)
        return ds
    factor = downsample or (1 if resize is not None else s.downsample)
    framing = ev.Framing(num_steps or s.num_steps, time_window_us, denoise_us, factor)
    x, y, folder = ev.load_frames(s.name, s.source, split, root, framing, progress, download)
    if binary_frames:
        x = np.minimum(x, 1)
    frames = torch.from_numpy(x) if resize is None else rs.resize(torch.from_numpy(x), resize, frames=True)
    return TensorDataset(s.name, frames, torch.from_numpy(y), s.num_classes, str(folder), frames=True)
