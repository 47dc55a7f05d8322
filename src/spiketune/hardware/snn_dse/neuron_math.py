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


TAPS = np.array([(i, j) for i in range(3) for j in range(3)])


def _conv_stream(spikes: np.ndarray, t: int) -> np.ndarray:
    """Events of step ``t`` as rows (neuron address, ic, tap row, tap col): channel by
    channel, spikes in raster order, taps in order, taps outside the map skipped (padding 1)."""
    w = spikes.shape[-1]
    ic, r, c = np.nonzero(spikes[t])
    y = r[:, None] - TAPS[None, :, 0] + 1
    x = c[:, None] - TAPS[None, :, 1] + 1
    ok = ((y >= 0) & (y < w) & (x >= 0) & (x < w)).ravel()
    rows = np.stack([(y * w + x).ravel(), np.repeat(ic, 9), np.tile(TAPS[:, 0], len(ic)),
                     np.tile(TAPS[:, 1], len(ic))], 1)
    return rows[ok]


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
    return conv_cores(spikes, np.asarray(weights)[None], np.array([bias]), core)[:, 0]


def conv_cores(spikes: np.ndarray, weights: np.ndarray, bias: np.ndarray, core: CoreParams) -> np.ndarray:
    """:func:`conv_core` for O output maps at once (they see the same events):
    ``weights`` [O, IC, 3, 3], ``bias`` [O] -> spikes [T, O, W, W]."""
    t_steps, w = spikes.shape[0], spikes.shape[-1]
    n_maps = weights.shape[0]
    pot = np.zeros((n_maps, w * w))
    out = np.zeros((t_steps, n_maps, w * w), np.uint8)
    b = np.asarray(bias, np.float64)[:, None] * core.b_scale
    for t in range(t_steps):
        ev = _conv_stream(spikes, t)[1:]  # the first event only wakes the core
        if len(ev):
            tap = np.vstack([ev[1:, 1:], [[0, 0, 0]]])  # each write takes the next cycle's tap weight
            wv = weights[:, tap[:, 0], tap[:, 1], tap[:, 2]] * core.w_scale  # [O, events]
            _accumulate(pot, ev[:, 0], wv)
        u = b + pot[:, :-1] * core.gain
        fire = u > core.threshold
        out[t, :, :-1] = fire
        if t == t_steps - 1:
            pot[:, :-1] = 0.0
        else:
            pot[:, :-1] = np.where(fire, (u - core.threshold) * core.decay, u * core.decay)
    return out.reshape(t_steps, n_maps, w, w)


def _accumulate(pot: np.ndarray, addr: np.ndarray, wv: np.ndarray) -> None:
    """``pot[:, a] += w`` event by event; back-to-back events on one neuron lose the earlier
    (read-first memory: the second reads the value from before the first's write)."""
    if not (addr[1:] == addr[:-1]).any():
        np.add.at(pot.T, addr, wv.T)  # unbuffered, in event order (pot.T is a view)
        return
    prev, stale = -1, np.zeros(pot.shape[0])
    for k, a in enumerate(addr):
        read = pot[:, a] if a != prev else stale
        stale = pot[:, a].copy()
        pot[:, a] = read + wv[:, k]
        prev = a


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
                first = [last_read * core.w_scale] if len(addrs) >= 3 else [0.0]
                # summed left to right, as the core accumulates (cumsum does not pair terms)
                u = float(np.cumsum(np.concatenate([first, memory[g * f + addrs[1:-2]] * core.w_scale]))[-1])
                last_read = float(memory[(g + 1) * f])
                u = u * core.gain + last_read * core.b_scale
                held = int(u > core.threshold)
            out[g, t] = held
    return out
