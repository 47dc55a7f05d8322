"""The ``spiketune`` command line."""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import typer
import yaml

from spiketune import schema
from spiketune.data.registry import SPECS as DATASETS
from spiketune.errors import SpiketuneError
from spiketune.training import config as cfgmod

app = typer.Typer(add_completion=False, no_args_is_help=False,
                  help="Train SNNs, profile their sparsity and cost them on an event-driven accelerator.")


HW_SHOWN = (schema.LATENCY_CYCLES, schema.FPS, schema.POWER_W, schema.FPS_PER_W)  # printed per run
# predict --target: the directed metrics of the schema. mypy reads only literal Enum() members;
# typer needs the Enum class itself to offer the choices.
Target = Enum("Target", {m.name: m.name for m in schema.TABLE if m.direction}, type=str)  # type: ignore[misc]
Mode = Enum("Mode", {"ideal": "ideal", "rtl": "rtl"}, type=str)
Pipeline = Enum("Pipeline", {"sequential": "sequential", "layer_pipelined": "layer_pipelined"}, type=str)
NeuronMath = Enum("NeuronMath", {"trained": "trained", "hardware": "hardware"}, type=str)
Wiring = Enum("Wiring", {"as_built": "as_built", "intended": "intended"}, type=str)
FigureFormat = Enum("FigureFormat", {"pdf": "pdf", "svg": "svg"}, type=str)
FIGURE_FORMAT = typer.Option(None, "--format",
                             help="also write every figure in this vector format beside its PNG")
INCLUDE_DEGENERATE = typer.Option(False, "--include-degenerate",
                                  help="rank degenerate runs (silent layer, chance loss or accuracy) too")


