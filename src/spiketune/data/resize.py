"""Bilinear resize of images and event frames, applied once when a dataset is loaded.

Every image (or event frame) becomes ``size`` x ``size`` through
``F.interpolate(mode="bilinear")`` with torch's defaults (``align_corners=False``, no
antialiasing), the call Study B's network made at the start of its ``forward``. The
interpolation treats each frame on its own and has no parameters or randomness, so
resizing the dataset once before training gives the network exactly the tensor a resize
inside its forward pass would, without repeating the work every batch and epoch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CHUNK = 1024  # frames per interpolation call: bounds the float copy of large event frames


def resize_error(resize: int | None, downsample: int | None, binary_frames: bool) -> str | None:
    """Why ``data.resize`` cannot combine with the other spatial settings, or None: a resize
    starts from the full sensor (downsample unset or 1) and gives fractional values, which
    are no spike bitmap."""
    if resize is None:
        return None
    if downsample not in (None, 1):
        return (f"data.resize ({resize}) and data.downsample ({downsample}) both set the frame "
                f"size (a resize starts from the full sensor); set one of them")
    if binary_frames:
        return (f"data.resize ({resize}) interpolates frames to fractional values but "
                f"data.binary_frames asks for a 0/1 bitmap; set one of them")
    return None


def resize(x: torch.Tensor, size: int, frames: bool) -> torch.Tensor:
    """Images [N, C, H, W] (frames [N, T, C, H, W] when ``frames``) resized bilinearly to
    ``size`` x ``size``, as float32."""
    lead = x.shape[:2] if frames else x.shape[:1]
    flat = x.reshape(-1, *x.shape[len(lead):])
    out = torch.empty((flat.shape[0], flat.shape[1], size, size), dtype=torch.float32)
    for start in range(0, len(flat), CHUNK):
        chunk = flat[start:start + CHUNK].to(torch.float32)
        out[start:start + CHUNK] = F.interpolate(chunk, size=(size, size), mode="bilinear")
    return out.reshape(*lead, *out.shape[1:])
