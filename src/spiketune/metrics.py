"""NeuroBench-compatible metrics of a network on a dataset.

Definitions follow NeuroBench (v2):

* ``footprint``: bytes of all parameters and buffers.
* ``parameter_count``: number of parameters.
* ``connection_sparsity``: zero weights / all weights of the conv and linear layers.
* ``activation_sparsity``: zero outputs / all outputs of the spiking layers, over every
  neuron, time step and sample (= 1 - the network-wide firing rate).
* ``synaptic_operations`` per sample: for each conv/linear layer and time step, the
  operations ``sum_out sum_in [x_in != 0] [w != 0]`` (bias excluded), counted as
  ``Effective_ACs`` when the layer's input is binary spikes and ``Effective_MACs`` when it
  is analog (a direct-coded first layer, which sees its input at every step);
  ``Dense`` counts every synapse at every step as if all inputs and weights were non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .data import TensorDataset
from .encoding import encode
from .models import SpikingNetwork


@dataclass
class Metrics:
    footprint: int
    parameter_count: int
    connection_sparsity: float
    activation_sparsity: float
    synaptic_operations: dict[str, float]
    accuracy: float


def _ops(block, x: torch.Tensor, total: bool) -> float:
    """NeuroBench's operation count of one layer for a batch of inputs [M, ...]."""
    layer = block.weight_layer
    xb = torch.ones_like(x) if total else (x != 0).to(x.dtype)
    wb = torch.ones_like(layer.weight) if total else (layer.weight != 0).to(x.dtype)
    if block.spec.kind == "conv":
        return float(F.conv2d(xb, wb, None, layer.stride, layer.padding).sum())
    return float(F.linear(xb.flatten(1), wb).sum())


@torch.no_grad()
def compute(model: SpikingNetwork, ds: TensorDataset, num_steps: int, encoding: str,
            batch_size: int = 256, seed: int = 0) -> Metrics:
    model.eval()
    footprint = sum(p.numel() * p.element_size() for p in model.parameters()) + \
        sum(b.numel() * b.element_size() for b in model.buffers())
    weights = [b.weight_layer.weight for b in model.blocks]
    zeros = sum(int((w == 0).sum()) for w in weights)
    n_weights = sum(w.numel() for w in weights)
    gen = torch.Generator().manual_seed(seed)
    macs = acs = dense = 0.0
    spikes = slots = 0
    correct = 0
    for start in range(0, len(ds), batch_size):
        x, y = ds.x[start:start + batch_size], ds.y[start:start + batch_size]
        xin = encode(x, encoding, num_steps, gen)
        out, rec = model(xin, num_steps=num_steps, record=True)
        correct += int((model.decode(out).argmax(1) == y).sum())
        inputs = [xin.unsqueeze(0).expand(num_steps, *xin.shape) if encoding == "direct" else xin] + rec[:-1]
        for block, inp in zip(model.blocks, inputs):
            flat = inp.reshape(-1, *inp.shape[2:])
            ops = _ops(block, flat, total=False)
            binary = bool(((inp == 0) | (inp == 1)).all())
            if binary:
                acs += ops
            else:
                macs += ops
            dense += _ops(block, flat, total=True)
        for r in rec:
            spikes += int((r != 0).sum())
            slots += r.numel()
    n = len(ds)
    return Metrics(footprint, sum(p.numel() for p in model.parameters()), zeros / n_weights,
                   1 - spikes / slots, {"Effective_MACs": macs / n, "Effective_ACs": acs / n,
                                        "Dense": dense / n}, correct / n)
