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
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from spiketune.data.datasets import TensorDataset
from spiketune.network.models import SpikingNetwork

if TYPE_CHECKING:
    from spiketune.measure.profile import Profile


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


class Counter:
    """Counts the synaptic operations batch by batch: hand :meth:`update` to
    :func:`spiketune.measure.profile.run_profile` as ``observe``; the profile supplies accuracy and
    activation sparsity."""

    def __init__(self, model: SpikingNetwork) -> None:
        self.model = model
        self.macs = self.acs = self.dense = 0.0
        self.samples = 0

    def update(self, seq_in: torch.Tensor, rec: list[torch.Tensor], pred: torch.Tensor,
               y: torch.Tensor) -> None:
        """One batch: the input sequence [T, B, ...] and each layer's spikes."""
        # later layers see spikes (0/1 by construction); only the network input may be analog
        analog_in = not bool(((seq_in == 0) | (seq_in == 1)).all())
        for i, (block, inp) in enumerate(zip(self.model.blocks, [seq_in, *rec[:-1]], strict=True)):
            flat = inp.reshape(-1, *inp.shape[2:])
            ops = _ops(block, flat, total=False)
            if i == 0 and analog_in:
                self.macs += ops
            else:
                self.acs += ops
            self.dense += _ops(block, flat, total=True)
        self.samples += len(y)

    def result(self, prof: Profile) -> Metrics:
        """The metrics, with accuracy and firing rate from the profile of the same pass."""
        m, n = self.model, self.samples
        from spiketune.measure.profile import blocks_of

        weights = [b.weight_layer.weight for b in blocks_of(m)]
        footprint = sum(t.numel() * t.element_size() for t in [*m.parameters(), *m.buffers()])
        return Metrics(footprint, sum(p.numel() for p in m.parameters()),
                       sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights),
                       1 - prof.firing_rate,
                       {"Effective_MACs": self.macs / n, "Effective_ACs": self.acs / n,
                        "Dense": self.dense / n},
                       prof.accuracy)


def compute(model: SpikingNetwork, ds: TensorDataset, num_steps: int, encoding: str,
            batch_size: int = 256, seed: int = 0) -> Metrics:
    """The metrics of ``model`` on ``ds`` in one evaluation pass."""
    from spiketune.measure.profile import run_profile

    counter = Counter(model)
    prof = run_profile(model, ds, num_steps, encoding, batch_size=batch_size, seed=seed,
                       observe=counter.update)
    return counter.result(prof)
