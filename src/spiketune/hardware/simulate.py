"""Turn spike traces into latency, FPS, power and FPS/W on the accelerator model."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ConfigError
from ..traces import LayerSpec, Traces
from .config import HardwareConfig
from .cycles import LayerCycles, conv_cycles, fc_cycles
from .power import layer_energy_j


def default_cores(layers: list[LayerSpec], hw: HardwareConfig) -> list[int]:
    """Cores per layer: the config's list, or one per conv output channel and ``fc_cores``."""
    if hw.cores is not None:
        return list(hw.cores)
    return [l.out_channels if l.kind == "conv" else min(hw.fc_cores, l.out_channels)
            for l in layers]


def check_memory(layers: list[LayerSpec], hw: HardwareConfig) -> None:
    """The network's weights must fit the device's block RAM."""
    bits = 0
    for l in layers:
        per = l.in_channels * l.kernel * l.kernel if l.kind == "conv" else l.in_channels
        bits += l.out_channels * per * (l.weight_bits or hw.weight_bits)
    capacity = hw.bram_count * hw.bram_kbits * 1024
    if bits > capacity:
        raise ConfigError(f"the network's weights need {bits / 8192:.0f} KiB but the device has "
                          f"{capacity / 8192:.0f} KiB of block RAM ({hw.bram_count} x {hw.bram_kbits} kbit)")


def layer_cycles(layer: LayerSpec, counts: np.ndarray, cores: int, hw: HardwareConfig) -> LayerCycles:
    """Cycles of one layer for its input events ``counts`` [N, T, C]."""
    if layer.kind == "conv":
        _, h, w = layer.in_shape
        _, oh, ow = layer.conv_shape
        return conv_cycles(counts, layer.out_channels, cores, h * w, oh * ow, layer.kernel,
                           hw.penc_chunks, hw.activation_cycles_per_neuron[layer.neuron],
                           hw.kernel_cycles_per_tap, hw.mode)
    in_ch = layer.in_shape[0] if len(layer.in_shape) == 3 else 1
    frame = math.prod(layer.in_shape[1:]) if len(layer.in_shape) == 3 else layer.in_shape[0]
    if counts.shape[-1] != in_ch:  # FC input from an FC layer: one frame of all neurons
        counts = counts.sum(-1, keepdims=True)
    return fc_cycles(counts, layer.out_channels, cores, in_ch, frame, hw.penc_chunks, hw.mode)


@dataclass
class LayerReport:
    name: str
    kind: str
    cores: int
    groups: int
    latency_cycles: float  # mean per sample
    compress_cycles: float
    accumulate_cycles: float
    activate_cycles: float
    other_cycles: float  # latency not covered by accumulate+activate (ECU-bound, control)
    core_utilisation: float  # mean fraction of cycles a core accumulates or sweeps
    input_events: float
    dropped_events: float
    energy_uj: float


@dataclass
class HardwareReport:
    mode: str
    pipeline: str
    clock_mhz: float
    num_samples: int
    latency_cycles: float  # mean per sample
    latency_us: float
    fps: float
    power_w: float
    energy_per_inference_uj: float
    fps_per_w: float
    total_cores: int
    layers: list[LayerReport] = field(default_factory=list)
    fixed_point: dict | None = None  # accuracy and per-layer mismatch of the fixed-point run
    input_max_count: int = 1  # most events per input pixel and step (the RTL's bitmap carries one)
    latency_cycles_per_sample: np.ndarray | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("latency_cycles_per_sample")
        return d


def simulate(traces: Traces, hw: HardwareConfig | None = None,
             cores: list[int] | None = None) -> HardwareReport:
    """Run the cycle model on every sample of ``traces``; ``cores`` overrides the allocation."""
    hw = hw or HardwareConfig()
    if cores is None:
        if hw.core_budget is not None:
            from .alloc import allocate

            cores = allocate(traces, hw, hw.core_budget).cores
        else:
            cores = default_cores(traces.layers, hw)
    check_memory(traces.layers, hw)
    if len(cores) != len(traces.layers) or any(c < 1 for c in cores):
        raise ConfigError(f"cores per layer {cores}: need {len(traces.layers)} counts >= 1, "
                          f"one per layer of the network")
    per_layer = [layer_cycles(l, traces.counts[i], cores[i], hw)
                 for i, l in enumerate(traces.layers)]
    lat = np.stack([c.latency for c in per_layer])  # [L, N]
    total = lat.sum(0)
    mean_total = float(total.mean())
    f = hw.clock_hz
    if hw.pipeline == "sequential":
        fps = f / mean_total
    else:
        fps = f / float(lat.mean(1).max())
    reports, dyn_j = [], 0.0
    for i, (l, c) in enumerate(zip(traces.layers, per_layer)):
        e = layer_energy_j(l, c, hw)
        dyn_j += e
        latency, end = float(c.latency.mean()), float(c.end.mean())
        active = l.out_channels / (c.groups * cores[i])  # last group may leave cores idle
        busy = float((c.accumulate + c.activate).mean())
        reports.append(LayerReport(
            name=f"L{i}:{l.kind}", kind=l.kind, cores=cores[i], groups=c.groups,
            latency_cycles=latency, compress_cycles=float(c.compress.mean()),
            accumulate_cycles=float(c.accumulate.mean()), activate_cycles=float(c.activate.mean()),
            other_cycles=max(0.0, end - busy), core_utilisation=active * busy / end,
            input_events=float(traces.counts[i].sum((1, 2)).mean()),
            dropped_events=float(c.dropped_events.mean()), energy_uj=e * 1e6))
    total_cores = int(sum(cores))
    static_w = hw.power.static_w + total_cores * hw.power.core_static_mw * 1e-3
    power = static_w + dyn_j * fps
    return HardwareReport(
        mode=hw.mode, pipeline=hw.pipeline, clock_mhz=hw.clock_mhz,
        num_samples=traces.num_samples, latency_cycles=mean_total,
        latency_us=mean_total / f * 1e6, fps=fps, power_w=power,
        energy_per_inference_uj=power / fps * 1e6, fps_per_w=fps / power,
        total_cores=total_cores, layers=reports, latency_cycles_per_sample=total,
        input_max_count=int(traces.meta.get("input_max_count", 1)))
