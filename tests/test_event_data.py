"""Event-camera datasets: readers of the real file formats, framing, caching and splits."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from eventfiles import nmnist_bytes, write_aedat4
from spiketune.data import datasets as data
from spiketune.data import events as event_data
from spiketune.errors import ConfigError, DatasetError
from spiketune.explore.run import run
from spiketune.training import config

tonic = pytest.importorskip("tonic")


def _frame(T, H, W, *hits):
    """Expected frames [T, 2, H, W] with a count at each (t bin, polarity, y, x)."""
    f = torch.zeros(T, 2, H, W, dtype=torch.int64)
    for b, p, y, x in hits:
        f[b, p, y, x] += 1
    return f


def test_nmnist_reader_and_equal_time_bins_by_hand(tmp_path):
    folder = tmp_path / "Test" / "3"
    folder.mkdir(parents=True)
    # span 0..100 us, T = 2: bins of 100 // 2 = 50 us from the first event, [0, 50) and
    # [50, 100); the last event (t = 100) falls after the last bin and is dropped (tonic's ToFrame)
    events = [(1, 2, 1, 0), (5, 6, 0, 50), (5, 6, 0, 99), (33, 33, 1, 100)]
    (folder / "00001.bin").write_bytes(nmnist_bytes(events))
    (tmp_path / "Test" / "7").mkdir()
    (tmp_path / "Test" / "7" / "00002.bin").write_bytes(nmnist_bytes([(0, 0, 1, 5), (3, 4, 0, 9)]))
    ds = data.get_dataset("nmnist", "test", root=tmp_path, num_steps=2)
    assert ds.frames and ds.input_shape == (2, 34, 34) and ds.x.shape == (2, 2, 2, 34, 34)
    assert ds.y.tolist() == [3, 7]
    assert torch.equal(ds.x[0].long(), _frame(2, 34, 34, (0, 1, 2, 1), (1, 0, 6, 5), (1, 0, 6, 5)))
    assert torch.equal(ds.x[1].long(), _frame(2, 34, 34, (0, 1, 0, 0)))  # bins [5, 7), [7, 9): t = 9 dropped
    cached = tmp_path / "spiketune-frames-test-T2-bins-x1.npz"
    assert cached.is_file()
    assert torch.equal(data.get_dataset("nmnist", "test", root=tmp_path, num_steps=2).x, ds.x)


def test_nmnist_reader_equals_tonics_reader(tmp_path):
    rng = np.random.default_rng(3)
    events = [(int(rng.integers(34)), int(rng.integers(34)), int(rng.integers(2)), int(t))
              for t in np.sort(rng.integers(0, 2**23, 500))]
    raw = bytearray(nmnist_bytes(events))
    raw[250:250] = bytes([0, 240, 0, 0, 0])  # a timestamp-overflow marker after event 50
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(raw))
    ours = event_data.read_nmnist_bin(path)
    theirs = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
    for field in "xytp":
        assert np.array_equal(ours[field], theirs[field].astype(np.int64)), field


def test_nmnist_overflow_marker_and_corrupt_file(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(nmnist_bytes([(1, 1, 0, 10), (0, 240, 0, 0), (2, 2, 1, 10)]))
    ev = event_data.read_nmnist_bin(f)
    assert ev["t"].tolist() == [10, 10 + 2**13] and ev["p"].tolist() == [0, 1]
    f.write_bytes(f.read_bytes()[:-2])
    with pytest.raises(DatasetError, match="a.bin is truncated"):
        event_data.read_nmnist_bin(f)
    with pytest.raises(DatasetError, match="tonic.datasets.NMNIST"):
        data.get_dataset("nmnist", "train", root=tmp_path, download=False)


def test_time_window_frames_keep_the_first_T_and_pad_with_empty_ones():
    ev = event_data._events([0, 1, 2, 3], [0, 0, 0, 0], [0, 10, 25, 31], [1, 0, 1, 0])
    got = event_data.to_frames(ev, (4, 1), event_data.Framing(6, time_window_us=10))
    # windows [0,10), [10,20), [20,30), [30,40) (the last one incomplete), then two empty frames
    assert torch.equal(torch.from_numpy(got).long(), _frame(6, 1, 4, (0, 1, 0, 0), (1, 0, 0, 1), (2, 1, 0, 2),
                                                            (3, 0, 0, 3)))
    two = event_data.to_frames(ev, (4, 1), event_data.Framing(2, time_window_us=10))
    assert np.array_equal(two, got[:2])


def test_denoise_then_frames_by_hand():
    # (5, 5) at 1000 us has a neighbour (4, 5) 30 us before it: kept; (4, 5) itself and
    # (9, 0) at 1010 have no earlier neighbour within 100 us: dropped
    ev = event_data._events([4, 5, 9, 5], [5, 5, 0, 6], [970, 1000, 1010, 1040], [0, 1, 1, 0])
    got = event_data.to_frames(ev, (10, 8), event_data.Framing(1, time_window_us=100, denoise_us=100))
    assert torch.equal(torch.from_numpy(got).long(), _frame(1, 8, 10, (0, 1, 5, 5), (0, 0, 6, 5)))


def test_dvsgesture_tonic_layout_downsampled_frames(tmp_path):
    folder = tmp_path / "ibmGestureTest" / "user24_led"
    folder.mkdir(parents=True)
    # x, y, p, t[ms]; 4x down: (127, 5) -> (31, 1), (8, 8) -> (2, 2), (9, 10) -> (2, 2);
    # 0..12 ms in T = 2 bins of 6 ms: [0, 6) and [6, 12); the event at 12 ms is dropped
    np.save(folder / "4.npy", np.array([[127, 5, 1, 0.0], [8, 8, 0, 6.0], [9, 10, 0, 10.0], [3, 3, 1, 12.0]]))
    np.save(folder / "10.npy", np.array([[0, 0, 1, 1.0], [0, 0, 1, 3.0]]))
    ds = data.get_dataset("dvsgesture", "test", root=tmp_path, num_steps=2)
    assert ds.x.shape == (2, 2, 2, 32, 32) and sorted(ds.y.tolist()) == [4, 10] and ds.num_classes == 11
    f = ds.x[ds.y.tolist().index(4)].long()
    assert torch.equal(f, _frame(2, 32, 32, (0, 1, 1, 31), (1, 0, 2, 2), (1, 0, 2, 2)))
    bad = folder / "3.npy"
    np.save(bad, np.zeros((3, 3)))
    with pytest.raises(DatasetError, match="3.npy"):  # a new file makes the cache stale
        data.get_dataset("dvsgesture", "test", root=tmp_path, num_steps=2)


def _cifar10dvs(root, per_class, rng, events=60):
    """CIFAR10-DVS fixture in tonic's layout: CIFAR10DVS/<class>/cifar10_<class>_<i>.aedat4."""
    for c in event_data.CIFAR10DVS_CLASSES:
        for i in range(per_class):
            t = np.sort(rng.integers(0, 1_000_000, events)) + 10**9  # absolute us timestamps
            write_aedat4(root / "CIFAR10DVS" / c / f"cifar10_{c}_{i}.aedat4", t, rng.integers(0, 128, events),
                         rng.integers(0, 128, events), rng.integers(0, 2, events))


