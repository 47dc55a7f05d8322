"""The ``spiketune`` command line."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
import yaml

from . import config as cfgmod
from .errors import SpiketuneError

app = typer.Typer(add_completion=False, no_args_is_help=False,
                  help="Train SNNs, profile their sparsity and cost them on an event-driven accelerator.")


def _guard(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; the tool's own errors become one clear line and exit code 2."""
    try:
        return fn()
    except SpiketuneError as e:
        typer.secho(f"error: {e}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


def _overrides(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise cfgmod.ConfigError(f"--set expects section.field=value, got '{item}'")
        out[key.strip()] = yaml.safe_load(value)
    return out


def make_config(config: Optional[Path], dataset: Optional[str], arch: Optional[str],
                epochs: Optional[int], sets: list[str]) -> cfgmod.RunConfig:
    cfg = cfgmod.load(config) if config else cfgmod.RunConfig()
    ov = _overrides(sets)
    if dataset:
        ov["data.dataset"] = dataset
    if arch:
        ov["model.arch"] = arch
    if epochs:
        ov["train.epochs"] = epochs
    return cfgmod.with_overrides(cfg, ov).resolved() if ov else cfg.resolved()


def default_out(cfg: cfgmod.RunConfig) -> Path:
    digest = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    return Path("results") / f"{cfg.data.dataset}-{digest}"


@app.command()
def run(config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML run config"),
        dataset: Optional[str] = typer.Option(None, help="digits | fashion-mnist"),
        arch: Optional[str] = typer.Option(None, help="e.g. 32C3-P2-32C3-MP2-256-10"),
        epochs: Optional[int] = typer.Option(None, help="training epochs"),
        set_: list[str] = typer.Option([], "--set", help="override, e.g. model.beta=0.9"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="results folder"),
        progress: bool = typer.Option(True, help="show a progress bar")) -> None:
    """Train, profile and cost one network (default: digits) into a results folder.

    Re-running the same command resumes from the folder's last checkpoint."""
    from .run import run as run_job

    def go() -> None:
        cfg = make_config(config, dataset, arch, epochs, set_)
        folder = out or default_out(cfg)
        m = run_job(cfg, folder, progress=progress)
        typer.echo(f"results: {folder}")
        typer.echo(f"test accuracy {100 * m['test_accuracy']:.2f}%  "
                   f"firing rate {100 * m['profile']['firing_rate']:.2f}%  "
                   f"synops/sample {m['profile']['synops'] / m['profile']['num_samples']:.3g}")
        for l in m["profile"]["layers"]:
            typer.echo(f"  {l['name']:<24} rate {100 * l['firing_rate']:6.2f}%  "
                       f"spikes {l['spikes']:>10}  synops {l['synops']:>12}")
        if "hardware" in m:
            h = m["hardware"]
            typer.echo(f"hardware: {h['latency_cycles']:.0f} cycles/sample, {h['fps']:.1f} FPS, "
                       f"{h['power_w']:.3f} W, {h['fps_per_w']:.1f} FPS/W")

    _guard(go)


@app.command()
def config(dataset: str = typer.Option("digits")) -> None:
    """Print the default configuration (YAML) to start a config file from."""
    _guard(lambda: typer.echo(cfgmod.dump(cfgmod.from_dict({"data": {"dataset": dataset}}).resolved())))


def main() -> None:  # pragma: no cover
    sys.exit(app())
