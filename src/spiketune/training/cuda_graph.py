"""The training step captured in a CUDA graph (``train.cuda_graphs: true``).

A graph replays the step's kernels (forward, loss, backward, parameter chi and the
optimizer step) with one launch: no Python and no per-kernel launch cost, which is what
bounds a small-batch step on a GPU. Its inputs and outputs live at fixed addresses, so
each batch is copied into the captured input and the step's outputs are read from the
captured ones. Everything the step keeps across batches must live on the device and be
updated in place (Adam with ``capturable=True`` and a tensor learning rate, the in-place
chi counters); the config refuses what a replay would freeze (adaptive surrogate widths).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch

Stats = TypeVar("Stats")

WARMUP = 3  # eager steps before capture (optimizer state, cuDNN and Triton autotuning)


@dataclass
class Captured(Generic[Stats]):
    """A captured step: its graph, the fixed input tensors it reads and the outputs it writes."""

    graph: torch.cuda.CUDAGraph
    x: torch.Tensor
    y: torch.Tensor
    outputs: Stats


class GraphedStep(Generic[Stats]):
    """``step(x, y)`` run eagerly for :data:`WARMUP` batches on a side stream (as capture
    requires), then captured once and replayed for every later batch of the same shape."""

    def __init__(self, step: Callable[[torch.Tensor, torch.Tensor], Stats]) -> None:
        self.step = step
        self.warm = 0
        self.captured: Captured[Stats] | None = None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> Stats:
        if not x.is_cuda:
            raise RuntimeError("a CUDA graph step needs its batch on a CUDA device")
        if self.captured is None and self.warm < WARMUP:
            self.warm += 1
            return self._on_side_stream(x, y)
        if self.captured is None:
            self.captured = self._capture(x, y)
        c = self.captured
        c.x.copy_(x)
        c.y.copy_(y)
        c.graph.replay()
        return c.outputs

    def _on_side_stream(self, x: torch.Tensor, y: torch.Tensor) -> Stats:
        side, main = torch.cuda.Stream(), torch.cuda.current_stream()
        side.wait_stream(main)
        with torch.cuda.stream(side):
            out = self.step(x, y)
        main.wait_stream(side)
        return out

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> Captured[Stats]:
        x, y = x.clone(), y.clone()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):  # records only: the batch is trained by the replay
            outputs = self.step(x, y)
        return Captured(graph, x, y, outputs)
