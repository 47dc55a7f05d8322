"""Spiking networks built from the architecture notation (see :mod:`spiketune.network.arch`).

Execution is multi-step: each conv/linear runs once over all ``T*B`` inputs, and
for a static (direct-coded) input the first block's synapse runs once and is
broadcast over time. ``precision="bf16"`` runs the synapses in bfloat16 autocast;
the neurons' state and update stay float32 and spikes are exact 0/1 either way.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import cast

import torch
from torch import nn

from spiketune.errors import ArchError
from spiketune.network import arch as arch_mod
from spiketune.network import neurons
from spiketune.network import surrogate as sg
from spiketune.network.quant import QuantConv2d, QuantLinear
from spiketune.network.spike_bits import saving_as_bits

PRECISIONS = ("fp32", "bf16")


class SpikingBlock(nn.Module):
    """Synapse (conv/linear [+BN] [+pool]) -> [dropout on the current] -> spiking neuron
    -> [max pooling of the spikes] -> [dropout on the spikes], as the block's spec places
    them (:mod:`spiketune.network.arch`).

    ``spike_input`` (set by the network): the input is another block's 0/1 spikes, so the
    synapse keeps it for backward as bits (:mod:`spiketune.network.spike_bits`) when
    ``spike_bits`` says so (None: on CUDA devices, where memory traffic bounds the step)."""

    spike_input = False
    spike_bits: bool | None = None

    def __init__(self, spec: arch_mod.Block, neuron: neurons.SpikingNeuron,
                 weight_bits: int | None, precision: str = "fp32") -> None:
        super().__init__()
        self.spec = spec
        self.precision = precision
        layers: list[nn.Module] = []
        self.spike_pool: nn.Module | None = None
        if spec.kind == "conv":
            cin = spec.in_shape[0]
            args = (cin, spec.out_channels, spec.kernel)
            layers.append(QuantConv2d(*args, stride=spec.stride, padding=spec.padding, bits=weight_bits)
                          if weight_bits else nn.Conv2d(*args, stride=spec.stride, padding=spec.padding))
            if spec.batch_norm:
                layers.append(nn.BatchNorm2d(spec.out_channels))
            if spec.pool:
                kind, size = spec.pool
                pool = nn.MaxPool2d(size) if kind == "max" else nn.AvgPool2d(size)
                if spec.pool_spikes:
                    self.spike_pool = pool
                else:
                    layers.append(pool)
        else:
            fan_in = math.prod(spec.in_shape)
            layers.append(nn.Flatten())
            layers.append(QuantLinear(fan_in, spec.out_channels, bits=weight_bits) if weight_bits
                          else nn.Linear(fan_in, spec.out_channels))
            if spec.batch_norm:
                layers.append(nn.BatchNorm1d(spec.out_channels))
        self.synapse = nn.Sequential(*layers)
        self.neuron = neuron
        self.dropout = nn.Dropout(spec.dropout) if spec.dropout else nn.Identity()

    @property
    def weight_layer(self) -> nn.Conv2d | nn.Linear:
        return next(m for m in self.synapse if isinstance(m, (nn.Conv2d, nn.Linear)))

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        # channels-last convolutions run ~4x faster on CPU (oneDNN) and suit cuDNN too
        if self.spec.kind == "conv":
            return x.contiguous(memory_format=torch.channels_last)
        return x.flatten(1)

    def _synapse(self, x: torch.Tensor) -> torch.Tensor:
        """The synapse on [N, ...]; in bf16 precision its conv/linear run under bfloat16
        autocast (weights kept in float32) and the result returns to float32 for the neuron."""
        x = self._prepare(x)
        if self.spike_input and self.precision == "bf16":
            x = x.to(torch.bfloat16)  # exact for 0/1, and the tensor the synapse saves
        bits = self.spike_input and torch.is_grad_enabled() and (
            x.is_cuda if self.spike_bits is None else self.spike_bits)
        with saving_as_bits(x) if bits else nullcontext():
            if self.precision == "fp32":
                return self.synapse(x)
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                y = self.synapse(x)
        return y.float()

    def synapse_seq(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Apply the synapse to [T, B, ...] at once."""
        t, b = x_seq.shape[:2]
        y = self._synapse(x_seq.reshape(t * b, *x_seq.shape[2:]))
        return y.reshape(t, b, *y.shape[1:])

    def fire(self, cur: torch.Tensor, num_steps: int | None = None) -> torch.Tensor:
        """The neuron's spikes [T, B, *neuron_shape] for currents [T, B, ...] (or a static
        [B, ...] current broadcast over ``num_steps``), after any dropout on the current."""
        # device-side flag (a sum is finite iff every term is); the trainer reads all at once
        if self.training:
            self.finite = torch.isfinite(cur.sum())
        if self.spec.current_dropout:
            if num_steps is not None and self.training:  # a fresh mask every step
                cur, num_steps = cur.unsqueeze(0).expand(num_steps, *cur.shape), None
            cur = self.dropout(cur)
        return self.neuron(cur, num_steps=num_steps)

    def emit(self, spikes: torch.Tensor) -> torch.Tensor:
        """What the block sends on [T, B, *out_shape]: the neuron's spikes, max-pooled when
        the spec pools spikes, then dropout when it acts on the spikes."""
        if self.spike_pool is not None:
            t, b = spikes.shape[:2]
            pooled = self.spike_pool(spikes.reshape(t * b, *spikes.shape[2:]))
            spikes = pooled.reshape(t, b, *pooled.shape[1:])
        return spikes if self.spec.current_dropout else self.dropout(spikes)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.emit(self.fire(self.synapse_seq(x_seq)))

    def forward_static(self, x: torch.Tensor, num_steps: int) -> torch.Tensor:
        """Direct input [B, ...]: one synapse pass, broadcast over ``num_steps``."""
        return self.emit(self.fire(self._synapse(x), num_steps))


