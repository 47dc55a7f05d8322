"""Every file of one real run names its layers alike and states each quantity in one unit:
the names are checked against the architecture string, the per-inference event counts
against the trace arrays, and the accuracy a person reads against metrics.json."""

import csv
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ARCH = "16C3p1-MP2-32C3p1-MP2-64-10"  # the digits default network
NAMES = ["L0:16C3p1-MP2", "L1:32C3p1-MP2", "L2:64", "L3:10"]  # L<i>: the tokens of block i
SRC = Path(__file__).resolve().parents[1] / "src"


def spiketune(*args: str, cwd: Path) -> str:
    r = subprocess.run([sys.executable, "-m", "spiketune", *args], cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg", "COLUMNS": "250"})
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("files") / "run"
    stdout = spiketune("run", "--arch", ARCH, "--out", str(out), "--set", "train.epochs=1",
                       "--set", "data.num_steps=4", "--set", "data.test_limit=60", cwd=out.parent)
    return out, stdout


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_file_names_the_layers_as_the_profile_does(run_dir):
    out, _ = run_dir
    metrics = json.loads((out / "metrics.json").read_text())
    hardware = json.loads((out / "hardware.json").read_text())
    manifest = json.loads((out / "traces" / "manifest.json").read_text())
    names = {
        "metrics.json profile": [layer["name"] for layer in metrics["profile"]["layers"]],
        "metrics.json hardware": [layer["name"] for layer in metrics["hardware"]["layers"]],
        "hardware.json": [layer["name"] for layer in hardware["layers"]],
        "layers.csv": [r["name"] for r in csv_rows(out / "layers.csv")],
        "hardware_layers.csv": [r["name"] for r in csv_rows(out / "hardware_layers.csv")],
        "traces/manifest.json": manifest["meta"]["layer_names"],
    }
    assert names == dict.fromkeys(names, NAMES)
    # the files that hold no layer names: a new file with names must join the list above
    rest = {"config.yaml", "finished.json", "history.csv", "model.pt", "checkpoint.pt",
            "firing_rates.png", "training.png", "hardware_cycles.png"}
    present = {p.name for p in out.iterdir() if p.is_file()}
    assert present == rest | {"metrics.json", "hardware.json", "layers.csv", "hardware_layers.csv"}


def test_input_events_are_totals_in_the_profile_and_per_inference_in_the_hardware_files(run_dir):
    out, _ = run_dir
    metrics = json.loads((out / "metrics.json").read_text())
    n = metrics["profile"]["num_samples"]
    # independent reference: the trace's per-channel event counts, [N, T, C] per spike tensor
    totals = [int(np.load(out / "traces" / f"counts_{k}.npy").astype(np.int64).sum()) for k in range(4)]
    assert n == 60 and [layer["input_events"] for layer in metrics["profile"]["layers"]] == totals
    assert [int(r["input_events"]) for r in csv_rows(out / "layers.csv")] == totals
    per_inference = [t / n for t in totals]
    for layers in (json.loads((out / "hardware.json").read_text())["layers"], metrics["hardware"]["layers"]):
        assert [layer["input_events_per_inference"] for layer in layers] == pytest.approx(per_inference,
                                                                                          rel=1e-12)
        assert not any("input_events" in layer for layer in layers)
    got = [float(r["input_events_per_inference"]) for r in csv_rows(out / "hardware_layers.csv")]
    assert got == pytest.approx(per_inference, rel=1e-12)


def test_accuracy_reads_as_a_percentage_where_a_person_reads_it(run_dir):
    out, stdout = run_dir
    metrics = json.loads((out / "metrics.json").read_text())
    acc = f"{100 * metrics['test_accuracy']:.2f}%"
    assert f"test accuracy {acc}" in stdout
    shown = spiketune("show", str(out), cwd=out.parent)
    assert "test accuracy (%)" in shown and acc in shown
    for name in NAMES:  # the run's layer table uses the same names
        assert name in stdout


def test_trace_layer_names_are_validated_and_older_folders_keep_kind_names(run_dir, tmp_path):
    import shutil

    from spiketune import traces as tr
    from spiketune.errors import TraceError

    out, _ = run_dir
    folder = shutil.copytree(out / "traces", tmp_path / "traces")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [tr.read(folder).layer_name(i) for i in range(4)] == NAMES
    manifest["meta"]["layer_names"] = NAMES[:3]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TraceError, match=r"manifest.json: meta.layer_names must be a list of 4 strings"):
        tr.read(folder)
    del manifest["meta"]["layer_names"]  # a folder written before the names were recorded
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert [tr.read(folder).layer_name(i) for i in range(4)] == ["L0:conv", "L1:conv", "L2:fc", "L3:fc"]


@pytest.mark.parametrize("kept,fewer", [(None, 256), (300, 150)])
def test_large_traces_warn_offering_profile_trace_samples(tmp_path, kept, fewer):
    from spiketune.explore.run import TRACE_WARN_BYTES, warn_trace_size

    assert TRACE_WARN_BYTES == 100 * 2**20
    with (tmp_path / "bits_1.npy").open("wb") as f:
        f.truncate(TRACE_WARN_BYTES)  # exactly at the limit: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_trace_size(tmp_path, kept, 10_000)
    with (tmp_path / "counts_1.npy").open("wb") as f:
        f.truncate(20 * 2**20)
    message = (rf"holds 120 MB of spike traces \({kept or 10_000} samples' full spike bits\); "
               rf"--set profile.trace_samples={fewer} keeps the bits of {fewer} ")
    with pytest.warns(UserWarning, match=message):
        warn_trace_size(tmp_path, kept, 10_000)
