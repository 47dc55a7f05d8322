"""A traced network through the ISPASS build's neuron arithmetic
(:mod:`.snn_dse.network_math`): the spikes the hardware would produce for the traced test
samples, their accuracy, and how far they are from the trained network's spikes.

The build stores integer weights with one scale per layer (the trace's own when trained
with quantised weights, else quantised here to ``weight_bits``, per-tensor symmetric) and
integer biases of the same width with their own scale (the study's networks quantise
biases with Brevitas' ``Int8BiasPerTensorFloatInternalScaling`` at ``bias_bit_width =
num_bits``; here per-tensor symmetric); batch norm is not exported. Every layer runs the
one neuron the build is configured with (``NEURON_TYPE``, ``BETA``, threshold): the trace's
LIF or Lapicque with its scalar beta. The build fires before it pools (it ORs the spikes
as it writes them): a network that fires before pooling (``S-MP2``, the trace's
``pool_spikes``) runs here in its trained order, one that pools its currents does not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError, TraceError
from ..traces import Traces
from .fixed_point import _int_weights
from .snn_dse.network_math import HwLayer, Wiring, run_network


@dataclass
class LayerDivergence:
    name: str
    spikes_trained: int
    spikes_hardware: int
    bit_divergence: float  # differing spike bits / all spike bits
    count_ratio: float | None  # hardware spikes / trained spikes (None when the trained layer is silent)


def _bias(b: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    qmax = 2 ** (bits - 1) - 1
    scale = max(float(np.abs(b).max()), 1e-12) / qmax
    return np.clip(np.round(b / scale), -qmax - 1, qmax).astype(np.int64), scale


def neuron(traces: Traces) -> tuple[bool, float, float]:
    """(Lapicque?, beta, threshold) of the build's single neuron configuration."""
    kinds = {(layer.neuron, layer.beta, layer.threshold) for layer in traces.layers}
    if len(kinds) != 1:
        raise ConfigError(f"{traces.path}: the build runs one neuron configuration for every layer, "
                          f"the trace has {sorted(kinds)}")
    model, beta, thr = kinds.pop()
    if model not in ("lif", "lapicque"):
        raise ConfigError(f"{traces.path}: the build's cores run LIF or Lapicque neurons, not {model}")
    return model == "lapicque", float(beta), float(thr)


def hw_layers(traces: Traces, weight_bits: int, cores: list[int]) -> list[HwLayer]:
    """The network's layers as the build stores them; ``cores``: neural cores per layer."""
    out = []
    for i, spec in enumerate(traces.layers):
        if spec.kind == "conv" and (spec.kernel, spec.padding, spec.stride) != (3, 1, 1):
            raise ConfigError(f"{traces.path}: layer {i}: the build's conv cores are 3x3, padding 1, "
                              f"stride 1 (got kernel {spec.kernel}, padding {spec.padding}, "
                              f"stride {spec.stride})")
        if spec.pool is not None and spec.pool[1] != 2:
            raise ConfigError(f"{traces.path}: layer {i}: the build pools 2x2 only (got {spec.pool})")
        w = traces.weights(i)
        bits = spec.weight_bits or weight_bits
        wq, w_scale = _int_weights(w, bits)
        bq, b_scale = _bias(w["bias"], bits)
        out.append(HwLayer(spec.kind, wq, bq, w_scale, b_scale, spec.pool is not None, cores[i]))
    return out


def run(traces: Traces, weight_bits: int, cores: list[int],
        wiring: Wiring = "as_built") -> tuple[list[np.ndarray], np.ndarray]:
    """Hardware spikes of every spike tensor (input first), each [N, T, *shape], and the
    predictions (output spikes summed over time and population), for the samples whose
    input bits the trace keeps."""
    x = traces.bits(0)
    if x is None:
        raise TraceError(f"{traces.path} keeps no input events (profile.trace_samples = 0)")
    lapicque, beta, thr = neuron(traces)
    layers = hw_layers(traces, weight_bits, cores)
    per_sample = [run_network(layers, s, lapicque, beta, thr, wiring) for s in x]
    spikes = [x] + [np.stack([p[i] for p in per_sample]) for i in range(len(layers))]
    for k, s in enumerate(spikes[1:], 1):
        if s.shape[2:] != traces.spike_shape(k):
            raise ConfigError(f"{traces.path}: layer {k - 1} gives {s.shape[2:]} spikes on the build, "
                              f"the trained network {traces.spike_shape(k)}")
    out = spikes[-1].sum(1).reshape(len(x), -1)
    classes = int(traces.meta.get("num_classes", out.shape[1]))
    pred = out.reshape(len(x), classes, -1).sum(-1).argmax(1)
    return spikes, pred


def divergence(traces: Traces, spikes: list[np.ndarray]) -> list[dict]:
    """Per layer: the hardware's spikes against the trained network's (same samples)."""
    out = []
    for k in range(1, len(spikes)):
        ref = traces.bits(k)
        if ref is None:
            raise TraceError(f"{traces.path} keeps no spike bits for layer {k - 1}")
        got = spikes[k][: len(ref)]
        n_ref, n_got = int(ref.sum()), int(got.sum())
        out.append(asdict(LayerDivergence(
            f"L{k - 1}:{traces.layers[k - 1].kind}", n_ref, n_got, float((got != ref).mean()),
            n_got / n_ref if n_ref else None)))
    return out


def counts(spikes: list[np.ndarray]) -> list[np.ndarray]:
    """Events per channel [N, T, C] of each spike tensor (what the cycle model reads)."""
    return [s.reshape(s.shape[0], s.shape[1], s.shape[2], -1).sum(-1).astype(np.uint32) for s in spikes]


def hardware_math_lines(d: dict) -> str:
    """The cost report's ``neuron_math`` entry as text."""
    ratio = [f"{m['count_ratio']:.2f}x" if m["count_ratio"] is not None else "n/a" for m in d["layers"]]
    return (f"neuron arithmetic of the build ({d['build']}, wiring {d['wiring']}): accuracy "
            f"{100 * d['accuracy']:.2f}% (trained {100 * d['accuracy_trained']:.2f}%), latency "
            f"{d['latency_cycles_trained']:,.0f} cycles with the trained spikes\n"
            + "\n".join(f"  {m['name']:<8} spike bits differing {100 * m['bit_divergence']:6.2f}%, "
                        f"spikes {m['spikes_hardware']} vs {m['spikes_trained']} trained ({r})"
                        for m, r in zip(d["layers"], ratio, strict=True)))
