"""Files of spiketune: atomic writes (temporary file, then rename) and YAML mappings."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable


def write_atomic(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``:
    readers see the old file or the whole new one, never a part."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_text(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda f: f.write(text.encode()))


def read_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """A YAML file holding a mapping; ConfigError names the file when it is not one."""
    import yaml

    from spiketune.errors import ConfigError

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read {what} {p}: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {p} must be a mapping, got {type(raw).__name__}")
    return raw


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=float) + "\n")


def write_csv(path: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    rows = list(rows)
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
    return write_text(path, buf.getvalue())


def load_validated(path: str | Path, what: str, from_dict: Callable[[dict[str, Any]], Any]) -> Any:
    """Read a YAML mapping and validate it with ``from_dict``; errors name the file."""
    from spiketune.errors import ConfigError

    p = Path(path)
    raw = read_mapping(p, what)
    try:
        return from_dict(raw)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None
