"""Integrate-and-fire without leak: ``U_t = U'_{t-1} + X_t`` (snnTorch ``Leaky`` with
``beta=1``; sinabs ``IAF`` with single spikes; NIR ``IF``), reset and spikes as in
:mod:`.single_state`."""

from __future__ import annotations

import torch

from spiketune.network.neurons.single_state import SingleStateNeuron


class IF(SingleStateNeuron):
    """Integrate-and-fire (no decay parameter)."""

    kind = "if"

    def __init__(self, threshold: float = 1.0, reset: str = "subtract", surrogate=None,
                 learn_threshold: bool = False) -> None:
        super().__init__(threshold, reset, surrogate, learn_threshold)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        one = torch.ones((), dtype=self.threshold.dtype, device=self.threshold.device)
        return one, one
