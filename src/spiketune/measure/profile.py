"""Sparsity profile of a trained network, and the spike traces the hardware model reads.

For each spiking layer: total spikes, firing rate ``spikes / (neurons * T * samples)``,
activation sparsity ``1 - firing rate``, and the synaptic operations of the weight
layer that reads its spikes (effective accumulates: each event times its exact
out-degree, see :mod:`spiketune.measure.fanout`). Spikes and rates are the neurons';
where a block fires before pooling (``S-MP2``) the next layer receives the max-pooled
spikes, which its ``input_events``, the layer's ``output_events`` and the traces count.

Spike tensor 0 is the input the hardware receives, traced: by default the network's own
input (an event wherever the direct input or a frame is non-zero). With
``hardware_input="rate"`` it is instead rate-coded spikes of each direct input, as snnTorch's
``spikegen.rate`` makes them (each value clamped to [0, 1], so a standardised input's
negative values never fire and values above 1 always do; one Bernoulli draw per pixel and
time step) from a generator of its own seeded with ``seed``: Study A costed its
direct-trained network on such spikes. The network's own spikes (tensors 1 and up) are
those of its direct input either way, and so is the profile (sparsity, input events and
synaptic operations of every layer): only the traced input changes, and the traces'
manifest names it ``rate``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from spiketune import traces as tr
from spiketune.data.datasets import TensorDataset
from spiketune.data.encoding import encode
from spiketune.errors import ConfigError
from spiketune.measure.fanout import out_degree
from spiketune.network.models import SpikingBlock, SpikingNetwork


@dataclass
class LayerProfile:
    """Sparsity of one block's neurons, its weight layer's work and the events it sends on
    (``output_events``: its spikes, or their max-pooled OR when it fires before pooling)."""

    name: str
    kind: str
    neurons: int
    spikes: int
    firing_rate: float
    sparsity: float
    input_events: int
    synops: int
    output_events: int


@dataclass
class Profile:
    accuracy: float
    num_samples: int
    num_steps: int
    layers: list[LayerProfile]

    @property
    def total_spikes(self) -> int:
        return sum(layer.spikes for layer in self.layers)

    @property
    def firing_rate(self) -> float:
        """Network-wide firing rate over all spiking neurons."""
        n = sum(layer.neurons for layer in self.layers)
        return self.total_spikes / (n * self.num_steps * self.num_samples)

    @property
    def synops(self) -> int:
        return sum(layer.synops for layer in self.layers)

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "num_samples": self.num_samples,
                "num_steps": self.num_steps, "total_spikes": self.total_spikes,
                "firing_rate": self.firing_rate, "synops": self.synops,
                "layers": [asdict(layer) for layer in self.layers]}


def blocks_of(model: SpikingNetwork) -> list[SpikingBlock]:
    """The model's blocks, typed (iterating an nn.ModuleList gives plain Modules)."""
    out = []
    for block in model.blocks:
        assert isinstance(block, SpikingBlock)  # SpikingNetwork builds only SpikingBlocks
        out.append(block)
    return out


def layer_specs(model: SpikingNetwork) -> list[tr.LayerSpec]:
    """Torch-free description of the model's weight layers (for traces/hardware)."""
    specs = []
    for block in blocks_of(model):
        s, n = block.spec, block.neuron
        specs.append(tr.LayerSpec(
            kind=s.kind, in_shape=tuple(s.in_shape), conv_shape=tuple(s.conv_shape),
            out_shape=tuple(s.out_shape), kernel=s.kernel, stride=s.stride, padding=s.padding,
            pool=s.pool, pool_spikes=s.pool_spikes, neuron=n.kind,
            beta=float(getattr(n, "beta", torch.ones(1)).reshape(-1)[0]),
            threshold=float(n.threshold), reset=n.reset_mode,
            weight_bits=getattr(block.weight_layer, "bits", None), dynamics=n.dynamics()))
    return specs


def layer_weights(model: SpikingNetwork) -> list[dict[str, np.ndarray]]:
    from spiketune.network.quant import integer_weight

    out = []
    for block in blocks_of(model):
        layer = block.weight_layer
        w = {"weight": layer.weight.detach().cpu().numpy().astype(np.float32),
             "bias": (layer.bias.detach().cpu().numpy().astype(np.float32) if layer.bias is not None
                      else np.zeros(layer.weight.shape[0], np.float32))}
        bits = getattr(layer, "bits", None)
        if bits:
            q, scale = integer_weight(layer.weight, bits)
            # a 0-d array: savez stores a numpy scalar as one too
            w["int_weight"], w["scale"] = q.cpu().numpy(), np.array(scale, np.float32)
        bn = next((m for m in block.synapse if isinstance(m, nn.modules.batchnorm._BatchNorm)), None)
        if bn is not None:  # eval-mode batch norm as a per-channel affine map
            # spiketune builds its batch norms with running statistics
            assert bn.running_var is not None and bn.running_mean is not None
            scale_bn = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
            w["bn_scale"] = scale_bn.cpu().numpy().astype(np.float32)
            w["bn_shift"] = (bn.bias - bn.running_mean * scale_bn).detach().cpu().numpy().astype(np.float32)
        out.append(w)
    return out


def _channel_counts(ev: torch.Tensor) -> torch.Tensor:
    """Boolean events [T, B, C, ...] -> counts per channel [B, T, C]."""
    t, b, c = ev.shape[:3]
    return ev.reshape(t, b, c, -1).sum(-1).permute(1, 0, 2)


