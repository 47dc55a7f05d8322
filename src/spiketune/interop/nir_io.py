"""NIR (Neuromorphic Intermediate Representation) export and import.

Neuron nodes, following the NIR specification's equations discretised with step dt
(Euler, the current updated before the membrane; dt = 1e-4 as snnTorch's exporter uses,
``dt`` on import):

* ``LIF`` (``tau dv/dt = (v_leak - v) + r I``): ``v_t = (1 - dt/tau) v_{t-1} + (r dt/tau) I_t``,
  so a spiketune LIF/Lapicque with decay a and gain b is ``tau = dt/(1 - a)``, ``r = b/(1 - a)``.
* ``IF`` (``dv/dt = r I``): decay 1 and gain r per step (as sinabs and snnTorch read r = 1).
* ``CubaLIF``: ``alpha = 1 - dt/tau_syn``, ``beta = 1 - dt/tau_mem`` and gain
  ``(w_in dt/tau_syn)(r dt/tau_mem)``; export writes snnTorch's ``w_in = tau_syn/dt``,
  ``r = tau_mem/dt`` (unit gain).
* ``LI``: a non-spiking leaky integrator read-out, last layer only; ``LI -> Threshold``
  is a LIF without reset, a ``Threshold`` alone a memoryless one (beta 0).

Decays may differ per neuron; gains, thresholds and ``Scale`` factors must be uniform per
layer and are folded into the preceding weights, as is a ``SumPool2d``'s k*k (spiketune
average-pools currents before the neurons). Reset: the spec resets to ``v_reset`` right
after a spike; ``v_reset = 0`` is spiketune's ``zero`` reset (of the old membrane, before
the decay), another value is refused. Subtraction is not in NIR: export records every
layer's reset (and its exact parameters) in the node metadata, and import takes the
metadata, else ``reset`` when given (e.g. ``subtract`` for a graph snnTorch or sinabs
wrote from subtracting neurons), else ``v_reset``. NIR 1.0 has no max pooling and no
batch norm: networks using them raise a clear error on export.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from spiketune.errors import SpiketuneError
from spiketune.measure.profile import blocks_of
from spiketune.network.arch import parse
from spiketune.network.models import SpikingNetwork, build
from spiketune.network.neurons import LI, NEURONS, RESETS, CubaLIF, SingleStateNeuron, SpikingNeuron

if TYPE_CHECKING:
    import nir

DT = 1e-4


class NIRError(SpiketuneError):
    """A NIR graph spiketune cannot represent, or a network NIR cannot."""


def average_pooled(arch: str) -> str:
    """``arch`` with every max-pool token (``P2``, ``MP2``) an average pool (``AP2``) of the
    current: a pooling of spikes (after ``S``) moves before the ``S``."""
    out: list[str] = []
    for token in arch.split("-"):
        pool = re.sub(r"^(?:M?P|AP)(\d+)$", r"AP\1", token)
        if pool != token and out and out[-1] == "S":
            out.insert(len(out) - 1, pool)
        else:
            out.append(pool)
    return "-".join(out)


def export(model: SpikingNetwork) -> nir.NIRGraph:
    """The network as a NIR graph (Input -> [Conv2d|Affine] -> [AvgPool2d] -> LIF ... -> Output)."""
    import nir

    nodes: dict[str, nir.NIRNode] = {"input": nir.Input({"input": np.array(model.input_shape)})}
    chain = ["input"]
    blocks = blocks_of(model)
    for i, block in enumerate(blocks):
        spec, neuron = block.spec, block.neuron
        if spec.batch_norm:
            raise NIRError(f"layer {i} ({'-'.join(spec.tokens)}) uses batch norm, which NIR 1.0 lacks")
        if spec.pool and spec.pool[0] == "max":
            raise NIRError(f"layer {i} ({'-'.join(spec.tokens)}) uses max pooling, which NIR 1.0 has no "
                           f"node for (it offers AvgPool2d and SumPool2d); train the average-pooling "
                           f"network to exchange it: --arch {average_pooled(model.arch)}")
        w = block.weight_layer.weight.detach().cpu().numpy().astype(np.float32)
        b = block.weight_layer.bias
        bias = np.zeros(w.shape[0], np.float32) if b is None else b.detach().cpu().numpy().astype(np.float32)
        if spec.kind == "conv":
            if (len(spec.in_shape) == 3 and chain[-1] != "input"
                    and len(blocks[i - 1].spec.out_shape) != 3):
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
        nodes[f"lif{i}"] = neuron_node(neuron, spec.neuron_shape)
        chain.append(f"lif{i}")
    nodes["output"] = nir.Output({"output": np.array(blocks[-1].spec.out_shape)})
    chain.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:], strict=True)),
                        metadata={"spiketune.network.arch": model.arch,
                                  "spiketune.classes": model.num_classes})


def _full(v: torch.Tensor, shape) -> np.ndarray:
    return np.broadcast_to(v.detach().cpu().double().numpy(), shape).astype(np.float32)


def neuron_node(neuron: SpikingNeuron, shape) -> nir.NIRNode:
    """The NIR node of a spiketune neuron layer (parameters per neuron, dt = DT), its reset
    and exact parameters in the node's metadata."""
    import nir

    zeros = np.zeros(shape, np.float32)
    meta: dict[str, Any] = {"spiketune.neuron": neuron.kind, "spiketune.reset": neuron.reset_mode}
    for p in ("alpha", "beta"):
        if hasattr(neuron, p):
            v = getattr(neuron, p).detach().cpu().double().numpy()
            meta[f"spiketune.{p}"] = float(v) if v.ndim == 0 else v
    if isinstance(neuron, CubaLIF):
        meta["spiketune.zero_after_update"] = int(neuron.zero_after_update)
    if isinstance(neuron, LI):
        tau = DT / (1 - _full(neuron.beta.clamp(0, 1), shape).astype(np.float64))
        return nir.LI(tau=tau.astype(np.float32), r=(tau / DT).astype(np.float32), v_leak=zeros,
                      metadata=meta)
    thr = np.full(shape, float(neuron.threshold), np.float32)
    if isinstance(neuron, CubaLIF):
        with np.errstate(divide="ignore"):
            tau_syn = DT / (1 - _full(neuron.alpha.clamp(0, 1), shape).astype(np.float64))
            tau_mem = DT / (1 - _full(neuron.beta.clamp(0, 1), shape).astype(np.float64))
        return nir.CubaLIF(tau_syn=tau_syn.astype(np.float32), tau_mem=tau_mem.astype(np.float32),
                           r=(tau_mem / DT).astype(np.float32), v_leak=zeros, v_threshold=thr,
                           v_reset=zeros, w_in=(tau_syn / DT).astype(np.float32), metadata=meta)
    if not isinstance(neuron, SingleStateNeuron):
        raise NIRError(f"no NIR node for a {neuron.kind} neuron")
    decay, b = neuron.coefficients()
    a = _full(decay, shape).astype(np.float64)
    if np.all(a == 1):
        return nir.IF(r=np.full(shape, float(b), np.float32), v_threshold=thr, v_reset=zeros,
                      metadata=meta)
    if np.any(a >= 1):
        raise NIRError(f"{neuron.kind} neurons with a decay of 1 in some channels have no finite NIR "
                       f"time constant")
    tau = DT / (1 - a)
    return nir.LIF(tau=tau.astype(np.float32), r=(float(b) / (1 - a)).astype(np.float32), v_leak=zeros,
                   v_threshold=thr, v_reset=zeros, metadata=meta)


