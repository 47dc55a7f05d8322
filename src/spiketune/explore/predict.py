"""Predict hardware cost from training hyperparameters, before training.

Two scikit-learn regressors over the knobs of finished runs (one-hot surrogate and
neuron; numeric slope, beta, threshold, learning rate, time steps), optionally with the
measured firing rate: gradient-boosted trees (nonlinear, needs many runs) and ridge
regression on standardised knobs (a few dozen runs suffice for a smooth cost). The one
with the lower k-fold cross-validated error is kept; that error, next to the
cross-validated error of predicting the training folds' mean, says how far to trust it;
permutation importances say which knob drives the cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from spiketune import schema
from spiketune.errors import ConfigError

NUMERIC = ("model.slope", "model.beta", "model.threshold", "train.lr", "data.num_steps")
CATEGORICAL = ("model.surrogate", "model.neuron")


@dataclass
class Prediction:
    target: str
    n_runs: int
    method: str  # "gradient boosting" or "ridge", whichever cross-validates better
    cv_mae: float
    cv_mape: float  # mean absolute percentage error
    baseline_mae: float  # cross-validated, predicting the training folds' mean
    cv_mae_by_method: dict[str, float]
    importances: dict[str, float]
    model: Any
    features: list[str]


def _features(rows: list[dict[str, Any]], with_rate: bool) -> tuple[np.ndarray, list[str]]:
    cols: list[np.ndarray] = []
    names: list[str] = []
    for key in NUMERIC:
        vals = [r.get(key) for r in rows]
        if any(v not in (None, "") for v in vals):
            cols.append(np.array([float(v) if v not in (None, "") else np.nan for v in vals]))
            names.append(key)
    for key in CATEGORICAL:
        cats = sorted({str(r.get(key)) for r in rows})
        if len(cats) > 1:
            for c in cats:
                cols.append(np.array([float(str(r.get(key)) == c) for r in rows]))
                names.append(f"{key}={c}")
    if with_rate:
        cols.append(np.array([float(r[schema.FIRING_RATE.name]) for r in rows]))
        names.append(schema.FIRING_RATE.name)
    if not cols:
        raise ConfigError("the runs differ in no known knob; nothing to predict from")
    return np.stack(cols, 1), names


def fit(rows: list[dict[str, Any]], target: str = schema.LATENCY_CYCLES.name, with_rate: bool = False,
        folds: int = 5, seed: int = 0) -> Prediction:
    """Fit on finished runs and report k-fold cross-validated error; ``target`` is a
    metric of the results schema (a column of results.csv)."""
    from sklearn.dummy import DummyRegressor
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    schema.metric(target)  # a known metric, or one clear error naming the known ones
    rows = [r for r in rows if r.get(target) not in (None, "")]
    if len(rows) < 6:
        raise ConfigError(f"need at least 6 finished runs with '{target}' to fit, got {len(rows)}")
    x, names = _features(rows, with_rate)
    y = np.array([float(r[target]) for r in rows])
    candidates = {
        "gradient boosting": HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1,
                                                           min_samples_leaf=2, random_state=seed),
        "ridge": make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                               RidgeCV(alphas=np.logspace(-3, 3, 13)))}
    cv = KFold(min(folds, len(rows)), shuffle=True, random_state=seed)
    preds = {m: cross_val_predict(est, x, y, cv=cv) for m, est in candidates.items()}
    errors = {m: float(np.abs(pr - y).mean()) for m, pr in preds.items()}
    method = min(errors, key=errors.__getitem__)
    model = candidates[method].fit(x, y)
    imp = permutation_importance(model, x, y, n_repeats=5, random_state=seed).importances_mean
    base = float(np.abs(cross_val_predict(DummyRegressor(), x, y, cv=cv) - y).mean())
    pred = preds[method]
    importances = dict(sorted(zip(names, map(float, imp), strict=True), key=lambda kv: -kv[1]))
    return Prediction(target, len(rows), method, errors[method],
                      float(np.mean(np.abs(pred - y) / np.maximum(np.abs(y), 1e-12))), base, errors,
                      importances, model, names)


def predict(p: Prediction, settings: dict[str, Any]) -> float:
    """Predicted target for one setting (missing numeric knobs -> NaN, handled natively)."""
    row = []
    for name in p.features:
        if "=" in name:
            key, val = name.split("=", 1)
            row.append(float(str(settings.get(key)) == val))
        else:
            v = settings.get(name)
            row.append(float(v) if v is not None else math.nan)
    return float(p.model.predict(np.array([row]))[0])
