"""The neuron models by name. Adding a model: one module in this package with a
:class:`~.base.SpikingNeuron` subclass, and one line here; ``tests/test_neuron_models.py``
then checks its fused path against its own step-by-step reference."""

from __future__ import annotations

import inspect

from spiketune.errors import ConfigError
from spiketune.network.neurons.base import SpikingNeuron
from spiketune.network.neurons.cuba_lif import CubaLIF
from spiketune.network.neurons.integrate_fire import IF
from spiketune.network.neurons.lapicque import Lapicque
from spiketune.network.neurons.leaky_integrator import LI
from spiketune.network.neurons.lif import LIF

NEURONS: dict[str, type[SpikingNeuron]] = {
    "lif": LIF,
    "lapicque": Lapicque,
    "if": IF,
    "cuba_lif": CubaLIF,
    "li": LI,
}


def make(kind: str, beta=0.5, threshold: float = 1.0, reset: str = "subtract",
         surrogate=None, learn_beta: bool = False, learn_threshold: bool = False,
         **params) -> SpikingNeuron:
    """Neuron of ``kind``; arguments a model does not take (IF: beta; LI: threshold, reset,
    surrogate) are left out, ``params`` carries model-specific ones (CubaLIF: alpha)."""
    key = kind.strip().lower()
    if key not in NEURONS:
        raise ConfigError(f"unknown neuron '{kind}'; valid: {', '.join(NEURONS)}")
    cls = NEURONS[key]
    accepted = inspect.signature(cls).parameters
    unknown = set(params) - set(accepted)
    if unknown:
        raise ConfigError(f"neuron '{key}' has no parameter(s) {sorted(unknown)}")
    given = dict(beta=beta, threshold=threshold, reset=reset, surrogate=surrogate,
                 learn_beta=learn_beta, learn_threshold=learn_threshold, **params)
    return cls(**{k: v for k, v in given.items() if k in accepted})


def names() -> list[str]:
    """Registered model names."""
    return list(NEURONS)