NEURON_NODES = ("LIF", "IF", "CubaLIF", "LI", "Threshold")


def _decay(tau, dt: float, what: str, name: str):
    """``1 - dt/tau`` per neuron, a number when uniform."""
    a = 1 - dt / np.asarray(tau, np.float64)
    if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
        raise NIRError(f"node '{name}': {what} gives decays outside [0, 1] at dt = {dt}")
    return float(a.flat[0]) if np.allclose(a, a.flat[0], rtol=0, atol=0) else a.tolist()


def _gain(v: float) -> float:
    return 1.0 if math.isclose(v, 1.0, rel_tol=1e-6) else v


def _threshold(v, what: str, name: str) -> float:
    """A layer's threshold: one value, > 0 and finite in float32 (as the network stores it)."""
    thr = _uniform(v, what, name)
    with np.errstate(over="ignore"):
        thr32 = np.float32(thr)
    if not 0 < thr32 < np.inf:
        raise NIRError(f"node '{name}': {what} = {thr} must be > 0 and finite in float32")
    return thr


def _reset_of(name: str, node, reset: str | None, meta: dict) -> str:
    """The override, else what spiketune recorded, else the spec's reset to ``v_reset``."""
    rst = reset if reset is not None else meta.get("spiketune.reset")
    if rst is not None:
        if rst not in RESETS:
            raise NIRError(f"node '{name}': unknown reset {rst!r}; valid: {', '.join(RESETS)}")
        return str(rst)
    if _uniform(node.v_reset, "v_reset", name) != 0:
        raise NIRError(f"node '{name}': reset to v_reset = {_uniform(node.v_reset, 'v_reset', name)} "
                       f"is not supported (spiketune resets to 0 or by subtraction)")
    return "zero"


