"""Throughput of the cycle model: SVHN-sized traces (32C3-P2-32C3-MP2-256-10, T=25).

    python benchmarks/hw_throughput.py [--samples 26032] [--mode ideal]

Synthetic spike counts at typical firing rates go through ``simulate``; prints
samples/s and input events/s.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from spiketune.hardware import HardwareConfig, simulate  # noqa: E402
from spiketune.traces import LayerSpec, Traces  # noqa: E402


def svhn_traces(n: int, steps: int = 25, seed: int = 0) -> Traces:
    rng = np.random.default_rng(seed)
    layers = [LayerSpec("conv", (3, 32, 32), (32, 30, 30), (32, 15, 15), kernel=3, pool=("max", 2)),
              LayerSpec("conv", (32, 15, 15), (32, 13, 13), (32, 6, 6), kernel=3, pool=("max", 2)),
              LayerSpec("fc", (32, 6, 6), (256,), (256,)), LayerSpec("fc", (256,), (10,), (10,))]
    frames = [(3, 1024, 0.9), (32, 225, 0.15), (32, 36, 0.15), (256, 1, 0.1), (10, 1, 0.1)]
    counts = [rng.binomial(f, p, size=(n, steps, c)).astype(np.uint32) for c, f, p in frames]
    return Traces(Path("."), steps, "direct", (3, 32, 32), layers, counts, np.zeros(n), np.zeros(n))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=26032)  # SVHN test set
    ap.add_argument("--mode", default="ideal")
    a = ap.parse_args()
    t = svhn_traces(a.samples)
    events = sum(int(c.sum()) for c in t.counts[:-1])
    t0 = time.perf_counter()
    rep = simulate(t, HardwareConfig(mode=a.mode))
    dt = time.perf_counter() - t0
    print(f"{platform.processor() or platform.machine()} | numpy {np.__version__} | mode {a.mode}")
    print(f"{a.samples} samples, {events:.3e} input events in {dt:.2f} s: "
          f"{a.samples / dt:,.0f} samples/s, {events / dt:.3e} events/s "
          f"(mean latency {rep.latency_cycles:,.0f} cycles)")


if __name__ == "__main__":
    main()
