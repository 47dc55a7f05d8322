"""The package's layers: every module imports, and no module imports a layer above its own."""

import ast
import importlib
import pkgutil
from pathlib import Path

import spiketune

# Modules directly under spiketune/ are the base floor.
BASE = {"errors", "results", "traces", "schema", "__version__"}
# layer -> the layers it may import (besides itself and the base modules)
ALLOWED = {
    "base": set(),
    "network": set(),
    "data": set(),
    "hardware": set(),
    "reporting": {"network"},  # plots surrogate derivatives
    "training": {"network", "data"},
    "measure": {"network", "data"},
    "interop": {"network", "data", "measure"},
    "explore": {"network", "data", "training", "measure", "hardware", "reporting", "interop"},
    "cli": {"network", "data", "training", "measure", "hardware", "reporting", "interop", "explore"},
}
SRC = Path(spiketune.__file__).parent


def layer_of(dotted: str) -> str:
    parts = dotted.split(".")
    if len(parts) > 1 and parts[1] == "__main__":
        return "cli"
    if len(parts) == 1 or parts[1] in BASE:
        return "base"
    return parts[1] if parts[1] in ALLOWED else f"unknown module {dotted}"


def imported_modules(path: Path, dotted: str) -> set[str]:
    """Every spiketune module a file imports, relative imports resolved."""
    package = dotted.split(".") if path.name == "__init__.py" else dotted.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("spiketune")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.startswith("spiketune"):
                found |= {f"{base}.{a.name}" for a in node.names}  # a name may be a submodule
    return found


def all_modules() -> list[tuple[str, Path]]:
    out = []
    for info in pkgutil.walk_packages(spiketune.__path__, "spiketune."):
        rel = info.name.split(".")[1:]
        path = SRC.joinpath(*rel)
        path = path / "__init__.py" if info.ispkg else path.with_suffix(".py")
        out.append((info.name, path))
    return out


def test_every_module_imports():
    for name, _ in all_modules():
        if not name.endswith("__main__"):
            importlib.import_module(name)


def test_no_module_imports_a_layer_above_its_own():
    offences = []
    for name, path in all_modules():
        own = layer_of(name)
        for target in imported_modules(path, name):
            other = layer_of(target)
            if other not in {own, "base"} and other not in ALLOWED[own]:  # unknown names fail too
                offences.append(f"{name} ({own}) imports {target} ({other})")
    assert not offences, "\n".join(offences)


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from spiketune.explore.run import run\nfrom ..training import config\n"
                   "from ..plots import figure\n")
    found = imported_modules(bad, "spiketune.network.bad")
    assert "spiketune.explore.run.run" in found and "spiketune.training.config" in found
    assert layer_of("spiketune.explore.run.run") not in ALLOWED["network"] | {"network", "base"}
    assert layer_of("spiketune.plots.figure").startswith("unknown")  # a module that no longer exists
