"""Cycle-level model of the sparsity-aware event-driven SNN accelerator.

Reads spike traces (:mod:`spiketune.traces`) and a :class:`HardwareConfig`; never
imports torch.
"""

from .alloc import Allocation, allocate
from .config import HardwareConfig, PowerConfig, load
from .cycles import LayerCycles, conv_cycles, fc_cycles
from .simulate import HardwareReport, LayerReport, simulate

__all__ = ["Allocation", "allocate", "HardwareConfig", "PowerConfig", "load", "LayerCycles",
           "conv_cycles", "fc_cycles", "HardwareReport", "LayerReport", "simulate"]