def test_cifar10dvs_aedat4_frames_by_hand(tmp_path):
    t, x, y, on = [5_000, 5_010, 5_030, 5_040], [127, 0, 64, 65], [3, 127, 64, 66], [1, 0, 1, 0]
    path = write_aedat4(tmp_path / "CIFAR10DVS" / "ship" / "cifar10_ship_0.aedat4", t, x, y, on)
    ev = tonic.io.read_aedat4(str(path))  # the file decodes with tonic's own reader
    assert ev["t"].tolist() == t and ev["x"].tolist() == x and ev["on"].tolist() == [True, False, True, False]
    ds = data.get_dataset("cifar10dvs", "train", root=tmp_path, num_steps=2)
    assert ds.y.tolist() == [8] and ds.num_classes == 10 and ds.x.shape == (1, 2, 2, 32, 32)
    # 4x down: (127,3)->(31,0), (0,127)->(0,31), (64,64)->(16,16), (65,66)->(16,16); bins of 20 us
    assert torch.equal(ds.x[0].long(), _frame(2, 32, 32, (0, 1, 0, 31), (0, 0, 31, 0), (1, 1, 16, 16)))
    full = data.get_dataset("cifar10dvs", "train", root=tmp_path, num_steps=2, downsample=1)
    assert full.input_shape == (2, 128, 128) and int(full.x[0, 1, 0, 66, 65]) == 0  # t = 5040 dropped


