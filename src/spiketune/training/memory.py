"""Memory a training run needs, estimated from the config before anything is allocated."""

from __future__ import annotations

import math
import resource
from pathlib import Path

from spiketune.errors import ConfigError
from spiketune.network.arch import parse
from spiketune.training.config import RunConfig

FLOAT = 4  # bytes of a float32
PARAM_COPIES = 5  # weights, gradients, Adam's two moments, the best-epoch copy
ACTIVATION_COPIES = 3  # membrane, spikes and the surrogate's input, kept for BPTT


def estimate(cfg: RunConfig, input_shape: tuple[int, ...]) -> int:
    """Bytes of parameters, optimizer state and the BPTT activations of one batch."""
    if cfg.model.arch is None:
        raise ConfigError("model.arch is not set: fill in the dataset's defaults first")
    blocks = parse(cfg.model.arch, input_shape)
    params = sum(b.out_channels * (b.in_shape[0] * b.kernel ** 2 if b.kind == "conv"
                                   else math.prod(b.in_shape)) + b.out_channels for b in blocks)
    neurons = sum(math.prod(b.conv_shape) + math.prod(b.out_shape) for b in blocks)
    steps, batch = cfg.data.num_steps or 1, cfg.data.batch_size
    activations = batch * steps * (ACTIVATION_COPIES * neurons + math.prod(input_shape))
    return FLOAT * (PARAM_COPIES * params + activations)


def available() -> int | None:
    """Bytes this process may still use: the machine's available memory, capped by the
    address-space limit (``ulimit -v``); None when neither is known."""
    limits = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    return min(limits) if limits else None


def check_memory(cfg: RunConfig, input_shape: tuple[int, ...]) -> None:
    """ConfigError, with the estimate, when training ``cfg`` needs more memory than there is."""
    need, have = estimate(cfg, input_shape), available()
    if have is not None and need > have:
        raise ConfigError(f"training {cfg.model.arch} with T = {cfg.data.num_steps} and batch "
                          f"{cfg.data.batch_size} needs about {need / 2**30:.1f} GiB; this machine has "
                          f"{have / 2**30:.1f} GiB available (reduce the network, T or data.batch_size)")
