"""Accelerator models behind one contract: spike traces in, :class:`CostReport` out.

Each design lives in its own folder (``snn_dse/``, ``hybrid/``) and is listed in
:mod:`.registry`; a hardware config's ``kind`` picks it. Never imports torch or plotting.
"""

from .base import Accelerator, CostReport, LayerCost
from .config import HardwareConfig, PowerConfig, from_dict, load
from .registry import DESIGNS, design
from .snn_dse.alloc import Allocation, allocate
from .snn_dse.cycles import LayerCycles, conv_cycles, fc_cycles
from .snn_dse.simulate import simulate

HardwareReport = CostReport  # the name of earlier releases


def build(config) -> Accelerator:
    """The accelerator a validated hardware config describes."""
    return design(config.kind)(config)


__all__ = ["Accelerator", "CostReport", "LayerCost", "HardwareReport", "HardwareConfig", "PowerConfig",
           "from_dict", "load", "DESIGNS", "design", "build", "Allocation", "allocate", "LayerCycles",
           "conv_cycles", "fc_cycles", "simulate"]
