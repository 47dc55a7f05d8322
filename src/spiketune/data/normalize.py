"""Per-channel standardisation of static images: ``(x - mean_c) / std_c``.

The statistics come from the images the network trains on (the caller passes them: the
training part of the training split, validation part excluded) in float64, the standard
deviation over all pixels of the channel (population, no Bessel correction). Study A used
torchvision-style fixed SVHN constants (0.4377, 0.4438, 0.4728) / (0.1980, 0.2010, 0.1970),
over SVHN's whole training split, on which it also trained; computing them from the
training samples actually used gives the same kind of statistics for any dataset, subset
(``data.train_limit``) or validation split, and keeps the validation and test images unseen.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from spiketune.data.datasets import TensorDataset
from spiketune.errors import DatasetError

CHUNK = 4096  # images per pass: bounds the float64 copy


def channel_stats(ds: TensorDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) per channel of ``ds``'s images [N, C, H, W], float64 (two passes)."""
    if ds.frames:
        raise DatasetError(f"'{ds.name}' holds event frames (counts): standardising them gives "
                           f"no events; per-channel statistics are for static images")
    count = ds.x.numel() // ds.x.shape[1]
    mean = torch.stack([c.sum(1) for c in _channels(ds)]).sum(0) / count
    var = torch.stack([((c - mean[:, None]) ** 2).sum(1) for c in _channels(ds)]).sum(0) / count
    return mean, var.sqrt()


def _channels(ds: TensorDataset) -> Iterator[torch.Tensor]:
    """``ds``'s images chunk by chunk as float64 [C, pixels of the chunk]."""
    for i in range(0, len(ds), CHUNK):
        x = ds.x[i:i + CHUNK].to(torch.float64)
        yield x.transpose(0, 1).reshape(x.shape[1], -1)


def standardize(ds: TensorDataset, mean: torch.Tensor, std: torch.Tensor) -> TensorDataset:
    """``ds`` with every channel ``c`` mapped to ``(x - mean[c]) / std[c]`` in float32 (a
    channel without spread only has its mean removed)."""
    shape = (1, -1, 1, 1)
    m = mean.to(torch.float32).view(shape)
    s = torch.where(std > 0, std, torch.ones_like(std)).to(torch.float32).view(shape)
    return TensorDataset(ds.name, (ds.x - m) / s, ds.y, ds.num_classes, ds.source, ds.frames)
