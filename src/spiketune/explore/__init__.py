"""Design-space exploration: grid sweeps, multi-objective Optuna searches, Pareto fronts
and a hardware-cost predictor."""
