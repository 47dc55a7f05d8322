"""The main job: train, profile, simulate the hardware, and write a results folder.

Results folder layout::

    config.yaml        the exact (resolved) configuration
    metrics.json       accuracy, sparsity profile, hardware figures, environment
    history.csv        one row per epoch
    layers.csv         per-layer sparsity (and hardware) table
    model.pt           trained weights (state dict) and the config
    checkpoint.pt      last-epoch training state (resume)
    traces/            spike traces (see spiketune.traces)
    firing_rates.png   per-layer firing-rate bars
    hardware.json      latency, FPS, power, FPS/W and per-layer cycles (+ .csv, _cycles.png)
    training.png       loss / accuracy / firing rate per epoch
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from spiketune import __version__, schema
from spiketune.hardware import CostReport, HardwareConfig
from spiketune.hardware.report import cost
from spiketune.measure.neurobench import Counter as NeuroBenchCounter
from spiketune.measure.profile import run_profile
from spiketune.reporting.plots import firing_rates, hardware_cycles, training_curves
from spiketune.results import write_csv, write_json, write_text
from spiketune.training import config as cfgmod
from spiketune.training.config import RunConfig
from spiketune.training.trainer import TrainingDiverged, build_model, load_splits, train


def git_revision(path: Path) -> str | None:
    """Git revision (with '+dirty') of the repository holding ``path``, if any."""
    import subprocess

    try:
        rev = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        if rev.returncode:
            return None
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment(config_dir: Path | None = None) -> dict[str, str | None]:
    """Library versions, machine, device and the git revision of the config's folder."""
    import numpy
    import optuna

    return {"spiketune": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "optuna": optuna.__version__, "python": platform.python_version(),
            "machine": platform.machine(), "device": "cpu", "threads": str(torch.get_num_threads()),
            "git_revision": git_revision(config_dir or Path.cwd())}


def check_writable(out: Path) -> None:
    """Fail before training when ``out`` cannot hold results (not a folder, read-only, full)."""
    from spiketune.errors import SpiketuneError

    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".spiketune-write-test"
        with open(probe, "wb") as f:
            f.write(b"\0" * 65536)  # a results folder needs at least this much
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as e:
        raise SpiketuneError(f"results directory {out} is not usable: {e.strerror or e}") from None


def run(cfg: RunConfig, out_dir: str | Path, progress: bool = True,
        hardware: HardwareConfig | None = None, config_dir: Path | None = None,
        on_epoch: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train, profile and cost ``cfg`` into ``out_dir``; returns the metrics dict.

    ``config_dir`` is where the config came from (its git revision is recorded);
    ``on_epoch`` goes to :func:`spiketune.training.trainer.train`."""
    cfg = cfg.resolved()
    splits = load_splits(cfg, progress)
    build_model(cfg, splits[0].input_shape, splits[0].num_classes)  # fail before writing
    out = Path(out_dir)
    check_writable(out)
    write_text(out / "config.yaml", cfgmod.dump(cfg))
    try:
        result = train(cfg, out, progress=progress, data=splits, on_epoch=on_epoch)
    except TrainingDiverged as e:  # record why the run stopped, then report it
        write_json(out / "failed.json", {"reason": str(e), "environment": environment()})
        raise
    torch.save({"model": result.model.state_dict(), "config": cfg.to_dict()}, out / "model.pt")
    neurobench = NeuroBenchCounter(result.model)
    prof = run_profile(result.model, splits[2], cfg.data.num_steps, cfg.data.encoding,
                       trace_dir=out / "traces", trace_samples=cfg.profile.trace_samples,
                       seed=cfg.train.seed, observe=neurobench.update)
    history = [asdict(h) for h in result.history]
    metrics: dict[str, Any] = {
        schema.TEST_ACCURACY.name: prof.accuracy, schema.BEST_VAL_ACCURACY.name: result.best_val_accuracy,
        "best_epoch": result.best_epoch, schema.EPOCHS_RUN.name: len(history),
        "stopped_early": result.stopped_early, "profile": prof.to_dict(),
        schema.CHI.name: history[-1]["chi"], schema.PARAM_CHI.name: history[-1]["param_chi"],
        "surrogate_widths": history[-1]["layer_width"],
        "environment": environment(config_dir)}
    layer_rows = [asdict(layer) for layer in prof.layers]
    metrics["hardware"] = cost_results(out, hardware)[0].to_dict()
    metrics["neurobench"] = asdict(neurobench.result(prof))
    write_csv(out / "history.csv", history)
    write_csv(out / "layers.csv", layer_rows)
    firing_rates({"test set": [(layer.name, layer.firing_rate) for layer in prof.layers]},
                 out / "firing_rates.png")
    training_curves(history, out / "training.png")
    write_json(out / "metrics.json", metrics)
    return metrics


def cost_results(folder: str | Path, hardware: Any = None, cores: list[int] | None = None,
                 fixed_point: bool | None = None) -> tuple[CostReport, Path | None]:
    """Cost a results folder's traces (or a bare trace folder) on an accelerator (a validated
    hardware config, default: the default design); in a results folder write hardware.json,
    hardware_layers.csv and hardware_cycles.png there. Returns the report and that folder."""
    folder = Path(folder)
    trace_dir = folder / "traces" if (folder / "traces").is_dir() else folder
    out = folder if trace_dir != folder else None
    rep = cost(trace_dir, hardware, cores, out_dir=out, fixed_point=fixed_point)
    if out is not None:
        hardware_cycles([layer.to_dict() for layer in rep.layers], out / "hardware_cycles.png",
                        title=f"Cycles per layer ({rep.accelerator}, {rep.mode} mode, "
                              f"{schema.LATENCY_CYCLES.show(rep.latency_cycles)})")
    return rep, out


def load_model(results_dir: str | Path):
    """The trained network of a results folder (``model.pt`` + ``config.yaml``)."""
    from spiketune.errors import SpiketuneError
    out = Path(results_dir)
    try:
        saved = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    except Exception as e:
        raise SpiketuneError(f"cannot read {out / 'model.pt'}: {type(e).__name__}: {e}") from None
    cfg = cfgmod.from_dict(saved["config"])
    ds = cfg.data.load("test")
    model = build_model(cfg, ds.input_shape, ds.num_classes)
    model.load_state_dict(saved["model"])
    return model, cfg
