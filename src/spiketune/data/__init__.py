"""Data: the static image datasets and the event-camera datasets (readers of their real file
formats, framing through tonic, caches), input encoders (direct, rate, latency) and splits.

Imports only spiketune's base modules (`errors`, `results`, `schema`, `traces`).
"""
