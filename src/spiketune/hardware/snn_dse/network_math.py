"""A whole network through the ISPASS build's neural cores (SNN-DSE commit 1d52c17,
``Hardware/ispass_sim/``): every layer's output spikes per time step as that build computes
them, from integer weights, per-layer scales and the input spike bitmap (no torch).

* conv layers (3x3, padding 1, stride 1): one :func:`~.neuron_math.conv_core` per output
  map at the input's resolution, reading its weight file: ``Scripts/Functions.py``
  (``sparse_core_weights_and_biases``) writes a map's weights in reversed order
  (``flatten()[::-1]``) then its bias, and the core reads word ``ic*9 + tap``, so as built
  it applies ``W[C-1-ic, 2-i, 2-j]`` (channels reversed, kernel turned by 180 degrees); a
  pooled layer keeps, for output bit ``j``, the OR of the map's raster positions
  ``4j .. 4j+3`` (``top_wrapper.sv``: four consecutive positions, not a 2x2 window), read
  by the next layer as a (W/2)x(W/2) map;
* FC layers: ``E`` cores; the weight files put neurons ``c*S .. c*S+S-1`` (``S = O/E``) in
  core ``c``, each as its ``F`` weights followed by its bias (``F + 1`` words), while the
  core reads group ``k`` at words ``k*F + a`` and the bias at ``(k+1)*F``; the event unit
  runs groups ``0 .. S`` (one more than the layer has); the top level stores group ``k`` of
  core ``c`` at index ``k*E + c`` (``k + c`` in the last layer, later writes winning).

``wiring="as_built"`` is all of the above (``Scripts/Extract.py`` and ``Functions.py`` at
1d52c17 with ``top_wrapper.sv``); ``wiring="intended"`` writes conv weights in the order the
core reads them and lays FC neuron ``k*E + c`` out at ``k*F`` (the addressing the core
assumes), its spike stored at its own index. The cores' arithmetic is the same in both.

Assumed, not simulated: an FC layer reads the previous layer's maps channel after channel
(``fc_ec``'s concatenation), raster order inside each. Not modelled: the top level's cycle
bookkeeping of the stored FC spikes (the last layer's store is indexed by the compressor's
step counter and zeroed between activations), and the float32 rounding of the build's
``shortreal`` (computed in float64, as Icarus does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ...errors import ConfigError
from .neuron_math import CoreParams, conv_cores, fc_core

Wiring = Literal["as_built", "intended"]
WIRINGS = ("as_built", "intended")


@dataclass(frozen=True)
class HwLayer:
    """One weight layer as the build stores it: integer weights ``[O, C, 3, 3]`` (conv) or
    ``[O, F]`` (fc), integer biases ``[O]``, their scales; ``pool`` (conv: OR-pool the
    output), ``cores`` (fc: neural cores E, dividing O)."""

    kind: str
    weights: np.ndarray
    bias: np.ndarray
    w_scale: float
    b_scale: float
    pool: bool = False
    cores: int = 1

    def __post_init__(self) -> None:
        if self.kind == "conv" and self.weights.shape[2:] != (3, 3):
            raise ConfigError(f"the build's conv cores are 3x3, got a {self.weights.shape[2:]} kernel")
        if self.kind == "fc" and self.weights.shape[0] % self.cores:
            raise ConfigError(f"{self.cores} FC cores do not divide {self.weights.shape[0]} neurons")


def or_pool(spikes: np.ndarray) -> np.ndarray:
    """[T, W, W] -> [T, W/2, W/2]: bit j is the OR of raster positions 4j .. 4j+3."""
    t, w = spikes.shape[0], spikes.shape[-1]
    if w % 2:
        raise ConfigError(f"the build pools even maps only, got width {w}")
    return spikes.reshape(t, -1, 4).any(-1).reshape(t, w // 2, w // 2).astype(np.uint8)


def conv_words(layer: HwLayer, wiring: Wiring) -> np.ndarray:
    """Each output map's weight-file words [O, C*9 + 1]: its weights (reversed as built), then its bias."""
    flat = layer.weights.reshape(len(layer.bias), -1)
    return np.concatenate([flat[:, ::-1] if wiring == "as_built" else flat, layer.bias[:, None]], 1)


def conv_layer(spikes: np.ndarray, layer: HwLayer, lapicque: bool, beta: float,
               threshold: float, wiring: Wiring) -> np.ndarray:
    """[T, C, W, W] input spikes -> [T, O, W', W'] output spikes (W' = W/2 when pooled)."""
    core = CoreParams(lapicque, beta, threshold, layer.w_scale, layer.b_scale)
    words = conv_words(layer, wiring)
    n = layer.weights[0].size  # the core reads word ic*9 + tap, and the bias after the weights
    out = conv_cores(spikes, words[:, :n].reshape(layer.weights.shape), words[:, n], core)  # [T, O, W, W]
    if layer.pool:
        return np.stack([or_pool(out[:, o]) for o in range(out.shape[1])], 1)
    return out


def fc_memories(layer: HwLayer, wiring: Wiring) -> list[np.ndarray]:
    """Each core's weight words, as many as its group reads reach ((S+2)*F)."""
    o, f = layer.weights.shape
    e = layer.cores
    s = o // e
    mems = []
    for c in range(e):
        mem = np.zeros((s + 2) * f)
        if wiring == "as_built":  # weight files: neuron c*S+j, its F weights then its bias
            words = np.concatenate([layer.weights[c * s:(c + 1) * s], layer.bias[c * s:(c + 1) * s, None]], 1)
            mem[: words.size] = words.ravel()
        else:
            mem[: s * f] = layer.weights[c::e].ravel()
        mems.append(mem)
    return mems


def fc_layer(spikes: np.ndarray, layer: HwLayer, lapicque: bool, beta: float, threshold: float,
             wiring: Wiring, last: bool) -> np.ndarray:
    """[T, F] input spikes -> [T, O] output spikes of an FC layer (``last``: the network's output)."""
    o = layer.weights.shape[0]
    e = layer.cores
    s = o // e
    core = CoreParams(lapicque, beta, threshold, layer.w_scale, layer.b_scale)
    out = np.zeros((spikes.shape[0], o), np.uint8)
    per_core = [fc_core(spikes, mem, s + 1, core) for mem in fc_memories(layer, wiring)]  # [S+1, T] each
    for k in range(s + 1):
        for c in range(e):
            if wiring == "intended":
                if k < s:
                    out[:, k * e + c] = per_core[c][k]
                continue
            idx = k + c if last else k * e + c
            if idx < o:
                out[:, idx] = per_core[c][k]
    return out


def run_network(layers: list[HwLayer], spikes: np.ndarray, lapicque: bool, beta: float,
                threshold: float, wiring: Wiring = "as_built") -> list[np.ndarray]:
    """Output spikes of every layer, each [T, *shape] (uint8), for input spikes [T, C, H, W]
    (or [T, F] before an FC layer)."""
    if wiring not in WIRINGS:
        raise ConfigError(f"wiring must be one of {list(WIRINGS)}, got {wiring!r}")
    x = np.asarray(spikes).astype(bool)
    outs = []
    for i, layer in enumerate(layers):
        if layer.kind == "conv":
            y = conv_layer(x, layer, lapicque, beta, threshold, wiring)
        else:
            y = fc_layer(x.reshape(x.shape[0], -1), layer, lapicque, beta, threshold, wiring,
                         last=i == len(layers) - 1)
        outs.append(y)
        x = y.astype(bool)
    return outs
