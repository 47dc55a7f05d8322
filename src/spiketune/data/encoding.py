"""Spike encoders for static images in [0, 1]: direct, rate (Bernoulli) and latency.

``direct`` returns the image itself: the network feeds it to its first layer at
every step (computed once, see :mod:`spiketune.network.models`). ``rate`` draws
``S_t ~ Bernoulli(x)`` independently per step. ``latency`` fires each pixel with
x > 0 exactly once, at step ``round((1 - x) * (T - 1))`` (brighter = earlier; a
linear time-to-first-spike code). ``events`` takes event-camera frames [B, T, C, H, W]
(event counts per time bin and polarity) and returns them as [T, B, C, H, W].
"""

from __future__ import annotations

import torch

from spiketune.errors import ConfigError

ENCODINGS = ("direct", "rate", "latency", "events")


def encode(x: torch.Tensor, kind: str, num_steps: int,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Encode a batch [B, ...]; ``direct`` returns it unchanged, others return [T, B, ...]."""
    if kind == "events":
        if x.dim() != 5 or x.shape[1] != num_steps:
            raise ConfigError(f"'events' encoding needs frames [B, T={num_steps}, C, H, W], "
                              f"got {tuple(x.shape)}")
        return x.transpose(0, 1).to(torch.get_default_dtype())
    if kind == "direct":
        return x
    if kind == "rate":
        p = x.clamp(0, 1).unsqueeze(0).expand(num_steps, *x.shape)
        return torch.bernoulli(p, generator=generator)
    if kind == "latency":
        xs = x.clamp(0, 1)
        when = torch.round((1 - xs) * (num_steps - 1)).long()
        steps = torch.arange(num_steps, device=x.device).view(-1, *([1] * x.dim()))
        return ((steps == when.unsqueeze(0)) & (xs > 0).unsqueeze(0)).to(x.dtype)
    raise ConfigError(f"unknown encoding '{kind}'; valid: {', '.join(ENCODINGS)}")
