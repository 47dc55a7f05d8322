"""The tidy results table of an exploration: one row per run, every knob a column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spiketune import schema
from spiketune.results import write_csv, write_json


def flatten(cfg: dict[str, Any]) -> dict[str, Any]:
    """{'model': {'beta': 0.5}} -> {'model.beta': 0.5}; lists/dicts as JSON text."""
    out = {}
    for section, fields in cfg.items():
        for k, v in fields.items():
            out[f"{section}.{k}"] = json.dumps(v) if isinstance(v, (list, dict)) else v
    return out


def row(run_id: str, cfg: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """One table row from a run's resolved config and metrics: the config's settings, the
    schema's table metrics and each layer's firing rate."""
    r: dict[str, Any] = {"run": run_id, **flatten(cfg)}
    r.update({m.name: m.read(metrics) for m in schema.TABLE})
    for layer in metrics.get("profile", {}).get("layers", []):
        r[schema.LAYER_RATE_PREFIX + layer["name"]] = layer["firing_rate"]
    return r


def write_table(out_dir: str | Path, rows: list[dict[str, Any]], name: str = "results") -> Path:
    """Write ``name``.csv and ``name``.json atomically."""
    out = Path(out_dir)
    write_json(out / f"{name}.json", rows)
    return write_csv(out / f"{name}.csv", rows)