class SpikingNetwork(nn.Module):
    """A feed-forward SNN. ``forward`` returns output spikes [T, B, units] (membranes when
    the output layer is a non-spiking ``readout`` such as ``li``)."""

    def __init__(self, arch: str, input_shape: tuple[int, ...], num_classes: int | None,
                 neuron: str = "lif", beta: float = 0.5, threshold: float = 1.0,
                 reset: str = "subtract", surrogate: sg.Surrogate | list[sg.Surrogate] | None = None,
                 learn_beta: bool = False, learn_threshold: bool = False,
                 weight_bits: int | None = None, neuron_params: dict | None = None,
                 readout: str | None = None, precision: str = "fp32") -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ArchError(f"unknown precision '{precision}'; valid: {', '.join(PRECISIONS)}")
        specs = arch_mod.parse(arch, input_shape)
        units = specs[-1].out_channels
        num_classes = num_classes or units
        if units % num_classes:
            raise ArchError(f"output layer '{specs[-1].tokens[0]}' of '{arch}' has {units} units, "
                            f"not a multiple of {num_classes} classes")
        if weight_bits is not None and not 2 <= weight_bits <= 16:
            raise ArchError(f"weight_bits must be in [2, 16], got {weight_bits}")
        surrogates = surrogate if isinstance(surrogate, list) else [surrogate] * len(specs)
        if len(surrogates) != len(specs):
            raise ArchError(f"{len(surrogates)} per-layer surrogates for {len(specs)} layers")
        self.arch, self.input_shape = arch, tuple(input_shape)
        self.num_classes, self.pop_size = num_classes, units // num_classes
        kinds = [neuron] * (len(specs) - 1) + [readout or neuron]
        self.blocks = nn.ModuleList(
            SpikingBlock(spec, neurons.make(k, beta, threshold, reset,
                                            s if s is not None else sg.get(sg.DEFAULT),
                                            learn_beta, learn_threshold,
                                            **(neuron_params or {}) if k == neuron else {}),
                         weight_bits, precision)
            for spec, s, k in zip(specs, surrogates, kinds, strict=True))
        blocks = self.spiking_blocks()
        for prev, block in zip(blocks[:-1], blocks[1:], strict=True):
            spike_dropout = prev.spec.dropout and not prev.spec.current_dropout
            block.spike_input = prev.neuron.spiking and not spike_dropout
        hidden = [i for i, b in enumerate(blocks[:-1]) if not b.neuron.spiking]
        if hidden:
            raise ArchError(f"layer {hidden[0]} of '{arch}' has a non-spiking '{neuron}' neuron; "
                            f"only the output layer may (readout)")
        # conv weights in the layout of their inputs; Module.to takes memory_format (documented)
        # but torch's stubs leave it out of the overloads
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def forward(self, x: torch.Tensor, num_steps: int | None = None,
                record: bool = False):
        """``x`` is [T, B, ...] (spike or frame sequence) or a static [B, ...] input with
        ``num_steps``. Returns output spikes [T, B, units], plus, if ``record``, every
        block's output (what the next layer receives: pooled spikes where a block fires
        before pooling)."""
        out, layers = self.layer_spikes(x, num_steps, keep=record)
        return (out, [sent for _, sent in layers]) if record else out

    def layer_spikes(self, x: torch.Tensor, num_steps: int | None = None, keep: bool = True
                     ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """The output and, if ``keep``, each block's (neuron spikes [T, B, *neuron_shape],
        output [T, B, *out_shape]); see :meth:`forward` for ``x``."""
        static = x.dim() == len(self.input_shape) + 1
        if static and not num_steps:
            raise ValueError("a static input needs num_steps")
        expected = tuple(x.shape[1:] if static else x.shape[2:])
        if expected != self.input_shape:
            raise ArchError(f"network '{self.arch}' expects inputs of shape {self.input_shape}, "
                            f"got {expected}")
        layers = []
        h = x
        for i, block in enumerate(self.spiking_blocks()):
            if static and i == 0:
                fired = block.fire(block._synapse(x), num_steps)
            else:
                fired = block.fire(block.synapse_seq(h))
            h = block.emit(fired)
            if keep:
                layers.append((fired, h))
        return h, layers

    def decode(self, spikes: torch.Tensor) -> torch.Tensor:
        """Class scores [B, classes]: spike counts (or read-out membranes) summed over time
        and population."""
        counts = spikes.sum(0)
        return counts.view(counts.shape[0], self.num_classes, self.pop_size).sum(-1)

    def spiking_blocks(self) -> list[SpikingBlock]:
        """The blocks, input to output (``blocks`` holds only :class:`SpikingBlock`s)."""
        return cast(list[SpikingBlock], list(self.blocks))

    def neurons(self) -> list[neurons.SpikingNeuron]:
        return [b.neuron for b in self.spiking_blocks()]


def build(arch: str, input_shape: tuple[int, ...], num_classes: int | None = None,
          **kwargs) -> SpikingNetwork:
    """Build ``arch`` (e.g. ``32C3-P2-32C3-MP2-256-10``) for ``input_shape``.

    Keyword arguments go to :class:`SpikingNetwork` (neuron, beta, threshold, reset,
    surrogate, learn_beta, learn_threshold, weight_bits, neuron_params: e.g. CubaLIF's
    ``{"alpha": 0.6}``, readout: the output layer's neuron model, e.g. ``li``, precision:
    ``fp32`` or ``bf16``, the synapses' arithmetic; neurons always run in float32).
    """
    return SpikingNetwork(arch, input_shape, num_classes, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