def test_cifar10dvs_split_is_stratified_stable_and_disjoint(tmp_path):
    _cifar10dvs(tmp_path, 10, np.random.default_rng(0), events=20)
    tr = data.get_dataset("cifar10dvs", "train", root=tmp_path, num_steps=2)
    te = data.get_dataset("cifar10dvs", "test", root=tmp_path, num_steps=2)
    assert (len(tr), len(te)) == (90, 10)
    assert np.bincount(te.y.numpy()).tolist() == [1] * 10 and np.bincount(tr.y.numpy()).tolist() == [9] * 10
    folder = tmp_path / "CIFAR10DVS"
    _, test_files = event_data.CIFAR10DVS.samples(tmp_path, "test")
    _, train_files = event_data.CIFAR10DVS.samples(tmp_path, "train")
    assert not {f for f, _ in test_files} & {f for f, _ in train_files}
    assert all(f.parent.name == event_data.CIFAR10DVS_CLASSES[label] for f, label in test_files + train_files)
    # the split depends only on the file names: a copy made in another order splits alike
    other = tmp_path / "copy"
    for f, _ in reversed(train_files + test_files):
        (other / "CIFAR10DVS" / f.parent.name).mkdir(parents=True, exist_ok=True)
        (other / "CIFAR10DVS" / f.parent.name / f.name).write_bytes(f.read_bytes())
    _, again = event_data.CIFAR10DVS.samples(other, "test")
    want = [(f.relative_to(tmp_path), y) for f, y in test_files]
    assert [(f.relative_to(other), y) for f, y in again] == want
    assert (folder.parent / "spiketune-frames-test-T2-bins-x4.npz").is_file()


def test_cifar10dvs_bad_files_are_named(tmp_path):
    with pytest.raises(DatasetError, match=r"tonic.datasets.CIFAR10DVS\(save_to="):
        data.get_dataset("cifar10dvs", "train", root=tmp_path, download=False)
    rng = np.random.default_rng(1)
    path = write_aedat4(tmp_path / "CIFAR10DVS" / "dog" / "cifar10_dog_0.aedat4", [1, 2, 3], [1, 2, 3],
                        [1, 2, 3], [0, 1, 0])
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DatasetError, match="cifar10_dog_0.aedat4"):
        data.get_dataset("cifar10dvs", "train", root=tmp_path)
    path.unlink()
    _cifar10dvs(tmp_path, 1, rng, events=5)
    write_aedat4(tmp_path / "CIFAR10DVS" / "zebra" / "z.aedat4", [1], [1], [1], [1])
    with pytest.raises(DatasetError, match=r"\['zebra'\]"):
        data.get_dataset("cifar10dvs", "train", root=tmp_path)


@pytest.fixture
def cifar10dvs_server(tmp_path, monkeypatch):
    """A local HTTP server holding CIFAR10DVS.zip in tonic's layout (one zip per class inside,
    each with <class>/*.aedat4), with tonic's CIFAR10DVS pointed at it."""
    import functools
    import hashlib
    import http.server
    import io
    import threading
    import zipfile

    staging, www = tmp_path / "staging", tmp_path / "www"
    _cifar10dvs(staging, 10, np.random.default_rng(4), events=10)
    www.mkdir()
    with zipfile.ZipFile(www / "CIFAR10DVS.zip", "w") as outer:
        for c in event_data.CIFAR10DVS_CLASSES:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as inner:
                for f in sorted((staging / "CIFAR10DVS" / c).iterdir()):
                    inner.write(f, f"{c}/{f.name}")
            outer.writestr(f"{c}.zip", buf.getvalue())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    monkeypatch.setattr(tonic.datasets.CIFAR10DVS, "url", url + "CIFAR10DVS.zip")
    monkeypatch.setattr(tonic.datasets.CIFAR10DVS, "file_md5",
                        hashlib.md5((www / "CIFAR10DVS.zip").read_bytes()).hexdigest())
    yield staging, url
    server.shutdown()