def _version(value: bool) -> None:
    if value:
        from spiketune import __version__

        typer.echo(f"spiketune {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                              help="print the version and exit")) -> None:
    """Train SNNs, profile their sparsity and cost them on an event-driven accelerator."""
    warnings.formatwarning = lambda message, category, *_, **__: f"warning: {message}\n"


def _figure_format(fmt: Enum | None) -> None:
    if fmt:
        from spiketune.reporting.plots import set_vector_formats

        set_vector_formats([fmt.value])


def _guard(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; the tool's own errors become one clear line and exit code 2."""
    try:
        return fn()
    except SpiketuneError as e:
        typer.secho(f"error: {e}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    except OSError as e:  # a path given that cannot be read or written (read-only, a folder, ...)
        where = f"{e.filename}: " if e.filename else ""
        typer.secho(f"error: {where}{e.strerror or e}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


def _overrides(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise cfgmod.ConfigError(f"--set expects section.field=value, got '{item}'")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _seeds(text: str) -> list[int]:
    """``0,1,2`` -> [0, 1, 2]; a bad item is named."""
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise cfgmod.ConfigError(f"--seeds expects comma-separated integers, got '{text}'") from None


def make_config(config: Path | None, dataset: str | None, arch: str | None,
                epochs: int | None, sets: list[str], data_root: Path | None = None) -> cfgmod.RunConfig:
    cfg = cfgmod.load(config) if config else cfgmod.RunConfig()
    ov = _overrides(sets)
    if dataset:
        ov["data.dataset"] = dataset
    if data_root:
        ov["data.root"] = str(data_root)
    if arch:
        ov["model.arch"] = arch
    if epochs:
        ov["train.epochs"] = epochs
    return cfgmod.with_overrides(cfg, ov).resolved() if ov else cfg.resolved()


def default_out(cfg: cfgmod.RunConfig) -> Path:
    digest = hashlib.sha1(json.dumps(cfgmod.identity(cfg), sort_keys=True).encode()).hexdigest()[:8]
    return Path("results") / f"{cfg.data.dataset}-{digest}"


@app.command()
def run(config: Path | None = typer.Option(None, "--config", "-c", help="YAML run config"),
        dataset: str | None = typer.Option(None, help=" | ".join(DATASETS)),
        data_root: Path | None = typer.Option(None, help="folder holding the dataset (data.root)"),
        arch: str | None = typer.Option(None, help="e.g. 32C3-P2-32C3-MP2-256-10"),
        epochs: int | None = typer.Option(None, help="training epochs"),
        set_: list[str] = typer.Option([], "--set", help="override, e.g. model.beta=0.9"),
        out: Path | None = typer.Option(None, "--out", "-o", help="results folder"),
        seeds: str | None = typer.Option(None, help="replicates, e.g. 0,1,2: one folder OUT/seed-<s> "
                                            "per training seed, all on the same data split"),
        progress: bool = typer.Option(True,
                                      help="show progress (a bar on a terminal, else a line per epoch)"),
        fmt: FigureFormat | None = FIGURE_FORMAT) -> None:
    """Train, profile and cost one network (default: digits) into a results folder.

    Re-running the same command resumes from the folder's last checkpoint; a larger
    --epochs (train.epochs) extends a finished or interrupted run."""
    from spiketune.explore.run import run as run_job

    def go() -> None:
        _figure_format(fmt)
        cfg = make_config(config, dataset, arch, epochs, set_, data_root)
        if seeds is not None:
            return run_replicates(cfg, out or default_out(cfg), _seeds(seeds), progress)
        folder = out or default_out(cfg)
        typer.echo(f"results folder: {folder}")
        try:
            m = run_job(cfg, folder, progress=progress,
                        config_dir=config.resolve().parent if config else None)
        except KeyboardInterrupt:
            typer.echo("interrupted; re-run the same command to resume", err=True)
            raise typer.Exit(130) from None
        typer.echo(f"test accuracy {schema.TEST_ACCURACY.show(m['test_accuracy'])}  "
                   f"firing rate {schema.FIRING_RATE.show(schema.FIRING_RATE.read(m))}  "
                   f"synops/sample {m['profile']['synops'] / m['profile']['num_samples']:.3g}")
        typer.echo(f"  per layer, totals over the {m['profile']['num_samples']} test samples:")
        for layer in m["profile"]["layers"]:
            typer.echo(f"  {layer['name']:<24} rate {100 * layer['firing_rate']:6.2f}%  "
                       f"spikes {layer['spikes']:>10}  synops {layer['synops']:>12}")
        if "hardware" in m:
            typer.echo("hardware: " + ", ".join(x.show(x.read(m)) for x in HW_SHOWN))
        for reason in m.get("degenerate_reasons", []):
            typer.secho(f"degenerate: {reason} (left out of rankings)", fg=typer.colors.YELLOW)
        typer.echo(f"results: {folder}")

    _guard(go)


def run_replicates(cfg: cfgmod.RunConfig, out: Path, seeds: list[int], progress: bool) -> None:
    """One run per seed into ``out/seed-<s>`` (finished ones are kept), then mean and 95% CI."""
    from spiketune.explore.replicates import parse_seeds, replicate
    from spiketune.explore.run import run as run_job
    from spiketune.explore.stats import summarize
    from spiketune.explore.sweep import finished_run

    results = []
    for rep in replicate(cfg, parse_seeds({"seeds": seeds}, "--seeds")):
        folder = out / f"seed-{rep.train.seed}"
        done = finished_run(folder)
        results.append(done[1] if done is not None else run_job(rep, folder, progress=progress))
        typer.echo(f"results: {folder}")
    for m in (schema.TEST_ACCURACY, schema.FIRING_RATE, *HW_SHOWN):
        st = summarize([m.read(r) for r in results if m.read(r) is not None])
        if st.n:
            typer.echo(f"{m.label}: mean {m.show(st.mean)}, 95% CI {m.show(st.ci_low)} to "
                       f"{m.show(st.ci_high)} (n={st.n})")


@app.command()
def export(results: Path = typer.Argument(..., help="results folder of a trained network"),
           target: Path = typer.Argument(..., help="NIR file to write, e.g. model.nir")) -> None:
    """Write a trained network as a NIR graph (HDF5)."""
    from spiketune.explore.run import load_model
    from spiketune.interop import nir_io

    def go() -> None:
        model, _ = load_model(results)
        nir_io.write(model, target)
        typer.echo(f"wrote {target} ({model.arch})")

    _guard(go)


def _is_trained_run(folder: Path) -> bool:
    """Whether ``folder`` holds a trained run (its costing belongs to its metrics.json)."""
    return (folder / "model.pt").is_file() or (folder / "metrics.json").is_file()


@app.command()
def hw(results: Path = typer.Argument(..., help="results folder (or a trace folder); with --model, "
                                                 "where to write the model's traces"),
       out: Path | None = typer.Option(None, "--out", "-o", help="folder to write hardware.json, "
                                          "hardware_layers.csv and hardware_cycles.png to"),
       tag: str | None = typer.Option(None, help="write them to RESULTS/hw/TAG instead"),
       model: Path | None = typer.Option(None, help="a NIR model to cost instead of a trained run"),
       dataset: str = typer.Option("digits", help="dataset to run a --model on"),
       data_root: Path | None = typer.Option(None, help="folder holding that dataset"),
       num_steps: int | None = typer.Option(None, min=1, help="time steps to run a --model for "
                                               "(default: the dataset's)"),
       reset: str | None = typer.Option(None, help="reset of a --model's neurons (NIR has none)"),
       hw_config: Path | None = typer.Option(None, "--hw-config", help="hardware YAML"),
       accelerator: str | None = typer.Option(None, help="design to cost on: snn_dse | hybrid "
                                                  "(default: the YAML's kind, else snn_dse)"),
       mode: Mode | None = typer.Option(None, help="cycle model (default: the YAML's, else ideal)"),
       pipeline: Pipeline | None = typer.Option(None, help="layer schedule (default: the YAML's, "
                                                   "else sequential)"),
       cores: str | None = typer.Option(None, help="cores per layer, e.g. 16,32,50,10"),
       budget: int | None = typer.Option(None, help="allocate this many cores across layers"),
       clock_mhz: float | None = typer.Option(None, help="clock frequency (MHz)"),
       fixed_point: bool | None = typer.Option(
           None, "--fixed-point/--float", help="events from the bit-exact fixed-point run "
           "(default: when trained with quantised weights)"),
       neuron_math: NeuronMath = typer.Option(
           NeuronMath.trained, "--neuron-math", help="spikes to cost: the trained network's, or "
           "those of the ISPASS build's own neuron arithmetic (re-run on the traced test samples)"),
       wiring: Wiring = typer.Option(
           Wiring.as_built, "--wiring",
           help="with --neuron-math hardware: weight files and FC spike index as built or intended")) -> None:
    """Cost a trained network's spike traces on the accelerator model.

    Prints the costing; writes it where --out or --tag names (with --model: into RESULTS),
    never over a trained run's own traces or costing."""
    from spiketune.explore.run import cost_results
    from spiketune.hardware import build
    from spiketune.hardware.as_built import hardware_math_lines
    from spiketune.hardware.config import HardwareConfig, parse_cores, with_flags
    from spiketune.hardware.config import load as load_hw
    from spiketune.interop.nir_profile import profile_nir
    from spiketune.results import check_name, folder_lock

    def go() -> None:
        cfg = with_flags(load_hw(hw_config), kind=accelerator, mode=mode and mode.value,
                         pipeline=pipeline and pipeline.value,
                         core_budget=budget, clock_mhz=clock_mhz)
        core_list = parse_cores(cores)
        if out is not None and tag is not None:
            raise cfgmod.ConfigError("give --out or --tag, not both")
        dest = results / "hw" / check_name(tag, "--tag") if tag is not None else out
        if dest is None and model is not None:
            dest = results  # the --model's own folder
        model_results = results if model is not None else None
        for folder, what in ((dest, "--out"), (model_results, "RESULTS with --model")):
            if folder is not None and _is_trained_run(folder):
                raise cfgmod.ConfigError(f"{what} {folder} is a trained run's results folder; its traces "
                                         f"and costing are kept (use --tag or another folder)")
        if model is not None:
            with folder_lock(results):
                net, prof = profile_nir(model, dataset, num_steps, results, reset, data_root)
            typer.echo(f"{model} -> {net.arch}: accuracy {100 * prof.accuracy:.2f}% on {dataset}, "
                       f"firing rate {100 * prof.firing_rate:.2f}%")
        if dest is None:
            rep = cost_results(results, cfg, core_list, fixed_point, neuron_math=neuron_math.value,
                               wiring=wiring.value)
        else:
            with folder_lock(dest):
                rep = cost_results(results, cfg, core_list, fixed_point, out_dir=dest,
                                   neuron_math=neuron_math.value, wiring=wiring.value)
        cols = build(cfg).table(rep)
        name_w = max(len("layer"), *(len(layer.name) for layer in rep.layers)) + 2
        typer.echo(f"{'layer':<{name_w}}{'unit':<13}" + "".join(f"{h:>11}" for h, _, _ in cols))
        for layer in rep.layers:
            row = layer.to_dict()
            typer.echo(f"{layer.name:<{name_w}}{layer.unit:<13}"
                       + "".join(f"{row[k]:>11{f}}" for _, k, f in cols))
        figures = {"hardware": rep.to_dict()}
        typer.echo(f"latency {schema.LATENCY_CYCLES.show(rep.latency_cycles)} = "
                   f"{schema.LATENCY_US.show(rep.latency_us)} at {rep.clock_mhz:g} MHz | "
                   + " | ".join(x.show(x.read(figures)) for x in HW_SHOWN[1:])
                   + f" | {rep.total_cores} cores ({rep.accelerator}, {rep.mode}, {rep.pipeline})")
        if rep.resources:
            typer.echo(f"resources: {rep.resources['fit']}")
            for note in rep.resources.get("estimates", []):
                typer.echo(f"  estimated: {note}")
        if rep.power_model:
            pm = rep.power_model
            typer.echo(f"power ({pm['model']} model" + (f", {pm['device']} static" if "device" in pm else "")
                       + "): " + ", ".join(f"{k.removesuffix('_w')} {pm[k]:.4g} W"
                                           for k in ("static_w", "clock_w", "dynamic_w") if k in pm))
            if "note" in pm:
                typer.echo(f"  note: {pm['note']}")
        for w in rep.warnings:
            typer.echo(f"warning: {w}")
        if rep.fixed_point and isinstance(cfg, HardwareConfig):  # the fixed-point run's format
            q_int = cfg.membrane_bits - cfg.membrane_frac_bits
            typer.echo(f"fixed point ({cfg.weight_bits}-bit weights, Q{q_int}.{cfg.membrane_frac_bits} "
                       f"membrane): accuracy "
                       f"{100 * rep.fixed_point['accuracy']:.2f}%, spike mismatch per layer "
                       + ", ".join(f"{m['name']} {100 * m['mismatch_rate']:.4f}%"
                                   for m in rep.fixed_point["layers"]))
        if rep.neuron_math:
            typer.echo(hardware_math_lines(rep.neuron_math))
        if rep.input_max_count > 1:
            typer.echo(f"note: the input frames hold up to {rep.input_max_count} events per pixel and step; "
                       f"the accelerator's input bitmap carries one (train with data.binary_frames: true "
                       f"to match)")
        if dest is not None:
            typer.echo(f"wrote {dest / 'hardware.json'}, hardware_layers.csv, hardware_cycles.png")

    _guard(go)


@app.command()
def sweep(config_file: Path = typer.Argument(..., metavar="CONFIG", help="sweep YAML"),
          out: Path = typer.Option(Path("results/sweep"), "--out", "-o"),
          yes: bool = typer.Option(False, "--yes", "-y", help="run a grid of any size without asking"),
          storage: str | None = typer.Option(None, help="DB URL shared by workers; default sqlite in --out"),
          study: str = typer.Option("sweep", help="study name (shared by workers)"),
          heartbeat: int = typer.Option(60, help="seconds between worker heartbeats"),
          grace: int = typer.Option(180, help="seconds without heartbeat before a trial fails"),
          progress: bool = typer.Option(True),
          fmt: FigureFormat | None = FIGURE_FORMAT) -> None:
    """Run a grid sweep; re-running resumes (finished points are kept, failed ones retried).
    Run the same command on many workers with --storage: each point runs once.

    Exits with 1 when points failed and none finished."""
    from spiketune.explore.show import format_table, sort_rows
    from spiketune.explore.sweep import CONFIRM_ABOVE, SweepConfig, point_errors, run_sweep

    def go() -> None:
        _figure_format(fmt)
        sc = SweepConfig.load(config_file)
        n = len(sc.points())
        if n > CONFIRM_ABOVE and not yes:
            if not sys.stdin.isatty():
                raise cfgmod.ConfigError(f"the sweep has {n} points (more than {CONFIRM_ABOVE}); "
                                         f"pass --yes to run them all")
            typer.confirm(f"run all {n} points of the sweep?", abort=True)
        rows = run_sweep(sc, out, progress=progress, storage=storage, study_name=study, heartbeat=heartbeat,
                         grace=grace)
        failed = point_errors(sc, out)
        typer.echo(f"{len(rows)} of {n} points finished -> {out / 'results.csv'}")
        if rows:
            typer.echo(format_table(sort_rows(rows, schema.TEST_ACCURACY.name)))
        if failed:
            rid, message = failed[0]
            typer.secho(f"{len(failed)} point(s) failed; first: runs/{rid}: {message} "
                        f"(each point's error is in runs/<id>/error.txt)", err=True, fg=typer.colors.RED)
            if not rows:
                raise typer.Exit(1)

    _guard(go)


@app.command()
def search(config_file: Path = typer.Argument(..., metavar="CONFIG", help="search YAML"),
           out: Path = typer.Option(Path("results/search"), "--out", "-o"),
           trials: int = typer.Option(40, help="completed trials the study should hold"),
           study: str = typer.Option("spiketune", help="study name (shared by workers)"),
           storage: str | None = typer.Option(None, help="DB URL; default sqlite in --out"),
           seed: int | None = typer.Option(None),
           heartbeat: int = typer.Option(60, help="seconds between worker heartbeats"),
           grace: int = typer.Option(180, help="seconds without heartbeat before a trial fails"),
           progress: bool = typer.Option(True),
           include_degenerate: bool = INCLUDE_DEGENERATE,
           fmt: FigureFormat | None = FIGURE_FORMAT) -> None:
    """Multi-objective Optuna search; run the same command on many machines with --storage."""
    from spiketune.explore.search import SearchConfig, run_search, summary, write_pareto

    def go() -> None:
        _figure_format(fmt)
        sc = SearchConfig.load(config_file)
        st = run_search(sc, out, trials, study, storage, seed, heartbeat, grace, progress)
        front = write_pareto(st, out, include_degenerate)
        typer.echo(f"study '{study}': {summary(st)}; {len(front)} Pareto-optimal -> {out / 'pareto.csv'}")
        shown = (schema.TEST_ACCURACY, schema.FIRING_RATE, schema.LATENCY_CYCLES, schema.FPS_PER_W)
        for r in front:
            typer.echo(f"  trial {r['trial']}: " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items() if k in sc.space)
                + "  |  " + ", ".join(m.show(r.get(m.name)) for m in shown))

    _guard(go)


@app.command()
def predict(results: Path = typer.Argument(..., help="sweep, search or reproduction folder"),
            target: Target = typer.Option(schema.LATENCY_CYCLES.name,
                                          help="the metric (a column of results.csv) to predict"),
            with_rate: bool = typer.Option(False, help="also use the measured firing rate"),
            include_degenerate: bool = INCLUDE_DEGENERATE) -> None:
    """Fit a hardware-cost predictor on finished runs; print its cross-validated error."""
    from spiketune.explore.predict import fit
    from spiketune.explore.sweep import collect

    def go() -> None:
        found = [r for pattern in ("runs/*/", "trials/*/", "studies/*/trials/*/")
                 for r in collect(results, pattern)]
        if not found:
            raise cfgmod.ConfigError(f"no finished runs under {results} "
                                     f"(runs/, trials/ or studies/*/trials/)")
        rows = schema.ranked(found, include_degenerate)
        if not rows:
            raise cfgmod.ConfigError(f"all {len(found)} runs under {results} are degenerate; "
                                     f"--include-degenerate fits them anyway")
        p = fit(rows, target.value, with_rate)
        left = f", {len(found) - len(rows)} degenerate left out" if len(found) > len(rows) else ""
        typer.echo(f"{target.value} from {p.n_runs} runs{left}, {p.method}: "
                   f"cross-validated MAE {p.cv_mae:.4g} "
                   f"({100 * p.cv_mape:.1f}% MAPE) vs {p.baseline_mae:.4g} predicting the mean ("
                   + ", ".join(f"{m} {e:.4g}" for m, e in p.cv_mae_by_method.items()) + ")")
        for k, v in p.importances.items():
            typer.echo(f"  {k:<32} importance {v:.4g}")

    _guard(go)


@app.command()
def energy(results: list[Path] = typer.Argument(..., help="run, sweep or search folders"),
           out: Path | None = typer.Option(None, help="write energy.csv and energy.json here")) -> None:
    """Energy per inference of every run under each literature estimator and the accelerator
    model, and their rank agreement (Spearman)."""
    from spiketune.explore import energy_table as et

    def go() -> None:
        table = et.build(results)
        typer.echo(et.format_table(table))
        if out:
            typer.echo(f"wrote {et.write(table, out)}")

    _guard(go)


@app.command()
def report(results: Path = typer.Argument(..., help="run, sweep, search or reproduction folder"),
           include_degenerate: bool = INCLUDE_DEGENERATE,
           fmt: FigureFormat | None = FIGURE_FORMAT) -> None:
    """Write report.html (self-contained) and report.md for a results folder."""
    from spiketune.reporting.report import build

    def go() -> None:
        _figure_format(fmt)
        h, m = build(results, include_degenerate)
        typer.echo(f"wrote {h} and {m}")

    _guard(go)


@app.command()
def reproduce(name: str = typer.Argument(..., help="surrogate-slope | surrogates-neurons"),
              dataset: str = typer.Option("digits", help="digits | fashion-mnist | ..."),
              quick: bool = typer.Option(False, help="laptop-sized version (minutes)"),
              data_root: Path | None = typer.Option(None, help="folder holding the dataset"),
              set_: list[str] = typer.Option([], "--set", help="over the preset's base, e.g. train.epochs=4"),
              out: Path | None = typer.Option(None, "--out", "-o"),
              seeds: str = typer.Option("0,1,2", help="replicates: training seeds (Study B: study "
                                        "seeds), e.g. 0,1,2,3,4; more seeds later add only the new ones"),
              protocol: str = typer.Option("corrected", help="corrected (sound method) | as-run (the "
                                           "authors' scripts; docs/experiments.md, protocol table)"),
              trials: int | None = typer.Option(None, min=1, help="surrogates-neurons: Optuna trials per "
                                                "configuration (default: the plan's)"),
              progress: bool = typer.Option(True)) -> None:
    """Run a study's experiment plan and write its report with the findings tested."""
    from spiketune.explore.reproduce import reproduce as run_preset

    def go() -> None:
        html, findings = run_preset(name, dataset, quick, out, progress, data_root, _overrides(set_),
                                    _seeds(seeds), protocol, trials)
        for f in findings:
            typer.echo(f"[{f['verdict']}] {f['finding']}: {f['measured']} "
                       f"(n={f['n']}, {f['test']}, seeds needed {f['seeds_needed']})")
        typer.echo(f"report: {html}")

    _guard(go)


data_app = typer.Typer(help="Datasets: what is there and where.")
app.add_typer(data_app, name="data")


@data_app.command("info")
def data_info(name: str = typer.Argument(..., help=" | ".join(DATASETS)),
              root: Path | None = typer.Option(None, "--data-root", help="dataset folder (data.root)"),
              num_steps: int | None = typer.Option(None, min=1,
                                                   help="time bins of event frames (default: the dataset's)"),
              downsample: int | None = typer.Option(None, help="spatial factor of event frames")) -> None:
    """Shape, classes, split sizes, storage and frame cache of a dataset (nothing is downloaded)."""
    from spiketune.data.registry import describe

    _guard(lambda: typer.echo("\n".join(describe(name, root, num_steps, downsample))))


@data_app.command("show")
def data_show(name: str = typer.Argument(..., help="dataset name"),
              out: Path = typer.Option(Path("samples.png"), "--out", "-o", help="PNG to write"),
              root: Path | None = typer.Option(None, "--data-root", help="dataset folder (data.root)"),
              split: str = typer.Option("test", help="train | test"),
              samples: int = typer.Option(4, min=1, max=32, help="how many samples (the first of the split)"),
              num_steps: int | None = typer.Option(None, min=1, help="time bins of event frames"),
              set_: list[str] = typer.Option([], "--set",
                                             help="framing, e.g. data.denoise_us=10000")) -> None:
    """Plot the first samples of a split as the network sees them (event frames over time)."""
    from spiketune.reporting.plots import dataset_samples

    def go() -> None:
        steps = [f"data.num_steps={num_steps}"] if num_steps else []
        ds = make_config(None, name, None, None, [*set_, *steps], root).data.load(split, progress=True)
        k = min(samples, len(ds))
        dataset_samples(ds.x[:k].numpy(), ds.y[:k].tolist(), out,
                        f"{ds.name} {split}: first {k} of {len(ds)}", ds.frames)
        typer.echo(f"wrote {out}")

    _guard(go)


@app.command()
def config(dataset: str = typer.Option("digits", help=" | ".join(DATASETS)),
           hardware: bool = typer.Option(False, "--hardware", help="print the default hardware YAML "
                                         "(for hw --hw-config and a sweep's or search's hardware:)")) -> None:
    """Print the default run configuration (YAML) to start a config file from."""
    def go() -> None:
        if hardware:
            from spiketune.hardware.config import from_dict as hw_from_dict

            typer.echo(yaml.safe_dump(hw_from_dict({}).model_dump(), sort_keys=False).rstrip())
        else:
            typer.echo(cfgmod.dump(cfgmod.from_dict({"data": {"dataset": dataset}}).resolved()))

    _guard(go)


def _show(path: Path, sort: str, reverse: bool) -> None:
    from spiketune.explore.show import format_table, rows_of, sort_rows

    rows = rows_of(path)
    typer.echo(format_table(sort_rows(rows, sort, reverse)))
    bad = sum(schema.is_degenerate(r) for r in rows)
    if bad:
        typer.echo(f"{bad} of {len(rows)} runs degenerate (left out of rankings, fronts and tuned points)")


@app.command()
def show(path: Path = typer.Argument(..., help="run, sweep, search or reproduction folder"),
         sort: str = typer.Option(schema.TEST_ACCURACY.name, help="a metric (best first: "
                                  + ", ".join(m.name for m in schema.TABLE if m.direction)
                                  + ") or a setting, e.g. model.beta (ascending)"),
         reverse: bool = typer.Option(False, help="reverse the order")) -> None:
    """A table of the runs in PATH: the knobs that vary, accuracy, firing rate, latency, FPS/W,
    and whether each is degenerate."""
    _guard(lambda: _show(path, sort, reverse))


@app.command("ls", hidden=True)
def ls(path: Path = typer.Argument(...), sort: str = typer.Option(schema.TEST_ACCURACY.name),
       reverse: bool = typer.Option(False)) -> None:
    """Same as show."""
    _guard(lambda: _show(path, sort, reverse))


def main() -> None:  # pragma: no cover
    sys.exit(app())
