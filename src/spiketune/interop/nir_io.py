"""NIR (Neuromorphic Intermediate Representation) export and import.

Neuron mapping (NIR's LIF: ``tau dv/dt = (v_leak - v) + r I``, discretised with step dt,
gives ``v_t = (1 - dt/tau) v_{t-1} + (r dt/tau) I_t``): a spiketune neuron with decay a and
input gain b (LIF: a = beta, b = 1; Lapicque: snnTorch's RC form) becomes
``tau = dt / (1 - a)``, ``r = b / (1 - a)``, ``v_leak = 0``, ``v_threshold = threshold``,
with dt = 1e-4 as snnTorch's exporter uses. On import, ``beta = 1 - dt/tau`` and a gain
``r dt / tau`` other than 1 is folded into the preceding weights. NIR 1.0 does not carry
the reset mechanism: export records it in the node metadata, import reads it from there
or takes ``reset`` (default "subtract", snnTorch's ``Leaky`` default). NIR 1.0 has no
max pooling and no batch norm: networks using them raise a clear error on export.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from spiketune.errors import SpiketuneError
from spiketune.network.arch import parse
from spiketune.network.models import SpikingNetwork, build
from spiketune.network.neurons import NEURONS, RESETS

DT = 1e-4


class NIRError(SpiketuneError):
    """A NIR graph spiketune cannot represent, or a network NIR cannot."""


def export(model: SpikingNetwork) -> "nir.NIRGraph":  # noqa: F821
    """The network as a NIR graph (Input -> [Conv2d|Affine] -> [AvgPool2d] -> LIF ... -> Output)."""
    import nir

    nodes: dict[str, nir.NIRNode] = {"input": nir.Input({"input": np.array(model.input_shape)})}
    chain = ["input"]
    for i, block in enumerate(model.blocks):
        spec, neuron = block.spec, block.neuron
        if spec.batch_norm:
            raise NIRError(f"layer {i} ({'-'.join(spec.tokens)}) uses batch norm, which NIR 1.0 lacks")
        if spec.pool and spec.pool[0] == "max":
            raise NIRError(f"layer {i} ({'-'.join(spec.tokens)}) uses max pooling, which NIR 1.0 "
                           f"lacks; use average pooling (AP) for NIR models")
        w = block.weight_layer.weight.detach().cpu().numpy().astype(np.float32)
        bias = block.weight_layer.bias.detach().cpu().numpy().astype(np.float32)
        if spec.kind == "conv":
            if len(spec.in_shape) == 3 and chain[-1] != "input" and len(model.blocks[i - 1].spec.out_shape) != 3:
                raise NIRError("a convolution after a linear layer cannot be exported")
            nodes[f"conv{i}"] = nir.Conv2d(input_shape=tuple(spec.in_shape[1:]), weight=w,
                                           stride=(spec.stride,) * 2, padding=(spec.padding,) * 2,
                                           dilation=(1, 1), groups=1, bias=bias)
            chain.append(f"conv{i}")
            if spec.pool:
                k = spec.pool[1]
                nodes[f"pool{i}"] = nir.AvgPool2d(kernel_size=np.array([k, k]), stride=np.array([k, k]),
                                                  padding=np.array([0, 0]))
                chain.append(f"pool{i}")
        else:
            if len(spec.in_shape) == 3:
                nodes[f"flatten{i}"] = nir.Flatten(input_type={"input": np.array(spec.in_shape)},
                                                   start_dim=0, end_dim=-1)
                chain.append(f"flatten{i}")
            nodes[f"fc{i}"] = nir.Affine(weight=w, bias=bias)
            chain.append(f"fc{i}")
        a, b = (float(v) for v in neuron.coefficients())
        if a >= 1.0:
            raise NIRError(f"layer {i}: a decay of {a} (beta = 1) has no finite NIR time constant")
        shape = spec.out_shape
        tau = DT / (1 - a)
        nodes[f"lif{i}"] = nir.LIF(tau=np.full(shape, tau, np.float32),
                                   r=np.full(shape, b / (1 - a), np.float32),
                                   v_leak=np.zeros(shape, np.float32),
                                   v_threshold=np.full(shape, float(neuron.threshold), np.float32),
                                   metadata={"spiketune.reset": neuron.reset_mode,
                                             "spiketune.neuron": type(neuron).__name__.lower(),
                                             "spiketune.beta": float(neuron.beta)})
        chain.append(f"lif{i}")
    nodes["output"] = nir.Output({"output": np.array(model.blocks[-1].spec.out_shape)})
    chain.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:])),
                        metadata={"spiketune.network.arch": model.arch, "spiketune.classes": model.num_classes})


def write(model: SpikingNetwork, path: str | Path) -> Path:
    """Write the network's NIR graph to ``path`` atomically (a temporary file, then a rename)."""
    import nir

    from spiketune.results import write_atomic

    p = Path(path)
    if p.is_dir():
        raise NIRError(f"{p} is a folder; give the NIR file to write, e.g. {p / 'model.nir'}")
    graph = export(model)
    return write_atomic(p, lambda f: nir.write(f, graph))