@torch.no_grad()
def run_profile(model: SpikingNetwork, ds: TensorDataset, num_steps: int, encoding: str,
                batch_size: int = 256, trace_dir: str | Path | None = None,
                trace_samples: int | None = None, seed: int = 0,
                observe: Callable[[torch.Tensor, list[torch.Tensor], torch.Tensor, torch.Tensor], None]
                | None = None, hardware_input: str = "traced"
                ) -> Profile:
    """Evaluate ``model`` on ``ds``, profile its sparsity and optionally write traces.

    ``observe(input sequence [T, B, ...], layer spikes, predictions, labels)`` sees every batch.
    ``hardware_input``: "traced" or "rate" (see the module's docstring)."""
    rate_input = hardware_input == "rate"
    if hardware_input not in ("traced", "rate") or rate_input and encoding != "direct":
        raise ConfigError(f"hardware_input '{hardware_input}' with encoding '{encoding}': valid are "
                          f"'traced', and 'rate' for a direct input")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    hw_gen = torch.Generator().manual_seed(seed)  # the hardware's rate-coded input
    n_tensors = len(model.blocks) + 1
    counts: list[list[np.ndarray]] = [[] for _ in range(n_tensors)]
    bits: list[list[np.ndarray]] = [[] for _ in range(n_tensors)]
    pos_events: list[np.ndarray | None] = [None] * n_tensors
    fired = [0] * len(model.blocks)  # each block's neuron spikes
    spiking = [True] + [n.spiking for n in model.neurons()]
    inputs, preds = [], []
    keep = len(ds) if trace_samples is None else trace_samples
    max_count = int(ds.x.max()) if trace_dir is not None and encoding == "events" and len(ds) else 1
    # analog input values are traced; event frames only when they hold integer counts above 1
    # (a resized frame's fractional values reach the hardware as its bitmap of non-zero pixels)
    counts_above_1 = max_count > 1 and bool(torch.equal(ds.x, ds.x.round()))
    keep_values = trace_dir is not None and not rate_input and (encoding == "direct" or counts_above_1)
    for start in range(0, len(ds), batch_size):
        x = ds.x[start:start + batch_size]
        xin = encode(x, encoding, num_steps, gen)
        out, per_block = model.layer_spikes(xin, num_steps)
        rec = [sent for _, sent in per_block]
        for i, (spikes, _) in enumerate(per_block):
            fired[i] += int((spikes != 0).sum()) if spiking[i + 1] else 0
        pred = model.decode(out).argmax(1)
        preds.append(pred.numpy())
        seq_in = xin.unsqueeze(0).expand(num_steps, *xin.shape) if encoding == "direct" else xin
        if observe is not None:
            observe(seq_in, rec, pred, ds.y[start:start + batch_size])
        hw_in = encode(x, "rate", num_steps, hw_gen) != 0 if rate_input else None
        take = max(0, min(len(x), keep - start))
        for k, s in enumerate([seq_in] + rec):
            # a non-spiking read-out (LI) outputs membranes: it sends no events
            ev = (s != 0) if spiking[k] else torch.zeros_like(s, dtype=torch.bool)
            summed = ev.sum((0, 1)).to(torch.int64).numpy()
            prev = pos_events[k]
            pos_events[k] = summed if prev is None else prev + summed
            traced = hw_in if k == 0 and hw_in is not None else ev
            counts[k].append(_channel_counts(traced).numpy())
            if take:
                bits[k].append(traced[:, :take].transpose(0, 1).numpy())
        if take and keep_values:
            inputs.append(x[:take].numpy())
    predictions = np.concatenate(preds)
    labels = ds.y.numpy()
    specs = layer_specs(model)
    layers = []
    for i, (spec, block) in enumerate(zip(specs, blocks_of(model), strict=True)):
        ev_in, ev_out = pos_events[i], pos_events[i + 1]
        assert ev_in is not None and ev_out is not None  # every batch adds to each
        deg = out_degree(spec.kind, spec.in_shape, spec.out_channels, spec.kernel, spec.stride,
                         spec.padding, spec.conv_shape)
        neurons = math.prod(spec.neuron_shape)
        rate = fired[i] / (neurons * num_steps * len(ds))
        layers.append(LayerProfile(
            name=f"L{i}:{'-'.join(block.spec.tokens)}", kind=spec.kind, neurons=neurons,
            spikes=fired[i], firing_rate=rate, sparsity=1.0 - rate,
            input_events=int(ev_in.sum()),
            synops=int((ev_in.reshape(deg.shape) * deg).sum()), output_events=int(ev_out.sum())))
    prof = Profile(float((predictions == labels).mean()), len(ds), num_steps, layers)
    if trace_dir is not None:
        tr.write(trace_dir, num_steps=num_steps, encoding="rate" if rate_input else encoding,
                 input_shape=model.input_shape,
                 layers=specs, counts=[np.concatenate(c) for c in counts],
                 bits=[np.concatenate(b) for b in bits] if keep else None,
                 weights=layer_weights(model), labels=labels, predictions=predictions,
                 input_values=np.concatenate(inputs) if inputs else None,
                 meta={"arch": model.arch, "accuracy": prof.accuracy,
                       "num_classes": model.num_classes, "input_max_count": max_count,
                       "layer_names": [layer.name for layer in layers]})
    return prof
