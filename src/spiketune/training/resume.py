"""Which configuration changes a run may resume under: only more epochs (as Lightning
continues a finished fit with a larger ``max_epochs``); any other change is refused with
the keys that differ named. A key added to the configuration after a run was written
(:data:`~spiketune.training.config.LATER_KEYS`) reads as its default where it is absent."""

from __future__ import annotations

from typing import Any

from spiketune.errors import ConfigError
from spiketune.training.config import LATER_KEYS

EXTENDABLE = "train.epochs"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dotted keys (``section.key``) whose values differ between two config dicts."""
    out = []
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section), new.get(section)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{section}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(section)
    return out


def check_resumable(old: dict[str, Any], new: dict[str, Any], where: str) -> None:
    """Refuse to resume the run ``where`` holds (config ``old``) under config ``new`` unless
    they are equal or ``new`` only trains for more epochs; the error names the keys."""
    old, new = _with_later_keys(old), _with_later_keys(new)
    diff = differences(old, new)
    if not diff:
        return
    if diff == [EXTENDABLE] and new["train"]["epochs"] > old["train"]["epochs"]:
        return
    shown = ", ".join(f"{k} ({_get(old, k)!r} -> {_get(new, k)!r})" for k in diff[:6])
    more = f" and {len(diff) - 6} more" if len(diff) > 6 else ""
    raise ConfigError(f"{where} holds a run with a different configuration: {shown}{more}; only "
                      f"{EXTENDABLE} may grow on resume (use another output folder)")


def _with_later_keys(cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with every later key it lacks set to its default."""
    out = {section: dict(v) if isinstance(v, dict) else v for section, v in cfg.items()}
    for (section, key), default in LATER_KEYS.items():
        node = out.get(section)
        if isinstance(node, dict):
            node.setdefault(key, default)
    return out


def _get(cfg: dict[str, Any], dotted: str) -> Any:
    section, _, key = dotted.partition(".")
    node = cfg.get(section)
    return node.get(key) if key and isinstance(node, dict) else node
