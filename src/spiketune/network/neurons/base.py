"""What every neuron model provides: :class:`SpikingNeuron`.

A model subclasses it with its parameters, ``init_state``/``step`` (one time step, the
differentiable reference), ``fused`` (all T steps as one autograd node with a hand-written
BPTT backward, the fast path) and ``dynamics`` (its update as the trace and the hardware
model read it). The registry (:mod:`.registry`) lists the models by name.
"""

from __future__ import annotations

import math
from typing import ClassVar, Generic, TypeVar

import torch
from torch import nn

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg
from spiketune.traces import NeuronDynamics

RESETS = ("subtract", "zero", "none")
State = torch.Tensor | tuple[torch.Tensor, ...]
StateT = TypeVar("StateT", bound=State)


def sum_to(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t`` summed over the dimensions ``like`` was broadcast along (a parameter's gradient)."""
    return t.sum().reshape(like.shape) if like.dim() == 0 else t.sum_to_size(like.shape)


def as_decay(value, name: str, model: str, low_open: bool = False) -> torch.Tensor:
    """A decay (number or per-channel/per-neuron array) checked to lie in [0, 1]."""
    t = torch.as_tensor(value, dtype=torch.get_default_dtype()).detach().clone()
    lo = t.min().item() if t.numel() else 0.0
    if not torch.isfinite(t).all() or lo < 0 or t.max().item() > 1 or (low_open and lo <= 0):
        raise ConfigError(f"{model} {name} must be in {'(0' if low_open else '[0'}, 1], got {value}")
    return t


class SpikingNeuron(nn.Module, Generic[StateT]):
    """A neuron layer over [T, B, ...] inputs, its state a ``StateT``. Subclasses set ``kind``
    (registry name), ``spiking`` (False: outputs membranes) and ``triton`` (the GPU kernel
    runs its update)."""

    kind: ClassVar[str]
    spiking: ClassVar[bool] = True
    triton: ClassVar[bool] = False
    fused = True  # multi-step forward through ``fused_forward`` (off: step by step)
    threshold: torch.Tensor  # set by ``param``: a Parameter or a buffer

    def __init__(self, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: sg.Surrogate | None = None, learn_threshold: bool = False) -> None:
        super().__init__()
        if not math.isfinite(threshold) or threshold <= 0:
            raise ConfigError(f"threshold must be a finite number > 0, got {threshold}")
        if reset not in RESETS:
            raise ConfigError(f"unknown reset mode '{reset}'; valid: {', '.join(RESETS)}")
        self.reset_mode = reset
        self.surrogate = surrogate if surrogate is not None else sg.get(sg.DEFAULT)
        self.param("threshold", threshold, learn_threshold)

    def param(self, name: str, value, learn: bool) -> None:
        """A neuron parameter (scalar or array): trainable if ``learn``, else a buffer."""
        t = torch.as_tensor(value, dtype=torch.get_default_dtype()).detach().clone()
        if learn:
            setattr(self, name, nn.Parameter(t))
        else:
            self.register_buffer(name, t)

    def init_state(self, x: torch.Tensor) -> StateT:
        """The state before the first step, for inputs shaped like ``x``."""
        raise NotImplementedError

    def step(self, x: torch.Tensor, state: StateT) -> tuple[torch.Tensor, StateT]:
        """One time step (differentiable): returns (output, state)."""
        raise NotImplementedError

    @staticmethod
    def membrane(state: State) -> torch.Tensor:
        return state[-1] if isinstance(state, tuple) else state

    def fused_forward(self, x: torch.Tensor, num_steps: int | None) -> torch.Tensor:
        """All steps as one autograd node; ``x`` is [T, B, ...], or [B, ...] applied at each of
        ``num_steps`` steps."""
        raise NotImplementedError

    def dynamics(self) -> NeuronDynamics:
        """This layer's update as the trace records it."""
        raise NotImplementedError

    def forward(self, x_seq: torch.Tensor, return_mem: bool = False, num_steps: int | None = None):
        """``x_seq`` [T, B, ...] -> outputs [T, B, ...] (spikes, or membranes of a non-spiking
        model), and membranes if ``return_mem``. With ``num_steps``, ``x_seq`` is one input
        [B, ...] applied at every step. The fused path runs unless membranes are asked for
        or ``fused`` is off."""
        if self.fused and not return_mem:
            return self.fused_forward(x_seq, num_steps)
        seq = x_seq if num_steps is None else x_seq.unsqueeze(0).expand(num_steps, *x_seq.shape)
        state = self.init_state(seq[0])
        outs, mems = [], []
        for x in seq:
            out, state = self.step(x, state)
            outs.append(out)
            if return_mem:
                mems.append(self.membrane(state))
        out = torch.stack(outs)
        return (out, torch.stack(mems)) if return_mem else out

    def extra_repr(self) -> str:
        return (f"threshold={float(self.threshold):.4g}, reset={self.reset_mode}, "
                f"surrogate={self.surrogate.name}{self.surrogate.params}")


def fmt(t: torch.Tensor) -> str:
    """A parameter for repr: its value, or its shape when per channel."""
    return f"{float(t):.4g}" if t.numel() == 1 else f"<{tuple(t.shape)}>"
