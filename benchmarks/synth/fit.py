"""Fit per-component resource formulas to the recorded Yosys results and check held-out points.

Each component's LUT and FF counts are least-squares fits, linear in the regressors of
``spiketune.hardware.resources.regressors``, on every other grid point (sorted by size);
the remaining points are held out and their relative errors recorded. BRAM and DSP
counts follow closed forms (``resources.py``) checked against the same results.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from spiketune.hardware.resources import REGRESSORS, regressors


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Fit on the 1st, 3rd, ... point and the largest; hold out the rest."""
    fit_rows = rows[::2] + ([rows[-1]] if len(rows) % 2 == 0 else [])
    return fit_rows, [r for r in rows if r not in fit_rows]


def fit(results: Path, out: Path) -> dict:
    rows = [{**r, "params": json.loads(r["params"])} for r in csv.DictReader(results.open())]
    coeffs: dict = {}
    for comp, regress in REGRESSORS.items():
        mine = sorted((r for r in rows if r["component"] == comp), key=lambda r: regress(r["params"])[-1])
        if not mine:
            continue
        train, held = split(mine)
        coeffs[comp] = {}
        for res in ("lut", "ff"):
            x = np.array([regressors(comp, res, r["params"]) for r in train], float)
            y = np.array([float(r[res]) for r in train])
            c, *_ = np.linalg.lstsq(x, y, rcond=None)
            errors = [(float(np.dot(regressors(comp, res, r["params"]), c)) - float(r[res]))
                      / max(float(r[res]), 1.0) for r in held]
            coeffs[comp][res] = {"coefficients": [round(float(v), 6) for v in c],
                                 "held_out_relative_errors": [round(e, 4) for e in errors],
                                 "fit_points": len(train), "held_out_points": len(held)}
    out.write_text(json.dumps(coeffs, indent=1) + "\n")
    return coeffs