def _chain(graph) -> list[str]:
    succ: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        succ.setdefault(src, []).append(dst)
    starts = [k for k, n in graph.nodes.items() if type(n).__name__ == "Input"]
    if len(starts) != 1:
        raise NIRError(f"the graph has {len(starts)} Input nodes; spiketune imports feed-forward chains")
    order, cur = [], starts[0]
    while True:
        order.append(cur)
        nxt = succ.get(cur, [])
        if not nxt:
            break
        if len(nxt) > 1:
            raise NIRError(f"node '{cur}' branches to {nxt}; only feed-forward chains are supported")
        cur = nxt[0]
        if cur in order:
            raise NIRError(f"the graph is recurrent at node '{cur}'; recurrent layers are not supported")
    return order


def _array(arr, what: str, name: str, ndim: int | None = None) -> np.ndarray:
    """``arr`` as a finite float64 array (of ``ndim`` dimensions); NIRError names node and field."""
    try:
        a = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise NIRError(f"node '{name}': {what} is not numeric") from None
    if ndim is not None and a.ndim != ndim:
        raise NIRError(f"node '{name}': {what} has {a.ndim} dimensions {a.shape}, expected {ndim}")
    if a.size == 0 or not np.isfinite(a).all():
        raise NIRError(f"node '{name}': {what} is empty or holds NaN/inf values")
    return a


def _uniform(arr, what: str, name: str, allow_inf: bool = False) -> float:
    a = np.asarray(arr, dtype=np.float64) if allow_inf else _array(arr, what, name)
    if a.size == 0 or np.isnan(a).any():
        raise NIRError(f"node '{name}': {what} is empty or holds NaN values")
    vals = np.unique(a)
    if vals.size != 1 and not np.allclose(vals, vals[0], rtol=1e-6):
        raise NIRError(f"node '{name}': {what} differs between neurons; spiketune needs one per layer")
    return float(vals[0])


