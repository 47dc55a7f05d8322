"""Pareto fronts of results under mixed maximise/minimise objectives."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def non_dominated(points: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` [n, k].

    ``directions[j]`` is 'max' or 'min'. A row is dominated when another row is at least
    as good in every objective and strictly better in one. NaN rows are never on the front.
    """
    p = np.asarray(points, dtype=float)
    sign = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    q = p * sign  # now everything is minimised
    valid = ~np.isnan(q).any(1)
    mask = valid.copy()
    for i in np.flatnonzero(valid):
        others = q[valid]
        dominated = np.all(others <= q[i], 1) & np.any(others < q[i], 1)
        if dominated.any():
            mask[i] = False
    return mask
