"""Fit per-component resource formulas to the recorded Yosys results and check held-out points.

Each component's LUT and FF counts are least-squares fits, linear in the regressors of
``spiketune.hardware.resources.regressors``, on every other grid point (sorted by size);
the remaining points are held out and their relative errors recorded. The hybrid design's
dense core (``dense_nc``) is fitted on ``DENSE_GRID`` and held out on ``DENSE_HELD_OUT``.

The conv event-control unit's LUTs are a formula fitted on the power-of-two widths plus a
per-width table (``width_luts``) for the others, where the unit pays a divider for its
address split and adders for its chunk addressing. Held out: every other width, predicted
with the LUTs of the address split synthesized alone (probe ``split``). The shipped table
then takes, per width, the whole unit's excess over the formula where the whole unit was
synthesized, else the probe's LUTs. Whole units with the channels, time steps and cores of
real layers (``CONV_EC_OTHER``) are in no fit and no table: they are predicted as shipped
(``other_channels``); those that vary the counters at power-of-two widths
(``CONV_EC_COUNTERS``) are always fitted.

BRAM and DSP counts follow closed forms (``resources.py``) checked against the same results.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from synth import CONV_EC_COUNTERS, CONV_EC_OTHER, DENSE_HELD_OUT

from spiketune.hardware.resources import REGRESSORS, offset, power_of_two, regressors


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Fit on the 1st, 3rd, ... point and the largest; hold out the rest."""
    fit_rows = rows[::2] + ([rows[-1]] if len(rows) % 2 == 0 else [])
    return fit_rows, [r for r in rows if r not in fit_rows]


def _channels(row: dict) -> tuple:
    p = row["params"]
    return (p.get("INPUT_FRAME_WIDTH"), p.get("INPUT_CHANNELS"), p.get("OUTPUT_CHANNELS"), p.get("TIME_STEPS"),
            p.get("EC_SIZE"))


def held_whole(row: dict) -> bool:
    """Whether a row is one of the real layers' event-control units (``CONV_EC_OTHER``), held
    out of every fit and table."""
    return row["component"] == "conv_ec" and _channels(row) in CONV_EC_OTHER


def counters(row: dict) -> bool:
    """Whether a row is one of the syntheses that vary the counters (``CONV_EC_COUNTERS``),
    always fitted."""
    return row["component"] == "conv_ec" and _channels(row) in CONV_EC_COUNTERS


def split_for(component: str, resource: str, rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Fitted and held-out rows of one formula."""
    if component == "dense_nc":
        shape = ("FRAME_WIDTH", "OUT_CHANNELS", "TIME_STEPS")
        held = [r for r in rows if tuple(r["params"][k] for k in shape) in DENSE_HELD_OUT]
        return [r for r in rows if r not in held], held
    if (component, resource) == ("conv_ec", "lut"):
        pow2 = [r for r in rows if power_of_two(r["params"]["INPUT_FRAME_WIDTH"])]
        return pow2, [r for r in rows if r not in pow2]
    fixed = [r for r in rows if counters(r)]
    fit_rows, held = split([r for r in rows if r not in fixed])
    return fit_rows + fixed, held


def predict(component: str, resource: str, p: dict, c, table: dict[int, float]) -> float:
    """A formula's value at ``p``: coefficients ``c`` on its regressors, plus its table part."""
    return float(np.dot(regressors(component, resource, p), c)) + offset(component, resource, p, table)


def fit(results: Path, out: Path) -> dict:
    every = [{**r, "params": json.loads(r["params"])} for r in csv.DictReader(results.open())]
    rows = [r for r in every if not held_whole(r)]
    table = {r["params"]["INPUT_FRAME_WIDTH"]: float(r["lut"]) for r in rows if r["component"] == "split"}
    coeffs: dict = {}
    for comp, regress in REGRESSORS.items():
        mine = sorted((r for r in rows if r["component"] == comp), key=lambda r: regress(r["params"])[-1])
        if not mine:
            continue
        coeffs[comp] = {}
        for res in ("lut", "ff"):
            train, held = split_for(comp, res, mine)
            x = np.array([regressors(comp, res, r["params"]) for r in train], float)
            y = np.array([float(r[res]) - offset(comp, res, r["params"], table) for r in train])
            c, *_ = np.linalg.lstsq(x, y, rcond=None)
            errors = [(predict(comp, res, r["params"], c, table) - float(r[res])) / max(float(r[res]), 1.0)
                      for r in held]
            coeffs[comp][res] = {"coefficients": [round(float(v), 6) for v in c],
                                 "held_out_relative_errors": [round(e, 4) for e in errors],
                                 "held_out": [r["params"] for r in held],
                                 "fit_points": len(train), "held_out_points": len(held)}
    # the whole unit's excess over the formula at the widths where it was synthesized
    lut = coeffs["conv_ec"]["lut"]["coefficients"]
    unit = {}
    for r in rows:
        p, w = r["params"], r["params"].get("INPUT_FRAME_WIDTH", 0)
        if r["component"] == "conv_ec" and not power_of_two(w):
            unit[w] = float(r["lut"]) - float(np.dot(regressors("conv_ec", "lut", p), lut))
    merged = {**table, **unit}
    coeffs["width_luts"] = {str(w): round(merged[w], 3) for w in sorted(merged)}
    coeffs["width_luts_from_whole_unit"] = sorted(unit)
    # whole units with other channels, time steps and cores, predicted as shipped (formula + table)
    other = [r for r in every if held_whole(r)]
    ff = coeffs["conv_ec"]["ff"]["coefficients"]
    coeffs["conv_ec"]["other_channels"] = {"held_out": [r["params"] for r in other], **{
        f"{res}_relative_errors": [round((predict("conv_ec", res, r["params"], c, merged) - float(r[res]))
                                         / float(r[res]), 4) for r in other]
        for res, c in (("lut", lut), ("ff", ff))}}
    out.write_text(json.dumps(coeffs, indent=1) + "\n")
    return coeffs
