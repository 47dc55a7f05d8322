"""Event-camera datasets as frames [N, T, 2, H, W] (event counts per time bin and polarity).

Files are read in the layouts tonic downloads them to; events become frames through
tonic's transforms (``Denoise``, ``Downsample``, ``ToFrame``). Frames of a split are
computed once and cached beside the data as
``spiketune-frames-<split>-<framing>.npz`` (see :meth:`Framing.tag`); the cache records a
fingerprint of the files it was built from and is rebuilt when they change. Delete the
file to recompute it.

* ``nmnist``: N-MNIST ``Train|Test/<digit>/*.bin`` (40-bit events), 34x34.
* ``dvsgesture``: DVS128 Gesture, tonic's ``ibmGestureTrain|ibmGestureTest/user*/<label>.npy``.
* ``cifar10dvs``: CIFAR10-DVS ``<class>/*.aedat4`` (read with tonic's AEDAT4 reader, which
  needs the ``aedat`` package); no official split, so a stratified 9:1 train/test split
  with a fixed seed over the sorted file list.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spiketune.data.splits import stratified_split
from spiketune.errors import DatasetError, DatasetMissingError

EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
CIFAR10DVS_TEST_FRACTION = 0.1
CIFAR10DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                      "truck")


@dataclass(frozen=True)
class Framing:
    """How a recording becomes ``num_steps`` frames.

    ``time_window_us`` None: tonic's ``ToFrame(n_time_bins=T)`` (T equal bins of
    (t_last - t_first) // T us from the first event; later events are dropped). Otherwise
    windows of that length from the first event, the first T kept, missing ones empty.
    ``denoise_us``: tonic's ``Denoise(filter_time)``: drop events with no event at a
    4-neighbour pixel in the preceding window (a pixel that never fired counts as firing
    at 0). ``downsample``: integer spatial factor."""

    num_steps: int
    time_window_us: float | None = None
    denoise_us: float | None = None
    downsample: int = 1

    def size(self, sensor: tuple[int, int]) -> tuple[int, int]:
        """(W, H) of the frames of a ``sensor`` (W, H) after downsampling."""
        return -(-sensor[0] // self.downsample), -(-sensor[1] // self.downsample)

    def tag(self) -> str:
        """Every framing parameter, exactly (two framings never share a tag)."""
        bins = "bins" if self.time_window_us is None else f"w{_exact(self.time_window_us)}us"
        noise = "" if self.denoise_us is None else f"-dn{_exact(self.denoise_us)}us"
        return f"T{self.num_steps}-{bins}-x{self.downsample}{noise}"


def _exact(x: float) -> str:
    """``x`` written so that it reads back as the same float."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _events(x, y, t, p) -> np.ndarray:
    out = np.zeros(len(t), dtype=EVENT_DTYPE)
    out["x"], out["y"], out["t"], out["p"] = x, y, t, p
    return out


def read_nmnist_bin(path: Path) -> np.ndarray:
    """Events of one N-MNIST ``.bin`` file (t in us).

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
    return _events(ev[keep, 0], ev[keep, 1], t[keep], ev[keep, 2] >> 7)


def read_dvsgesture_npy(path: Path) -> np.ndarray:
    """Events of one DVS128 Gesture sample in tonic's layout: an (N, 4) array of x, y,
    polarity, t [ms] (returned in us, as tonic does)."""
    try:
        raw = np.load(path)
    except (OSError, ValueError, EOFError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    if raw.ndim != 2 or raw.shape[1] != 4:
        raise DatasetError(f"{path} holds an array of shape {raw.shape}; expected (N, 4) = x, y, p, t")
    return _events(raw[:, 0], raw[:, 1], np.round(raw[:, 3] * 1000), raw[:, 2])


def read_aedat4(path: Path) -> np.ndarray:
    """Events of one AEDAT4 file (CIFAR10-DVS as tonic downloads it), via tonic's reader."""
    try:
        import aedat  # noqa: F401  (tonic's reader imports it lazily)
        from tonic.io import read_aedat4 as tonic_read
    except ImportError as e:
        raise DatasetError(f"reading {path} needs tonic and aedat ({e}); "
                           "pip install 'spiketune[events]'") from None
    try:
        ev = tonic_read(str(path))
    except Exception as e:  # the Rust decoder raises RuntimeError; tonic a bare Exception
        raise DatasetError(f"cannot read AEDAT4 file {path}: {e}") from None
    return _events(ev["x"], ev["y"], ev["t"], ev["on"] if "on" in ev.dtype.names else ev["p"])


