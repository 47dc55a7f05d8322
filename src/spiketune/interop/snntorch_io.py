"""Convert an snnTorch ``nn.Sequential`` into a spiketune network with equal spikes.

Supported layers: ``nn.Conv2d`` (square kernel, symmetric padding/stride), ``nn.MaxPool2d``
and ``nn.AvgPool2d`` (stride = kernel), ``nn.BatchNorm2d/1d``, ``nn.Dropout``,
``nn.Flatten``, ``nn.Linear``, and ``snn.Leaky`` (beta a number or per neuron,
``learn_beta``/``learn_threshold`` kept trainable), ``snn.Synaptic`` (CubaLIF: alpha and
beta) and ``snn.Lapicque`` (threshold, reset mechanism and surrogate carried over;
snnTorch's default ``reset_delay=True``).
Feed the converted network the same input at every step (direct coding) or a [T, B, ...]
sequence, as the snnTorch model would be stepped.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from spiketune.errors import SpiketuneError
from spiketune.measure.profile import blocks_of
from spiketune.network import surrogate as sg
from spiketune.network.models import SpikingNetwork, build
from spiketune.network.neurons import LIF, CubaLIF, Lapicque, SpikingNeuron

# snnTorch surrogate factory -> the family it equals (``Family.snntorch``)
SURROGATES = {f.snntorch: f for f in sg.FAMILIES.values()}


def _pair(v) -> int:
    a, b = (v, v) if isinstance(v, int) else tuple(v)
    if a != b:
        raise SpiketuneError(f"only square/symmetric kernels, padding and strides are supported, got {v}")
    return int(a)


def _surrogate(neuron) -> sg.Surrogate:
    """snnTorch keeps the surrogate as a closure of its factory (``atan.<locals>.inner``):
    the factory's name gives the family, the closed-over variables its parameters."""
    fn = neuron.spike_grad
    factory = fn.__qualname__.split(".<locals>")[0]
    if factory not in SURROGATES:
        raise SpiketuneError(f"unsupported snnTorch surrogate '{factory}'; "
                             f"supported: {', '.join(SURROGATES)}")
    family = SURROGATES[factory]
    closed = zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ()), strict=True)
    return sg.get(family.name, **{k: float(v) for k, v in closed if k in family.defaults})


def convert(model: nn.Sequential, input_shape: tuple[int, ...],
            num_classes: int | None = None) -> SpikingNetwork:
    """A spiketune network with the weights and neuron parameters of ``model``."""
    import snntorch as snn

    tokens: list[str] = []
    weights: list[nn.Module] = []  # conv, linear and batch-norm layers in order
    neurons: list[nn.Module] = []
    for i, m in enumerate(model):
        if isinstance(m, nn.Conv2d):
            if m.groups != 1 or _pair(m.dilation) != 1:
                raise SpiketuneError(f"layer {i}: grouped or dilated convolutions are not supported")
            k, p, s = _pair(m.kernel_size), _pair(m.padding), _pair(m.stride)
            tokens.append(f"{m.out_channels}C{k}" + (f"p{p}" if p else "") + (f"s{s}" if s != 1 else ""))
            weights.append(m)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            k = _pair(m.kernel_size)
            if _pair(m.stride or k) != k or _pair(m.padding) != 0:
                raise SpiketuneError(f"layer {i}: pooling needs stride = kernel and no padding")
            tokens.append(f"{'MP' if isinstance(m, nn.MaxPool2d) else 'AP'}{k}")
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            tokens.append("BN")
            weights.append(m)
        elif isinstance(m, nn.Dropout):
            tokens.append(f"D{m.p:g}")
        elif isinstance(m, nn.Linear):
            tokens.append(str(m.out_features))
            weights.append(m)
        elif isinstance(m, (snn.Leaky, snn.Lapicque, snn.Synaptic)):
            if not getattr(m, "reset_delay", True):
                raise SpiketuneError(f"layer {i}: reset_delay=False is not supported")
            neurons.append(m)
            # fires before a pooling of its spikes, or after a dropout of its current
            if (i + 1 < len(model) and isinstance(model[i + 1], (nn.MaxPool2d, nn.AvgPool2d))) or (
                    i > 0 and isinstance(model[i - 1], nn.Dropout)):
                tokens.append("S")
        elif isinstance(m, nn.Flatten):
            continue
        else:
            raise SpiketuneError(f"layer {i} ({type(m).__name__}) is not supported; supported: Conv2d, "
                                 f"MaxPool2d, AvgPool2d, BatchNorm, Dropout, Flatten, Linear, Leaky, "
                                 f"Synaptic, Lapicque")
    first = neurons[0]
    net = build("-".join(tokens), input_shape, num_classes, surrogate=_surrogate(first))
    if len(net.blocks) != len(neurons):
        raise SpiketuneError(f"{len(net.blocks)} weight layers but {len(neurons)} spiking layers: "
                             f"each conv/linear needs one snn.Leaky/Synaptic/Lapicque after it")
    params = [m for b in blocks_of(net) for m in b.synapse if isinstance(m, (nn.Conv2d, nn.Linear,
                                                                           nn.BatchNorm1d, nn.BatchNorm2d))]
    with torch.no_grad():
        for ours, theirs in zip(params, weights, strict=True):
            ours.load_state_dict(theirs.state_dict())
        for block, n in zip(blocks_of(net), neurons, strict=True):
            block.neuron = _neuron(n)
    return net


def _neuron(n) -> SpikingNeuron:
    """The spiketune neuron of an snnTorch neuron module (trainable where it was)."""
    kind = {"Leaky": "lif", "Synaptic": "cuba_lif", "Lapicque": "lapicque"}[type(n).__name__]

    def learn(p: str) -> bool:
        return isinstance(getattr(n, p), nn.Parameter)

    def value(p: str) -> torch.Tensor:
        return getattr(n, p).detach().clone()

    thr = float(n.threshold.reshape(-1)[0])
    if n.threshold.numel() != 1:
        raise SpiketuneError(f"snnTorch {type(n).__name__}: a threshold per neuron is not supported")
    common: dict[str, Any] = dict(threshold=thr, reset=n.reset_mechanism, surrogate=_surrogate(n),
                                  learn_threshold=learn("threshold"))
    if kind == "lapicque":
        return Lapicque(beta=float(value("beta").reshape(-1)[0]), learn_beta=learn("beta"), **common)
    if kind == "cuba_lif":
        return CubaLIF(alpha=value("alpha"), learn_alpha=learn("alpha"), beta=value("beta"),
                       learn_beta=learn("beta"), **common)
    return LIF(beta=value("beta"), learn_beta=learn("beta"), **common)
