"""What every accelerator model provides: the :class:`Accelerator` protocol and its one
generic result, :class:`CostReport`.

An accelerator is built from its validated config section (a pydantic model with a
``kind`` field) and turns spike traces (:mod:`spiketune.traces`) into a CostReport.
Everything outside ``hardware/`` (run, sweep, search, report, cli, plots) reads only
CostReport; the designs are listed in :mod:`spiketune.hardware.registry`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel

from ..traces import Traces


@dataclass
class LayerCost:
    """One weight layer's mean cost per inference."""

    name: str
    kind: str  # conv | fc
    unit: str  # the design's unit that computes it, e.g. "sparse conv", "dense conv"
    cores: int  # parallel units serving the layer (neural cores, PE rows)
    latency_cycles: float
    input_events_per_inference: float  # events into the layer (the profile's input_events / samples)
    dropped_events: float  # input events the hardware scans but never applies (all passes)
    dropped_fraction: float  # dropped / (input events x passes over the input)
    # its share of the report's energy per inference, from the report's power model: the
    # layers' sum plus static power / FPS is energy_per_inference_uj
    energy_uj: float
    breakdown: dict[str, float] = field(default_factory=dict)  # cycles by activity (stacked figure)
    detail: dict[str, float] = field(default_factory=dict)  # the design's own per-layer numbers

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(d.pop("detail"))
        return d


@dataclass
class CostReport:
    """Generic cost of a network on one accelerator (means over the traced samples)."""

    accelerator: str  # registry name of the design
    mode: str
    pipeline: str  # which FPS figure ``fps`` is: sequential or layer_pipelined
    clock_mhz: float
    num_samples: int
    latency_cycles: float  # one inference, layer after layer
    latency_us: float
    fps: float
    fps_sequential: float
    fps_pipelined: float  # consecutive images overlap: f / slowest layer
    power_w: float
    energy_per_inference_uj: float
    fps_per_w: float
    total_cores: int
    layers: list[LayerCost] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # the config that produced it
    fixed_point: dict | None = None  # accuracy and per-layer mismatch of the fixed-point run
    neuron_math: dict | None = None  # the build's own arithmetic: accuracy, divergence, trained latency
    input_max_count: int = 1  # most events per input pixel and step (the RTL's bitmap carries one)
    # FPGA resources of the allocation (LUT, FF, BRAM, DSP), the device asked for and whether it
    # fits, the smallest catalogued device it fits; None where the design's resources are not modelled
    resources: dict[str, Any] | None = None
    power_model: dict[str, Any] = field(default_factory=dict)  # which power model, and its terms
    latency_cycles_per_sample: np.ndarray | None = None

    @property
    def dropped_events(self) -> float:
        return sum(layer.dropped_events for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("layers", "latency_cycles_per_sample")}
        d["layers"] = [layer.to_dict() for layer in self.layers]
        d["dropped_events"] = self.dropped_events
        return d


class Accelerator(Protocol):
    """A costed hardware design. ``Config`` is its YAML section's pydantic model."""

    Config: ClassVar[type[BaseModel]]
    config: BaseModel

    def __init__(self, config: Any) -> None:
        """Built from a validated ``Config``."""
        ...

    def cost(self, traces: Traces, cores: list[int] | None = None) -> CostReport:
        """Cost every traced sample; ``cores`` overrides the per-layer allocation."""
        ...

    def table(self, report: CostReport) -> list[tuple[str, str, str]]:
        """Per-layer table columns: (header, LayerCost.to_dict() key, format spec)."""
        ...
