"""Degenerate runs: a network with a layer that never fires, or whose test accuracy is not
above chance. A difference between such runs says nothing about training choices, so a
finding that involves one is never given a verdict (see :mod:`spiketune.explore.findings`).

A run's ``metrics.json`` may carry the flag itself (``degenerate``); otherwise it is computed
from the per-layer firing rates and the accuracy: *at chance* means a one-sided exact binomial
test cannot tell the correct count from ``1 / classes`` guessing at the 5% level.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scipy import stats

from spiketune import schema

CHANCE_LEVEL = 0.05  # significance of "above chance"


def silent_layers(metrics: dict[str, Any]) -> list[str]:
    """Names of the layers that never fired on the test set."""
    return [layer["name"] for layer in metrics.get("profile", {}).get("layers", [])
            if float(layer.get("firing_rate", 0.0)) == 0.0]


def at_chance(accuracy: float, num_samples: int, num_classes: int) -> bool:
    """Whether ``accuracy`` on ``num_samples`` is within noise of guessing among ``num_classes``."""
    if num_samples < 1:
        return True
    correct = round(accuracy * num_samples)
    return float(stats.binom.sf(correct - 1, num_samples, 1 / num_classes)) > CHANCE_LEVEL


def degenerate(metrics: dict[str, Any], num_classes: int) -> bool:
    """The run's own ``degenerate`` flag when its metrics hold one, else computed."""
    if isinstance(metrics.get("degenerate"), bool):
        return metrics["degenerate"]
    acc = schema.TEST_ACCURACY.read(metrics)
    n = int(metrics.get("profile", {}).get("num_samples", 0))
    return bool(silent_layers(metrics)) or acc is None or at_chance(float(acc), n, num_classes)


def run_degenerate(row: dict[str, Any], folder: Path) -> bool:
    """Whether the results-table ``row`` of the run in ``folder`` is degenerate (the row's flag
    when the table carries one, else from the folder's ``metrics.json``)."""
    if isinstance(row.get("degenerate"), bool):
        return row["degenerate"]
    from spiketune.data.registry import spec

    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    return degenerate(metrics, spec(row["data.dataset"]).num_classes)
