"""The chi indicator and chi-adaptive surrogate widths.

chi measures how much of a network backpropagation actually reaches. spiketune
records two forms on the ordinary backward pass (no second backward):

* **neuron chi** per layer: the fraction of neuron states (all neurons, steps and
  samples of an epoch) whose surrogate derivative exceeds ``eps`` times its peak,
  i.e. that lie in the surrogate's effective domain. Counted inside the surrogate's
  backward (one comparison and one sum per layer and batch).
* **parameter chi** per layer: the fraction of a layer's weights whose gradient
  magnitude exceeds ``param_eps`` after a batch's backward, averaged over batches.

A narrow (sharp) surrogate is closer to the Dirac delta, so its gradients are more
accurate, but few neurons sit in its domain (low chi, many parameters starved); a wide
one reaches more neurons with more biased gradients. The adaptive rule keeps each
layer's neuron chi within ``[low, high]`` (default [0.3, 0.7]): every ``interval`` batches
(default 10; 0 = at each epoch's end) a layer below ``low`` is widened (width parameter
divided by ``factor``, default 1.1), one above ``high`` sharpened (multiplied by
``factor``), within ``[min_width, max_width]``. Small, frequent steps follow the membrane
distribution as it moves in the first epochs; on digits they rescue a network whose fixed
surrogate is too sharp to train (fast sigmoid slope 25: 34.7% -> 93.4% mean of 3 seeds).
``rule: anneal`` instead follows a fixed schedule from wide to sharp: the width grows
geometrically from ``anneal_from`` in the first epoch to the configured width in the last
(wide early: many neurons get gradient while the network is far from a solution; sharp
late: accurate gradients for fine-tuning).
Adaptation applies to the surrogate families marked ``adaptive`` in their record
(:class:`spiketune.network.surrogate.Family`): those whose width parameter narrows the
derivative as it grows.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from spiketune.errors import ConfigError
from spiketune.network.surrogate import FAMILIES, ChiCounter, Surrogate


class ChiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    eps: float = Field(0.1, gt=0, lt=1)  # neuron chi: |dS/dU| > eps * peak
    param_eps: float = Field(1e-8, ge=0)  # parameter chi: |grad| > param_eps
    adaptive: bool = False
    rule: Literal["chi", "anneal"] = "chi"  # anneal: geometric schedule from anneal_from to the set width
    anneal_from: float = Field(0.5, gt=0)  # the wide starting width of the anneal rule
    low: float = Field(0.3, ge=0, le=1)
    high: float = Field(0.7, ge=0, le=1)
    factor: float = Field(1.1, gt=1)
    min_width: float = Field(0.1, gt=0)
    max_width: float = Field(100.0, gt=0)
    interval: int = Field(10, ge=0)  # batches between updates; 0 = each epoch's end

    @model_validator(mode="after")
    def _order(self) -> ChiConfig:
        if self.low > self.high:
            raise ValueError(f"chi.low ({self.low}) must not exceed chi.high ({self.high})")
        if self.min_width > self.max_width:
            raise ValueError("chi.min_width must not exceed chi.max_width")
        return self


def _take(s: Surrogate) -> float:
    """The neuron chi ``s`` recorded since the last call."""
    if s.chi is None:
        raise RuntimeError(f"no chi counter is attached to the {s.name} surrogate (tracker detached)")
    return s.chi.take()


class ChiTracker:
    """Attach to a network's surrogates; collect neuron and parameter chi; adapt widths."""

    def __init__(self, surrogates: list[Surrogate], weights: list[torch.Tensor], cfg: ChiConfig,
                 epochs: int = 1) -> None:
        if cfg.adaptive:
            bad = [s.name for s in surrogates if not s.family.adaptive]
            if bad:
                adaptive = [f.name for f in FAMILIES.values() if f.adaptive]
                raise ConfigError(f"chi.adaptive needs a surrogate with an adaptive width "
                                  f"({', '.join(adaptive)}); got {', '.join(sorted(set(bad)))}")
        self.surrogates, self.weights, self.cfg = surrogates, weights, cfg
        self.epochs, self.epoch = epochs, 0
        self.targets = [self.width(s) for s in surrogates]  # the anneal rule's final widths
        if cfg.adaptive and cfg.rule == "anneal":
            for s in surrogates:
                if s.width_param:
                    s.params[s.width_param] = cfg.anneal_from
        for s in surrogates:
            s.chi = ChiCounter(cfg.eps)
        # float64 sums on the weights' device, updated in place (no host synchronisation)
        self._param_sum = [torch.zeros((), dtype=torch.float64, device=w.device) for w in weights]
        self._param_n = 0
        self.since_update = 0  # batches since the widths last adapted (saved in checkpoints)

    def record_params(self) -> None:
        """Device work after a ``loss.backward()``: add each layer's parameter chi."""
        for acc, w in zip(self._param_sum, self.weights, strict=True):
            if w.grad is not None:
                acc.add_((w.grad.abs() > self.cfg.param_eps).float().mean().double())

    def after_backward(self) -> None:
        """Call after each ``loss.backward()``: records parameter chi, adapts if due."""
        self.record_params()
        self.batch_done()

    def batch_done(self) -> None:
        """Host bookkeeping of a batch whose parameter chi is recorded; adapts if due."""
        self._param_n += 1
        self.since_update += 1
        if (self.cfg.adaptive and self.cfg.rule == "chi" and self.cfg.interval
                and self.since_update >= self.cfg.interval):
            self.adapt([_take(s) for s in self.surrogates])
            self.since_update = 0

    def epoch_end(self) -> dict[str, list[float]]:
        """Per-layer neuron chi, parameter chi and widths of the epoch; adapts if due."""
        neuron = [_take(s) for s in self.surrogates]
        sums = torch.stack(self._param_sum).tolist() if self._param_sum else []
        param = [v / max(1, self._param_n) for v in sums]
        for acc in self._param_sum:
            acc.zero_()
        self._param_n = 0
        widths = [self.width(s) for s in self.surrogates]
        self.epoch += 1
        if self.cfg.adaptive and self.cfg.rule == "anneal":
            self.anneal()
        elif self.cfg.adaptive and not self.cfg.interval:
            self.adapt(neuron)
        return {"chi": neuron, "param_chi": param, "width": widths}

    @staticmethod
    def width(s: Surrogate) -> float:
        return s.params[s.width_param] if s.width_param else math.nan

    def adapt(self, chis: list[float]) -> None:
        """Widen layers below ``low``, sharpen layers above ``high``."""
        c = self.cfg
        for s, chi in zip(self.surrogates, chis, strict=True):
            if math.isnan(chi) or s.width_param is None:
                continue
            w = s.params[s.width_param]
            if chi < c.low:
                w /= c.factor
            elif chi > c.high:
                w *= c.factor
            s.params[s.width_param] = min(max(w, c.min_width), c.max_width)

    def anneal(self) -> None:
        """Geometric schedule: ``anneal_from`` at the first epoch, the set width at the last."""
        frac = min(1.0, self.epoch / max(1, self.epochs - 1))
        for s, target in zip(self.surrogates, self.targets, strict=True):
            if s.width_param:
                s.params[s.width_param] = self.cfg.anneal_from * (target / self.cfg.anneal_from) ** frac

    def detach(self) -> None:
        for s in self.surrogates:
            s.chi = None
