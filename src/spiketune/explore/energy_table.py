"""Energy per inference of every run under each estimator, and how the estimators rank the runs.

Rows come from the runs' ``metrics.json`` (the ``energy`` entry, or computed from the
profile and the trace manifest for runs recorded before it existed). Columns: the
proxies (synaptic operations, compute-only energy, Lemaire et al. SNN and formal-network
energy) and the accelerator's cycle-level latency and modelled energy. Rank agreement is
Spearman's rho between every pair of columns; a proxy orders a pair of runs wrongly when
it ranks them opposite to the accelerator's modelled energy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from spiketune.errors import SpiketuneError
from spiketune.measure.energy import from_run
from spiketune.results import write_csv, write_json
from spiketune.traces import LayerSpec

PROXIES = ("synops", "compute_only_uj", "lemaire_snn_uj", "lemaire_ann_uj")
HARDWARE = ("latency_cycles", "accelerator_modelled_uj")
COLUMNS = PROXIES + HARDWARE
PATTERNS = ("runs/*/", "trials/*/", "studies/*/trials/*/")


def run_folders(roots: list[Path]) -> list[Path]:
    """Every folder holding a metrics.json: the roots themselves or their runs/trials."""
    found = []
    for root in roots:
        if (root / "metrics.json").is_file():
            found.append(root)
        for pattern in PATTERNS:
            found += sorted(d for d in root.glob(pattern) if (d / "metrics.json").is_file())
    return found


def energy_row(folder: Path) -> dict[str, Any]:
    """One run's estimates (uJ per inference) and accelerator figures."""
    metrics = json.loads((folder / "metrics.json").read_text())
    if "profile" not in metrics or "hardware" not in metrics:
        raise SpiketuneError(f"{folder / 'metrics.json'} lacks a profile or hardware report")
    e = metrics.get("energy")
    if e is None or "accelerator_modelled_uj" not in e:
        manifest = folder / "traces" / "manifest.json"
        if not manifest.is_file():
            raise SpiketuneError(f"{folder} has no energy estimates and no trace manifest to compute them")
        specs = [LayerSpec.from_json(d) for d in json.loads(manifest.read_text())["layers"]]
        e = from_run(specs, metrics)
    return {"run": folder.name, "test_accuracy": metrics.get("test_accuracy"),
            "synops": metrics["profile"]["synops"] / metrics["profile"]["num_samples"],
            **{k: e[k] for k in ("compute_only_uj", "lemaire_snn_uj", "lemaire_ann_uj",
                                 "accelerator_modelled_uj")},
            "latency_cycles": metrics["hardware"]["latency_cycles"]}


@dataclass
class EnergyTable:
    rows: list[dict[str, Any]]
    spearman: dict[str, dict[str, float]]  # column -> column -> rho
    misordered: dict[str, list[tuple[str, str]]]  # proxy -> run pairs it orders opposite to the accelerator


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rho; NaN when either column is constant (no ranking to agree with)."""
    from scipy.stats import spearmanr

    if len(set(a)) < 2 or len(set(b)) < 2:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def build(roots: list[Path]) -> EnergyTable:
    folders = run_folders(roots)
    if len(folders) < 2:
        raise SpiketuneError(f"need at least 2 finished runs under {', '.join(map(str, roots))}, "
                             f"found {len(folders)}")
    rows = [energy_row(f) for f in folders]
    cols = {c: [r[c] for r in rows] for c in COLUMNS}
    rho = {a: {b: spearman(cols[a], cols[b]) for b in COLUMNS} for a in COLUMNS}
    ref = cols["accelerator_modelled_uj"]
    wrong = {p: [(rows[i]["run"], rows[j]["run"]) for i, j in combinations(range(len(rows)), 2)
                 if (cols[p][i] - cols[p][j]) * (ref[i] - ref[j]) < 0] for p in PROXIES}
    return EnergyTable(rows, rho, wrong)


def write(table: EnergyTable, out: Path) -> Path:
    """energy.csv (one row per run) and energy.json (rows, rank correlations, misordered pairs)."""
    write_json(out / "energy.json", {"rows": table.rows, "spearman": table.spearman,
                                     "misordered_vs_accelerator": table.misordered})
    return write_csv(out / "energy.csv", table.rows)


def write_if_any(root: Path) -> Path | None:
    """energy.json/.csv of the runs under a sweep, search or reproduction folder, for its
    report; None (nothing written) when fewer than two runs carry energy estimates."""
    try:
        return write(build([root]), root)
    except SpiketuneError:
        return None


def format_table(table: EnergyTable, max_pairs: int = 5) -> str:
    head = ["run", *COLUMNS]
    lines = ["  ".join(f"{h:>24}" if i else f"{h:<28}" for i, h in enumerate(head))]
    for r in table.rows:
        lines.append("  ".join([f"{r['run'][:28]:<28}", *(f"{r[c]:>24.4g}" for c in COLUMNS)]))
    lines += ["", "Spearman rank correlation with the accelerator (latency, modelled energy):"]
    for p in PROXIES:
        lines.append(f"  {p:<18} {table.spearman[p]['latency_cycles']:+.3f}  "
                     f"{table.spearman[p]['accelerator_modelled_uj']:+.3f}   "
                     f"misordered pairs: {len(table.misordered[p])}"
                     + "".join(f"\n      {a} vs {b}" for a, b in table.misordered[p][:max_pairs]))
    return "\n".join(lines)
