"""Hardware config files: the YAML's ``kind`` (default ``snn_dse``) picks the design,
whose own pydantic model validates the rest."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, describe_validation
from ..results import load_validated
from .registry import DEFAULT, design
from .snn_dse.config import HardwareConfig, PowerConfig

__all__ = ["HardwareConfig", "PowerConfig", "from_dict", "load", "identity"]


def from_dict(d: dict) -> BaseModel:
    """Validate a hardware config mapping; ConfigError names each bad field."""
    if not isinstance(d, dict):
        raise ConfigError(f"a hardware config is a mapping of fields, got {type(d).__name__}")
    kind = d.get("kind", DEFAULT)
    if not isinstance(kind, str):
        raise ConfigError(f"kind: the accelerator's name, got {kind!r}")
    cls = design(kind).Config
    try:
        return cls.model_validate(d)
    except ValidationError as e:
        raise ConfigError(f"invalid hardware config ({kind}): {describe_validation(e)}") from None


def load(path: str | Path | None) -> BaseModel:
    """Read a hardware config (YAML); None gives the default design's defaults."""
    if path is None:
        return HardwareConfig()
    return load_validated(path, "hardware config", from_dict)


def identity(hw: BaseModel) -> dict:
    """What identifies a hardware config in a sweep's run id."""
    return hw.identity() if hasattr(hw, "identity") else hw.model_dump()
