"""The SNN-DSE neural cores' arithmetic as built (ISPASS artifact build, SNN-DSE commit
1d52c17, ``Hardware/ispass_sim/conv_nc.sv`` and ``fc_nc.sv``), read from the RTL and
checked spike for spike against it under Icarus (``benchmarks/rtl_nc_crosscheck.py``).

The cores compute in ``shortreal`` with integer weights times a per-layer scale; they do
not compute the trained network's neuron (see docs/hardware-model.md, "Neuron arithmetic
as built"). Per time step of a conv core (one output map):

* accumulate: ``P[n] += w * w_scale`` for every event the event-control unit sends, except
  the first event of the step, which only wakes the core (state 0 -> 1) and is lost; the
  write lands a cycle after the address, and takes its weight from the channel and tap
  presented in that cycle (the next event's); back-to-back events on one neuron lose the
  earlier one (read-first memory);
* sweep neurons 0 .. F-2 (the last neuron of the map is never read back):
  ``U = b * b_scale + g * P[n]``; spike if ``U > threshold``; store
  ``P[n] = 0`` on the last step, else ``(U - threshold) * d`` after a spike, else ``U * d``,
  with ``g = 1, d = beta`` (LIF) or ``g = beta, d = 1 - beta`` (Lapicque).

Per time step of an FC core (neuron group ``k`` of a core, weight memory ``M``):
the unit sends ``n - 1`` of the step's ``n`` input spikes, then the activation. The core
adds the word it read last (``M[(k'+1) F]`` of the previous activation) on its first cycle,
then ``M[kF + a_1] .. M[kF + a_(n-3)]`` (the read lags the address by one cycle), scales
by ``g``, adds ``M[(k+1) F] * b_scale``, spikes if above the threshold and clears the
membrane (the unit holds ``last_time_step`` high): no leak, no state between steps. A step
with fewer than two input spikes never wakes the core: its output repeats the last one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CoreParams:
    """Parameters of one neural core (the RTL's module parameters)."""

    lapicque: bool
    beta: float
    threshold: float
    w_scale: float
    b_scale: float

    @property
    def gain(self) -> float:  # LAP_TERM
        return self.beta if self.lapicque else 1.0

    @property
    def decay(self) -> float:  # NEURON_BETA
        return 1.0 - self.beta if self.lapicque else self.beta


TAPS = [(i, j) for i in range(3) for j in range(3)]


def _conv_stream(spikes: np.ndarray, t: int) -> list[tuple[int, int, int, int]]:
    """Events of step ``t``: (neuron address, ic, tap row, tap col), channel by channel,
    spikes in raster order, taps in order, taps outside the map skipped (padding 1)."""
    w = spikes.shape[-1]
    out = []
    for ic in range(spikes.shape[1]):
        for r, c in zip(*np.nonzero(spikes[t, ic]), strict=True):
            for i, j in TAPS:
                y, x = int(r) - i + 1, int(c) - j + 1
                if 0 <= y < w and 0 <= x < w:
                    out.append((y * w + x, ic, i, j))
    return out


def conv_events(spikes: np.ndarray) -> list[list[int]]:
    """Command stream for one conv core over ``spikes`` [T, IC, W, W] (3x3 kernel, padding 1),
    one event per cycle as the event-control unit sends them, then the activation (sent with
    ic 0, tap 0), the sweep's idle cycles and a spike read-out.
    Rows: ``[op, row, col, ic, tap, last]`` (op 0 idle, 1 accumulate, 2 activate, 3 read)."""
    t_steps, w = spikes.shape[0], spikes.shape[-1]
    idle = [0, 0, 0, 0, 0, 0]
    cmds: list[list[int]] = []
    for t in range(t_steps):
        last = int(t == t_steps - 1)
        cmds += [[1, a // w, a % w, ic, 3 * i + j, last] for a, ic, i, j in _conv_stream(spikes, t)]
        cmds += [[2, 0, 0, 0, 0, last]] + [idle] * (w * w + 4) + [[3, 0, 0, 0, 0, 0]]
    return cmds


def conv_core(spikes: np.ndarray, weights: np.ndarray, bias: float, core: CoreParams) -> np.ndarray:
    """Output spikes [T, W, W] of one conv core for ``spikes`` [T, IC, W, W] sent in the order
    of :func:`conv_events`; ``weights`` [IC, 3, 3] and ``bias`` are the stored integers."""
    t_steps, w = spikes.shape[0], spikes.shape[-1]
    pot = np.zeros(w * w)
    out = np.zeros((t_steps, w * w), np.uint8)
    for t in range(t_steps):
        ev = _conv_stream(spikes, t)[1:]  # the first event only wakes the core
        taps = [(ic, i, j) for _, ic, i, j in ev[1:]] + [(0, 0, 0)] * bool(ev)  # weight: next cycle's tap
        prev, stale = -1, 0.0
        for (a, *_), (ic, i, j) in zip(ev, taps, strict=True):
            read = pot[a] if a != prev else stale  # read-first memory: the previous write is not seen
            stale = pot[a]
            pot[a] = read + weights[ic, i, j] * core.w_scale
            prev = a
        u = bias * core.b_scale + pot[:-1] * core.gain
        fire = u > core.threshold
        out[t, :-1] = fire
        if t == t_steps - 1:
            pot[:-1] = 0.0
        else:
            pot[:-1] = np.where(fire, (u - core.threshold) * core.decay, u * core.decay)
    return out.reshape(t_steps, w, w)


def fc_events(spikes: np.ndarray, groups: int) -> list[list[int]]:
    """Command stream of the FC event-control unit for one core: per neuron group, per step,
    en_accum for the step's spike addresses but the last, en_activ (both only when the step
    has a spike), idle cycles and a read-out. Rows: ``[op, neuron, addr, last]``."""
    cmds: list[list[int]] = []
    for g in range(groups):
        for t in range(spikes.shape[0]):
            addrs = np.flatnonzero(spikes[t]).tolist()
            if addrs:
                cmds += [[1, g, a, 1] for a in addrs[:-1]] + [[2, g, 0, 1]]
            cmds += [[0, g, 0, 1]] * 3 + [[3, g, 0, 1]]
    return cmds


def fc_core(spikes: np.ndarray, memory: np.ndarray, groups: int, core: CoreParams) -> np.ndarray:
    """Output spikes [groups, T] of one FC core: ``spikes`` [T, F] sent as :func:`fc_events`
    does, ``memory`` the core's weight words (neuron group k at ``k*F``)."""
    f = spikes.shape[1]
    out = np.zeros((groups, spikes.shape[0]), np.uint8)
    last_read, held = 0.0, 0
    for g in range(groups):
        for t in range(spikes.shape[0]):
            addrs = np.flatnonzero(spikes[t])
            if len(addrs) >= 2:
                u = last_read * core.w_scale
                for a in addrs[1:-2]:
                    u = u + memory[g * f + a] * core.w_scale
                last_read = float(memory[(g + 1) * f])
                u = u * core.gain + last_read * core.b_scale
                held = int(u > core.threshold)
            out[g, t] = held
    return out
