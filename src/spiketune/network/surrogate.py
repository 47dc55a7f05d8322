"""Surrogate gradients of the Heaviside spike function.

Every surrogate's forward pass is ``S = H(x) = (x > 0)`` with ``x = U - threshold``;
the backward passes and default parameters equal snnTorch 1.0's, so results
are comparable with the literature that used it:

=====================  =========================================================
name                   dS/dx
=====================  =========================================================
``fast_sigmoid``       ``1 / (slope*|x| + 1)**2``                  (slope=25)
``atan``               ``(alpha/2) / (1 + (pi/2*alpha*x)**2)``      (alpha=2)
``sigmoid``            ``slope*e^(-slope*x) / (e^(-slope*x) + 1)**2`` (slope=25)
``triangular``         ``threshold`` where x < 0, ``-threshold`` where x >= 0
                       (snnTorch's definition, reproduced as is)   (threshold=1)
``straight_through``   ``1``
``spike_rate_escape``  ``slope * e^(-beta*|x - 1|)``  (centred at x = 1, i.e.
                       U = threshold + 1, as snnTorch does)   (beta=1, slope=25)
``sso``                ``1`` where the neuron spiked, otherwise
                       ``(U(-0.5, 0.5) + mean) * variance``  (mean=0, variance=0.2)
=====================  =========================================================

``get(name, **params)`` returns a :class:`Surrogate`, a callable ``x -> spikes``;
``make(name, width, params, compat)`` the same with a compatibility version.

``make(..., compat="snntorch-0.7")`` gives the surrogates as snnTorch 0.7.0 computed them
(``snntorch/surrogate.py`` at tag v0.7.0, the version the studies pinned). Two differ:

* ``spike_rate_escape``: the factory ``spike_rate_escape(beta, slope)`` calls
  ``SpikeRateEscape.apply(x, slope)``, so ``forward(ctx, input_, beta=1, slope=25)``
  receives the factory's ``slope`` as its ``beta`` and keeps ``slope`` at 25: dS/dx is
  ``25 * e^(-slope*|x - 1|)`` and the factory's ``beta`` (the generic width knob) has no
  effect; fixed in later releases (``apply(x, beta, slope)``);
* ``triangular``: the factory ``triangular()`` takes no argument, so ``threshold`` is 1.

Fast sigmoid, atan (``math.pi`` there, ``torch.pi`` now), sigmoid, SSO and the straight-
through estimator compute as they do today.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import torch

from spiketune.errors import ConfigError

Derivative = Callable[[torch.Tensor, torch.Tensor, dict[str, float]], torch.Tensor]


def _fast_sigmoid(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    return 1.0 / (p["slope"] * x.abs() + 1.0) ** 2


def _atan(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    a = p["alpha"]
    return (a / 2) / (1 + (math.pi / 2 * a * x) ** 2)


def _sigmoid(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    e = torch.exp(-p["slope"] * x)
    return p["slope"] * e / (e + 1) ** 2


def _triangular(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    thr = p["threshold"]
    return torch.where(x >= 0, torch.full_like(x, -thr), torch.full_like(x, thr))


def _straight_through(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    return torch.ones_like(x)


def _spike_rate_escape(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    return p["slope"] * torch.exp(-p["beta"] * (x - 1).abs())


def _sso(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    noise = (torch.rand_like(x) - 0.5 + p["mean"]) * p["variance"]
    return torch.where(out > 0, torch.ones_like(x), noise)


def _spike_rate_escape_070(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    return 25.0 * torch.exp(-p["slope"] * (x - 1).abs())


def _triangular_070(x: torch.Tensor, out: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    return _triangular(x, out, {"threshold": 1.0})


@dataclass(frozen=True)
class Family:
    """Everything spiketune knows about one surrogate family; the rest of the package reads it.

    ``derivative``: dS/dx. ``defaults``: snnTorch's parameters, in the order the Triton kernel
    reads them (``p0``, ``p1``). ``width_param``: the parameter the studies' generic ``slope``
    knob sets (None: the family has no width). ``peak``: the maximum of |dS/dx| for given
    parameters (chi's reference). ``adaptive``: a larger ``width_param`` narrows the
    derivative, so chi may widen or sharpen it. ``positive``: parameters that must be > 0.
    ``kernel``: the family's branch in the Triton kernel (None: torch path only).
    ``snntorch``: the snnTorch factory of the same surrogate (its arguments are named as
    ``defaults``). ``aliases``: other accepted names."""

    name: str
    derivative: Derivative
    defaults: dict[str, float]
    width_param: str | None
    peak: Callable[[dict[str, float]], float]
    adaptive: bool
    positive: tuple[str, ...]
    kernel: int | None
    snntorch: str
    aliases: tuple[str, ...] = ()


_RECORDS = (
    Family("fast_sigmoid", _fast_sigmoid, {"slope": 25.0}, "slope", lambda p: 1.0,
           adaptive=True, positive=("slope",), kernel=0, snntorch="fast_sigmoid",
           aliases=("fast-sigmoid",)),
    Family("atan", _atan, {"alpha": 2.0}, "alpha", lambda p: p["alpha"] / 2,
           adaptive=True, positive=("alpha",), kernel=1, snntorch="atan", aliases=("arctan",)),
    Family("sigmoid", _sigmoid, {"slope": 25.0}, "slope", lambda p: p["slope"] / 4,
           adaptive=True, positive=("slope",), kernel=2, snntorch="sigmoid"),
    Family("spike_rate_escape", _spike_rate_escape, {"beta": 1.0, "slope": 25.0}, "beta",
           lambda p: p["slope"], adaptive=True, positive=("beta", "slope"), kernel=3,
           snntorch="spike_rate_escape", aliases=("sre",)),
    Family("straight_through", _straight_through, {}, None, lambda p: 1.0,
           adaptive=False, positive=(), kernel=4, snntorch="straight_through_estimator",
           aliases=("ste",)),
    Family("triangular", _triangular, {"threshold": 1.0}, None, lambda p: p["threshold"],
           adaptive=False, positive=("threshold",), kernel=5, snntorch="triangular"),
    # the noise is bounded by (0.5 + |mean|) * variance; the spiked states' derivative is 1
    Family("sso", _sso, {"mean": 0.0, "variance": 0.2}, "variance",
           lambda p: max(1.0, (0.5 + abs(p["mean"])) * p["variance"]),
           adaptive=False, positive=("variance",), kernel=None, snntorch="SSO",
           aliases=("stochastic_spike_operator",)),
)
FAMILIES: dict[str, Family] = {f.name: f for f in _RECORDS}
COMPATS = ("current", "snntorch-0.7")
# the families whose computation differed in snnTorch 0.7.0 (see the module docstring); no
# Triton branch: they run on the torch path
_SNNTORCH_07: dict[str, Family] = {
    "spike_rate_escape": replace(FAMILIES["spike_rate_escape"], derivative=_spike_rate_escape_070,
                                 peak=lambda p: 25.0, adaptive=False, kernel=None),
    "triangular": replace(FAMILIES["triangular"], derivative=_triangular_070, defaults={},
                          peak=lambda p: 1.0, positive=(), kernel=None),
}
DEFAULT = "atan"  # the surrogate of snnTorch's neurons when none is given
ALIASES: dict[str, str] = {a: f.name for f in _RECORDS for a in f.aliases}


class _SpikeFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate):  # type: ignore[override]
        out = (x > 0).to(x.dtype)
        ctx.save_for_backward(x, out)
        ctx.surrogate = surrogate
        return out

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        x, out = ctx.saved_tensors
        s = ctx.surrogate
        d = s.family.derivative(x, out, s.params)
        if s.chi is not None:
            s.chi.record(d, s.peak())
        return grad_output * d, None


class ChiCounter:
    """Counts how many neuron states fall in the surrogate's effective domain:
    ``|dS/dU| > eps * peak`` with ``peak`` the derivative's maximum (see spiketune.training.chi).

    The counts stay on the states' device, updated in place (no host synchronisation, and a
    captured CUDA graph keeps counting when replayed); :meth:`take` reads them."""

    def __init__(self, eps: float) -> None:
        self.eps = eps
        self._counts: torch.Tensor | None = None  # int64 [active, total]

    def add(self, active: torch.Tensor, total: int) -> None:
        """Add ``active`` (a device count) of ``total`` states."""
        if self._counts is None or self._counts.device != active.device:
            self._counts = torch.zeros(2, dtype=torch.int64, device=active.device)
        self._counts[0].add_(active.reshape(()))
        self._counts[1].add_(total)

    def record(self, d: torch.Tensor, peak: float) -> None:
        self.add((d.detach().abs() > self.eps * peak).sum(), d.numel())

    @property
    def active(self) -> int:
        return int(self._counts[0]) if self._counts is not None else 0

    @property
    def total(self) -> int:
        return int(self._counts[1]) if self._counts is not None else 0

    def take(self) -> float:
        """The fraction since the last call (NaN if nothing was recorded), then reset."""
        if self._counts is None:
            return float("nan")
        active, total = self._counts.tolist()
        self._counts.zero_()
        return active / total if total else float("nan")


@dataclass
class Surrogate:
    """Heaviside forward, ``family``'s derivative backward. Call it on ``U - threshold``."""

    name: str
    params: dict[str, float] = field(default_factory=dict)
    chi: ChiCounter | None = field(default=None, repr=False, compare=False)
    compat: str = "current"  # one of COMPATS: whose computation of the family

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _SpikeFunction.apply(x, self)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """dS/dx evaluated at ``x`` (for plots and tests)."""
        return self.family.derivative(x, (x > 0).to(x.dtype), self.params)

    def peak(self) -> float:
        """Maximum of |dS/dx| at the current parameters (see :attr:`Family.peak`)."""
        return self.family.peak(self.params)

    @property
    def family(self) -> Family:
        return family_of(self.name, self.compat)

    @property
    def width_param(self) -> str | None:
        return self.family.width_param


