"""Spike tensors kept for the backward pass as bits: 1 bit per spike instead of the 32 of
a float32 (16 of a bfloat16) value.

A synapse whose input is a spike map (0/1) saves that input for its weight gradient.
:func:`saving_as_bits` packs exactly that saved tensor, 8 spikes to a byte in the tensor's
memory order, and unpacks it bit for bit when backward needs it, so gradients are
identical. The float spikes themselves are then freed once the forward pass is done.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch


def _channels_last(t: torch.Tensor) -> bool:
    return t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)


def _memory_order(t: torch.Tensor) -> torch.Tensor:
    """``t`` as 1-D in its memory order (a view when contiguous or channels-last)."""
    return t.permute(0, 2, 3, 1).reshape(-1) if _channels_last(t) else t.contiguous().view(-1)


@dataclass
class PackedSpikes:
    """A 0/1 tensor as bits, with what is needed to rebuild it exactly."""

    bits: torch.Tensor  # uint8 [ceil(n / 8)]
    shape: torch.Size
    dtype: torch.dtype
    channels_last: bool

    @classmethod
    def pack(cls, t: torch.Tensor) -> PackedSpikes:
        flat = _memory_order(t).to(torch.uint8)  # one byte per spike, briefly
        if flat.numel() % 8:
            flat = torch.nn.functional.pad(flat, (0, -flat.numel() % 8))
        shifts = torch.arange(8, dtype=torch.uint8, device=t.device)
        bits = flat.view(-1, 8).bitwise_left_shift_(shifts).sum(1, dtype=torch.uint8)
        return cls(bits, t.shape, t.dtype, _channels_last(t))

    def unpack(self) -> torch.Tensor:
        shifts = torch.arange(8, dtype=torch.uint8, device=self.bits.device)
        n = self.shape.numel()
        flat = (self.bits.unsqueeze(1) >> shifts).bitwise_and_(1).view(-1)[:n].to(self.dtype)
        if self.channels_last:
            b, c, h, w = self.shape
            return flat.view(b, h, w, c).permute(0, 3, 1, 2)
        return flat.view(self.shape)


@contextmanager
def saving_as_bits(spikes: torch.Tensor):
    """Inside, a tensor autograd saves that holds ``spikes`` (the tensor or a view of all of
    it) is kept as bits; every other saved tensor is kept as usual."""
    # the hooks live as long as what they saved: they must not hold the spikes themselves
    storage, numel, dtype = spikes.untyped_storage().data_ptr(), spikes.numel(), spikes.dtype

    def pack(t: torch.Tensor):
        if t.numel() == numel and t.dtype == dtype and t.untyped_storage().data_ptr() == storage:
            return PackedSpikes.pack(t)
        return t

    def unpack(saved):
        return saved.unpack() if isinstance(saved, PackedSpikes) else saved

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        yield
