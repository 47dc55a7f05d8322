"""Hostile input and faults: nothing foreign runs, nothing is lost, nothing is silently
wrong (docs/guarantees.md). Each test fails on the tool before these guarantees."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from spiketune import results, traces
from spiketune.data import registry
from spiketune.errors import ConfigError, SpiketuneError, TraceError
from spiketune.explore.run import git_revision, load_model, run
from spiketune.training import config

TINY = {"data": {"num_steps": 3, "batch_size": 128, "train_limit": 400, "test_limit": 100},
        "train": {"epochs": 1, "patience": None}}


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "spiketune", *args], capture_output=True, text=True, **kw)


def _one_line_error(r, *needles):
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    for n in needles:
        assert n in r.stderr, r.stderr[-2000:]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny run, shared read-only by the tests (copy it to change it)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    old = os.umask(0o022)
    try:
        run(config.from_dict(TINY), out, progress=False)
    finally:
        os.umask(old)
    return out


# ---- security ----------------------------------------------------------------------------

class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_loading_a_results_folder_runs_no_code(tmp_path):
    marker = tmp_path / "code-ran"
    folder = tmp_path / "foreign"
    folder.mkdir()
    torch.save({"model": {}, "config": {}, "x": _Payload(marker)}, folder / "model.pt")
    with pytest.raises(SpiketuneError, match="model.pt"):
        load_model(folder)
    assert not marker.exists()


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           "-c", "core.fsmonitor=false", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_git_revision_runs_no_configured_program(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo, marker = tmp_path / "repo", tmp_path / "hook-ran"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "config.yaml").write_text("train: {epochs: 1}\n")
    _git(repo, "add", "config.yaml")
    _git(repo, "commit", "-qm", "c")
    hook = tmp_path / "fsmonitor.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    with open(repo / ".git" / "config", "a") as f:  # a foreign repository's configured program
        f.write(f"[core]\n\tfsmonitor = {hook}\n")
    sha = _git(repo, "rev-parse", "HEAD")
    assert git_revision(repo) == sha
    assert not marker.exists()
    _git(repo, "pack-refs", "--all")  # the branch now lives in packed-refs only
    assert git_revision(repo) == sha
    _git(repo, "worktree", "add", "-q", str(tmp_path / "wt"))  # a worktree: .git is a file
    assert git_revision(tmp_path / "wt") == sha
    assert not marker.exists()


def test_names_cannot_leave_the_output_folder(tmp_path, trained):
    from spiketune.explore.search import SearchConfig, run_search

    sc = SearchConfig.from_dict({"base": TINY, "space": {"model.beta": {"low": 0.3, "high": 0.9}},
                                 "objectives": ["accuracy"]})
    out = tmp_path / "a" / "b" / "search"
    with pytest.raises(ConfigError, match="study name"):
        run_search(sc, out, trials=1, study_name="../../escape", progress=False)
    assert not any(p.name.startswith("escape") for p in tmp_path.rglob("*"))
    work = tmp_path / "run"
    shutil.copytree(trained, work)
    r = _cli("hw", str(work), "--tag", "../../escaped")
    _one_line_error(r, "--tag")
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("url,secret", [
    ("postgresql://127.0.0.1:1/db?password=s3cretQ&connect_timeout=1", "s3cretQ"),
    ("postgresql://alice:hunter2X@127.0.0.1:1/db?connect_timeout=1", "hunter2X"),
    ("postgresql://alice:p%40ss%3Aw0rdZ@127.0.0.1:1/db?connect_timeout=1", "w0rdZ"),
    ("postgresql://127.0.0.1:1/db?sslpassword=k3yP&connect_timeout=1", "k3yP"),
])
def test_storage_credentials_never_appear_in_output(tmp_path, url, secret):
    cfg = tmp_path / "search.yaml"
    cfg.write_text(yaml.safe_dump({"base": TINY, "space": {"model.beta": {"low": 0.3, "high": 0.9}}}))
    r = _cli("search", str(cfg), "--out", str(tmp_path / "s"), "--storage", url, "--trials", "1",
             "--no-progress")
    assert r.returncode == 2 and "cannot open study storage" in r.stderr, r.stderr[-2000:]
    assert secret not in r.stderr + r.stdout
    assert "127.0.0.1" in r.stderr  # the server is still named


def test_redacted_urls_by_hand():
    from spiketune.explore.storage_url import redact

    assert redact("postgresql+psycopg://u:pw@h:5432/db?sslmode=require&password=x2&token=t3") == \
        "postgresql+psycopg://u:***@h:5432/db?sslmode=require&password=***&token=***"
    assert redact("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db"
    assert redact("sqlite:////tmp/study.db") == "sqlite:////tmp/study.db"


# ---- nothing lost or mislabelled ----------------------------------------------------------

def test_a_refused_run_changes_nothing_in_its_folder(tmp_path, trained):
    work = tmp_path / "run"
    shutil.copytree(trained, work)
    before = _snapshot(work)
    other = config.from_dict({**TINY, "train": {**TINY["train"], "lr": 0.5}})
    with pytest.raises(ConfigError, match=r"different configuration: train\.lr \(0\.005 -> 0\.5\)"):
        run(other, work, progress=False)
    assert _snapshot(work) == before


def test_every_result_file_arrives_by_rename_with_the_users_umask(tmp_path, monkeypatch):
    renamed = set()
    real_replace = os.replace

    def spy(src, dst, *a, **k):  # the real rename, recorded
        real_replace(src, dst, *a, **k)
        renamed.add(Path(dst).resolve())

    monkeypatch.setattr(os, "replace", spy)
    old = os.umask(0o027)
    try:
        run(config.from_dict(TINY), tmp_path / "run", progress=False)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert {"model.pt", "training.png", "firing_rates.png", "hardware_cycles.png", "finished.json"} <= \
        {p.name for p in files}
    not_atomic = [str(p) for p in files if p.resolve() not in renamed]
    assert not_atomic == []
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {"0o640"}, modes


def test_finished_marker_is_written_last_and_sweeps_trust_only_it(tmp_path, trained):
    from spiketune.explore.sweep import collect

    marker = trained / "finished.json"
    listed = json.loads(marker.read_text())["files"]
    on_disk = {str(p.relative_to(trained)): p.stat().st_size for p in trained.rglob("*")
               if p.is_file() and p.name != "finished.json"}
    assert listed == on_disk
    assert marker.stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in trained.rglob("*") if p.is_file())
    sweep = tmp_path / "sweep"
    shutil.copytree(trained, sweep / "runs" / "p1")
    shutil.copytree(trained, sweep / "runs" / "p2")
    (sweep / "runs" / "p2" / "finished.json").unlink()  # killed before the marker
    with open(sweep / "runs" / "p1" / "metrics.json", "a") as f:
        f.write(" ")  # changed after the marker: no longer the file it vouches for
    assert collect(sweep) == []
    shutil.copy(trained / "metrics.json", sweep / "runs" / "p1" / "metrics.json")
    assert [r["run"] for r in collect(sweep)] == ["p1"]


def test_folder_lock_names_the_holder_and_is_released(tmp_path):
    from spiketune.errors import FolderLocked

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom spiketune.results import "
                               "folder_lock\nwith folder_lock(sys.argv[1]):\n print('held', flush=True)\n"
                               " time.sleep(60)", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderLocked, match=f"pid {holder.pid} on "):
            with results.folder_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with results.folder_lock(tmp_path):  # the kill released it
        assert (tmp_path / results.LOCK).is_file()
    assert not (tmp_path / results.LOCK).exists()


def test_a_second_run_on_the_same_folder_is_refused_naming_the_holder(tmp_path):
    cfg = tmp_path / "long.yaml"
    # far more epochs than the test lasts: the first run holds the folder until it is killed
    cfg.write_text(yaml.safe_dump({**TINY, "train": {"epochs": 100000, "patience": None}}))
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "spiketune", "run", "-c", str(cfg), "--out", str(out),
                              "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (out / "checkpoint.pt").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert first.poll() is None, "the first run ended too early"
        r = _cli("run", "-c", str(cfg), "--out", str(out), "--no-progress")
        _one_line_error(r, "in use by pid", str(first.pid))
    finally:
        first.kill()
        first.wait()


def test_hw_writes_only_to_a_named_output(tmp_path, trained):
    work = tmp_path / "run"
    shutil.copytree(trained, work)
    before = _snapshot(work)
    r = _cli("hw", str(work), "--clock-mhz", "100")
    assert r.returncode == 0 and "at 100 MHz" in r.stdout, r.stderr[-2000:]
    assert _snapshot(work) == before  # printed, nothing written
    # the hybrid design on a 1-channel input: its dense core has no resource formulas, and it says so
    r = _cli("hw", str(work), "--accelerator", "hybrid")
    note = ("note: the hybrid design's dense core has resource formulas only as its RTL builds it; this "
            "first layer has input channels 1 (the RTL: 3)")
    assert r.returncode == 0 and note in r.stdout, r.stderr[-2000:]
    r = _cli("hw", str(work), "--clock-mhz", "100", "--tag", "slow")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((work / "hw" / "slow" / "hardware.json").read_text())["clock_mhz"] == 100
    assert (work / "hw" / "slow" / "hardware_cycles.png").is_file()
    assert {k: v for k, v in _snapshot(work).items() if not k.startswith("hw/")} == before
    r = _cli("hw", str(work), "--out", str(work))
    _one_line_error(r, "trained run")
    from spiketune.interop import nir_io
    from spiketune.network import models

    nir_io.write(models.build("16-10", (1, 8, 8)), tmp_path / "m.nir")
    r = _cli("hw", str(work), "--model", str(tmp_path / "m.nir"), "--num-steps", "3")
    _one_line_error(r, "trained run")
    assert {k: v for k, v in _snapshot(work).items() if not k.startswith("hw/")} == before


# ---- nothing silently wrong --------------------------------------------------------------

def _trace_folder(path: Path, bits: bool = True, n: int = 4, t: int = 3) -> Path:
    """A valid two-layer trace folder: conv (2x4x4 -> 3x2x2) then fc 12 -> 5; n samples, T = t."""
    rng = np.random.default_rng(0)
    layers = [traces.LayerSpec("conv", (2, 4, 4), (3, 2, 2), (3, 2, 2), kernel=3),
              traces.LayerSpec("fc", (3, 2, 2), (5,), (5,))]
    shapes = [(2, 4, 4), (3, 2, 2), (5,)]
    ev = [rng.random((n, t, *s)) < 0.3 for s in shapes]
    counts = [e.reshape(n, t, s[0], -1).sum(-1) for e, s in zip(ev, shapes, strict=True)]
    weights = [{"weight": rng.normal(size=(3, 2, 3, 3)).astype(np.float32), "bias": np.zeros(3, np.float32)},
               {"weight": rng.normal(size=(5, 12)).astype(np.float32), "bias": np.zeros(5, np.float32)}]
    return traces.write(path, num_steps=t, encoding="events", input_shape=(2, 4, 4), layers=layers,
                        counts=counts, bits=ev if bits else None, weights=weights,
                        labels=np.arange(n) % 5, predictions=np.zeros(n, int))


def _edit_manifest(folder: Path, edit) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    edit(m)
    (folder / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("damage,needle", [
    (lambda f: np.save(f / "counts_1.npy", np.full((4, 3, 3), np.nan)), "counts_1.npy holds float64"),
    (lambda f: np.save(f / "counts_1.npy", -np.ones((4, 3, 3), np.int32)),
     "counts_1.npy holds counts outside"),
    (lambda f: np.save(f / "counts_2.npy", np.ones((4, 3, 7), np.uint32)),
     "counts_2.npy has shape (4, 3, 7)"),
    (lambda f: np.save(f / "counts_1.npy", np.full((4, 3, 3), 5, np.uint32)), "outside [0, 4]"),
    (lambda f: _edit_manifest(f, lambda m: m["layers"][1].update(threshold=-1.0)), "layers[1].threshold"),
    (lambda f: _edit_manifest(f, lambda m: m["layers"][0].update(reset="explode")), "layers[0].reset"),
    (lambda f: _edit_manifest(f, lambda m: m["layers"][0].update(colour="red")), "unknown fields ['colour']"),
    (lambda f: _edit_manifest(f, lambda m: m["layers"][1].update(in_shape=[4, 2, 2])), "layers[1].in_shape"),
    (lambda f: _edit_manifest(f, lambda m: m.update(num_steps="3")), "num_steps"),
    (lambda f: np.save(f / "bits_7.npy", np.zeros((1, 3, 1), np.uint8)), "stale files ['bits_7.npy']"),
    (lambda f: np.save(f / "labels.npy", np.zeros(3, int)), "labels.npy has shape (3,)"),
])
def test_damaged_trace_folders_are_named(tmp_path, damage, needle):
    folder = _trace_folder(tmp_path / "tr")
    traces.read(folder)  # valid before
    damage(folder)
    with pytest.raises(TraceError) as e:
        traces.read(folder)
    assert needle in str(e.value)


def test_side_files_of_an_earlier_trace_are_not_read_back(tmp_path):
    folder = _trace_folder(tmp_path / "tr", bits=True)
    assert traces.read(folder).bits(1) is not None
    _trace_folder(folder, bits=False)  # rewritten without the bit planes
    assert traces.read(folder).bits(1) is None


def test_damaged_weights_and_bits_are_named(tmp_path):
    folder = _trace_folder(tmp_path / "tr")
    np.savez(folder / "weights_1.npz", weight=np.full((5, 12), np.nan, np.float32),
             bias=np.zeros(5, np.float32))
    np.save(folder / "bits_0.npy", np.zeros((4, 2, 4), np.uint8))
    t = traces.read(folder)
    with pytest.raises(TraceError, match="weights_1.npz: 'weight'"):
        t.weights(1)
    with pytest.raises(TraceError, match=r"bits_0.npy has shape \(4, 2, 4\)"):
        t.bits(0)


@pytest.mark.parametrize("field,value", [
    ("clock_mhz", float("inf")), ("clock_mhz", float("nan")), ("power.static_w", float("inf")),
    ("power.update_pj", {"lif": -3.0, "lapicque": 10.0}), ("power.accumulate_pj", float("nan")),
    ("activation_cycles_per_neuron", {"lif": -1, "lapicque": 1}), ("dense_mac_pj", float("inf")),
])
def test_bad_hardware_values_are_named(tmp_path, field, value):
    from spiketune.hardware.config import load

    d = {"kind": "hybrid"} if field.startswith("dense") else {}
    section, _, key = field.rpartition(".")
    (d.setdefault(section, {}) if section else d)[key] = value
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError) as e:
        load(path)
    assert str(path) in str(e.value) and field in str(e.value)


def _nir_graph(threshold=1.0, weight=None, metadata=None, tau=2e-4, r=2.0):
    import nir

    w = np.ones((3, 4), np.float32) if weight is None else weight
    return nir.NIRGraph(nodes={"input": nir.Input({"input": np.array([4])}),
                               "fc0": nir.Affine(weight=w, bias=np.zeros(3, np.float32)),
                               "lif0": nir.LIF(tau=np.full(3, tau), r=np.full(3, r), v_leak=np.zeros(3),
                                               v_threshold=np.full(3, threshold), metadata=metadata or {}),
                               "output": nir.Output({"output": np.array([3])})},
                        edges=[("input", "fc0"), ("fc0", "lif0"), ("lif0", "output")])


@pytest.mark.parametrize("graph,needle", [
    (dict(threshold=0.0), "v_threshold"), (dict(threshold=-1.0), "v_threshold"),
    (dict(weight=np.full((3, 4), np.nan, np.float32)), "'fc0': weight"),
    (dict(metadata={"spiketune.reset": "explode"}), "unknown reset 'explode'"),
    (dict(tau=1e-5), "tau"), (dict(tau=float("nan")), "tau"), (dict(r=1e300), "'lif0': the input gain"),
])
def test_bad_nir_parameters_are_named(graph, needle):
    from spiketune.interop.nir_io import NIRError, import_graph

    with pytest.raises(NIRError) as e:
        import_graph(_nir_graph(**graph))
    assert needle in str(e.value)


def test_frame_caches_of_different_time_windows_are_apart(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from eventfiles import nmnist_bytes
    from spiketune.data import datasets as data

    folder = tmp_path / "Train" / "1"
    folder.mkdir(parents=True)
    # the second event falls in the first window only when it is longer than 1 s
    (folder / "a.bin").write_bytes(nmnist_bytes([(1, 1, 1, 0), (2, 2, 1, 1_000_000)]))
    short = data.get_dataset("nmnist", "train", root=tmp_path, num_steps=1, time_window_us=1_000_000.0)
    long = data.get_dataset("nmnist", "train", root=tmp_path, num_steps=1, time_window_us=1_000_000.4)
    assert int(short.x.sum()) == 1 and int(long.x.sum()) == 2
    assert len(list(tmp_path.glob("spiketune-frames-*.npz"))) == 2


def test_a_cache_under_another_framings_name_is_rebuilt(tmp_path):
    from spiketune.data import events

    a, b = events.Framing(1, time_window_us=10.0), events.Framing(1, time_window_us=20.0)
    sys.path.insert(0, str(Path(__file__).parent))
    from eventfiles import nmnist_bytes

    folder = tmp_path / "Train" / "1"
    folder.mkdir(parents=True)
    (folder / "a.bin").write_bytes(nmnist_bytes([(1, 1, 1, 0), (2, 2, 1, 15)]))
    src = registry.spec("nmnist").source
    xa, _, _ = events.load_frames("nmnist", src, "train", tmp_path, a, progress=False)
    shutil.copy(events.cache_paths(tmp_path, "train", a)[0], events.cache_paths(tmp_path, "train", b)[0])
    xb, _, _ = events.load_frames("nmnist", src, "train", tmp_path, b, progress=False)
    assert int(xa.sum()) == 1 and int(xb.sum()) == 2


def test_memory_estimate_by_hand():
    from spiketune.training.memory import estimate

    cfg = config.from_dict({"data": {"num_steps": 5, "batch_size": 7}, "model": {"arch": "20-10"}}).resolved()
    # params 20*64+20 + 10*20+10 = 1510, x5 copies = 7550; neurons (20+20)+(10+10) = 60,
    # batch 7 x T 5 x (3 x 60 + 64 inputs) = 8540; 4 bytes each: 64360
    assert estimate(cfg, (1, 8, 8)) == 64360


def _limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))


def test_a_network_larger_than_memory_fails_before_allocating(tmp_path):
    r = subprocess.run([sys.executable, "-m", "spiketune", "run", "--arch", "60000-60000-10", "--epochs", "1",
                        "--out", str(tmp_path / "big"), "--no-progress"], capture_output=True, text=True,
                       preexec_fn=_limit_memory, timeout=300)
    _one_line_error(r, "GiB", "60000-60000-10")
    assert not (tmp_path / "big").exists()


def test_a_large_grid_asks_for_yes(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"base": TINY, "grids": [{"model.beta": [round(0.1 + i / 100, 2)
                                                                             for i in range(65)]}]}))
    try:
        r = _cli("sweep", str(sweep), "--out", str(tmp_path / "out"), stdin=subprocess.DEVNULL, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the 65-point sweep started without confirmation")
    _one_line_error(r, "65 points", "--yes")
    assert not (tmp_path / "out").exists()


def _read_only_mount(tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a read-only tmpfs here")
    return mnt


def test_remaining_tracebacks_are_one_line_errors(tmp_path, trained):
    bad_utf8 = tmp_path / "latin1.yaml"
    bad_utf8.write_bytes("train: {epochs: 1}  # r\xe9glage\n".encode("latin-1"))
    _one_line_error(_cli("run", "-c", str(bad_utf8), "--out", str(tmp_path / "x")), "latin1.yaml", "UTF-8")
    _one_line_error(_cli("run", "--set", "train.adam_betas=[2, 0.5]", "--out", str(tmp_path / "x")),
                    "train.adam_betas")
    _one_line_error(_cli("run", "--set", "train.seed=-1", "--out", str(tmp_path / "x")), "train.seed")
    _one_line_error(_cli("run", "--set", f"train.seed={2**70}", "--out", str(tmp_path / "x")), "train.seed")
    assert not (tmp_path / "x").exists()
    broken = tmp_path / "broken"
    broken.mkdir()
    torch.save([1, 2, 3], broken / "model.pt")  # readable, but not a model file
    _one_line_error(_cli("export", str(broken), str(tmp_path / "m.nir")), "model.pt")
    torch.save({"model": {"w": torch.zeros(1)}, "config": TINY}, broken / "model.pt")  # weights do not fit
    _one_line_error(_cli("export", str(broken), str(tmp_path / "m.nir")), "model.pt")
    _one_line_error(_cli("export", str(trained), str(tmp_path)), "is a folder")
    _one_line_error(_cli("hw", str(tmp_path / "nir-out"), "--model", str(tmp_path / "m.nir"),
                         "--num-steps", "0"), "num-steps")
    mnt = _read_only_mount(tmp_path)
    try:
        _one_line_error(_cli("data", "show", "digits", "--out", str(mnt / "samples.png")), str(mnt))
        _one_line_error(_cli("hw", str(trained), "--out", str(mnt / "hw")), str(mnt))
    finally:
        subprocess.run(["umount", str(mnt)])


def test_a_damaged_metrics_file_is_named_rerun_and_the_rest_carries_on(tmp_path):
    from spiketune.explore.sweep import SweepConfig, collect, run_sweep

    sc = SweepConfig.from_dict({"base": TINY, "grids": [{"model.beta": [0.5, 0.7]}]})
    out = tmp_path / "sweep"
    assert len(run_sweep(sc, out, progress=False)) == 2
    damaged = sorted((out / "runs").iterdir())[0] / "metrics.json"
    size = damaged.stat().st_size
    damaged.write_bytes(b"\0" * size)  # same size: the finished marker alone cannot tell
    with pytest.warns(UserWarning, match=str(damaged.parent)):
        assert len(collect(out)) == 1
    r = _cli("predict", str(out))  # predict carries on with the readable runs
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    with pytest.warns(UserWarning, match="damaged"):
        rows = run_sweep(sc, out, progress=False)
    assert len(rows) == 2 and json.loads(damaged.read_text())["test_accuracy"] >= 0
