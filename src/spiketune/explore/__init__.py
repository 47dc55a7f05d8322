"""Exploration: one run end to end (train, profile, cost, write its folder), grid sweeps,
multi-objective Optuna searches, Pareto fronts, the cost predictor and the studies' presets.

The top library layer: may import every layer below it (network, data, training, measure,
hardware, interop, reporting); only the CLI imports it.
"""
