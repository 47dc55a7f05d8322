"""Results at a glance: the runs of a run, sweep, search or reproduction folder as one
table of the knobs that vary, with accuracy, firing rate, latency, FPS/W and the
degenerate flag, read through the results schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spiketune import schema
from spiketune.errors import ConfigError
from spiketune.explore.sweep import finished_run
from spiketune.explore.table import row

SHOWN = (schema.TEST_ACCURACY, schema.FIRING_RATE, schema.LATENCY_CYCLES, schema.FPS_PER_W, schema.DEGENERATE)
# run folders of each kind of results folder, relative to it
LAYOUTS = ("runs/*/", "trials/*/", "studies/*/trials/*/")
# knobs a single run shows (nothing varies in one run)
RUN_KNOBS = ("data.dataset", "model.arch", "model.neuron", "model.surrogate", "model.slope", "model.beta",
             "model.threshold", "train.epochs")
IGNORED = ("data.root",)  # settings that differ between machines, not between designs


def rows_of(folder: str | Path) -> list[dict[str, Any]]:
    """Table rows of every finished run in ``folder`` (a run folder, or a sweep, search or
    reproduction folder holding run folders), each with its path relative to ``folder``."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder")
    done = finished_run(root) if (root / "metrics.json").is_file() else None
    if done is not None:
        return [row(root.name, *done)]
    rows = []
    for pattern in LAYOUTS:
        for d in sorted(root.glob(pattern)):
            if (done := finished_run(d)) is not None:
                rows.append(row(d.relative_to(root).as_posix(), *done))
    if not rows:
        raise ConfigError(f"{root} holds no finished runs (metrics.json, or runs/, trials/ or "
                          f"studies/*/trials/ with finished runs)")
    return rows


def varied(rows: list[dict[str, Any]]) -> list[str]:
    """Config keys (``section.key``) whose values differ between rows; for one row, RUN_KNOBS."""
    if len(rows) == 1:
        return [k for k in RUN_KNOBS if k in rows[0]]
    keys = dict.fromkeys(k for r in rows for k in r
                         if "." in k and not k.startswith(schema.LAYER_RATE_PREFIX))
    return [k for k in keys if k not in IGNORED and len({json.dumps(r.get(k)) for r in rows}) > 1]


def sort_rows(rows: list[dict[str, Any]], by: str, reverse: bool = False) -> list[dict[str, Any]]:
    """Rows sorted best first by a metric of the schema (its direction), or ascending by a
    knob; ``reverse`` flips it; missing values last."""
    if by in schema.METRICS:
        best_first = schema.METRICS[by].direction == "max"
    elif rows and not any(by in r for r in rows):
        raise ConfigError(f"cannot sort by '{by}': not a metric ({', '.join(m.name for m in SHOWN)}, ...) "
                          f"nor a setting of these runs")
    else:
        best_first = False
    have = [r for r in rows if r.get(by) not in (None, "")]
    have.sort(key=lambda r: _sortable(r[by]), reverse=best_first != reverse)
    return have + [r for r in rows if r.get(by) in (None, "")]


def _sortable(v: Any) -> tuple[int, Any]:
    return (0, float(v)) if isinstance(v, (int, float)) else (1, str(v))


def format_table(rows: list[dict[str, Any]], knobs: list[str] | None = None) -> str:
    """An aligned text table: run, the knobs, the SHOWN metrics (accuracy as %)."""
    knobs = varied(rows) if knobs is None else knobs
    heads = ["run", *knobs, *(m.axis_label for m in SHOWN)]
    body = [[str(r["run"]), *(_knob(r.get(k)) for k in knobs),
             *(m.show(r.get(m.name)).removesuffix(f" {m.unit}") for m in SHOWN)] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) if i <= len(knobs) else h.rjust(w)
                       for i, (h, w) in enumerate(zip(heads, widths, strict=True)))]
    lines += ["  ".join(c.ljust(w) if i <= len(knobs) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(b, widths, strict=True))) for b in body]
    return "\n".join(lines)


def _knob(v: Any) -> str:
    return "" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
