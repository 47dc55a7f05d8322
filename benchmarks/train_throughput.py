"""Training throughput: spiketune vs snnTorch vs SpikingJelly on the same network.

    python benchmarks/train_throughput.py [--device cpu|cuda] [--batch 64] [--steps 25] [--iters 20]

The studies' SVHN network ``32C3-P2-32C3-MP2-256-10`` on 3x32x32 direct (analog) input
for T steps, LIF neurons (beta 0.5 = SpikingJelly tau 2 without input decay, reset by
subtraction, threshold 1), atan surrogate. One training step = forward over T steps,
cross-entropy on output spike counts, backward, Adam. Prints samples/s and peak GPU
memory for every library that is installed, and the ratios to spiketune.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from spiketune.network import models
from spiketune.network import surrogate  # noqa: E402
from spiketune.training.losses import ce_count_loss  # noqa: E402

ARCH = "32C3-P2-32C3-MP2-256-10"


def spiketune_step(device: str, steps: int):
    net = models.build(ARCH, (3, 32, 32), neuron="lif", beta=0.5, surrogate=surrogate.get("atan")).to(device)
    return net, lambda x: net(x, num_steps=steps)


def spiketune_graphed_step(device: str, steps: int, batch: int = 128):
    """spiketune with forward and backward captured in CUDA graphs (static shapes)."""
    net = models.build(ARCH, (3, 32, 32), neuron="lif", beta=0.5, surrogate=surrogate.get("atan")).to(device)

    class Fixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x, num_steps=steps)

    sample = torch.rand(BATCH[0], 3, 32, 32, device=device)
    graphed = torch.cuda.make_graphed_callables(Fixed(), (sample,))
    return net, graphed


BATCH = [128]


def snntorch_step(device: str, steps: int):
    import snntorch as snn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(3, 32, 3), nn.Conv2d(32, 32, 3)
            self.f1, self.f2 = nn.Linear(32 * 6 * 6, 256), nn.Linear(256, 10)
            self.l1, self.l2, self.l3, self.l4 = (snn.Leaky(beta=0.5) for _ in range(4))

        def forward(self, x):
            m1, m2, m3, m4 = (l.init_leaky() for l in (self.l1, self.l2, self.l3, self.l4))
            out = []
            for _ in range(steps):
                s, m1 = self.l1(nn.functional.max_pool2d(self.c1(x), 2), m1)
                s, m2 = self.l2(nn.functional.max_pool2d(self.c2(s), 2), m2)
                s, m3 = self.l3(self.f1(s.flatten(1)), m3)
                s, m4 = self.l4(self.f2(s), m4)
                out.append(s)
            return torch.stack(out)

    net = Net().to(device)
    return net, net


def spikingjelly_step(device: str, steps: int):
    from spikingjelly.activation_based import functional, layer, neuron, surrogate as sj_sg

    def lif():
        return neuron.LIFNode(tau=2.0, decay_input=False, v_reset=None, v_threshold=1.0,
                              surrogate_function=sj_sg.ATan(), step_mode="m")

    net = nn.Sequential(layer.Conv2d(3, 32, 3), layer.MaxPool2d(2), lif(),
                        layer.Conv2d(32, 32, 3), layer.MaxPool2d(2), lif(), layer.Flatten(),
                        layer.Linear(32 * 6 * 6, 256), lif(), layer.Linear(256, 10), lif()).to(device)
    functional.set_step_mode(net, "m")

    def fwd(x):
        functional.reset_net(net)
        return net(x.unsqueeze(0).repeat(steps, 1, 1, 1, 1))

    return net, fwd


def measure(name: str, make, device: str, batch: int, steps: int, iters: int) -> dict | None:
    try:
        net, fwd = make(device, steps)
    except ImportError as e:
        print(f"{name:<13} not installed ({e.name})")
        return None
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ce_count_loss(fwd(x), y, 10)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    mem = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    r = {"name": name, "samples_per_s": batch * iters / dt, "peak_gib": mem}
    print(f"{name:<13} {r['samples_per_s']:10.1f} samples/s   peak {mem:6.2f} GiB", flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--cudnn-benchmark", action="store_true",
                    help="let cuDNN pick the fastest convolution algorithms (all libraries)")
    ap.add_argument("--cuda-graph", action="store_true", help="also time spiketune in CUDA graphs")
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    dev = torch.cuda.get_device_name() if a.device == "cuda" else (platform.processor() or platform.machine())
    print(f"{ARCH}, T={a.steps}, batch {a.batch}, {a.device} ({dev}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, cudnn.benchmark={a.cudnn_benchmark}")
    BATCH[0] = a.batch
    runs = [("spiketune", spiketune_step), ("snntorch", snntorch_step),
            ("spikingjelly", spikingjelly_step)]
    if a.cuda_graph:
        runs.insert(1, ("spiketune+graph", spiketune_graphed_step))
    res = [r for r in (measure(n, f, a.device, a.batch, a.steps, a.iters) for n, f in runs) if r]
    base = res[0]["samples_per_s"]
    for r in res[1:]:
        print(f"spiketune / {r['name']}: {base / r['samples_per_s']:.2f}x throughput"
              + (f", {r['peak_gib'] / res[0]['peak_gib']:.2f}x their memory / ours"
                 if a.device == "cuda" else ""))


if __name__ == "__main__":
    main()
