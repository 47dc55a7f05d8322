"""Lapicque RC neuron, snnTorch ``Lapicque``: ``U_t = X_t*dt/C + (1 - dt/(R*C))*U_{t-1}``,
then ``- r_t*thr`` (subtract) or ``* (1 - r_t)`` (zero, applied after the update as
snnTorch does). Given ``beta`` alone, ``R = 1`` and ``C = dt/ln(1/beta)``, so the decay is
``1 - ln(1/beta)`` (not ``beta``) exactly as in snnTorch."""

from __future__ import annotations

import math

import torch

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg
from spiketune.network.neurons.single_state import SingleStateNeuron


class Lapicque(SingleStateNeuron):
    """Lapicque RC neuron (zero reset after update)."""

    kind = "lapicque"
    zero_after_update = True
    beta: torch.Tensor  # set by ``param``: a Parameter or a buffer

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
        if beta is None:
            assert R is not None and C is not None  # refused above otherwise
            beta = math.exp(-time_step / (R * C))
        self.param("beta", beta, learn_beta)

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
