"""One layer of the SNN-DSE design: its cores, its build parameters and its cycles."""

from __future__ import annotations

import math

import numpy as np

from ...errors import ConfigError
from ...traces import LayerSpec
from ..neuron_cost import update_cost
from .config import HardwareConfig
from .cycles import LayerCycles, conv_cycles, fc_cycles

MODELS = ("lif", "if", "lapicque", "cuba_lif", "li")  # neuron models the sparse cores run


def cycles_per_update(layer: LayerSpec, hw: HardwareConfig) -> int:
    """Core cycles of one neuron update: the config's number for the model, else its
    :func:`~..neuron_cost.update_cost` (one per state)."""
    model = layer.dynamics.model
    return hw.activation_cycles_per_neuron.get(model, update_cost(layer.dynamics).cycles)


def buildable(layer: LayerSpec, cores: int) -> bool:
    """The RTL addresses a core's channels/neurons as ``phase*E + core``: E must divide them."""
    return layer.out_channels % cores == 0


def largest_divisor(n: int, at_most: int) -> int:
    return max(d for d in range(1, min(n, at_most) + 1) if n % d == 0)


def default_cores(layers: list[LayerSpec], hw: HardwareConfig) -> list[int]:
    """Cores per layer: the config's list, or one per conv output channel and up to ``fc_cores``
    per FC layer (the largest count dividing its neurons unless ``core_counts: ideal``)."""
    if hw.cores is not None:
        return list(hw.cores)
    out = []
    for layer in layers:
        if layer.kind == "conv":
            out.append(layer.out_channels)
        elif hw.core_counts == "ideal":
            out.append(min(hw.fc_cores, layer.out_channels))
        else:
            out.append(largest_divisor(layer.out_channels, hw.fc_cores))
    return out


def check_memory(layers: list[LayerSpec], hw: HardwareConfig) -> None:
    """The network's weights must fit the device's block RAM."""
    bits = 0
    for layer in layers:
        per = layer.in_channels * layer.kernel * layer.kernel if layer.kind == "conv" else layer.in_channels
        bits += layer.out_channels * per * (layer.weight_bits or hw.weight_bits)
    capacity = hw.bram_count * hw.bram_kbits * 1024
    if bits > capacity:
        raise ConfigError(f"the network's weights need {bits / 8192:.0f} KiB but the device has "
                          f"{capacity / 8192:.0f} KiB of block RAM ({hw.bram_count} x {hw.bram_kbits} kbit)")


def fc_input(layer: LayerSpec) -> tuple[int, int]:
    """(INPUT_CHANNELS, INPUT_FRAME_SIZE) of an FC layer."""
    if len(layer.in_shape) == 3:
        return layer.in_shape[0], math.prod(layer.in_shape[1:])
    return 1, layer.in_shape[0]


def layer_cycles(layer: LayerSpec, counts: np.ndarray, cores: int, hw: HardwareConfig) -> LayerCycles:
    """Cycles of one layer for its input events ``counts`` [N, T, C]."""
    if layer.kind == "conv":
        _, h, w = layer.in_shape
        _, oh, ow = layer.conv_shape
        penc, bits = hw.conv_build(h * w)
        return conv_cycles(counts, layer.out_channels, cores, h * w, oh * ow, layer.kernel, penc, bits,
                           cycles_per_update(layer, hw), hw.kernel_cycles_per_tap, hw.mode)
    in_ch, frame = fc_input(layer)
    if counts.shape[-1] != in_ch:  # FC input from an FC layer: one frame of all neurons
        counts = counts.sum(-1, keepdims=True)
    return fc_cycles(counts, layer.out_channels, cores, in_ch, frame, hw.fc_penc(in_ch * frame), hw.mode,
                     cycles_per_update(layer, hw))