def canonical_name(name: str) -> str:
    """The registry name for ``name`` (aliases such as ``arctan``/``sre`` accepted)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in FAMILIES:
        raise ConfigError(
            f"unknown surrogate '{name}'; valid names: {', '.join(sorted(FAMILIES))}")
    return key


def family_of(name: str, compat: str = "current") -> Family:
    """The record of registry name ``name`` as snnTorch version ``compat`` computes it."""
    if compat not in COMPATS:
        raise ConfigError(f"unknown surrogate compatibility '{compat}'; valid: {', '.join(COMPATS)}")
    return _SNNTORCH_07.get(name, FAMILIES[name]) if compat == "snntorch-0.7" else FAMILIES[name]


def get(name: str, width: float | None = None, **params: float) -> Surrogate:
    """Surrogate ``name`` with snnTorch's defaults overridden by ``params``.

    ``width`` is the studies' generic "slope" knob, mapped as their scripts map it:
    fast sigmoid ``slope``, atan ``alpha``, sigmoid ``slope``, spike-rate-escape
    ``beta`` and SSO ``variance``; an explicitly named parameter wins over it.
    """
    return make(name, width, params)


def make(name: str, width: float | None = None, params: Mapping[str, float] | None = None,
         compat: str = "current") -> Surrogate:
    """:func:`get` with the parameters as a mapping, computed as snnTorch ``compat`` did
    (one of :data:`COMPATS`, see the module docstring)."""
    key = canonical_name(name)
    family = family_of(key, compat)
    params = params or {}
    unknown = set(params) - set(family.defaults)
    if unknown:
        raise ConfigError(f"surrogate '{key}' has no parameter(s) {sorted(unknown)}; "
                          f"it takes {sorted(family.defaults) or 'none'}"
                          + (f" under compatibility '{compat}'" if compat != "current" else ""))
    merged = dict(family.defaults)
    if width is not None:
        if family.width_param is None:
            raise ConfigError(f"surrogate '{key}' has no width parameter (generic slope)")
        merged[family.width_param] = float(width)
    merged.update({k: float(v) for k, v in params.items()})
    for k, v in merged.items():
        if not math.isfinite(v):
            raise ConfigError(f"surrogate '{key}' parameter {k}={v} is not finite")
        if k in family.positive and v <= 0:
            raise ConfigError(f"surrogate '{key}' parameter {k} must be > 0, got {v}")
    return Surrogate(key, merged, compat=compat)


def names() -> list[str]:
    """Registered surrogate names."""
    return sorted(FAMILIES)
