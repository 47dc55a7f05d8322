"""The results schema: the name, unit, display and direction of every metric a person or a
program reads from a results folder (``metrics.json``, ``results.csv``, ``trials.csv``),
and the one rule that picks a sweep's tuned point from them.

Everything that writes, reads, plots, reports or optimises a metric takes its facts from
here. Base floor: imports nothing from spiketune but its errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from spiketune.errors import ConfigError

Direction = Literal["max", "min"]


@dataclass(frozen=True)
class Metric:
    """One metric: where ``metrics.json`` holds it and how to show and rank it."""

    name: str  # its key in tables (results.csv, trials.csv) and in metrics.json
    source: tuple[str, ...]  # its path in metrics.json, e.g. ("hardware", "latency_cycles")
    label: str  # what it is, in words
    unit: str  # unit of the stored value ("fraction": 0..1)
    direction: Direction | None  # which way is better; None: neither
    fmt: str  # format spec of the displayed value
    percent: bool = False  # a fraction shown as a percentage

    @property
    def axis_label(self) -> str:
        """Axis or column heading with the displayed unit, e.g. 'latency (cycles/inference)'."""
        return f"{self.label} ({'%' if self.percent else self.unit})"

    def scaled(self, value: float) -> float:
        """The value as displayed (a percentage for fractions shown as percent)."""
        return 100 * value if self.percent else value

    def show(self, value: float | None) -> str:
        """The value with its unit, e.g. '97.25%' or '1,234 cycles/inference'."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        text = f"{self.scaled(value):{self.fmt}}"
        return text + "%" if self.percent else f"{text} {self.unit}"

    def read(self, metrics: dict[str, Any]) -> Any:
        """The value in a run's metrics dict, None when absent."""
        node: Any = metrics
        for key in self.source:
            node = node.get(key) if isinstance(node, dict) else None
        return node


TEST_ACCURACY = Metric("test_accuracy", ("test_accuracy",), "test accuracy", "fraction", "max", ".2f", True)
BEST_VAL_ACCURACY = Metric("best_val_accuracy", ("best_val_accuracy",), "best validation accuracy",
                           "fraction", "max", ".2f", True)
FIRING_RATE = Metric("firing_rate", ("profile", "firing_rate"), "firing rate", "fraction", "min", ".2f", True)
SYNOPS = Metric("synops", ("profile", "synops"), "synaptic operations", "ops/test set", "min", ".4g")
EPOCHS_RUN = Metric("epochs_run", ("epochs_run",), "epochs run", "epochs", None, "d")
CHI = Metric("chi", ("chi",), "neuron chi", "fraction", "max", ".3f")
PARAM_CHI = Metric("param_chi", ("param_chi",), "parameter chi", "fraction", "max", ".3f")
LATENCY_CYCLES = Metric("latency_cycles", ("hardware", "latency_cycles"), "latency", "cycles/inference",
                        "min", ",.0f")
LATENCY_US = Metric("latency_us", ("hardware", "latency_us"), "latency", "us/inference", "min", ",.2f")
FPS = Metric("fps", ("hardware", "fps"), "throughput", "FPS", "max", ",.1f")
POWER_W = Metric("power_w", ("hardware", "power_w"), "power", "W", "min", ".3f")
FPS_PER_W = Metric("fps_per_w", ("hardware", "fps_per_w"), "efficiency", "FPS/W", "max", ",.1f")
ENERGY_UJ = Metric("energy_per_inference_uj", ("hardware", "energy_per_inference_uj"),
                   "energy per inference", "uJ", "min", ".4g")
TOTAL_CORES = Metric("total_cores", ("hardware", "total_cores"), "accelerator cores", "cores", None, "d")
# the accuracy of always answering the test set's most frequent class
CHANCE_ACCURACY = Metric("chance_accuracy", ("chance_accuracy",), "chance accuracy", "fraction", None,
                         ".2f", True)
# a silent layer, a loss at ln(classes) or chance accuracy (spiketune.training.health); its
# reasons are in metrics.json's "degenerate_reasons"
DEGENERATE = Metric("degenerate", ("degenerate",), "degenerate", "yes/no", None, "")

METRICS: dict[str, Metric] = {m.name: m for m in (
    TEST_ACCURACY, BEST_VAL_ACCURACY, FIRING_RATE, SYNOPS, EPOCHS_RUN, CHI, PARAM_CHI, LATENCY_CYCLES,
    LATENCY_US, FPS, POWER_W, FPS_PER_W, ENERGY_UJ, TOTAL_CORES, CHANCE_ACCURACY, DEGENERATE)}

# the metric columns of a results table (results.csv), in column order
TABLE = (TEST_ACCURACY, FIRING_RATE, SYNOPS, EPOCHS_RUN, CHI, PARAM_CHI, LATENCY_CYCLES, LATENCY_US, FPS,
         POWER_W, FPS_PER_W, TOTAL_CORES, CHANCE_ACCURACY, DEGENERATE)
# the metric columns a search keeps per trial (trials.csv), in column order
TRIAL = (LATENCY_CYCLES, FPS, POWER_W, FPS_PER_W, TEST_ACCURACY, FIRING_RATE, CHANCE_ACCURACY, DEGENERATE)
# the per-layer firing rate columns of a results table: LAYER_RATE_PREFIX + layer name
LAYER_RATE_PREFIX = "rate."


def metric(name: str) -> Metric:
    """The metric called ``name``; ConfigError listing the known ones otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise ConfigError(f"unknown metric '{name}'; known: {', '.join(METRICS)}") from None


def is_degenerate(row: dict[str, Any]) -> bool:
    """Whether a results row (or metrics dict) is flagged degenerate (CSV text 'True' too)."""
    value = row.get(DEGENERATE.name)
    return value is True or str(value).lower() == "true"


def ranked(rows: list[dict[str, Any]], include_degenerate: bool = False) -> list[dict[str, Any]]:
    """The rows rankings consider: all with ``include_degenerate``, else the non-degenerate."""
    return list(rows) if include_degenerate else [r for r in rows if not is_degenerate(r)]


TUNED_MAX_DROP = 0.03  # accuracy (fraction) a tuned point may give up against the best


def tuned_point(rows: list[dict[str, Any]], cost: Metric = LATENCY_CYCLES,
                max_drop: float = TUNED_MAX_DROP,
                include_degenerate: bool = False) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(best-accuracy row, tuned row): the tuned row is the one with the best ``cost`` (in the
    cost's direction) among the rows within ``max_drop`` test accuracy of the best. Rows
    without the cost, and degenerate rows unless ``include_degenerate``, are left out; ties
    go to the earlier row; None when no row is left."""
    rows = [r for r in ranked(rows, include_degenerate) if r.get(cost.name) is not None]
    if not rows:
        return None
    acc = TEST_ACCURACY.name
    best = max(rows, key=lambda r: r[acc])
    near = [r for r in rows if r[acc] >= best[acc] - max_drop]
    pick = min if cost.direction == "min" else max
    return best, pick(near, key=lambda r: r[cost.name])
