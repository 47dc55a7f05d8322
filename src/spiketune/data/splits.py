"""Seeded, stratified train/test splits for datasets that do not define their own."""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 0  # fixed: the same files give the same split on every run and machine


def stratified_split(labels: np.ndarray, fraction: float, seed: int = SPLIT_SEED
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, held_out), sorted, with ``round(fraction * n_c)`` of each class held out."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        held.append(idx[: int(round(fraction * len(idx)))])
    held_idx = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(labels)), held_idx), held_idx
