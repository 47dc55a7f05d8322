"""Training checkpoints: everything a run needs to go on after its last finished epoch.

``checkpoint.pt`` holds the model, optimizer and scheduler states, the RNG state, the
early-stopping state, the chi-adapted surrogate widths, the epoch history and the run's
config; only tensors and plain values, so it loads with ``torch.load(weights_only=True)``.
It is replaced atomically, so a run killed at any moment leaves the previous epoch's
checkpoint whole, and resuming from it gives bit-identical results.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from spiketune.errors import ConfigError, SpiketuneError
from spiketune.network.models import SpikingNetwork
from spiketune.results import write_atomic
from spiketune.training.chi import ChiTracker
from spiketune.training.resume import check_resumable

CHECKPOINT = "checkpoint.pt"


@dataclass
class EarlyStopping:
    """The best validation accuracy so far, its epoch and weights, and the epochs since."""

    acc: float = -1.0
    epoch: int = 0
    bad: int = 0  # epochs since the best
    state: dict[str, torch.Tensor] | None = None  # the best epoch's weights

    def update(self, epoch: int, val_accuracy: float, model: SpikingNetwork) -> None:
        """Record an epoch's validation accuracy (and the weights when it is the best)."""
        if val_accuracy > self.acc:
            self.acc, self.epoch, self.bad = val_accuracy, epoch, 0
            self.state = copy.deepcopy(model.state_dict())
        else:
            self.bad += 1

    def exhausted(self, patience: int | None) -> bool:
        """True once ``patience`` epochs have passed without a better one (never without)."""
        return bool(patience and self.bad >= patience)

    def to_dict(self) -> dict[str, Any]:
        return {"acc": self.acc, "epoch": self.epoch, "bad": self.bad, "state": self.state}


@dataclass
class LoopState:
    """What the epoch loop carries from one epoch to the next."""

    epoch: int = 0  # epochs finished
    history: list[dict[str, Any]] = field(default_factory=list)  # one plain record per epoch
    best: EarlyStopping = field(default_factory=EarlyStopping)
    stopped: bool = False  # early stopping ended the run


@dataclass
class Checkpoint:
    """The checkpoint file of one run and the live objects it saves and restores."""

    path: Path
    config: dict[str, Any]  # the resolved run config; a checkpoint of another config is refused
    model: SpikingNetwork
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    chi: ChiTracker | None = None  # its batch counter decides when widths adapt next

    def save(self, state: LoopState) -> None:
        """Write the checkpoint atomically (the old one stays whole until the new one is)."""
        blob = {"epoch": state.epoch, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "rng": torch.get_rng_state(), "history": state.history, "best": state.best.to_dict(),
                "stopped": state.stopped, "config": self.config,
                "widths": [ChiTracker.width(n.surrogate) for n in self.model.neurons()],
                "chi_since_update": self.chi.since_update if self.chi is not None else 0}
        write_atomic(self.path, lambda f: torch.save(blob, f))

    def restore(self) -> LoopState | None:
        """Load the file into the model, optimizer, scheduler, RNG and surrogate widths (after
        the chi tracker has set its starting widths); returns the loop state, or None when
        there is no checkpoint yet."""
        if not self.path.exists():
            return None
        try:
            ck = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises several types for truncated or foreign files
            raise SpiketuneError(f"checkpoint {self.path} is unreadable ({type(e).__name__}: {e}); "
                                 f"delete it to start this run afresh") from None
        saved = ck.get("config")
        if not isinstance(saved, dict):
            raise ConfigError(f"{self.path} holds no run configuration; delete it to start this run afresh")
        check_resumable(saved, self.config, str(self.path))
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["rng"])
        for n, w in zip(self.model.neurons(), ck.get("widths", []), strict=False):
            if n.surrogate.width_param:
                n.surrogate.params[n.surrogate.width_param] = w
        if self.chi is not None:
            self.chi.since_update = int(ck.get("chi_since_update", 0))
        return LoopState(ck["epoch"], ck["history"], EarlyStopping(**ck["best"]), bool(ck.get("stopped")))

