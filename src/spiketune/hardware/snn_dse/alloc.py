"""Allocation of neural cores across layers under a total budget, a device, or both.

A layer's latency depends on its core count E only through its group count, so the
candidates are the smallest E for each group count; with ``core_counts: divisors`` (the
default) only counts that divide the layer's channels/neurons, the ones the RTL can build.
Costs are the simulated mean latencies on (up to ``max_samples``) traced samples.
Sequential pipeline: minimise the sum of layer latencies greedily, always buying the
upgrade with the largest latency drop per extra core. Layer-pipelined: minimise the
slowest layer exactly (binary search over target latencies, each layer taking the fewest
cores that meet the target). With a device (a catalog name of :mod:`..resources`) as the
budget, an allocation must also fit its LUTs, FFs, block RAMs and DSPs by the resource
formulas: the greedy buys the best upgrade that still fits, the binary search the
tightest target whose allocation fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import ConfigError
from ...traces import LayerSpec, Traces
from .. import resources as rs
from .config import HardwareConfig
from .layers import buildable, layer_cycles


@dataclass
class Allocation:
    cores: list[int]
    objective: str
    latency_cycles: float  # objective value (sum or max of mean layer latencies)


def candidates(layer: LayerSpec, mode: str, core_counts: str = "divisors") -> list[int]:
    """Smallest core counts giving each distinct number of groups, ascending."""
    n = layer.out_channels
    if core_counts == "divisors":  # E | n: every divisor gives its own group count
        return [e for e in range(1, n + 1) if buildable(layer, e)]
    if layer.kind == "fc" and mode == "rtl":  # groups = floor(n/E) + 1
        return sorted({e for e in range(1, n + 1) if n // e != n // (e - 1 or 1) or e == 1})
    return sorted({math.ceil(n / g) for g in range(1, n + 1)})


def allocate(traces: Traces, hw: HardwareConfig, budget: int | None, max_samples: int = 256,
             device: rs.Device | str | None = None) -> Allocation:
    """Cores per layer within ``budget`` cores and fitting ``device`` (either may be None, not
    both) minimising the pipeline's latency objective."""
    layers = traces.layers
    if budget is None and device is None:
        raise ConfigError("an allocation needs a core budget, a device, or both")
    if budget is None:
        budget = sum(layer.out_channels for layer in layers)
    if budget < len(layers):
        raise ConfigError(f"core budget {budget} is below one core per layer ({len(layers)} layers)")
    counts = [c[:max_samples] for c in traces.counts]
    cost: dict[tuple[int, int], float] = {}

    def lat(i: int, e: int) -> float:
        if (i, e) not in cost:
            cost[(i, e)] = float(layer_cycles(layers[i], counts[i], e, hw).latency.mean())
        return cost[(i, e)]

    def fits(cores: list[int]) -> bool:
        return device is None or rs.allocation(layers, cores, traces.num_steps, traces.input_shape,
                                               hw.weight_bits).fits(device)

    cands = [[e for e in candidates(layer, hw.mode, hw.core_counts) if e <= budget] for layer in layers]
    if not fits([c[0] for c in cands]):
        name = device if isinstance(device, str) else getattr(device, "name", device)
        raise ConfigError(f"the network does not fit the {name} even with the fewest cores per layer "
                          f"{[c[0] for c in cands]}")
    if hw.pipeline == "layer_pipelined":
        return _min_max(cands, lat, budget, fits)
    choice = [0] * len(layers)
    used = sum(c[0] for c in cands)
    while True:
        upgrades = []  # (gain per extra core, layer, candidate index): the best that fits is bought
        for i, c in enumerate(cands):
            for j in range(choice[i] + 1, len(c)):
                extra = c[j] - c[choice[i]]
                if used + extra > budget:
                    break
                g = (lat(i, c[choice[i]]) - lat(i, c[j])) / extra
                if g > 0:
                    upgrades.append((g, i, j))
        upgrades.sort(key=lambda u: -u[0])  # stable: among equal gains the first found
        current = [c[k] for c, k in zip(cands, choice, strict=True)]
        best = next(((i, j) for _, i, j in upgrades
                     if fits(current[:i] + [cands[i][j]] + current[i + 1:])), None)
        if best is None:
            break
        i, j = best
        used += cands[i][j] - cands[i][choice[i]]
        choice[i] = j
    cores = [c[k] for c, k in zip(cands, choice, strict=True)]
    return Allocation(cores, "sum", sum(lat(i, e) for i, e in enumerate(cores)))


def _min_max(cands: list[list[int]], lat, budget: int, fits) -> Allocation:
    targets = sorted({lat(i, e) for i, c in enumerate(cands) for e in c})

    def fit(target: float) -> list[int] | None:
        cores = []
        for i, c in enumerate(cands):
            ok = [e for e in c if lat(i, e) <= target]
            if not ok:
                return None
            cores.append(ok[0])
        return cores if sum(cores) <= budget and fits(cores) else None

    lo, hi = 0, len(targets) - 1
    best = fit(targets[hi])
    if best is None:
        best = [c[0] for c in cands]
    while lo < hi:
        mid = (lo + hi) // 2
        got = fit(targets[mid])
        if got is None:
            lo = mid + 1
        else:
            best, hi = got, mid
    return Allocation(best, "max", max(lat(i, e) for i, e in enumerate(best)))
