"""Quantisation-aware training of weights to k bits (fake quantisation).

The accelerator stores k-bit signed integer weights with one scale per layer.
During training each forward pass uses ``q(w) = clamp(round(w/s), -2^(k-1), 2^(k-1)-1) * s``
with the per-tensor symmetric scale ``s = max|w| / (2^(k-1) - 1)`` (the scheme of
Brevitas' default ``Int8WeightPerTensorFloat`` at k bits); the rounding passes the
gradient straight through. Biases stay in floating point (the accelerator adds
them in its 32-bit membrane arithmetic). This keeps the core free of a Brevitas
dependency and gives the hardware model the exact integers the network uses.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.round(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return g


def weight_scale(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-tensor symmetric scale for ``bits``-bit weights."""
    qmax = 2 ** (bits - 1) - 1
    return w.detach().abs().max().clamp_min(1e-12) / qmax


def quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Fake-quantised weight (same dtype and shape, values on the k-bit grid)."""
    s = weight_scale(w, bits)
    q = torch.clamp(_RoundSTE.apply(w / s), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return q * s


def integer_weight(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, float]:
    """(integer weights, scale) as the accelerator stores them."""
    s = weight_scale(w, bits)
    q = torch.clamp(torch.round(w.detach() / s), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return q.to(torch.int32), float(s)


class QuantConv2d(nn.Conv2d):
    """Conv2d whose weights are fake-quantised to ``bits`` bits in forward."""

    def __init__(self, *args, bits: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bits = bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, quantize_weight(self.weight, self.bits), self.bias, self.stride,
                        self.padding, self.dilation, self.groups)


class QuantLinear(nn.Linear):
    """Linear layer whose weights are fake-quantised to ``bits`` bits in forward."""

    def __init__(self, *args, bits: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bits = bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, quantize_weight(self.weight, self.bits), self.bias)
