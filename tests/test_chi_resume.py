"""Resume with the chi-adaptive surrogate: the adapted widths and the batch counter behind
them survive a SIGKILL, so the resumed run equals an uninterrupted one bit for bit."""

import csv
import json
import signal
import subprocess
import sys
import time

from spiketune.training.checkpoint import CHECKPOINT

# interval 8 does not divide the 21 batches per epoch, so width updates straddle epoch ends
CHI = ("--set", "chi.adaptive=true", "--set", "chi.interval=8", "--set", "chi.low=0.9",
       "--set", "chi.high=0.95", "--set", "model.surrogate=fast_sigmoid")


def _cli(out, epochs):
    return [sys.executable, "-m", "spiketune", "run", "--out", str(out), "--epochs", str(epochs),
            "--set", "data.num_steps=4", "--set", "train.patience=null", "--set", "data.batch_size=64",
            "--no-progress", *CHI]


def _history(folder):  # every column but wall-clock seconds
    with open(folder / "history.csv") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def test_chi_adaptive_resume_after_sigkill_is_bit_identical(tmp_path):
    ref = tmp_path / "ref"
    subprocess.run(_cli(ref, 4), check=True, capture_output=True)
    widths = [r["layer_width"] for r in _history(ref)]
    assert len(set(widths)) > 1, "the widths never adapted: the test would prove nothing"
    out = tmp_path / "killed"
    p = subprocess.Popen(_cli(out, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not (out / CHECKPOINT).exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert (out / CHECKPOINT).exists() and not (out / "metrics.json").exists(), "not interrupted mid-way"
    subprocess.run(_cli(out, 4), check=True, capture_output=True)
    assert _history(ref) == _history(out)
    a, b = (json.loads((f / "metrics.json").read_text()) for f in (ref, out))
    assert a["surrogate_widths"] == b["surrogate_widths"] and a["test_accuracy"] == b["test_accuracy"]
