"""Neuron models as plug-ins, multi-step, with snnTorch semantics where snnTorch has them:
LIF (``Leaky``), Lapicque, IF, CubaLIF (``Synaptic``) and the LI read-out. One module per
model; :mod:`.registry` lists them."""

from spiketune.network.neurons.base import RESETS, SpikingNeuron
from spiketune.network.neurons.cuba_lif import CubaLIF
from spiketune.network.neurons.integrate_fire import IF
from spiketune.network.neurons.lapicque import Lapicque
from spiketune.network.neurons.leaky_integrator import LI
from spiketune.network.neurons.lif import LIF
from spiketune.network.neurons.registry import NEURONS, make, names
from spiketune.network.neurons.single_state import SingleStateNeuron

__all__ = ["RESETS", "SpikingNeuron", "SingleStateNeuron", "LIF", "Lapicque", "IF", "CubaLIF",
           "LI", "NEURONS", "make", "names"]
