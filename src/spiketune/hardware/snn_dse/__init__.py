"""The SNN-DSE design: sparse, event-driven conv and FC units (``conv_ec.sv``, ``fc_ec.sv``)."""

from __future__ import annotations

from ...traces import Traces
from ..base import CostReport
from .config import HardwareConfig
from .simulate import simulate

TABLE = [("cores", "cores", "d"), ("groups", "groups", "d"), ("cycles", "latency_cycles", ".0f"),
         ("accum", "accumulate_cycles", ".0f"), ("sweep", "activate_cycles", ".0f"),
         ("scan/ctl", "other_cycles", ".0f"), ("util", "core_utilisation", ".1%"),
         ("events/inf", "input_events_per_inference", ".1f"), ("dropped", "dropped_fraction", ".1%")]


class SnnDse:
    """Every layer on the sparse event-driven cores."""

    Config = HardwareConfig

    def __init__(self, config: HardwareConfig) -> None:
        self.config = config

    def cost(self, traces: Traces, cores: list[int] | None = None) -> CostReport:
        return simulate(traces, self.config, cores)

    def table(self, report: CostReport) -> list[tuple[str, str, str]]:
        return TABLE
