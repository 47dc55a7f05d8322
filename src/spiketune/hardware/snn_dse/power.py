"""Power models of a cost report (``power.model`` of the config).

``resources`` (default): ``P = P_static(device) + scale * (P_clock + E_dyn * FPS)`` from the
allocation's FPGA resources (:mod:`..resources`) and the cycles the cycle model keeps them
busy: a layer's cores (with their potential RAMs and weights) in its accumulate and sweep
cycles, its event-control unit (with its spike RAM) in its scan cycles.

``operations``: ``P = P_static + P_core * cores + E_dyn * FPS``. Dynamic energy per
inference and layer: ``accumulate_pj`` per synaptic accumulate
(an input event reaches K*K taps of every output channel (conv) or every neuron (FC)),
``update_pj[model]`` per neuron update (every output neuron, every sweep; a model not
listed costs ``update_pj["lif"]`` per state variable), and
``ecu_cycle_pj`` per event-control scan cycle. All coefficients are assumptions to be
calibrated against measured (FPS, W) points with :func:`calibrate`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ...traces import LayerSpec
from ..base import LayerCost
from ..resources import (
    Activity,
    AllocationResources,
    Device,
    PowerCoefficients,
    busy_energy_j,
    clock_energy_j,
    power,
)
from .config import HardwareConfig
from .cycles import LayerCycles


def layer_energy_j(layer: LayerSpec, c: LayerCycles, hw: HardwareConfig) -> float:
    """Mean dynamic energy (J) of one inference in ``layer``."""
    p = hw.power
    # per group, every replay cycle drives that group's cores; over all groups every
    # output channel (neuron) is reached once per event tap, and swept once per sweep
    per_group = layer.out_channels / c.groups
    accumulates = float(c.accumulate.mean()) * per_group
    frame = math.prod(layer.conv_shape[1:]) if layer.kind == "conv" else 1
    updates = float(c.activations.mean()) * per_group * frame
    model = layer.dynamics.model  # a model the config does not price: LIF's energy per state
    update_pj = p.update_pj.get(model, p.update_pj.get("lif", 3.0) * layer.dynamics.states)
    return 1e-12 * (accumulates * p.accumulate_pj + updates * update_pj
                    + float(c.compress.mean()) * p.ecu_cycle_pj)


def resource_power(alloc: AllocationResources, costs: list[LayerCost], fps: float, hw: HardwareConfig,
                   device: Device) -> dict:
    """Power of the allocation ``alloc`` on ``device`` at ``fps`` inferences per second, each
    layer's blocks busy in the mean cycles of its LayerCost. ``dynamic_energy_j`` is the
    clock and dynamic energy per inference before ``dynamic_scale``: :func:`calibrate`'s input.
    ``layer_energy_j``: per layer and inference, its blocks' dynamic energy plus its
    flip-flops' clock energy over the inference (the first layer's include the input spike
    RAM's), times ``dynamic_scale``; their sum plus ``static_w / fps`` is ``power_w / fps``."""
    p = hw.power
    k = PowerCoefficients(p.lut_pj, p.ff_pj, p.bram_pj, p.dsp_pj, p.clock_ff_pj)
    d = device if p.device_static_w is None else replace(device, static_w=p.device_static_w)
    latency = hw.clock_hz / fps
    layer_blocks, layer_ff = [], []
    for i, (lr, c) in enumerate(zip(alloc.layers, costs, strict=True)):
        layer_blocks.append([Activity(lr.cores + lr.potential_rams + lr.weights,
                                      c.detail["accumulate_cycles"] + c.detail["activate_cycles"]),
                             Activity(lr.event_control + lr.spike_ram, c.detail["compress_cycles"])])
        layer_ff.append(lr.total.ff + (alloc.input_ram.ff if i == 0 else 0.0))
    blocks = [b for bs in layer_blocks for b in bs]
    out: dict = power(alloc.total, blocks, latency, hw.clock_hz, d, k, p.dynamic_scale)
    unscaled = power(alloc.total, blocks, latency, hw.clock_hz, d, k)
    out["dynamic_energy_j"] = (unscaled["clock_w"] + unscaled["dynamic_w"]) / fps
    out["layer_energy_j"] = [
        p.dynamic_scale * (sum(busy_energy_j(b, k) for b in bs) + clock_energy_j(ff, latency, k))
        for bs, ff in zip(layer_blocks, layer_ff, strict=True)]
    return out


def calibrate(dynamic_energy_j: list[float], fps: list[float], watts: list[float]) -> tuple[float, float]:
    """Fit ``W = static + scale * E_dyn * FPS`` to measurements; returns (static_w, scale).

    Resources model: ``E_dyn`` is the cost report's ``power["dynamic_energy_j"]``; set
    ``power.dynamic_scale`` to ``scale`` and ``power.device_static_w`` to ``static_w``.
    Operations model: multiply the config's per-operation energies by ``scale`` and set
    ``static_w`` (less the per-core static power) to match the measured platform.
    """
    x = np.asarray(dynamic_energy_j) * np.asarray(fps)
    a = np.stack([np.ones_like(x), x], 1)
    (static, scale), *_ = np.linalg.lstsq(a, np.asarray(watts, float), rcond=None)
    return float(static), float(scale)