def neuron_from_node(name: str, node, dt: float, reset: str | None, li=None) -> tuple[str, dict, float]:
    """(model name, constructor arguments, input gain folded into the weights) of a NIR
    neuron node; ``li``: the LI node in front of a Threshold."""
    kind = type(node).__name__
    meta = getattr(node, "metadata", None) or {}
    if str(meta.get("spiketune.neuron", "lif")) not in NEURONS:
        raise NIRError(f"node '{name}': metadata spiketune.neuron = {meta['spiketune.neuron']!r}; "
                       f"valid: {', '.join(NEURONS)}")
    for p in ("spiketune.alpha", "spiketune.beta"):
        if p in meta:
            v = np.asarray(meta[p], dtype=object)
            try:
                ok = v.size > 0 and bool(np.all((v.astype(np.float64) >= 0) & (v.astype(np.float64) <= 1)))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise NIRError(f"node '{name}': metadata {p} = {meta[p]!r} must be in [0, 1]")
    if kind in ("LIF", "CubaLIF", "LI") and _uniform(node.v_leak, "v_leak", name) != 0:
        raise NIRError(f"node '{name}': v_leak other than 0 is not supported")
    if kind == "Threshold":
        thr = _threshold(node.threshold, "threshold", name)
        if li is None:  # memoryless: U_t = I_t
            return "lif", dict(beta=0.0, threshold=thr, reset="none"), 1.0
        if _uniform(li.v_leak, "v_leak", name) != 0:
            raise NIRError(f"node '{name}': v_leak other than 0 is not supported")
        tau = np.asarray(li.tau, np.float64)
        return ("lif", dict(beta=_decay(tau, dt, "tau", name), threshold=thr, reset="none"),
                _gain(_uniform(li.r * dt / tau, "r dt/tau", name)))
    if kind == "LI":
        tau = np.asarray(node.tau, np.float64)
        beta = meta["spiketune.beta"] if "spiketune.beta" in meta else _decay(tau, dt, "tau", name)
        gain = 1.0 if "spiketune.beta" in meta else _gain(_uniform(node.r * dt / tau, "r dt/tau", name))
        return "li", dict(beta=beta), gain
    thr = _threshold(node.v_threshold, "v_threshold", name)
    rst = _reset_of(name, node, reset, meta)
    if kind == "IF":
        return "if", dict(threshold=thr, reset=rst), _gain(_uniform(node.r, "r", name))
    if kind == "CubaLIF":
        syn, mem = np.asarray(node.tau_syn, np.float64), np.asarray(node.tau_mem, np.float64)
        exact = "spiketune.alpha" in meta and "spiketune.beta" in meta
        params = dict(alpha=meta["spiketune.alpha"] if exact else _decay(syn, dt, "tau_syn", name),
                      beta=meta["spiketune.beta"] if exact else _decay(mem, dt, "tau_mem", name),
                      threshold=thr, reset=rst,
                      zero_after_update=bool(meta.get("spiketune.zero_after_update", False)))
        gain = 1.0 if exact else _gain(_uniform(node.w_in * dt / syn, "w_in dt/tau_syn", name)
                                       * _uniform(node.r * dt / mem, "r dt/tau_mem", name))
        return "cuba_lif", params, gain
    tau = np.asarray(node.tau, np.float64)  # LIF
    model = str(meta.get("spiketune.neuron", "lif"))
    if model in ("lif", "lapicque") and "spiketune.beta" in meta:  # written by spiketune: exact
        beta = np.asarray(meta["spiketune.beta"], np.float64)
        return model, dict(beta=float(beta) if beta.ndim == 0 else beta.tolist(), threshold=thr,
                           reset=rst), 1.0
    return "lif", dict(beta=_decay(tau, dt, "tau", name), threshold=thr, reset=rst), \
        _gain(_uniform(node.r * dt / tau, "r dt/tau", name))


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


