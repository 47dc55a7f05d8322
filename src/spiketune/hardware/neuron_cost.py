"""What one neuron update costs on the accelerators, from the trace's neuron dynamics.

The SNN-DSE neural core (``conv_nc.sv``/``fc_nc.sv``) keeps one membrane per neuron in
its potential RAM and its sweep does, per neuron and cycle, one read-modify-write with
one decay multiply (``BETA``), a threshold compare and the reset. Per model:

=========  ======  ==========  ====  ======  =====================================
model      states  multiplies  adds  cycles  note
=========  ======  ==========  ====  ======  =====================================
lif        1       1 (beta)    3     1       the RTL's update
if         1       0           3     1       decay of 1: the multiplier is bypassed
lapicque   1       1 (a)       3     1       input gain folded into the weights
cuba_lif   2       2           4     2       a second RAM for the current; its decay
                                             takes a second pass of the multiplier
li         1       1           1     1       no compare, no reset; output layer only
=========  ======  ==========  ====  ======  =====================================

Adds: one per state (the input into the current, the current into the membrane), the
threshold compare, and the reset subtraction (reset ``subtract``; the table's numbers);
a zero reset is a select. Decays of exactly 1 need no multiply.
A design states which models its cores run; any other is a :class:`ConfigError`
naming the design and the layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..traces import LayerSpec, NeuronDynamics


@dataclass(frozen=True)
class UpdateCost:
    """One neuron update: state variables, multiplies, adds/compares, core cycles."""

    states: int
    multiplies: int
    adds: int
    cycles: int


def _is_one(v) -> bool:
    return all(x == 1 for x in _flat(v))


def _flat(v) -> list[float]:
    return [v] if not isinstance(v, list) else [y for x in v for y in _flat(x)]


def update_cost(d: NeuronDynamics) -> UpdateCost:
    """The cost of one update of a neuron with dynamics ``d`` (see the table above)."""
    mults = (0 if _is_one(d.decay) else 1) + (0 if d.synapse_decay is None or _is_one(d.synapse_decay) else 1)
    adds = d.states + (1 if d.spiking else 0) + (1 if d.reset == "subtract" else 0)
    return UpdateCost(d.states, mults, adds, d.states)


def check_runs(design: str, unit: str, layers: list[LayerSpec], models: tuple[str, ...],
               first: int = 0) -> None:
    """Raise ConfigError unless every layer's neuron model is one ``unit`` of ``design`` runs;
    a non-spiking read-out must be the last layer (the cores pass spikes between layers)."""
    for i, layer in enumerate(layers):
        name = layer.dynamics.model
        if name not in models:
            raise ConfigError(f"the {design} design's {unit} cannot run layer L{i + first}'s "
                              f"'{name}' neurons (it runs {', '.join(models)})")
        if not layer.dynamics.spiking and i != len(layers) - 1:
            raise ConfigError(f"layer L{i + first}'s '{name}' neurons send no spikes, but the "
                              f"{design} design passes spikes to the next layer")
