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

import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from . import __version__, config as cfgmod
from .config import RunConfig
from .hardware import HardwareConfig
from .hardware.report import cost
from .metrics import compute as neurobench_metrics
from .plots import firing_rates, training_curves
from .profile import run_profile
from .results import write_csv, write_json, write_text
from .train import build_model, load_splits, train


def environment() -> dict[str, str]:
    import numpy

    return {"spiketune": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "device": "cpu"}


def run(cfg: RunConfig, out_dir: str | Path, progress: bool = True,
        hardware: HardwareConfig | None = None) -> dict[str, Any]:
    """Train, profile and cost ``cfg`` into ``out_dir``; returns the metrics dict."""
    cfg = cfg.resolved()
    splits = load_splits(cfg)
    build_model(cfg, splits[0].input_shape, splits[0].num_classes)  # fail before writing
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "config.yaml", cfgmod.dump(cfg))
    result = train(cfg, out, progress=progress, data=splits)
    torch.save({"model": result.model.state_dict(), "config": cfg.to_dict()}, out / "model.pt")
    prof = run_profile(result.model, splits[2], cfg.data.num_steps, cfg.data.encoding,
                       trace_dir=out / "traces", trace_samples=cfg.profile.trace_samples,
                       seed=cfg.train.seed)
    history = [asdict(h) for h in result.history]
    metrics: dict[str, Any] = {
        "test_accuracy": prof.accuracy, "best_val_accuracy": result.best_val_accuracy,
        "best_epoch": result.best_epoch, "epochs_run": len(history),
        "stopped_early": result.stopped_early, "profile": prof.to_dict(),
        "chi": history[-1]["chi"], "param_chi": history[-1]["param_chi"],
        "surrogate_widths": history[-1]["layer_width"],
        "environment": environment()}
    layer_rows = [asdict(l) for l in prof.layers]
    metrics["hardware"] = cost(out / "traces", hardware, out_dir=out).to_dict()
    metrics["neurobench"] = asdict(neurobench_metrics(result.model, splits[2], cfg.data.num_steps,
                                                      cfg.data.encoding, seed=cfg.train.seed))
    write_csv(out / "history.csv", history)
    write_csv(out / "layers.csv", layer_rows)
    firing_rates({"test set": [(l.name, l.firing_rate) for l in prof.layers]},
                 out / "firing_rates.png")
    training_curves(history, out / "training.png")
    write_json(out / "metrics.json", metrics)
    return metrics


def load_model(results_dir: str | Path):
    """The trained network of a results folder (``model.pt`` + ``config.yaml``)."""
    from .errors import SpiketuneError
    from .data import get_dataset

    out = Path(results_dir)
    try:
        saved = torch.load(out / "model.pt", map_location="cpu", weights_only=False)
    except Exception as e:
        raise SpiketuneError(f"cannot read {out / 'model.pt'}: {type(e).__name__}: {e}") from None
    cfg = cfgmod.from_dict(saved["config"])
    ds = get_dataset(cfg.data.dataset, "test", cfg.data.root)
    model = build_model(cfg, ds.input_shape, ds.num_classes)
    model.load_state_dict(saved["model"])
    return model, cfg
