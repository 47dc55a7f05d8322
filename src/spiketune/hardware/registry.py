"""The accelerator designs, by the name a hardware config's ``kind`` gives.

Adding a design: one folder under ``hardware/`` with a class following
:class:`~spiketune.hardware.base.Accelerator`, and one line here (docs/extending.md).
Entries are "module:Class" so that importing the registry imports no design.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import ConfigError
from .base import Accelerator

DESIGNS = {
    "snn_dse": "spiketune.hardware.snn_dse:SnnDse",  # sparse event-driven cores (default)
    "hybrid": "spiketune.hardware.hybrid:Hybrid",  # dense first layer + sparse cores
}
DEFAULT = "snn_dse"


def design(kind: str) -> type[Accelerator]:
    """The accelerator class registered as ``kind``."""
    if kind not in DESIGNS:
        raise ConfigError(f"unknown accelerator kind '{kind}'; known: {', '.join(DESIGNS)}")
    module, cls = DESIGNS[kind].split(":")
    return getattr(import_module(module), cls)
