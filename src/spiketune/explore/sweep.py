"""Grid sweeps with resume.

A sweep config (YAML)::

    base:            # a run config (see spiketune.training.config), shared by every point
      train: {epochs: 10}
    grids:           # each grid is a product of its lists; the sweep is their union
      - {model.surrogate: [fast_sigmoid, atan], model.slope: [2, 10, 25]}
      - {model.beta: [0.25, 0.5, 0.9], model.threshold: [0.5, 1.0, 1.5]}
    hardware: {}     # a hardware config for every point (spiketune.hardware.config)
    seeds: [0, 1, 2] # optional: every point once per training seed (or replicates: N)

Each point runs in ``OUT/runs/<id>`` where ``id`` hashes its resolved config, so
re-running the sweep skips finished points (finished marker present and whole), resumes
interrupted ones from their checkpoint and retries failed ones. ``OUT/results.csv``
and ``results.json`` hold one row per finished point and are rebuilt from the run
folders, so no row is ever duplicated or lost. With ``seeds`` every replicate is a point of
its own (replicates of a configuration share the data split, see
:mod:`spiketune.explore.replicates`), and ``results_summary.csv``/``.json`` aggregate them:
mean, standard deviation, 95% confidence interval and ``n`` per configuration.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from tqdm.auto import tqdm

from spiketune.errors import ConfigError, SpiketuneError
from spiketune.explore.figures import sweep_figures
from spiketune.explore.replicates import parse_seeds, replicate, replicate_figures, replicated, summary_rows
from spiketune.explore.table import row, write_table
from spiketune.hardware.config import from_dict as hw_from_dict
from spiketune.hardware.config import identity as hw_identity
from spiketune.results import folder_lock, is_finished, read_mapping, write_json, write_text
from spiketune.training import config as cfgmod


@dataclass
class SweepConfig:
    base: cfgmod.RunConfig
    grids: list[dict[str, list[Any]]]
    hardware: BaseModel  # a design's validated config (spiketune.hardware.config)
    seeds: list[int] | None = None  # training seeds of the replicates; None: one run per point

    @staticmethod
    def from_dict(d: dict[str, Any]) -> SweepConfig:
        unknown = set(d) - {"base", "grids", "grid", "hardware", "seeds", "replicates"}
        if unknown:
            raise ConfigError(f"unknown sweep keys {sorted(unknown)}; use base, grids, hardware, "
                              f"seeds or replicates")
        grids = d.get("grids") or ([d["grid"]] if "grid" in d else [])
        if not grids:
            raise ConfigError("a sweep needs 'grids' (a list of {setting: [values]})")
        for g in grids:
            if not isinstance(g, dict) or not all(isinstance(v, list) and v for v in g.values()):
                raise ConfigError(f"each grid maps settings to non-empty lists, got {g!r}")
        return SweepConfig(cfgmod.from_dict(d.get("base") or {}), grids,
                           hw_from_dict(d.get("hardware") or {}), parse_seeds(d, "sweep config"))

    @staticmethod
    def load(path: str | Path) -> SweepConfig:
        return SweepConfig.from_dict(read_mapping(path, "sweep config"))

    def grid_points(self, grid: dict[str, list[Any]]) -> list[cfgmod.RunConfig]:
        """Resolved run configs of one grid (each once per seed when the sweep has seeds)."""
        keys = list(grid)
        return [rep.resolved() for values in itertools.product(*grid.values())
                for rep in replicate(cfgmod.with_overrides(self.base, dict(zip(keys, values, strict=True))),
                                     self.seeds)]

    def points(self) -> list[cfgmod.RunConfig]:
        """Every distinct resolved run config of the sweep, in grid order."""
        seen, out = set(), []
        for grid in self.grids:
            for cfg in self.grid_points(grid):
                key = run_id(cfg, self.hardware)
                if key not in seen:
                    seen.add(key)
                    out.append(cfg)
        return out


def run_id(cfg: cfgmod.RunConfig, hw: BaseModel) -> str:
    blob = json.dumps({"run": cfgmod.identity(cfg), "hw": hw_identity(hw)}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def finished_run(folder: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(config, metrics) of a finished run folder; None when it is unfinished, or damaged
    (a warning names the file; a sweep then re-runs the point)."""
    if not is_finished(folder):
        return None
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        if not isinstance(metrics, dict):
            raise ValueError("not a mapping")
        return cfgmod.load(folder / "config.yaml").to_dict(), metrics
    except (OSError, ValueError) as e:  # SpiketuneError is a ValueError
        warnings.warn(f"{folder} is damaged ({type(e).__name__}: {e}); it is skipped, and re-run by a sweep",
                      stacklevel=2)
        return None