def test_absent_cifar10dvs_is_downloaded_through_tonic(tmp_path, cifar10dvs_server, monkeypatch):
    staging, url = cifar10dvs_server
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DatasetError, match="no .aedat4 files"):
        data.get_dataset("cifar10dvs", "train", root=root, num_steps=2, download=False)
    got = data.get_dataset("cifar10dvs", "train", root=root, num_steps=2)
    assert len(list((root / "CIFAR10DVS").glob("*/*.aedat4"))) == 100
    want = data.get_dataset("cifar10dvs", "train", root=staging, num_steps=2)
    assert len(got) == 90 and torch.equal(got.x, want.x) and torch.equal(got.y, want.y)
    monkeypatch.setattr(tonic.datasets.CIFAR10DVS, "url", url + "missing.zip")
    with pytest.raises(DatasetError, match="downloading with tonic failed: HTTPError"):
        data.get_dataset("cifar10dvs", "train", root=tmp_path / "elsewhere", num_steps=2)


def test_stale_cache_is_rebuilt_and_read_only_data_caches_elsewhere(tmp_path, monkeypatch):
    folder = tmp_path / "Train" / "1"
    folder.mkdir(parents=True)
    (folder / "a.bin").write_bytes(nmnist_bytes([(1, 1, 1, 0), (2, 2, 1, 10)]))
    first = data.get_dataset("nmnist", "train", root=tmp_path, num_steps=1)
    (folder / "a.bin").write_bytes(nmnist_bytes([(1, 1, 1, 0), (3, 3, 0, 10), (2, 2, 1, 20)]))
    second = data.get_dataset("nmnist", "train", root=tmp_path, num_steps=1)
    assert int(first.x.sum()) == 1 and int(second.x.sum()) == 2 and int(second.x[0, 0, 0, 3, 3]) == 1
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    paths = event_data.cache_paths(tmp_path, "train", event_data.Framing(1))
    blocked = [folder / "a.bin" / "x.npz", paths[1]]  # a file where a directory should be
    event_data._save_cache(blocked, second.x.numpy(), second.y.numpy(), "stamp")
    assert paths[1].is_file() and event_data._load_cache(blocked, "stamp")[0].shape == (1, 1, 2, 34, 34)
    assert event_data._load_cache(blocked, "other") is None


def test_config_knobs_for_event_framing():
    cfg = config.from_dict({"data": {"dataset": "CIFAR10-DVS", "time_window_us": 5000, "denoise_us": 1e4}})
    r = cfg.resolved()
    assert r.data.dataset == "cifar10dvs" and r.data.encoding == "events" and r.data.num_steps == 10
    assert r.model.arch.endswith("-200")
    with pytest.raises(ConfigError, match="event datasets"):
        config.from_dict({"data": {"dataset": "digits", "downsample": 2}}).resolved()
    with pytest.raises(ConfigError, match="unknown dataset 'imagenet'"):
        config.from_dict({"data": {"dataset": "imagenet"}})