def import_graph(graph, num_classes: int | None = None, reset: str | None = None,
                 dt: float = DT) -> SpikingNetwork:
    """A spiketune network equal to a NIR graph: a feed-forward chain of Conv2d/Affine/Linear
    [AvgPool2d|SumPool2d] [Scale] [Flatten] and a neuron node (LIF, IF, CubaLIF, LI, LI ->
    Threshold, Threshold) per layer, discretised with step ``dt``; ``reset`` overrides the
    nodes' reset (see the module docstring)."""
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
    tokens, layers, neurons_, pending, scale, layer_nodes = [], [], [], None, 1.0, []

    def nxt_kind(n: str) -> str | None:
        k = order.index(n) + 1
        return type(nodes[order[k]]).__name__ if k < len(order) else None

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
            tok = (f"{w.shape[0]}C{w.shape[2]}" + (f"p{int(p[0])}" if p[0] else "")
                   + (f"s{int(s[0])}" if s[0] != 1 else ""))
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
        elif kind in ("AvgPool2d", "SumPool2d"):
            k = np.broadcast_to(np.asarray(node.kernel_size), (2,))
            st = np.broadcast_to(np.asarray(node.stride), (2,))
            if k[0] != k[1] or not np.array_equal(k, st):
                raise NIRError(f"node '{name}': only square pooling with stride = kernel is supported")
            if pending is None:
                raise NIRError(f"node '{name}': spiketune pools the currents of a Conv2d before its "
                               f"neurons; a {kind} after a neuron node is not supported")
            tokens.append(f"AP{int(k[0])}")
            if kind == "SumPool2d":  # a sum is k*k averages: folded into the weights
                scale *= float(k[0] * k[1])
        elif kind == "Scale":
            if pending is None:
                raise NIRError(f"node '{name}': a Scale must follow a Conv2d/Affine/Linear node")
            scale *= _uniform(node.scale, "scale", name)
        elif kind == "Flatten":
            continue
        elif kind in NEURON_NODES:
            if pending is None:
                raise NIRError(f"node '{name}': a {kind} must follow a Conv2d/Affine/Linear node")
            if kind == "LI" and nxt_kind(name) == "Threshold":
                continue  # LI -> Threshold: one LIF without reset, read at the Threshold
            prev = nodes[order[order.index(name) - 1]]
            neurons_.append((*neuron_from_node(name, node, dt, reset,
                                               prev if type(prev).__name__ == "LI" else None), scale, name))
            pending, scale = None, 1.0
        elif kind == "Output":
            break
        else:
            raise NIRError(f"node '{name}' is a NIR {kind}, which spiketune does not support "
                           f"(supported: Conv2d, Affine, Linear, AvgPool2d, SumPool2d, Scale, Flatten, "
                           f"{', '.join(NEURON_NODES)})")
    if pending is not None or len(neurons_) != len(layers) or not layers:
        raise NIRError("every Conv2d/Affine/Linear node must be followed by a neuron node "
                       f"({', '.join(NEURON_NODES)})")
    arch = "-".join(tokens)
    classes = num_classes or (graph.metadata or {}).get("spiketune.classes")
    if classes is not None and not (isinstance(classes, (int, np.integer)) and not isinstance(classes, bool)
                                    and classes >= 1):
        raise NIRError(f"the number of classes must be a positive integer, got {classes!r}")
    # shapes are checked before allocating the network
    for block, (w, _), node in zip(parse(arch, input_shape), layers, layer_nodes, strict=True):
        want = ((block.out_channels, block.in_shape[0], block.kernel, block.kernel) if block.kind == "conv"
                else (block.out_channels, math.prod(block.in_shape)))
        if w.shape != want:
            raise NIRError(f"node '{node}': weights of shape {w.shape} do not fit its input "
                           f"{block.in_shape} (expected {want})")
    net = build(arch, input_shape, int(classes) if classes else None)
    with torch.no_grad():
        for net_block, (w, bias), (kind, params, gain, scale, node) in zip(blocks_of(net), layers,
                                                                            neurons_, strict=True):
            layer = net_block.weight_layer
            if tuple(layer.weight.shape) != w.shape:
                raise NIRError(f"weights of shape {w.shape} do not fit layer "
                               f"{'-'.join(net_block.spec.tokens)} ({tuple(layer.weight.shape)})")
            total = gain * scale
            scaled_w, scaled_b = (torch.as_tensor(a * total, dtype=layer.weight.dtype) for a in (w, bias))
            if not (torch.isfinite(scaled_w).all() and torch.isfinite(scaled_b).all()):
                raise NIRError(f"node '{node}': the input gain {total:.3g} makes the weights before it "
                               f"overflow")
            layer.weight.copy_(scaled_w)
            if layer.bias is not None:
                layer.bias.copy_(scaled_b)
            net_block.neuron = NEURONS[kind](**params)
    if any(not n.spiking for n in net.neurons()[:-1]):
        raise NIRError("a non-spiking LI node may only be the last neuron node of the chain")
    return net


def _bias(bias, units: int, name: str) -> np.ndarray:
    if bias is None:
        return np.zeros(units)
    b = _array(bias, "bias", name)
    if b.shape != (units,):
        raise NIRError(f"node '{name}': bias has shape {b.shape}, expected ({units},)")
    return b


def read(path: str | Path, num_classes: int | None = None, reset: str | None = None,
         dt: float = DT) -> SpikingNetwork:
    """Load a NIR file (HDF5, as ``nir.write`` makes it) into a spiketune network."""
    import nir

    try:
        graph = nir.read(str(path))
    except Exception as e:  # h5py/KeyError/OSError for a corrupt or foreign file
        raise NIRError(f"cannot read NIR file {path}: {type(e).__name__}: {e}") from None
    return import_graph(graph, num_classes, reset, dt)