def to_frames(ev: np.ndarray, sensor: tuple[int, int], framing: Framing) -> np.ndarray:
    """Frames [T, 2, H', W'] (int16 counts) of one recording through tonic's transforms."""
    from tonic.transforms import Denoise, Downsample, ToFrame

    f = framing.downsample
    size = (*framing.size(sensor), 2)
    T = framing.num_steps
    frames = np.zeros((T, 2, size[1], size[0]), dtype=np.int16)
    if len(ev) and np.any(np.diff(ev["t"]) < 0):
        ev = ev[np.argsort(ev["t"], kind="stable")]
    if framing.denoise_us is not None:
        ev = Denoise(filter_time=framing.denoise_us)(ev)
    if len(ev) == 0:
        return frames
    if f > 1:
        ev = Downsample(spatial_factor=1.0 / f)(ev)
    if framing.time_window_us is None:
        got = ToFrame(sensor_size=size, n_time_bins=T)(ev)
    else:
        got = ToFrame(sensor_size=size, time_window=framing.time_window_us, include_incomplete=True)(ev)
    frames[: min(T, len(got))] = got[:T]
    return frames


@dataclass(frozen=True)
class EventSource:
    """Where and how one event dataset is stored (its classes, default framing and the rest
    are in its :class:`spiketune.data.registry.DatasetSpec`)."""

    sensor: tuple[int, int]  # (W, H)
    read: Callable[[Path], np.ndarray]
    samples: Callable[[Path, str], tuple[Path, list[tuple[Path, int]]]]  # (folder, files) of a split
    tonic_class: str  # the tonic dataset that downloads it
    has_splits: bool = True  # tonic's class takes train=True/False

    def fetch(self, base: Path, split: str) -> None:
        """Download and extract the files through tonic's own download path."""
        import tonic.datasets

        kwargs = {"train": split == "train"} if self.has_splits else {}
        getattr(tonic.datasets, self.tonic_class)(save_to=str(base), **kwargs)


def _find_split(base: Path, names: tuple[str, ...], hint: str) -> Path:
    for folder in (base / n for n in names):
        if folder.is_dir():
            return folder
    raise DatasetMissingError(f"{hint} not found under {base}: expected one of "
                              f"{', '.join(str(base / n) for n in names)}")


def _nmnist_samples(base: Path, split: str) -> tuple[Path, list[tuple[Path, int]]]:
    sub = "Train" if split == "train" else "Test"
    folder = _find_split(base, (sub, f"NMNIST/{sub}"),
                         f"N-MNIST {split} files (<digit>/*.bin; fetch them with tonic: "
                         f"tonic.datasets.NMNIST(save_to='{base}', train={split == 'train'}))")
    return folder, [(f, int(f.parent.name)) for f in sorted(folder.glob("[0-9]/*.bin"))]


def _dvsgesture_samples(base: Path, split: str) -> tuple[Path, list[tuple[Path, int]]]:
    sub = "ibmGestureTrain" if split == "train" else "ibmGestureTest"
    folder = _find_split(base, (sub, f"DVSGesture/{sub}"),
                         f"DVS128 Gesture {split} files (user*/<label>.npy; fetch them with tonic: "
                         f"tonic.datasets.DVSGesture(save_to='{base}', train={split == 'train'}))")
    return folder, [(f, int(f.stem)) for f in sorted(folder.glob("user*/*.npy"))]


def _cifar10dvs_samples(base: Path, split: str) -> tuple[Path, list[tuple[Path, int]]]:
    hint = (f"CIFAR10-DVS files (<class>/*.aedat4; fetch them with tonic: "
            f"tonic.datasets.CIFAR10DVS(save_to='{base}'))")
    folder = _find_split(base, ("CIFAR10DVS", ""), hint)
    files = sorted(folder.glob("*/*.aedat4"))
    if not files:
        raise DatasetMissingError(f"no .aedat4 files in class folders under {folder}; {hint}")
    unknown = sorted({f.parent.name for f in files} - set(CIFAR10DVS_CLASSES))
    if unknown:
        raise DatasetError(f"{folder} holds folders {unknown} that are not CIFAR10-DVS classes "
                           f"({', '.join(CIFAR10DVS_CLASSES)})")
    labels = np.array([CIFAR10DVS_CLASSES.index(f.parent.name) for f in files])
    idx = stratified_split(labels, CIFAR10DVS_TEST_FRACTION)[0 if split == "train" else 1]
    return folder, [(files[i], int(labels[i])) for i in idx]


NMNIST = EventSource((34, 34), read_nmnist_bin, _nmnist_samples, "NMNIST")
DVSGESTURE = EventSource((128, 128), read_dvsgesture_npy, _dvsgesture_samples, "DVSGesture")
CIFAR10DVS = EventSource((128, 128), read_aedat4, _cifar10dvs_samples, "CIFAR10DVS", has_splits=False)


def dataset_root(root: str | os.PathLike | None, name: str) -> Path:
    """``root``, else ``$SPIKETUNE_DATA/<name>``, else ``~/.cache/spiketune/<name>``."""
    return Path(root) if root is not None else Path(os.environ.get(
        "SPIKETUNE_DATA", Path.home() / ".cache" / "spiketune")) / name


def fingerprint(samples: list[tuple[Path, int]]) -> str:
    """Hash of the files' names, sizes and labels: a cache built from other files is stale."""
    h = hashlib.sha1()
    for path, label in samples:
        h.update(f"{path.parent.name}/{path.name}:{path.stat().st_size}:{label}\n".encode())
    return h.hexdigest()


