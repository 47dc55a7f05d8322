"""Bit-exact fixed-point inference of a traced network, as the accelerator computes it.

Weights are k-bit integers with one scale per layer (the network's own when it was
trained with quantisation, else quantised here to ``weight_bits``, per-tensor
symmetric). Every synaptic current, bias, batch-norm map and membrane potential is a
signed fixed-point number with ``membrane_frac_bits`` fractional bits in
``membrane_bits``-bit two's complement (saturating). Per step: integer accumulation of
the weights of every input event, rounding once to the membrane format, max/avg pooling
of currents, then the neuron update the trace's ``dynamics`` records (a second state
``I = round(alpha*I) + X`` for a CubaLIF, then ``U = round(a*U) + round(b*I)``), reset and
threshold exactly as the float model; a leaky-integrator read-out outputs its membranes. A
layer that fires before pooling (``pool_spikes``) max-pools its spikes (their OR) instead.
Direct (analog) inputs are rounded to the same format; event frames enter as their integer
counts.

``check`` runs every layer on the float model's recorded input spikes (so errors do
not compound) and reports, per layer, the fraction of spike bits that differ from the
float model's; ``run_chained`` feeds each layer its own fixed-point output and
returns event counts the cycle model can use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import TraceError
from ..traces import LayerSpec, Traces
from .config import HardwareConfig


@dataclass
class LayerMismatch:
    name: str
    spikes_float: int
    spikes_fixed: int
    mismatch_rate: float  # differing spike bits / all spike bits


def _quant(x: npt.ArrayLike, frac: int, bits: int) -> np.ndarray:
    lim = 2 ** (bits - 1)
    return np.clip(np.round(np.asarray(x, np.float64) * 2.0 ** frac), -lim, lim - 1).astype(np.int64)


def _int_weights(w: dict[str, np.ndarray], bits: int) -> tuple[np.ndarray, float]:
    if "int_weight" in w:
        return w["int_weight"].astype(np.int64), float(w["scale"])
    qmax = 2 ** (bits - 1) - 1
    scale = max(float(np.abs(w["weight"]).max()), 1e-12) / qmax
    return np.clip(np.round(w["weight"] / scale), -qmax - 1, qmax).astype(np.int64), scale


def _synapse(layer: LayerSpec, x: np.ndarray, wq: np.ndarray) -> np.ndarray:
    """Integer accumulation: x [M, *in_shape] (int64) -> [M, *conv_shape] (int64)."""
    if layer.kind == "fc":
        return x.reshape(x.shape[0], -1) @ wq.reshape(wq.shape[0], -1).T
    p, s, k = layer.padding, layer.stride, layer.kernel
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return np.einsum("mchwij,ocij->mohw", win, wq, optimize=True)


def _pool(layer: LayerSpec, v: np.ndarray) -> np.ndarray:
    """Pool the last two axes of ``v`` [..., H, W] by the layer's pooling."""
    if layer.pool is None:
        return v
    kind, k = layer.pool
    h, w = v.shape[-2:]
    v = v[..., : h // k * k, : w // k * k].reshape(*v.shape[:-2], h // k, k, w // k, k)
    if kind == "max":
        return v.max((-3, -1))
    return np.floor_divide(v.sum((-3, -1)), k * k)


def layer_currents(layer: LayerSpec, w: dict[str, np.ndarray], x: np.ndarray,
                   x_frac: int, hw: HardwareConfig) -> np.ndarray:
    """Fixed-point currents [M, *neuron_shape] for inputs ``x`` with ``x_frac`` fractional bits."""
    frac, bits = hw.membrane_frac_bits, hw.membrane_bits
    wq, scale = _int_weights(w, hw.weight_bits)
    acc = _synapse(layer, x, wq)  # exact integer: sum of w_int * x_fx
    cur = _quant(acc * scale / 2.0 ** x_frac, frac, bits)
    shape = (1, -1, 1, 1) if layer.kind == "conv" else (1, -1)
    cur = cur + _quant(w["bias"], frac, bits).reshape(shape)
    if "bn_scale" in w:
        cur = (cur * _quant(w["bn_scale"], frac, bits).reshape(shape)) >> frac
        cur = cur + _quant(w["bn_shift"], frac, bits).reshape(shape)
    return cur if layer.pool_spikes else _pool(layer, cur)


def _mul(coef: np.ndarray | int, v: np.ndarray, frac: int) -> np.ndarray:
    """``round(coef * v)`` for a fixed-point coefficient (rounding half up)."""
    return (coef * v + (1 << (frac - 1))) >> frac if frac else coef * v


def neuron_run(layer: LayerSpec, cur: np.ndarray, hw: HardwareConfig,
               membranes: bool = False) -> np.ndarray:
    """Fixed-point neuron over time, the update the trace's ``dynamics`` records:
    currents [N, T, ...] -> spikes [N, T, ...] (uint8), or the membranes (int64) with
    ``membranes`` (a non-spiking read-out's output)."""
    d = layer.dynamics
    frac, bits = hw.membrane_frac_bits, hw.membrane_bits
    lim = 2 ** (bits - 1)
    a_fx = _quant(np.asarray(d.decay, np.float64), frac, bits)
    b_fx = int(_quant(d.gain, frac, bits))
    alpha_fx = (None if d.synapse_decay is None
                else _quant(np.asarray(d.synapse_decay, np.float64), frac, bits))
    thr = int(_quant(layer.threshold, frac, bits))
    mem = np.zeros_like(cur[:, 0])
    syn = np.zeros_like(mem)
    out = np.zeros(cur.shape, np.int64 if membranes else np.uint8)
    zero_after = d.reset_after_update
    for t in range(cur.shape[1]):
        reset = mem > thr
        if d.reset == "zero" and not zero_after:
            mem = np.where(reset, 0, mem)
        x = cur[:, t]
        if alpha_fx is not None:
            syn = x = np.clip(_mul(alpha_fx, syn, frac) + x, -lim, lim - 1)
        mem = _mul(a_fx, mem, frac) + _mul(b_fx, x, frac)
        if d.reset == "subtract":
            mem = mem - reset * thr
        elif d.reset == "zero" and zero_after:
            mem = np.where(reset, 0, mem)
        mem = np.clip(mem, -lim, lim - 1)
        out[:, t] = mem if membranes else (mem > thr) & d.spiking
    return out


def _input_fixed(traces: Traces, hw: HardwareConfig) -> tuple[np.ndarray, int]:
    """Layer-0 input [N, T, *shape] as integers and their fractional bits."""
    vals = traces.input_values()
    if vals is not None and traces.encoding == "events":  # integer event counts [N, T, ...]
        return vals.astype(np.int64), 0
    if vals is not None:
        x = _quant(vals, hw.membrane_frac_bits, hw.membrane_bits)
        return np.repeat(x[:, None], traces.num_steps, 1), hw.membrane_frac_bits
    bits = traces.bits(0)
    if bits is None:
        raise TraceError(f"{traces.path} keeps no input events (profile.trace_samples = 0)")
    return bits.astype(np.int64), 0


def _layer(traces: Traces, i: int, x: np.ndarray, x_frac: int, hw: HardwareConfig,
           membranes: bool = False) -> np.ndarray:
    layer = traces.layers[i]
    n, t = x.shape[:2]
    cur = layer_currents(layer, traces.weights(i), x.reshape(n * t, *x.shape[2:]), x_frac, hw)
    out = neuron_run(layer, cur.reshape(n, t, *cur.shape[1:]), hw, membranes)
    return _pool(layer, out) if layer.pool_spikes else out


def check(traces: Traces, hw: HardwareConfig | None = None) -> list[LayerMismatch]:
    """Per-layer spike mismatch of fixed-point vs float, each layer fed the float inputs."""
    hw = hw or HardwareConfig()
    x, frac = _input_fixed(traces, hw)
    out = []
    for i in range(len(traces.layers)):
        ref = traces.bits(i + 1)
        if ref is None:
            raise TraceError(f"{traces.path} keeps no spike bits for layer {i}")
        got = _layer(traces, i, x[: len(ref)], frac, hw)
        out.append(LayerMismatch(traces.layer_name(i), int(ref.sum()), int(got.sum()),
                                 float((got != ref).mean())))
        x, frac = ref.astype(np.int64), 0
    return out


def run_chained(traces: Traces, hw: HardwareConfig | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Fixed-point network end to end: (counts per spike tensor [N, T, C], predictions)."""
    hw = hw or HardwareConfig()
    x, frac = _input_fixed(traces, hw)
    counts = [traces.counts[0][: len(x)]]
    for i, layer in enumerate(traces.layers):
        readout = not layer.dynamics.spiking  # the output's membranes, no events
        x = _layer(traces, i, x, frac, hw, membranes=readout)
        frac = 0
        n, t, c = x.shape[:3]
        events = np.zeros_like(x) if readout else x
        counts.append(events.reshape(n, t, c, -1).sum(-1).astype(np.uint32))
        x = x.astype(np.int64)
    out = x.sum(1).reshape(x.shape[0], -1)
    classes = int(traces.meta.get("num_classes", out.shape[1]))
    pred = out.reshape(out.shape[0], classes, -1).sum(-1).argmax(1)
    return counts, pred
