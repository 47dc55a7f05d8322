"""The main job: train, profile, simulate the hardware, and write a results folder.

Results folder layout::

    config.yaml        the exact (resolved) configuration
    metrics.json       accuracy, sparsity profile, hardware figures, literature energy estimates, environment
    history.csv        one row per epoch
    layers.csv         per-layer sparsity table (counts: totals over the profiled test samples)
    model.pt           trained weights (state dict) and the config
    checkpoint.pt      last-epoch training state (resume)
    traces/            spike traces (see spiketune.traces)
    firing_rates.png   per-layer firing-rate bars
    hardware.json      latency, FPS, power, FPS/W and per-layer cycles, per inference (+ .csv, _cycles.png)
    training.png       loss / accuracy / firing rate / chi per epoch

Every file names a layer ``L<index>:<its arch tokens>``, as the profile does.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from spiketune import __version__, schema
from spiketune.hardware import CostReport
from spiketune.hardware.report import cost
from spiketune.measure.energy import accelerator_uj
from spiketune.measure.energy import from_run as energy_from_run
from spiketune.measure.neurobench import Counter as NeuroBenchCounter
from spiketune.measure.profile import layer_specs, run_profile
from spiketune.reporting.plots import firing_rates, hardware_cycles, training_curves
from spiketune.results import (
    FINISHED,
    folder_lock,
    mark_finished,
    save_torch,
    write_csv,
    write_json,
    write_text,
)
from spiketune.training import config as cfgmod
from spiketune.training import health
from spiketune.training.config import RunConfig
from spiketune.training.memory import check_memory
from spiketune.training.trainer import TrainingDiverged, build_model, evaluate, load_splits, train


def git_revision(path: Path) -> str | None:
    """Commit checked out in the git repository holding ``path``, if any.

    Read from ``.git/HEAD`` and the refs directly: git itself is never run, so no
    program a repository configures (hooks, ``core.fsmonitor``, filters) executes."""
    for folder in (path.resolve(), *path.resolve().parents):
        dot = folder / ".git"
        try:
            if dot.is_file():  # a worktree or submodule: "gitdir: <path>"
                text = dot.read_text().strip()
                if not text.startswith("gitdir:"):
                    return None
                dot = (folder / text[len("gitdir:"):].strip()).resolve()
            elif not dot.is_dir():
                continue
            return _resolve_head(dot)
        except (OSError, UnicodeDecodeError):
            return None
    return None


def _resolve_head(gitdir: Path) -> str | None:
    """The commit HEAD names in ``gitdir`` (loose refs, then packed-refs of the common dir)."""
    import re

    common = gitdir
    if (gitdir / "commondir").is_file():
        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
    head = (gitdir / "HEAD").read_text().strip()
    for _ in range(5):  # symbolic refs may chain
        if not head.startswith("ref:"):
            return head if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", head) else None
        ref = head[4:].strip()
        if ".." in ref.split("/") or not ref.startswith("refs/") and ref != "HEAD":
            return None
        for base in (gitdir, common):
            if (base / ref).is_file():
                head = (base / ref).read_text().strip()
                break
        else:
            packed = common / "packed-refs"
            lines = packed.read_text().splitlines() if packed.is_file() else []
            head = next((line.split()[0] for line in lines if line.endswith(" " + ref)), "")
    return None


def environment(config_dir: Path | None = None, device: str = "cpu") -> dict[str, str | None]:
    """Library versions, machine, device and the git revision of the config's folder."""
    import numpy
    import optuna

    return {"spiketune": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "optuna": optuna.__version__, "python": platform.python_version(),
            "machine": platform.machine(), "device": device, "threads": str(torch.get_num_threads()),
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
        hardware: BaseModel | None = None, config_dir: Path | None = None,
        on_epoch: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train, profile and cost ``cfg`` into ``out_dir``; returns the metrics dict.

    ``config_dir`` is where the config came from (its git revision is recorded);
    ``on_epoch`` goes to :func:`spiketune.training.trainer.train`."""
    cfg = cfg.resolved()
    splits = load_splits(cfg, progress)
    check_memory(cfg, splits[0].input_shape)
    build_model(cfg, splits[0].input_shape, splits[0].num_classes)  # fail before writing
    out = Path(out_dir)
    check_same_config(out, cfg)
    check_writable(out)
    with folder_lock(out):
        check_same_config(out, cfg)  # again, now that no one else writes here
        (out / FINISHED).unlink(missing_ok=True)
        metrics = _train_and_measure(cfg, out, progress, hardware, config_dir, on_epoch, splits)
        mark_finished(out)
    return metrics


def check_same_config(out: Path, cfg: RunConfig) -> None:
    """Refuse (before writing anything) a folder holding a run of another configuration,
    naming the keys that differ; a run may only be extended (more ``train.epochs``)."""
    import yaml

    from spiketune.errors import ConfigError
    from spiketune.training.resume import check_resumable

    saved = out / "config.yaml"
    if not saved.is_file():
        return
    try:
        old = yaml.safe_load(saved.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{saved} is unreadable ({type(e).__name__}); use another output folder") from None
    if not isinstance(old, dict):
        raise ConfigError(f"{saved} is not a configuration; use another output folder")
    check_resumable(old, yaml.safe_load(cfgmod.dump(cfg)), str(out))


def _train_and_measure(cfg: RunConfig, out: Path, progress: bool, hardware: BaseModel | None,
                       config_dir: Path | None, on_epoch: Callable[[int, float], None] | None,
                       splits: tuple) -> dict[str, Any]:
    write_text(out / "config.yaml", cfgmod.dump(cfg))
    try:
        result = train(cfg, out, progress=progress, data=splits, on_epoch=on_epoch)
    except TrainingDiverged as e:  # record why the run stopped, then report it
        write_json(out / "failed.json",
                   {"reason": str(e), "environment": environment(device=cfg.train.device)})
        raise
    result.model.cpu()  # profiled on the CPU whatever it trained on (traces are host arrays)
    save_torch(out / "model.pt", {"model": result.model.state_dict(), "config": cfg.to_dict()})
    neurobench = NeuroBenchCounter(result.model)
    num_steps, encoding = cfg.data.steps_and_encoding()
    prof = run_profile(result.model, splits[2], num_steps, encoding,
                       trace_dir=out / "traces", trace_samples=cfg.profile.trace_samples,
                       seed=cfg.train.seed, observe=neurobench.update,
                       hardware_input=cfg.profile.hardware_input)
    t = cfg.train
    test_accuracy = (prof.accuracy if t.accuracy_from == "all_steps" else
                     evaluate(result.model, splits[2], num_steps, encoding, seed=t.seed,
                              accuracy_from=t.accuracy_from))
    warn_trace_size(out / "traces", cfg.profile.trace_samples, prof.num_samples)
    history = [asdict(h) for h in result.history]
    chance = health.chance_accuracy(splits[2].y)
    ce_loss = history[result.best_epoch - 1]["loss"] if cfg.train.loss == "ce_count" else None
    degenerate = health.reasons([(layer.name, layer.firing_rate) for layer in prof.layers], prof.accuracy,
                                chance, prof.num_samples, ce_loss, splits[2].num_classes)
    metrics: dict[str, Any] = {
        schema.TEST_ACCURACY.name: test_accuracy, schema.BEST_VAL_ACCURACY.name: result.best_val_accuracy,
        "best_epoch": result.best_epoch,
        # which set's accuracy chose best_epoch ("test": the test set leaked into the choice),
        # and whether accuracies read all time steps' output or the first step's only
        "selected_on": t.select_on, "accuracy_from": t.accuracy_from,
        "test_accuracy_all_steps": prof.accuracy, schema.EPOCHS_RUN.name: len(history),
        "stopped_early": result.stopped_early, "profile": prof.to_dict(),
        schema.CHI.name: history[-1]["chi"], schema.PARAM_CHI.name: history[-1]["param_chi"],
        "surrogate_widths": history[-1]["layer_width"],
        schema.CHANCE_ACCURACY.name: chance, schema.DEGENERATE.name: bool(degenerate),
        "degenerate_reasons": degenerate,
        "timing": {"train_samples_per_s": result.samples_per_s},
        "environment": environment(config_dir, cfg.train.device)}
    layer_rows = [asdict(layer) for layer in prof.layers]
    metrics["hardware"] = cost_results(out, hardware, out_dir=out).to_dict()
    metrics["neurobench"] = asdict(neurobench.result(prof))
    metrics["energy"] = energy_from_run(layer_specs(result.model), metrics)
    write_csv(out / "history.csv", history)
    write_csv(out / "layers.csv", layer_rows)
    caption = f"{cfg.data.dataset}, T={cfg.data.num_steps}, {len(history)} epochs, {cfg.model.arch}"
    firing_rates({"test set": [(layer.name, layer.firing_rate) for layer in prof.layers]},
                 out / "firing_rates.png", title=f"Per-layer firing rate, test set\n{caption}")
    training_curves(history, out / "training.png", chance=chance, caption=caption)
    write_json(out / "metrics.json", metrics)
    return metrics


TRACE_WARN_BYTES = 100 * 2**20  # traces larger than this get a warning offering profile.trace_samples


def warn_trace_size(trace_dir: Path, trace_samples: int | None, num_samples: int) -> None:
    """Warn when a run's spike traces exceed TRACE_WARN_BYTES, naming profile.trace_samples."""
    import warnings

    size = sum(f.stat().st_size for f in trace_dir.rglob("*") if f.is_file())
    if size > TRACE_WARN_BYTES:
        kept = trace_samples if trace_samples is not None else num_samples
        fewer = min(256, max(1, kept // 2))
        warnings.warn(f"{trace_dir} holds {size / 2**20:,.0f} MB of spike traces ({kept} samples' full "
                      f"spike bits); --set profile.trace_samples={fewer} keeps the bits of {fewer} samples "
                      f"only (the counts of every sample are kept)", stacklevel=2)


def cost_results(folder: str | Path, hardware: Any = None, cores: list[int] | None = None,
                 fixed_point: bool | None = None, out_dir: str | Path | None = None,
                 neuron_math: str = "trained", wiring: str = "as_built") -> CostReport:
    """Cost a results folder's traces (or a bare trace folder) on an accelerator (a validated
    hardware config, default: the default design); with ``out_dir`` write hardware.json,
    hardware_layers.csv and hardware_cycles.png there. ``neuron_math``/``wiring``: see
    :func:`spiketune.hardware.report.cost`."""
    folder = Path(folder)
    trace_dir = folder / "traces" if (folder / "traces").is_dir() else folder
    rep = cost(trace_dir, hardware, cores, out_dir=out_dir, fixed_point=fixed_point,
               neuron_math=neuron_math, wiring=wiring)
    if out_dir is not None:
        hardware_cycles([layer.to_dict() for layer in rep.layers], Path(out_dir) / "hardware_cycles.png",
                        title=f"Cycles per layer: {schema.LATENCY_CYCLES.show(rep.latency_cycles)}\n"
                              f"{rep.accelerator}, {rep.mode} mode, {rep.pipeline}, {rep.total_cores} cores")
    return rep


def refresh_cost(folder: str | Path, metrics: dict[str, Any], hardware: BaseModel) -> list[str]:
    """Re-cost a finished run (its folder and ``metrics``) whose cost report was made under another
    accelerator config than ``hardware`` in full (a default changed since, e.g. the power model: a
    run id leaves defaults out, so the run is still the same point): its hardware files, metrics
    and finished marker are rewritten from its traces, nothing is retrained. Returns the config
    keys that differed (empty: the stored cost is current or names no config, nothing written)."""
    folder = Path(folder)
    was = (metrics.get("hardware") or {}).get("config")
    if not was:
        return []
    now = json.loads(json.dumps(hardware.model_dump(mode="json")))
    changed = sorted(k for k in now.keys() | was.keys() if now.get(k) != was.get(k))
    if not changed:
        return []
    metrics["hardware"] = cost_results(folder, hardware, out_dir=folder).to_dict()
    if "energy" in metrics:
        metrics["energy"]["accelerator_modelled_uj"] = accelerator_uj(metrics["hardware"])
    write_json(folder / "metrics.json", metrics)
    mark_finished(folder)
    return changed


def load_model(results_dir: str | Path):
    """The trained network of a results folder (``model.pt`` + ``config.yaml``); the file
    is read as tensors and plain values only, so loading it runs no code."""
    from spiketune.errors import SpiketuneError

    path = Path(results_dir) / "model.pt"
    if path.is_dir() or not path.exists():
        raise SpiketuneError(f"{path} is missing: {results_dir} is not a trained run's results folder")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, foreign or code-carrying files
        raise SpiketuneError(f"cannot read {path}: {type(e).__name__}: {str(e).splitlines()[0]}") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("model"), dict)
            and isinstance(saved.get("config"), dict)):
        raise SpiketuneError(f"{path} is not a spiketune model file (needs 'model' and 'config' entries)")
    try:
        cfg = cfgmod.from_dict(saved["config"]).resolved()
    except SpiketuneError as e:
        raise SpiketuneError(f"{path}: config: {e}") from None
    ds = cfg.data.load("test")
    model = build_model(cfg, ds.input_shape, ds.num_classes)
    try:
        model.load_state_dict(saved["model"])
    except (RuntimeError, TypeError) as e:
        raise SpiketuneError(f"{path}: the weights do not fit {cfg.model.arch}: "
                             f"{str(e).splitlines()[0]}") from None
    return model, cfg