def import_graph(graph, num_classes: int | None = None, reset: str | None = None) -> SpikingNetwork:
    """A spiketune network equal to a NIR graph (a feed-forward chain of Conv2d/Affine/Linear,
    AvgPool2d, Flatten and LIF nodes)."""
    order = _chain(graph)
    nodes = graph.nodes
    inp = nodes[order[0]]
    try:
        raw_shape = np.asarray(next(iter(inp.input_type.values()))).reshape(-1)
        input_shape = tuple(int(v) for v in raw_shape)
    except (StopIteration, TypeError, ValueError, AttributeError):
        raise NIRError(f"node '{order[0]}': the Input node has no usable shape") from None
    if not input_shape or any(v < 1 for v in input_shape):
        raise NIRError(f"node '{order[0]}': input shape {input_shape} must be positive sizes")
    if len(input_shape) == 4 and input_shape[0] == 1:
        input_shape = input_shape[1:]
    tokens, layers, neurons_, pending, layer_nodes = [], [], [], None, []
    for name in order[1:]:
        node = nodes[name]
        kind = type(node).__name__
        if kind in ("Conv2d",):
            w = _array(node.weight, "weight", name, ndim=4)
            pad = node.padding
            if isinstance(pad, str):
                raise NIRError(f"node '{name}': string padding '{pad}' is not supported")
            p, s = np.broadcast_to(np.asarray(pad), (2,)), np.broadcast_to(np.asarray(node.stride), (2,))
            if p[0] != p[1] or s[0] != s[1] or w.shape[2] != w.shape[3] or node.groups != 1:
                raise NIRError(f"node '{name}': only square kernels, symmetric padding/stride, groups=1")
            tok = f"{w.shape[0]}C{w.shape[2]}" + (f"p{int(p[0])}" if p[0] else "") + (f"s{int(s[0])}" if s[0] != 1 else "")
            tokens.append(tok)
            pending = (w, _bias(node.bias, w.shape[0], name))
            layers.append(pending)
            layer_nodes.append(name)
        elif kind in ("Affine", "Linear"):
            w = _array(node.weight, "weight", name, ndim=2)
            tokens.append(str(w.shape[0]))
            pending = (w, _bias(node.bias, w.shape[0], name) if kind == "Affine" else np.zeros(w.shape[0]))
            layers.append(pending)
            layer_nodes.append(name)
        elif kind == "AvgPool2d":
            k = np.broadcast_to(np.asarray(node.kernel_size), (2,))
            st = np.broadcast_to(np.asarray(node.stride), (2,))
            if k[0] != k[1] or not np.array_equal(k, st):
                raise NIRError(f"node '{name}': only square pooling with stride = kernel is supported")
            tokens.append(f"AP{int(k[0])}")
        elif kind == "Flatten":
            continue
        elif kind == "LIF":
            if pending is None:
                raise NIRError(f"node '{name}': a LIF must follow a Conv2d/Affine/Linear node")
            tau = _uniform(node.tau, "tau", name, allow_inf=True)
            if not tau >= DT:
                raise NIRError(f"node '{name}': tau = {tau} must be at least dt = {DT} (a decay in [0, 1])")
            r = _uniform(node.r, "r", name)
            if _uniform(node.v_leak, "v_leak", name) != 0:
                raise NIRError(f"node '{name}': v_leak other than 0 is not supported")
            thr = _uniform(node.v_threshold, "v_threshold", name)
            with np.errstate(over="ignore"):
                thr32 = np.float32(thr)  # as the network stores it
            if not 0 < thr32 < np.inf:
                raise NIRError(f"node '{name}': v_threshold = {thr} must be > 0 and finite in float32")
            meta = getattr(node, "metadata", {}) or {}
            rst = reset or meta.get("spiketune.reset", "subtract")
            if rst not in RESETS:
                raise NIRError(f"node '{name}': unknown reset {rst!r}; valid: {', '.join(RESETS)}")
            beta = meta.get("spiketune.beta")
            if beta is not None and not (isinstance(beta, (int, float, np.floating)) and 0 <= beta <= 1):
                raise NIRError(f"node '{name}': metadata spiketune.beta = {beta!r} must be in [0, 1]")
            if str(meta.get("spiketune.neuron", "lif")) not in NEURONS:
                raise NIRError(f"node '{name}': metadata spiketune.neuron = {meta['spiketune.neuron']!r}; "
                               f"valid: {', '.join(NEURONS)}")
            neurons_.append((1 - DT / tau, r * DT / tau, thr, rst, meta, name))
            pending = None
        elif kind == "Output":
            break
        else:
            raise NIRError(f"node '{name}' is a NIR {kind}, which spiketune does not support "
                           f"(supported: Conv2d, Affine, Linear, AvgPool2d, Flatten, LIF)")
    if pending is not None or len(neurons_) != len(layers) or not layers:
        raise NIRError("every Conv2d/Affine/Linear node must be followed by a LIF node")
    arch = "-".join(tokens)
    classes = num_classes or (graph.metadata or {}).get("spiketune.classes")
    if classes is not None and not (isinstance(classes, (int, np.integer)) and not isinstance(classes, bool)
                                    and classes >= 1):
        raise NIRError(f"the number of classes must be a positive integer, got {classes!r}")
    # a graph written by spiketune restores its own neuron model and beta exactly
    kinds = {str(n[4].get("spiketune.neuron", "lif")) for n in neurons_}
    exact = len(kinds) == 1 and all("spiketune.beta" in n[4] for n in neurons_)
    kind = kinds.pop() if exact else "lif"
    for block, (w, _), node in zip(parse(arch, input_shape), layers, layer_nodes):  # before allocating
        want = ((block.out_channels, block.in_shape[0], block.kernel, block.kernel) if block.kind == "conv"
                else (block.out_channels, math.prod(block.in_shape)))
        if w.shape != want:
            raise NIRError(f"node '{node}': weights of shape {w.shape} do not fit its input "
                           f"{block.in_shape} (expected {want})")
    net = build(arch, input_shape, int(classes) if classes else None, neuron=kind,
                beta=float(neurons_[0][4]["spiketune.beta"]) if exact else 0.5)
    with torch.no_grad():
        for block, (w, bias), (beta, gain, thr, rst, meta, lif) in zip(net.blocks, layers, neurons_):
            if exact:
                beta, gain = float(meta["spiketune.beta"]), 1.0
            layer = block.weight_layer
            if tuple(layer.weight.shape) != w.shape:
                raise NIRError(f"weights of shape {w.shape} do not fit layer {'-'.join(block.spec.tokens)} "
                               f"({tuple(layer.weight.shape)})")
            scaled_w, scaled_b = (torch.as_tensor(a * gain, dtype=layer.weight.dtype) for a in (w, bias))
            if not (torch.isfinite(scaled_w).all() and torch.isfinite(scaled_b).all()):
                raise NIRError(f"node '{lif}': the input gain r*dt/tau = {gain:.3g} makes the weights "
                               f"before it overflow")
            layer.weight.copy_(scaled_w)
            layer.bias.copy_(scaled_b)
            block.neuron.beta.fill_(beta)
            block.neuron.threshold.fill_(thr)
            block.neuron.reset_mode = rst
            if not math.isclose(gain, 1.0, rel_tol=1e-6):
                block.neuron.nir_gain = gain
    return net


def _bias(bias, units: int, name: str) -> np.ndarray:
    if bias is None:
        return np.zeros(units)
    b = _array(bias, "bias", name)
    if b.shape != (units,):
        raise NIRError(f"node '{name}': bias has shape {b.shape}, expected ({units},)")
    return b


def read(path: str | Path, num_classes: int | None = None, reset: str | None = None) -> SpikingNetwork:
    """Load a NIR file (HDF5, as ``nir.write`` makes it) into a spiketune network."""
    import nir

    try:
        graph = nir.read(str(path))
    except Exception as e:  # h5py/KeyError/OSError for a corrupt or foreign file
        raise NIRError(f"cannot read NIR file {path}: {type(e).__name__}: {e}") from None
    return import_graph(graph, num_classes, reset)
