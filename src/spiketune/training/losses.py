"""Losses on output spikes [T, B, units], as snnTorch defines them."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def class_counts(spikes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Spike counts per class [B, classes] (population groups summed)."""
    counts = spikes.sum(0)
    return counts.view(counts.shape[0], num_classes, -1).sum(-1)


def ce_count_loss(spikes: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Cross-entropy of the softmax over class spike counts (snnTorch ``ce_count_loss``)."""
    return F.cross_entropy(class_counts(spikes, num_classes), targets)


def mse_count_loss(spikes: torch.Tensor, targets: torch.Tensor, num_classes: int,
                   correct_rate: float = 1.0, incorrect_rate: float = 0.0) -> torch.Tensor:
    """snnTorch ``mse_count_loss``: MSE between class counts and target counts
    ``int(T * rate * pop_size)`` (truncated as snnTorch does), divided by T."""
    num_steps, units = spikes.shape[0], spikes.shape[-1]
    pop = units // num_classes
    on = int(num_steps * correct_rate * pop)
    off = int(num_steps * incorrect_rate * pop)
    target = torch.full((spikes.shape[1], num_classes), float(off), dtype=spikes.dtype,
                        device=spikes.device)
    target.scatter_(1, targets.view(-1, 1), float(on))
    return F.mse_loss(class_counts(spikes, num_classes), target) / num_steps
