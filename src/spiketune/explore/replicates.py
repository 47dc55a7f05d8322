"""Replicates: the same configuration trained with several seeds, and their aggregation.

A sweep or search config names its replicates with ``seeds: [0, 1, 2]`` (the training seeds)
or ``replicates: N`` (seeds ``0 .. N-1``). Replicates of one configuration share the data
split (``data.split_seed``, fixed to the base's split seed) and differ only in ``train.seed``,
so a difference between replicates is training noise, never a different validation set.

:func:`summary_rows` aggregates a results table: one row per configuration with each metric's
mean (under the metric's own name, so plots and :func:`spiketune.schema.tuned_point` read it
as they read a single run), standard deviation, 95% t interval (``<metric>.sd``,
``<metric>.ci_low``, ``<metric>.ci_high``) and the number of finished replicates ``n``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spiketune import schema
from spiketune.errors import ConfigError
from spiketune.explore.stats import summarize
from spiketune.training import config as cfgmod

SEED = "train.seed"
SPLIT_SEED = "data.split_seed"
SECTIONS = tuple(cfgmod.RunConfig.model_fields)  # the config sections that prefix table columns


def parse_seeds(d: dict[str, Any], where: str) -> list[int] | None:
    """The training seeds a config's ``seeds`` or ``replicates`` key names (None when neither)."""
    if "seeds" in d and "replicates" in d:
        raise ConfigError(f"{where}: give either 'seeds' or 'replicates', not both")
    if "replicates" in d:
        n = d["replicates"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"{where}: 'replicates' must be a positive integer, got {n!r}")
        return list(range(n))
    if "seeds" not in d:
        return None
    return check_seeds(d["seeds"], where)


def check_seeds(seeds: Any, where: str) -> list[int]:
    """``seeds`` as a list of distinct training seeds; ConfigError naming ``where`` otherwise."""
    if not isinstance(seeds, list) or not seeds or not all(_is_seed(s) for s in seeds):
        raise ConfigError(f"{where}: 'seeds' must be a non-empty list of integers in 0..2^32-1, "
                          f"got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: 'seeds' repeats a seed: {seeds}")
    return list(seeds)


def _is_seed(s: Any) -> bool:
    return isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 2**32 - 1


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def replicate(cfg: cfgmod.RunConfig, seeds: list[int] | None) -> list[cfgmod.RunConfig]:
    """``cfg`` once per training seed, all with ``cfg``'s data split; ``[cfg]`` without seeds."""
    if seeds is None:
        return [cfg]
    split = cfg.train.seed if cfg.data.split_seed is None else cfg.data.split_seed
    return [cfgmod.with_overrides(cfg, {SEED: s, SPLIT_SEED: split}) for s in seeds]


def is_setting(column: str) -> bool:
    """Whether a results-table column is a config setting (``section.field``)."""
    section, dot, _ = column.partition(".")
    return bool(dot) and section in SECTIONS


def configuration(row: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The settings of a row that define its configuration: all but the training seed."""
    return tuple(sorted((k, v) for k, v in row.items() if is_setting(k) and k != SEED))


def group(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by configuration (first appearance order), each group sorted by seed."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(configuration(r), []).append(r)
    return [sorted(g, key=lambda r: r.get(SEED, 0)) for g in groups.values()]


def summary_rows(rows: list[dict[str, Any]], metrics: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """One row per configuration: its settings, ``n``, ``seeds`` and per metric the mean (under
    the metric's name), ``.sd``, ``.ci_low`` and ``.ci_high`` (95% t interval); metrics default
    to the schema's table metrics and the per-layer firing rates present."""
    if metrics is None:
        layers = dict.fromkeys(k for r in rows for k in r if k.startswith(schema.LAYER_RATE_PREFIX))
        metrics = tuple(m.name for m in schema.TABLE) + tuple(layers)
    out = []
    for g in group(rows):
        first = g[0]
        s: dict[str, Any] = {k: v for k, v in first.items() if is_setting(k) and k != SEED}
        s["n"] = len(g)
        s["seeds"] = " ".join(str(r.get(SEED)) for r in g)
        s["runs"] = " ".join(str(r.get("run")) for r in g)
        if "degenerate" in first or any("degenerate" in r for r in g):
            s["degenerate"] = sum(bool(r.get("degenerate")) for r in g)
        for name in metrics:
            values = [float(r[name]) for r in g if r.get(name) is not None]
            if not values:
                continue
            st = summarize(values)
            s[name], s[f"{name}.sd"], s[f"{name}.ci_low"], s[f"{name}.ci_high"] = \
                st.mean, st.sd, st.ci_low, st.ci_high
        out.append(s)
    return out


def replicated(rows: list[dict[str, Any]]) -> bool:
    """Whether some configuration of ``rows`` has more than one replicate."""
    return any(len(g) > 1 for g in group(rows))


def replicate_figures(grid_rows: list[tuple[dict[str, list], list[dict[str, Any]]]],
                      out_dir: str | Path) -> list[Path]:
    """For each (grid, its finished per-seed rows) with replicates: the metrics versus the
    grid's numeric setting with the most values, one line per value of its other settings,
    as means with 95% confidence intervals and per-seed dots (``grid<i>_replicates.png``)."""
    from spiketune.reporting.errorbars import replicate_curves

    made = []
    for i, (grid, rows) in enumerate(grid_rows):
        if not rows or not replicated(rows):
            continue
        numeric = [k for k, v in grid.items() if len(v) > 1 and all(_is_number(x) for x in v)]
        if not numeric:
            continue
        x = max(numeric, key=lambda k: len(grid[k]))
        series = [k for k, v in grid.items() if k != x and len(v) > 1]
        made.append(replicate_curves(summary_rows(rows), rows, Path(out_dir) / f"grid{i}_replicates.png",
                                     x, series, log_x=x == "model.slope"))
    return made
