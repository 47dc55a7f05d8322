"""Measurement: the sparsity profile of a trained network (per-layer spike counts, firing rates,
synaptic operations), the spike traces it writes for the hardware models, fan-out counts, and
NeuroBench-compatible metrics.

Imports the network and data layers and the base modules; never training, hardware,
exploration or reporting.
"""
