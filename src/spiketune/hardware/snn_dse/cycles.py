"""Cycle counts of one layer's event-control unit and neural cores, vectorised over samples.

Conv layer (``conv_ec.sv``), for each group of E output channels (G = ceil(OC/E)),
each step t and each input channel c with s spikes in its frame:

* compression (ECU): 1 request cycle + per chunk (1 load + 1 final scan) + 2 per spike:
  ``Lc = 1 + 2*chunks + 2*s``; then 1 channel-advance cycle. A map with s > 0 waits in
  a hand-off state until the replay unit is free (at least 1 cycle).
* replay (NCs): ``K*K*s`` cycles (one kernel tap per cycle, all E cores in parallel),
  starting the cycle after hand-off; compression of the next map overlaps it.
* activation: after a step's last map, the replay unit sweeps the output frame,
  ``F_out*cycles_per_neuron - 1`` cycles.
* 1 cycle per step advance, 1 per group advance, 1 start and 1 done cycle.

FC layer (``fc_ec.sv``): per step the IC input frames are concatenated (IC+1 cycles) and
compressed (2 cycles per chunk of P bits + 2 per spike) + 1, all steps first; then per
group of E neurons and step ``max(s_t, 1)`` accumulate cycles + 1 activate + 1 advance,
+1 per group, +4 control cycles. G = ceil(N/E) (ideal) or floor(N/E) + 1 (rtl).

Mode 'rtl' reproduces the public RTL's quirks (checked cycle-exactly against it by
``benchmarks/rtl_crosscheck.py``): the ECU may hand a map to a replay unit that is busy
with an activation sweep begun from idle, and that map's spikes are dropped; a step
whose input maps are all empty gets no activation sweep (unless it is the first);
latency is counted to the done flag, which rises before the last sweep ends. Mode
'ideal' drops nothing, sweeps every step and counts to the end of the last work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

IDLE, REPLAY, ACT_AFTER_REPLAY, ACT_FROM_IDLE = 0, 1, 2, 3


def counter_bits(sparse_size: int) -> int:
    """Width of the RTL's spike counter, ``$clog2(SPARSE_SIZE)``."""
    return max(0, (sparse_size - 1).bit_length())


@dataclass
class LayerCycles:
    """Per-sample arrays [N] of one layer."""

    latency: np.ndarray  # cycles until the next layer may start
    end: np.ndarray  # cycles until the layer's last work ends (>= latency)
    compress: np.ndarray  # ECU scanning cycles (overlaps replay)
    accumulate: np.ndarray  # NC replay cycles (all cores of a group at once)
    activate: np.ndarray  # neuron-sweep cycles
    activations: np.ndarray  # number of (group, step) sweeps performed
    dropped_events: np.ndarray  # input events never replayed (rtl quirk)
    groups: int


def conv_cycles(counts: np.ndarray, out_channels: int, cores: int, frame_in: int,
                frame_out: int, kernel: int = 3, penc_size: int | None = None,
                counter_bits: int | None = None, cycles_per_neuron: int = 1,
                cycles_per_tap: int = 1, mode: str = "ideal") -> LayerCycles:
    """Cycles of a conv layer for input events ``counts`` [N, T, IC] (per channel and step).

    ``penc_size``: bits per priority-encoder chunk (default ``frame_in >> 2``, the published
    top level); ``counter_bits``: width of the spike counter (``$clog2(SPARSE_SIZE)``), None
    for a counter that never wraps.
    """
    rtl = mode == "rtl"
    counts = np.asarray(counts, dtype=np.int64)
    n, steps, ic = counts.shape
    chunks = math.ceil(frame_in / (penc_size or max(1, frame_in >> 2)))
    kept = counts % (1 << counter_bits) if counter_bits is not None else counts
    groups = math.ceil(out_channels / cores)
    act = frame_out * cycles_per_neuron - 1
    taps = kernel * kernel * cycles_per_tap
    cur = np.ones(n, np.int64)
    free = np.zeros(n, np.int64)
    start = np.zeros(n, np.int64)
    kind = np.full(n, IDLE, np.int64)
    flag = np.ones(n, bool)
    acc = np.zeros(n, np.int64)
    n_act = np.zeros(n, np.int64)
    dropped = np.zeros(n, np.int64)
    for _ in range(groups):
        for t in range(steps):
            late = np.zeros(n, bool)
            for c in range(ic):
                scanned, s = counts[:, t, c], kept[:, t, c]
                dropped += scanned - s  # counter wrap: only s mod 2^bits are handed over
                has = s > 0
                b = cur + 1 + 2 * chunks + 2 * scanned
                prompt = free <= b - 1
                if rtl:
                    prompt |= (kind == ACT_FROM_IDLE) & (start <= b)
                x = np.where(prompt, b, np.maximum(b, free + 1))
                picked = has & ((free <= x + 1) | (not rtl))
                if rtl and c == ic - 1:  # picked up in the IC_ITER cycle: ic_done is cleared
                    late = picked & (free == x + 1)  # before the replay ends, so no sweep
                r = np.maximum(b, free) + 1
                free = np.where(picked, r + taps * s, free)
                start = np.where(picked, r, start)
                kind = np.where(picked, REPLAY, kind)
                flag |= picked
                acc += np.where(picked, taps * s, 0)
                dropped += np.where(has & ~picked, s, 0)
                cur = np.where(has, x + 2, b + 1)
            after_replay = (free > cur) & (kind == REPLAY) & ~late
            busy_act = (free > cur) & ~after_replay
            from_idle = (free <= cur) & (flag | (not rtl))
            queued = after_replay | (busy_act if not rtl else False)
            free = np.where(queued, free + act, free)
            free = np.where(from_idle, cur + 1 + act, free)
            start = np.where(from_idle, cur + 1, start)
            kind = np.where(queued, ACT_AFTER_REPLAY, np.where(from_idle, ACT_FROM_IDLE, kind))
            did = queued | from_idle
            flag &= ~did
            n_act += did
            cur = cur + 1
        cur = cur + 1
    done = cur + 1
    end = np.maximum(done, free)
    compress = groups * (steps * ic * (1 + 2 * chunks) + 2 * counts.sum((1, 2)))
    return LayerCycles(done if rtl else end, end, compress, acc, n_act * act, n_act, dropped, groups)


def fc_cycles(counts: np.ndarray, neurons: int, cores: int, in_channels: int, frame_in: int,
              penc_size: int = 200, mode: str = "ideal", cycles_per_neuron: int = 1) -> LayerCycles:
    """Cycles of an FC layer; ``counts`` [N, T, C] is summed over C to events per step.
    ``penc_size``: bits per priority-encoder chunk (200 in the published top level);
    ``cycles_per_neuron``: cycles of one neuron update (the activate step; 1 in the RTL)."""
    s = np.asarray(counts, dtype=np.int64).sum(-1)  # [N, T]
    steps = s.shape[1]
    chunks = math.ceil(in_channels * frame_in / penc_size)
    groups = neurons // cores + 1 if mode == "rtl" else math.ceil(neurons / cores)
    compress = (in_channels + 2 + 2 * chunks) * steps + 2 * s.sum(1)
    iterate = groups * ((np.maximum(s, 1) + 1 + cycles_per_neuron).sum(1) + 1)
    latency = compress + iterate + 4
    acc = groups * s.sum(1)
    n_act = np.full(s.shape[0], groups * steps, np.int64)
    return LayerCycles(latency, latency, compress, acc, n_act * cycles_per_neuron, n_act,
                       np.zeros_like(acc), groups)
