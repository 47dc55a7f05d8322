"""Leaky integrate-and-fire, snnTorch ``Leaky``: ``U_t = clamp(beta, 0, 1)*U'_{t-1} + X_t``
(reset and spikes as in :mod:`.single_state`). ``beta`` may be per channel."""

from __future__ import annotations

import torch

from spiketune.network import surrogate as sg
from spiketune.network.neurons.base import as_decay, fmt
from spiketune.network.neurons.single_state import SingleStateNeuron


class LIF(SingleStateNeuron):
    """Leaky integrate-and-fire; default surrogate atan(2)."""

    kind = "lif"
    beta: torch.Tensor  # set by ``param``: a Parameter or a buffer

    def __init__(self, beta=0.5, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: sg.Surrogate | None = None, learn_beta: bool = False,
                 learn_threshold: bool = False) -> None:
        super().__init__(threshold, reset, surrogate, learn_threshold)
        self.param("beta", as_decay(beta, "beta", "LIF"), learn_beta)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.beta.clamp(0, 1), torch.ones((), dtype=self.beta.dtype, device=self.beta.device)

    def extra_repr(self) -> str:
        return f"beta={fmt(self.beta)}, " + super().extra_repr()
