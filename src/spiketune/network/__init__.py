"""The network math: surrogate gradients, neuron models (with their fused multi-step kernels),
the architecture notation papers use, the models built from it, and quantisation-aware layers.

Owns everything a spiking network computes. Imports only torch and spiketune's base modules
(`errors`, `results`, `schema`, `traces`); nothing here knows about datasets, training or hardware.
"""