def test_cifar10dvs_fixture_trains_one_epoch_and_data_info(tmp_path):
    _cifar10dvs(tmp_path, 10, np.random.default_rng(2))
    r = subprocess.run([sys.executable, "-m", "spiketune", "data", "info", "cifar10dvs",
                        "--data-root", str(tmp_path), "--num-steps", "2"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "train: 90 files" in r.stdout and "test: 10 files" in r.stdout and "not cached yet" in r.stdout
    assert "(2, 32, 32)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "spiketune", "run", "--dataset", "CIFAR10-DVS", "--data-root",
                        str(tmp_path), "--epochs", "1", "--set", "data.num_steps=2",
                        "--set", "data.batch_size=16",
                        "--set", "data.denoise_us=300000", "--out", str(tmp_path / "out"), "--no-progress"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["profile"]["num_samples"] == 10 and m["hardware"]["latency_cycles"] > 0
    r = subprocess.run([sys.executable, "-m", "spiketune", "data", "info", "cifar10dvs",
                        "--data-root", str(tmp_path), "--num-steps", "2"],
                       capture_output=True, text=True, check=False)
    assert "not cached yet" in r.stdout  # the run's frames were denoised: another cache file
    assert (tmp_path / "spiketune-frames-test-T2-bins-x4-dn300000us.npz").is_file()


def test_nmnist_fixture_trains_one_epoch(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("Train", 40), ("Test", 10)):
        for i in range(n):
            folder = tmp_path / split / str(i % 10)
            folder.mkdir(parents=True, exist_ok=True)
            evs = [(int(rng.integers(34)), int(rng.integers(34)), int(rng.integers(2)), int(t))
                   for t in sorted(rng.integers(0, 300_000, size=200))]
            (folder / f"{i:05d}.bin").write_bytes(nmnist_bytes(evs))
    cfg = config.from_dict({"data": {"dataset": "nmnist", "root": str(tmp_path), "num_steps": 4,
                                     "batch_size": 8}, "train": {"epochs": 1}})
    m = run(cfg, tmp_path / "out", progress=False)
    assert config.load(tmp_path / "out" / "config.yaml").data.encoding == "events"
    assert m["profile"]["num_samples"] == 10 and m["hardware"]["latency_cycles"] > 0


def test_dvsgesture_fixture_trains_one_epoch_with_the_study_network(tmp_path):
    from eventfiles import write_dvsgesture

    write_dvsgesture(tmp_path, {"ibmGestureTrain": ("user01_led", "user02_natural"),
                                "ibmGestureTest": ("user24_led",)}, np.random.default_rng(0))
    cfg = config.from_dict({"data": {"dataset": "dvsgesture", "root": str(tmp_path), "num_steps": 2,
                                     "batch_size": 8}, "train": {"epochs": 1}})
    m = run(cfg, tmp_path / "out", progress=False)
    resolved = config.load(tmp_path / "out" / "config.yaml")
    assert resolved.model.arch.endswith("-1064-D0.1-110") and resolved.data.encoding == "events"
    assert m["profile"]["num_samples"] == 11 and len(m["profile"]["layers"]) == 9


def test_counts_above_255_are_stored_exactly(tmp_path):
    folder = tmp_path / "Test" / "0"
    folder.mkdir(parents=True)
    (folder / "a.bin").write_bytes(nmnist_bytes([(2, 3, 1, t) for t in range(300)] + [(0, 0, 0, 1000)]))
    ds = data.get_dataset("nmnist", "test", root=tmp_path, num_steps=1)
    assert ds.x.dtype == torch.int16 and int(ds.x[0, 0, 1, 3, 2]) == 300 and int(ds.x.sum()) == 300


def _nmnist_with_bursts(root, rng, n_train=40, n_test=10):
    """N-MNIST fixture where every event comes as a burst of 3 at one pixel: counts of 3."""
    for split, n in (("Train", n_train), ("Test", n_test)):
        for i in range(n):
            folder = root / split / str(i % 10)
            folder.mkdir(parents=True, exist_ok=True)
            evs = []
            for t in sorted(rng.integers(0, 300_000, size=120)):
                x, y, p = int(rng.integers(34)), int(rng.integers(34)), int(rng.integers(2))
                evs += [(x, y, p, int(t)), (x, y, p, int(t) + 1), (x, y, p, int(t) + 2)]
            (folder / f"{i:05d}.bin").write_bytes(nmnist_bytes(sorted(evs, key=lambda e: e[3])))


def test_fixed_point_check_sees_event_counts_and_binary_frames_match_the_bitmap(tmp_path):
    from spiketune.hardware import fixed_point
    from spiketune.traces import read

    _nmnist_with_bursts(tmp_path / "data", np.random.default_rng(5))
    base = {"data": {"dataset": "nmnist", "root": str(tmp_path / "data"), "num_steps": 4, "batch_size": 8},
            "model": {"weight_bits": 4, "arch": "8C3p1-MP2-16-10"}, "train": {"epochs": 1}}
    run(config.from_dict(base), tmp_path / "counts", progress=False)
    traces = read(tmp_path / "counts" / "traces")
    assert traces.meta["input_max_count"] >= 3 and int(traces.input_values().max()) >= 3
    first = fixed_point.check(traces)[0]
    assert first.spikes_float > 0 and first.mismatch_rate < 1e-3  # integer counts in, as the float model saw
    r = subprocess.run([sys.executable, "-m", "spiketune", "hw", str(tmp_path / "counts"), "--fixed-point"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "events per pixel and step" in r.stdout, r.stderr
    base["data"]["binary_frames"] = True
    run(config.from_dict(base), tmp_path / "binary", progress=False)
    traces = read(tmp_path / "binary" / "traces")
    assert traces.meta["input_max_count"] == 1 and traces.input_values() is None
    assert fixed_point.check(traces)[0].mismatch_rate < 1e-3


def test_data_show_plots_event_frames_in_polarity_colours(tmp_path):
    from PIL import Image

    _cifar10dvs(tmp_path, 10, np.random.default_rng(6), events=400)
    png = tmp_path / "frames.png"
    r = subprocess.run([sys.executable, "-m", "spiketune", "data", "show", "cifar10dvs",
                        "--data-root", str(tmp_path), "--split", "train", "--samples", "2",
                        "--num-steps", "3",
                        "-o", str(png)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)
    blue = (rgb[..., 2] > 200) & (rgb[..., 0] < 120) & (rgb[..., 1] < 120)
    assert red.sum() > 20 and blue.sum() > 20  # ON and OFF events drawn
    assert rgb.shape[1] > rgb.shape[0]  # 3 time bins across, 2 samples down


def test_frames_built_in_worker_processes_equal_those_built_inline(tmp_path, monkeypatch):
    _cifar10dvs(tmp_path, 3, np.random.default_rng(8), events=50)
    inline = data.get_dataset("cifar10dvs", "train", root=tmp_path, num_steps=3)
    for f in tmp_path.glob("spiketune-frames-*.npz"):
        f.unlink()
    monkeypatch.setattr(event_data, "PARALLEL_FROM", 1)
    monkeypatch.setattr(event_data.os, "cpu_count", lambda: 2)
    pooled = data.get_dataset("cifar10dvs", "train", root=tmp_path, num_steps=3)
    assert len(inline) == 30 and torch.equal(pooled.x, inline.x) and torch.equal(pooled.y, inline.y)


def test_a_nir_model_is_costed_on_event_data_from_a_data_root(tmp_path):
    pytest.importorskip("nir")
    from spiketune.interop import nir_io
    from spiketune.network import models

    root = tmp_path / "data"
    rng = np.random.default_rng(9)
    for i in range(10):
        folder = root / "Test" / str(i)
        folder.mkdir(parents=True)
        evs = [(int(rng.integers(34)), int(rng.integers(34)), int(rng.integers(2)), int(t))
               for t in sorted(rng.integers(0, 50_000, size=300))]
        (folder / "a.bin").write_bytes(nmnist_bytes(evs))
    torch.manual_seed(0)
    net = models.build("8C3p1-AP2-16-10", (2, 34, 34), beta=0.7, threshold=0.3)
    path = nir_io.write(net, tmp_path / "m.nir")
    r = subprocess.run([sys.executable, "-m", "spiketune", "hw", str(tmp_path / "hw"), "--model", str(path),
                        "--dataset", "nmnist", "--data-root", str(root), "--num-steps", "4"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    prof = json.loads((tmp_path / "hw" / "profile.json").read_text())
    assert prof["num_samples"] == 10 and prof["layers"][0]["input_events"] > 0 and "FPS/W" in r.stdout


def test_events_off_the_sensor_and_damaged_caches(tmp_path):
    folder = tmp_path / "Test" / "4"
    folder.mkdir(parents=True)
    (folder / "a.bin").write_bytes(nmnist_bytes([(1, 1, 1, 0), (2, 2, 0, 10)]))
    first = data.get_dataset("nmnist", "test", root=tmp_path, num_steps=1)
    cache = tmp_path / "spiketune-frames-test-T1-bins-x1.npz"
    for damage in (b"PK\x03\x04 truncated", b"garbage"):
        cache.write_bytes(damage)
        assert torch.equal(data.get_dataset("nmnist", "test", root=tmp_path, num_steps=1).x, first.x)
    (folder / "b.bin").write_bytes(nmnist_bytes([(1, 1, 1, 0), (40, 2, 0, 10)]))  # x = 40 on a 34-wide sensor
    with pytest.raises(DatasetError, match="b.bin holds events outside the 34x34 sensor"):
        data.get_dataset("nmnist", "test", root=tmp_path, num_steps=1)
