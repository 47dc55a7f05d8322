"""GPU check: the Triton neuron equals the torch path (spikes exactly, gradients to float32 tolerance).

    python benchmarks/check_fused_gpu.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from spiketune.network import neurons
from spiketune.network import surrogate as sg  # noqa: E402
from spiketune.network.kernels import triton_neuron  # noqa: E402


def main() -> int:
    torch.manual_seed(0)
    worst, bad = 0.0, 0
    for cls, reset, name, static in itertools.product(
            (neurons.LIF, neurons.Lapicque), ("subtract", "zero", "none"),
            ("fast_sigmoid", "atan", "sigmoid", "spike_rate_escape", "straight_through", "triangular"),
            (False, True)):
        y = (torch.randn(64, 32, 15, 15, device="cuda") * 0.8 + 0.3).contiguous(memory_format=torch.channels_last)
        x = y.unsqueeze(0).expand(25, *y.shape) if static else \
            (torch.randn(25 * 64, 32, 15, 15, device="cuda") * 0.8 + 0.3).contiguous(
                memory_format=torch.channels_last).reshape(25, 64, 32, 15, 15)
        w = torch.randn(x.shape, device="cuda")
        res = []
        for fused in (True, False):
            n = cls(beta=0.7, threshold=0.8, reset=reset, surrogate=sg.get(name)).cuda()
            if not fused:
                n.fused = False
            xi = x.detach().clone().requires_grad_(True) if not static else y.clone().requires_grad_(True)
            inp = xi.unsqueeze(0).expand(25, *xi.shape) if static else xi
            assert triton_neuron.available(inp, n, *n.coefficients()) == fused or not fused
            s = n(inp)
            (s * w).sum().backward()
            res.append((s, xi.grad))
        same = torch.equal(res[0][0], res[1][0])
        err = ((res[0][1] - res[1][1]).abs().max() / res[1][1].abs().max().clamp_min(1e-30)).item()
        worst = max(worst, err)
        if not same or err > 1e-4:
            bad += 1
            print("MISMATCH", cls.__name__, reset, name, static, same, err)
    print(f"{'all' if not bad else 'NOT all'} configurations: spikes identical; "
          f"max relative gradient error {worst:.2e}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
