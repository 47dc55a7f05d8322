"""Hardware config files: the YAML's ``kind`` (default ``snn_dse``) picks the design,
whose own pydantic model validates the rest."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, describe_validation
from ..results import load_validated
from .registry import DEFAULT, design
from .snn_dse.config import HardwareConfig, PowerConfig

__all__ = ["HardwareConfig", "PowerConfig", "from_dict", "load", "with_flags", "parse_cores", "identity"]


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


def with_flags(cfg: BaseModel, **flags: object) -> BaseModel:
    """``cfg`` with the command line's settings (config field names; None: not given) over it,
    validated again; a ``kind`` flag picks another design."""
    given = {k: v for k, v in flags.items() if v is not None}
    return from_dict({**cfg.model_dump(), **given}) if given else cfg


def parse_cores(text: str | None) -> list[int] | None:
    """Cores per layer from '16,32,50,10'; None when not given."""
    if not text:
        return None
    try:
        return [int(c) for c in text.split(",")]
    except ValueError:
        raise ConfigError(f"--cores expects integers like 16,32,50,10, got '{text}'") from None


def identity(hw: BaseModel) -> dict:
    """What identifies a hardware config in a sweep's run id."""
    return hw.identity() if hasattr(hw, "identity") else hw.model_dump()
