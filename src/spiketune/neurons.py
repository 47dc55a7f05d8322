"""Spiking neurons with snnTorch 1.0 semantics, multi-step.

Both models share one update. With ``r_t = H(U_{t-1} - thr)`` (detached):

* LIF (snnTorch ``Leaky``):  ``U_t = clamp(beta,0,1) * U'_{t-1} + X_t - r_t*thr`` (subtract)
  where ``U' = (1 - r_t) U`` for ``reset="zero"`` (the subtraction then does not apply).
* Lapicque (snnTorch ``Lapicque``): ``U_t = X_t*dt/C + (1 - dt/(R*C)) * U_{t-1}``, then
  ``- r_t*thr`` (subtract) or ``* (1 - r_t)`` (zero, applied after the update as
  snnTorch does). Given ``beta`` alone, ``R = 1`` and ``C = dt/ln(1/beta)``, so the
  decay is ``1 - ln(1/beta)`` (not ``beta``) exactly as in snnTorch.

``S_t = H(U_t - thr)`` with the surrogate gradient in backward. ``reset="none"``
integrates without reset.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import surrogate as sg
from .errors import ConfigError

RESETS = ("subtract", "zero", "none")


def _param(value: float, learn: bool) -> torch.Tensor:
    t = torch.as_tensor(float(value), dtype=torch.get_default_dtype())
    return nn.Parameter(t) if learn else t


class SpikingNeuron(nn.Module):
    """Base class: subclasses define the decay ``a`` and input gain ``b``."""

    zero_after_update = False

    def __init__(self, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: sg.Surrogate | None = None, learn_threshold: bool = False) -> None:
        super().__init__()
        if not math.isfinite(threshold) or threshold <= 0:
            raise ConfigError(f"threshold must be a finite number > 0, got {threshold}")
        if reset not in RESETS:
            raise ConfigError(f"unknown reset mode '{reset}'; valid: {', '.join(RESETS)}")
        self.reset_mode = reset
        self.surrogate = surrogate if surrogate is not None else sg.get("atan")
        thr = _param(threshold, learn_threshold)
        if learn_threshold:
            self.threshold = thr
        else:
            self.register_buffer("threshold", thr)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(decay a, input gain b) of ``U_t = a*U_{t-1} + b*X_t``."""
        raise NotImplementedError

    def step(self, x: torch.Tensor, mem: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step: returns (spikes, membrane)."""
        a, b = self.coefficients()
        return self._step(x, mem, a, b)

    def _step(self, x: torch.Tensor, mem: torch.Tensor, a: torch.Tensor,
              b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        thr = self.threshold
        reset = (mem - thr > 0).to(mem.dtype).detach()
        mode = self.reset_mode
        if mode == "zero" and not self.zero_after_update:
            mem = (1 - reset) * mem
        mem = a * mem + b * x
        if mode == "subtract":
            mem = mem - reset * thr
        elif mode == "zero" and self.zero_after_update:
            mem = mem - reset * mem
        return self.surrogate(mem - thr), mem

    def forward(self, x_seq: torch.Tensor, return_mem: bool = False):
        """``x_seq`` [T, B, ...] -> spikes [T, B, ...] (and membranes if ``return_mem``)."""
        a, b = self.coefficients()
        mem = torch.zeros_like(x_seq[0])
        spikes, mems = [], []
        for x in x_seq:
            spk, mem = self._step(x, mem, a, b)
            spikes.append(spk)
            if return_mem:
                mems.append(mem)
        out = torch.stack(spikes)
        return (out, torch.stack(mems)) if return_mem else out

    def extra_repr(self) -> str:
        return (f"threshold={float(self.threshold):.4g}, reset={self.reset_mode}, "
                f"surrogate={self.surrogate.name}{self.surrogate.params}")


class LIF(SpikingNeuron):
    """Leaky integrate-and-fire, snnTorch ``Leaky`` semantics; default surrogate atan(2)."""

    def __init__(self, beta: float = 0.5, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: sg.Surrogate | None = None, learn_beta: bool = False,
                 learn_threshold: bool = False) -> None:
        super().__init__(threshold, reset, surrogate, learn_threshold)
        if not math.isfinite(beta) or not 0.0 <= beta <= 1.0:
            raise ConfigError(f"LIF beta must be in [0, 1], got {beta}")
        b = _param(beta, learn_beta)
        if learn_beta:
            self.beta = b
        else:
            self.register_buffer("beta", b)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.beta.clamp(0, 1), torch.ones((), dtype=self.beta.dtype)

    def extra_repr(self) -> str:
        return f"beta={float(self.beta):.4g}, " + super().extra_repr()


class Lapicque(SpikingNeuron):
    """Lapicque RC neuron, snnTorch ``Lapicque`` semantics (zero reset after update)."""

    zero_after_update = True

    def __init__(self, beta: float | None = None, R: float | None = None,
                 C: float | None = None, time_step: float = 1.0, threshold: float = 1.0,
                 reset: str = "subtract", surrogate: sg.Surrogate | None = None,
                 learn_beta: bool = False, learn_threshold: bool = False) -> None:
        super().__init__(threshold, reset, surrogate, learn_threshold)
        if time_step <= 0:
            raise ConfigError(f"Lapicque time_step must be > 0, got {time_step}")
        self.time_step = float(time_step)
        if beta is not None:
            if not math.isfinite(beta) or not 0.0 < beta < 1.0:
                raise ConfigError(f"Lapicque beta must be in (0, 1), got {beta}")
            if R is not None and C is not None:
                raise ConfigError("give Lapicque either beta or two of beta, R, C")
        elif R is None or C is None:
            raise ConfigError("Lapicque needs beta, or both R and C")
        for name, v in (("R", R), ("C", C)):
            if v is not None and v <= 0:
                raise ConfigError(f"Lapicque {name} must be > 0, got {v}")
        self.R_fixed, self.C_fixed = R, C
        b = _param(beta if beta is not None else math.exp(-time_step / (R * C)), learn_beta)
        if learn_beta:
            self.beta = b
        else:
            self.register_buffer("beta", b)

    def rc(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, C) as snnTorch derives them from the given pair."""
        dt = self.time_step
        log_inv_beta = torch.log(1 / self.beta)
        if self.R_fixed is not None and self.C_fixed is not None:
            return (torch.as_tensor(self.R_fixed, dtype=self.beta.dtype),
                    torch.as_tensor(self.C_fixed, dtype=self.beta.dtype))
        if self.C_fixed is not None:
            c = torch.as_tensor(self.C_fixed, dtype=self.beta.dtype)
            return dt / (c * log_inv_beta), c
        r = torch.as_tensor(self.R_fixed if self.R_fixed is not None else 1.0,
                            dtype=self.beta.dtype)
        return r, dt / (r * log_inv_beta)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        r, c = self.rc()
        dt = self.time_step
        return 1 - dt / (r * c), r * (1 / (r * c)) * dt

    def extra_repr(self) -> str:
        return f"beta={float(self.beta):.4g}, dt={self.time_step}, " + super().extra_repr()


NEURONS = {"lif": LIF, "lapicque": Lapicque}


def make(kind: str, beta: float, threshold: float, reset: str, surrogate: sg.Surrogate,
         learn_beta: bool = False, learn_threshold: bool = False) -> SpikingNeuron:
    """Neuron of ``kind`` ('lif' or 'lapicque') parameterised by beta."""
    key = kind.strip().lower()
    if key not in NEURONS:
        raise ConfigError(f"unknown neuron '{kind}'; valid: {', '.join(NEURONS)}")
    return NEURONS[key](beta=beta, threshold=threshold, reset=reset, surrogate=surrogate,
                        learn_beta=learn_beta, learn_threshold=learn_threshold)