def cache_paths(base: Path, split: str, framing: Framing) -> list[Path]:
    """Where frames are cached: beside the data, else (read-only data) under ~/.cache."""
    name = f"spiketune-frames-{split}-{framing.tag()}.npz"
    key = hashlib.sha1(str(base.resolve()).encode()).hexdigest()[:12]
    return [base / name, Path.home() / ".cache" / "spiketune" / "frames" / key / name]


def _load_cache(paths: list[Path], stamp: str) -> tuple[np.ndarray, np.ndarray] | None:
    for path in paths:
        if path.is_file():
            try:
                with np.load(path) as z:
                    if str(z["fingerprint"]) == stamp:
                        return z["x"], z["y"]
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                pass  # a damaged cache is rebuilt from the data
    return None


def _save_cache(paths: list[Path], x: np.ndarray, y: np.ndarray, stamp: str) -> None:
    from spiketune.results import write_atomic

    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, lambda f: np.savez(f, x=x, y=y, fingerprint=np.array(stamp)))
            return
        except OSError:
            continue


PARALLEL_FROM = 256  # files; fewer are framed in this process


def _frame_file(job: tuple[str, EventSource, Path, Framing]) -> np.ndarray:
    """Frames of one file (uint8 when the counts fit: half the memory)."""
    name, src, path, framing = job
    ev = src.read(path)
    if len(ev) and (ev["x"].min() < 0 or ev["y"].min() < 0 or ev["x"].max() >= src.sensor[0]
                    or ev["y"].max() >= src.sensor[1] or not np.isin(ev["p"], (0, 1)).all()):
        raise DatasetError(f"{path} holds events outside the {src.sensor[0]}x{src.sensor[1]} sensor or "
                           f"polarities other than 0/1 (not a {name} file?)")
    f = to_frames(ev, src.sensor, framing)
    return f.astype(np.uint8) if f.max(initial=0) <= 255 else f


def load_frames(name: str, src: EventSource, split: str, root: str | os.PathLike | None, framing: Framing,
                progress: bool = True, download: bool = True) -> tuple[np.ndarray, np.ndarray, Path]:
    """(frames [N, T, 2, H, W] uint8 or int16, labels [N], folder) of dataset ``name``'s
    ``split``, stored as ``src`` describes, cached.

    Absent files are fetched with tonic when ``download`` is set."""
    from tqdm.auto import tqdm

    try:
        import tonic  # noqa: F401
    except ImportError:
        raise DatasetError(f"{name} frames are made with tonic: pip install 'spiketune[events]'") from None
    base = dataset_root(root, name)
    try:
        folder, samples = src.samples(base, split)
    except DatasetMissingError as missing:
        if not download:
            raise
        try:
            src.fetch(base, split)
        except Exception as e:  # tonic raises what urllib, zipfile and tarfile raise
            raise DatasetMissingError(f"{missing}; downloading with tonic failed: "
                                      f"{type(e).__name__}: {e}") from None
        folder, samples = src.samples(base, split)
    if not samples:
        raise DatasetError(f"{folder} holds no {name} event files")
    stamp = f"{fingerprint(samples)}:{framing!r}"  # the files and every framing parameter
    caches = cache_paths(base, split, framing)
    hit = _load_cache(caches, stamp)
    if hit is not None:
        return hit[0], hit[1], folder
    jobs = [(name, src, path, framing) for path, _ in samples]
    workers = min(os.cpu_count() or 1, 8) if len(jobs) >= PARALLEL_FROM else 1
    bar = dict(total=len(jobs), desc=f"{name} {split} frames", disable=not progress, leave=False)
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            frames = list(tqdm(pool.map(_frame_file, jobs, chunksize=32), **bar))
    else:
        frames = [_frame_file(job) for job in tqdm(jobs, **bar)]
    wide = any(f.dtype == np.int16 for f in frames)
    x = np.empty((len(frames), *frames[0].shape), dtype=np.int16 if wide else np.uint8)
    for i, f in enumerate(frames):
        x[i] = f
    y = np.array([label for _, label in samples], dtype=np.int64)
    _save_cache(caches, x, y, stamp)
    return x, y, folder


def describe(name: str, src: EventSource, root: str | os.PathLike | None,
             framing: Framing) -> dict[str, object]:
    """What ``data info`` shows of an event dataset, without reading any event file."""
    base = dataset_root(root, name)
    w, h = framing.size(src.sensor)
    info: dict[str, object] = {"sensor": f"{src.sensor[0]}x{src.sensor[1]}", "input": (2, h, w),
                               "framing": framing.tag()}
    for split in ("train", "test"):
        try:
            folder, samples = src.samples(base, split)
        except DatasetError as e:
            info[split] = f"absent ({e})"
            continue
        caches = [p for p in cache_paths(base, split, framing) if p.is_file()]
        info[split] = (f"{len(samples)} files in {folder}; frames "
                       + (f"cached in {caches[0]}" if caches else "not cached yet"))
    return info