def collect(out_dir: str | Path, pattern: str = "runs/*/") -> list[dict[str, Any]]:
    """Rows of every finished run in the folders ``out_dir/pattern`` (sorted by path); a
    sweep's are under ``runs/``, a search's under ``trials/``, a Study B reproduction's
    under ``studies/*/trials/``."""
    rows = []
    for d in sorted(Path(out_dir).glob(pattern)):
        done = finished_run(d)
        if done is not None:
            rows.append(row(d.name, done[0], done[1]))
    return rows


def point_errors(sc: SweepConfig, out_dir: str | Path) -> list[tuple[str, str]]:
    """(run id, error message) of each point of the sweep whose last attempt failed: the
    last line of its ``error.txt`` (the exception, also when a traceback precedes it)."""
    found = []
    for cfg in sc.points():
        rid = run_id(cfg, sc.hardware)
        err = Path(out_dir) / "runs" / rid / "error.txt"
        if err.is_file():
            text = err.read_text(encoding="utf-8", errors="replace")
            lines = [ln for ln in text.splitlines() if ln.strip()]
            found.append((rid, lines[-1] if lines else "unknown error"))
    return found


CONFIRM_ABOVE = 64  # points; a larger grid runs only when confirmed (``--yes``)


def run_sweep(sc: SweepConfig, out_dir: str | Path, progress: bool = True) -> list[dict[str, Any]]:
    """Run every unfinished point; returns the table rows of all finished points. The sweep
    folder is locked while it runs: a second sweep on it gets an error naming the holder."""
    with folder_lock(out_dir):
        return _run_sweep(sc, Path(out_dir), progress)


def _run_sweep(sc: SweepConfig, out: Path, progress: bool) -> list[dict[str, Any]]:
    from spiketune.explore.run import run

    (out / "runs").mkdir(parents=True, exist_ok=True)
    write_text(out / "sweep.yaml", yaml.safe_dump(
        {"base": sc.base.to_dict(), "grids": sc.grids, "hardware": sc.hardware.model_dump(),
         **({"seeds": sc.seeds} if sc.seeds is not None else {})}, sort_keys=False))
    points = sc.points()
    bar = tqdm(points, desc="sweep", unit="run", disable=not progress)
    failures = 0
    for cfg in bar:
        rid = run_id(cfg, sc.hardware)
        folder = out / "runs" / rid
        if finished_run(folder) is not None:
            continue
        bar.set_postfix(run=rid)
        # the last attempt's error goes first: the finished marker lists the folder's files
        (folder / "error.txt").unlink(missing_ok=True)
        try:
            run(cfg, folder, progress=False, hardware=sc.hardware)
        except SpiketuneError as e:
            failures += 1
            folder.mkdir(parents=True, exist_ok=True)
            write_text(folder / "error.txt", f"{type(e).__name__}: {e}\n")
        except Exception:  # a failed point must not stop the sweep; it is retried next time
            failures += 1
            folder.mkdir(parents=True, exist_ok=True)
            write_text(folder / "error.txt", traceback.format_exc())
        rows = collect(out)
        write_table(out, rows)
    rows = collect(out)
    write_table(out, rows)
    write_table(out, summary_rows(rows), "results_summary")
    by_id = {r["run"]: r for r in rows}
    grid_rows = [(g, [by_id[i] for i in (run_id(c, sc.hardware) for c in sc.grid_points(g)) if i in by_id])
                 for g in sc.grids]
    if replicated(rows):  # figures of the means, and of every replicate with error bars
        sweep_figures([(g, summary_rows(r)) for g, r in grid_rows], out / "figures", sc.hardware)
        replicate_figures(grid_rows, out / "figures")
    else:
        sweep_figures(grid_rows, out / "figures", sc.hardware)
    write_json(out / "sweep_status.json", {"points": len(points), "finished": len(rows),
                                           "failed_this_time": failures})
    return rows
