"""Training throughput: spiketune vs snnTorch vs SpikingJelly on the same network.

    python benchmarks/train_throughput.py [--device cpu|cuda] [--batch 64] [--steps 25]
        [--iters 20] [--repeats 1] [--precision fp32 bf16] [--trainer]

The studies' SVHN network ``32C3-P2-32C3-MP2-256-10`` on 3x32x32 direct (analog) input
for T steps, LIF neurons (beta 0.5 = SpikingJelly tau 2 without input decay, reset by
subtraction, threshold 1), atan surrogate. One training step = forward over T steps,
cross-entropy on output spike counts, backward, Adam. Prints samples/s and peak GPU
memory for every library that is installed, and the ratios to spiketune (fp32).

``--precision fp32 bf16`` adds spiketune with bfloat16 synapses (``train.precision``);
the other libraries run as they ship, in float32. ``--trainer`` also times spiketune's own
trainer (:class:`spiketune.training.trainer.EpochLoop` on a synthetic data set of the same
shape, ``iters`` batches per epoch, samples/s of its batch loop) beside the bare step.
``--repeats N`` interleaves the libraries N times (on a shared machine every library then
sees the same load) and reports the median and the range. ``--memory`` (CPU) reports the
peak resident memory one forward + backward adds, each library in a fresh process,
spiketune with its spike inputs saved as float or as bits.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
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


def spiketune_step(device: str, steps: int, precision: str = "fp32"):
    net = models.build(ARCH, (3, 32, 32), neuron="lif", beta=0.5, surrogate=surrogate.get("atan"),
                       precision=precision).to(device)
    return net, lambda x: net(x, num_steps=steps)


def spiketune_bf16_step(device: str, steps: int):
    return spiketune_step(device, steps, "bf16")


def trainer_run(device: str, steps: int, batch: int, iters: int, precision: str) -> float:
    """samples/s of spiketune's own batch loop: one epoch of ``iters`` batches after a
    3-batch warm-up epoch, same network and loss as the bare step (``cuda_graphs`` on a GPU)."""
    from spiketune.data.datasets import TensorDataset
    from spiketune.training import config
    from spiketune.training.trainer import train

    g = torch.Generator().manual_seed(0)
    n = batch * iters
    ds = TensorDataset("synthetic", torch.rand(n, 3, 32, 32, generator=g),
                       torch.randint(0, 10, (n,), generator=g), 10, "benchmark")
    val = ds.subset(torch.arange(batch))
    cfg = config.from_dict({
        "data": {"dataset": "svhn", "num_steps": steps, "encoding": "direct", "batch_size": batch,
                 "val_fraction": 0},
        "model": {"arch": ARCH, "beta": 0.5, "surrogate": "atan"},
        "train": {"epochs": 1, "patience": None, "device": device, "precision": precision,
                  "cuda_graphs": device == "cuda", "scheduler": "none", "lr": 1e-3}})
    train(cfg, progress=False, data=(ds.subset(torch.arange(min(3 * batch, n))), val, val))
    return train(cfg, progress=False, data=(ds, val, val)).samples_per_s


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
        print(f"{name:<16} not installed ({e.name})")
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
    best = float("inf")
    for _ in range(iters):
        ts = time.perf_counter()
        step()
        if device == "cpu":  # the fastest single step: the least disturbed by other load
            best = min(best, time.perf_counter() - ts)
    if device == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    mem = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    r = {"name": name, "samples_per_s": batch * iters / dt, "best_step": batch / best, "peak_gib": mem}
    print(f"{name:<16} {r['samples_per_s']:10.1f} samples/s (best step {r['best_step']:.1f})   "
          f"peak {mem:6.2f} GiB   load {os.getloadavg()[0]:.2f}", flush=True)
    return r


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


MEMORY_RUNS = {"spiketune-fp32": (spiketune_step, False), "spiketune-fp32-bits": (spiketune_step, True),
               "spiketune-bf16": (spiketune_bf16_step, False),
               "spiketune-bf16-bits": (spiketune_bf16_step, True),
               "snntorch": (snntorch_step, None), "spikingjelly": (spikingjelly_step, None)}


def memory_child(name: str, batch: int, steps: int) -> None:
    """Print the peak resident memory (MiB) one training step adds, in this fresh process."""
    make, bits = MEMORY_RUNS[name]
    net, fwd = make("cpu", steps)
    if bits is not None:
        for block in net.blocks:
            block.spike_bits = bits
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(batch, 3, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g)
    with torch.no_grad():
        fwd(x[:2])  # library code loaded before the baseline
    base = _rss_kib("VmRSS")
    ce_count_loss(fwd(x), y, 10).backward()
    print((_rss_kib("VmHWM") - base) / 1024)


def memory(batch: int, steps: int) -> None:
    """Peak CPU memory of one forward + backward per library, each in a fresh process."""
    import subprocess

    print(f"peak resident memory of one training step (fresh process each), batch {batch}, T={steps}:")
    # a fixed mmap threshold: every large tensor is mapped and unmapped by itself, so the
    # resident peak follows the live tensors (glibc's adaptive threshold keeps freed ones)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    for name in MEMORY_RUNS:
        r = subprocess.run([sys.executable, __file__, "--memory-child", name, "--batch", str(batch),
                            "--steps", str(steps)], capture_output=True, text=True, env=env)
        out = r.stdout.strip().splitlines()
        print(f"{name:<20} " + (f"{float(out[-1]):8.1f} MiB" if r.returncode == 0 and out
                                else f"failed: {r.stderr.strip().splitlines()[-1:]}"), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=1, help="interleaved rounds over all libraries")
    ap.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "bf16"],
                    help="spiketune's synapse precision(s)")
    ap.add_argument("--trainer", action="store_true", help="also time spiketune's own trainer")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads for every library (default: torch's; 1 on a busy shared machine)")
    ap.add_argument("--cudnn-benchmark", action="store_true",
                    help="let cuDNN pick the fastest convolution algorithms (all libraries)")
    ap.add_argument("--cuda-graph", action="store_true", help="also time spiketune in CUDA graphs")
    ap.add_argument("--memory", action="store_true",
                    help="CPU: peak memory of one step per library (fresh processes), then exit")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.memory_child or a.memory:
        torch.set_num_threads(a.threads or 1)
        memory_child(a.memory_child, a.batch, a.steps) if a.memory_child else memory(a.batch, a.steps)
        return
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.cuda.get_device_name() if a.device == "cuda" else (platform.processor() or platform.machine())
    print(f"{ARCH}, T={a.steps}, batch {a.batch}, {a.device} ({dev}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, cudnn.benchmark={a.cudnn_benchmark}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()}")
    BATCH[0] = a.batch
    runs = [(f"spiketune-{p}", spiketune_step if p == "fp32" else spiketune_bf16_step)
            for p in a.precision]
    runs += [("snntorch", snntorch_step), ("spikingjelly", spikingjelly_step)]
    if a.cuda_graph:
        runs.insert(1, ("spiketune+graph", spiketune_graphed_step))
    speeds: dict[str, list[float]] = {}
    best: dict[str, list[float]] = {}
    for _ in range(a.repeats):
        for name, make in runs:
            r = measure(name, make, a.device, a.batch, a.steps, a.iters)
            if r:
                speeds.setdefault(name, []).append(r["samples_per_s"])
                best.setdefault(name, []).append(r["best_step"])
        if a.trainer:
            for p in a.precision:
                v = trainer_run(a.device, a.steps, a.batch, a.iters, p)
                print(f"{'trainer-' + p:<16} {v:10.1f} samples/s   load {os.getloadavg()[0]:.2f}",
                      flush=True)
                speeds.setdefault(f"trainer-{p}", []).append(v)
    print(f"\nmedian (min-max) over {a.repeats} interleaved rounds, load now {os.getloadavg()}:")
    base = statistics.median(next(iter(speeds.values())))
    for name, vals in speeds.items():
        med = statistics.median(vals)
        print(f"{name:<16} {med:10.1f} ({min(vals):.1f}-{max(vals):.1f}) samples/s"
              f"   {med / base:.2f}x {next(iter(speeds))}")
    for ours in [n for n in speeds if n.startswith("spiketune")]:
        for other in ("snntorch", "spikingjelly"):
            if other in speeds:
                print(f"{ours} / {other}: "
                      f"{statistics.median(speeds[ours]) / statistics.median(speeds[other]):.2f}x median"
                      + (f", {max(best[ours]) / max(best[other]):.2f}x best step"
                         if a.device == "cpu" else ""))
    if a.device == "cpu":
        print("best single step: " + ", ".join(f"{n} {max(v):.1f}" for n, v in best.items()))


if __name__ == "__main__":
    main()
