"""Training: the run configuration, losses, the chi indicator and chi-adaptive surrogate, and the
BPTT trainer (optimiser, schedules, early stopping, checkpoints).

Imports the network and data layers and the base modules; never measurement, hardware,
exploration or reporting.
"""
