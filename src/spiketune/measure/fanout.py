"""Exact fan-out (out-degree) of every input position of a conv or fully-connected layer.

Torch-free: used by the sparsity profile (synaptic operations) and the hardware model.
"""

from __future__ import annotations

import numpy as np


def _axis_degree(n_in: int, n_out: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """For each input index i, how many output positions o read it: o*s - p <= i <= o*s - p + k - 1."""
    i = np.arange(n_in)[:, None]
    o = np.arange(n_out)[None, :]
    start = o * stride - padding
    return ((i >= start) & (i < start + kernel)).sum(1)


def out_degree(kind: str, in_shape: tuple[int, ...], out_channels: int, kernel: int = 1,
               stride: int = 1, padding: int = 0, conv_shape: tuple[int, ...] = ()) -> np.ndarray:
    """Synapses driven by one spike at each input position, shaped like the input.

    conv: ``out_channels * deg_h[y] * deg_w[x]`` (border positions drive fewer taps);
    fc: ``out_channels`` for every input.
    """
    if kind == "fc":
        return np.full(in_shape, out_channels, dtype=np.int64)
    c, h, w = in_shape
    _, oh, ow = conv_shape
    dh = _axis_degree(h, oh, kernel, stride, padding)
    dw = _axis_degree(w, ow, kernel, stride, padding)
    return np.broadcast_to(out_channels * np.outer(dh, dw), (c, h, w)).astype(np.int64)
