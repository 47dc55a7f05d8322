"""Literature energy estimates of one inference, computed from a sparsity profile.

Two estimators the SNN literature uses, both hardware-independent proxies:

* **compute-only**: synaptic operations x energy per operation. Accumulates (AC) for
  layers fed by binary spikes, multiply-accumulates (MAC) for a layer fed by analog
  values (a direct-coded first layer). Defaults: the 45 nm figures of Horowitz (ISSCC
  2014, "Computing's energy problem"): 32-bit float add 0.9 pJ, 32-bit float MAC
  4.6 pJ (multiply 3.7 + add 0.9), as used by e.g. Rathi & Roy and most SNN papers since.
* **Lemaire et al. 2022** ("An analytical estimation of spiking neural networks energy
  efficiency", ICONIP 2022, arXiv:2210.13107): synaptic operations, neuron updates and
  address computations at 45 nm int32 costs (add 0.1 pJ, multiply 3.1 pJ), plus every
  SRAM access to weights, biases, membrane potentials and spike FIFOs, each access
  costing according to the size of the memory it hits; for the SNN and for the
  equivalent formal (non-spiking) network. Equation numbers below are the paper's.

Conventions of this implementation (where it differs from the paper's text):

* Synaptic fan-out is the exact count from the profile (border positions of a conv
  drive fewer kernel taps); the paper writes ``theta * Cout * K^2``. Same for FC layers.
* FC synaptic ops are ``theta_in * Nout`` (Eq. 2.4 multiplies by ``Nin`` once more, a
  misprint noted by both the authors' code, qualia-plugin-snn, and SpikingJelly 2.0).
* A conv's potentials are one per conv output (before pooling): the accelerator keeps
  a potential per conv output; pooling of spikes is taken as free.
* A layer fed by analog values (direct-coded input) is computed densely at every step,
  like the formal network's layer (Eqs. 1.1, 3, 6, 11 with addressing Eq. 16.1/17.1),
  then its neurons update as in the SNN.
* Memory access energy per 32-bit word: piecewise-linear in the memory's size through
  Horowitz's 45 nm SRAM points (8 KiB: 10 pJ, 32 KiB: 20 pJ, 1 MiB: 100 pJ per 64-bit
  read, taken per 32-bit word as SpikingJelly does), constant beyond 1 MiB. The
  authors' qualia code uses a linear fit instead; set ``sram_points`` to change it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

from spiketune.traces import LayerSpec

HOROWITZ = "Horowitz, 'Computing's energy problem', ISSCC 2014 (45 nm)"


@dataclass(frozen=True)
class OperationEnergy:
    """Energy per synaptic operation for the compute-only estimate (pJ)."""

    mac_pj: float = 4.6  # 32-bit float multiply (3.7) + add (0.9)
    ac_pj: float = 0.9  # 32-bit float add
    source: str = HOROWITZ


@dataclass(frozen=True)
class LemaireCosts:
    """Costs of the Lemaire et al. model (pJ); defaults are the paper's 45 nm figures."""

    add_pj: float = 0.1  # 32-bit integer add
    mul_pj: float = 3.1  # 32-bit integer multiply
    word_bytes: int = 4  # every stored value is a 32-bit word
    fifo_words: int = 1000  # depth of each layer's input/output spike FIFO (paper's setting)
    # (memory size in bytes, pJ per word access), linearly interpolated, constant beyond the last
    sram_points: tuple[tuple[float, float], ...] = ((0.0, 0.0), (8192.0, 10.0), (32768.0, 20.0),
                                                    (1048576.0, 100.0))
    source: str = f"Lemaire et al., ICONIP 2022; costs from {HOROWITZ}"

    def word_pj(self, memory_bytes: float) -> float:
        """Energy of one word read or write in a memory of ``memory_bytes``."""
        pts = self.sram_points
        m = min(max(memory_bytes, pts[0][0]), pts[-1][0])
        for (x0, y0), (x1, y1) in pairwise(pts):
            if m <= x1:
                return y0 + (y1 - y0) / (x1 - x0) * (m - x0)
        return pts[-1][1]


@dataclass(frozen=True)
class LayerWork:
    """What one weight layer does in one inference (event counts are per inference)."""

    kind: str  # conv | fc
    in_channels: int  # Cin (conv) or Nin (fc)
    inputs: int  # input values per step (Cin*H*W, or Nin)
    outputs: int  # accumulation targets per step: conv outputs before pooling, or FC neurons
    out_channels: int  # Cout or Nout
    kernel: int  # K (1 for fc)
    dense_synapses: int  # synapses of one dense pass (exact, borders included)
    params: int  # weights + biases
    input_events: float  # theta_{l-1}: non-zero inputs over all steps
    synops: float  # synaptic operations over all steps (events x exact fan-out)
    spikes: float  # theta_l: the neurons' spikes over all steps
    analog_input: bool = False  # fed by analog values (computed with MACs)
    leak: bool = True  # neurons multiply their potential by a decay each step
    sent: float | None = None  # events sent on (pooled spikes when firing before pooling; None: spikes)


def layer_work(specs: list[LayerSpec], profile: dict[str, Any], analog_input: bool) -> list[LayerWork]:
    """Per-inference work of every layer from its spec and a profile dict (``Profile.to_dict()``)."""
    from spiketune.measure.fanout import out_degree

    n = profile["num_samples"]
    out = []
    for i, (s, p) in enumerate(zip(specs, profile["layers"], strict=True)):
        deg = out_degree(s.kind, s.in_shape, s.out_channels, s.kernel, s.stride, s.padding, s.conv_shape)
        k = s.kernel if s.kind == "conv" else 1
        inputs = math.prod(s.in_shape)
        fan_in = (s.in_channels * k * k) if s.kind == "conv" else inputs
        out.append(LayerWork(
            kind=s.kind, in_channels=s.in_channels if s.kind == "conv" else inputs, inputs=inputs,
            outputs=math.prod(s.conv_shape), out_channels=s.out_channels, kernel=k,
            dense_synapses=int(deg.sum()), params=s.out_channels * (fan_in + 1),
            input_events=p["input_events"] / n, synops=p["synops"] / n, spikes=p["spikes"] / n,
            analog_input=analog_input and i == 0, leak=s.beta != 1.0,
            sent=p.get("output_events", p["spikes"]) / n))
    return out


def compute_only_pj(layers: list[LayerWork], e: OperationEnergy = OperationEnergy()) -> float:
    """Synaptic operations x energy per operation (MACs for analog-fed layers, else ACs)."""
    return sum(layer.synops * (e.mac_pj if layer.analog_input else e.ac_pj) for layer in layers)


@dataclass
class Breakdown:
    """Energy of one inference by component (pJ)."""

    ops: float = 0.0  # synaptic, bias, leak and reset arithmetic
    addressing: float = 0.0  # address computations
    weights: float = 0.0  # weight reads
    biases: float = 0.0  # bias reads
    potentials: float = 0.0  # membrane potential reads and writes
    io: float = 0.0  # input reads and output writes
    counts: dict[str, float] = field(default_factory=dict)  # operation and access counts

    @property
    def total(self) -> float:
        return self.ops + self.addressing + self.weights + self.biases + self.potentials + self.io

    def add(self, other: Breakdown) -> None:
        for k in ("ops", "addressing", "weights", "biases", "potentials", "io"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0.0) + v

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def _formal_layer(layer: LayerWork, c: LemaireCosts) -> Breakdown:
    """One dense pass of a formal-network layer (Eqs. 1.1-1.2, 2.1-2.2, 3, 4, 6, 11, 12, 16.1, 17.1)."""
    w = c.word_bytes
    macs = layer.dense_synapses  # Eq. 1.1 / 2.1
    accs = layer.outputs  # bias additions, Eq. 1.2 / 2.2
    reads_in = macs if layer.kind == "conv" else layer.inputs  # Eq. 3 / Eq. 4
    if layer.kind == "conv":  # Eq. 16.1: input, output and kernel address counters
        addr = layer.inputs + layer.outputs + layer.out_channels * layer.kernel * layer.kernel
    else:  # Eq. 17.1: one address per weight
        addr = layer.inputs * layer.out_channels
    return Breakdown(
        ops=macs * (c.mul_pj + c.add_pj) + accs * c.add_pj, addressing=addr * c.add_pj,
        weights=macs * c.word_pj(layer.params * w), biases=layer.outputs * c.word_pj(layer.params * w),
        io=reads_in * c.word_pj(layer.inputs * w),
        counts={"mac": macs, "ac": accs, "acc_addr": addr, "weight_reads": macs,
                "bias_reads": layer.outputs, "input_reads": reads_in})


def lemaire_ann(layers: list[LayerWork], c: LemaireCosts = LemaireCosts()) -> Breakdown:
    """The equivalent formal network (ReLU neurons, one dense pass), Lemaire et al. Sec. 3."""
    total = Breakdown()
    for layer in layers:
        b = _formal_layer(layer, c)
        b.io += layer.outputs * c.word_pj(layer.outputs * c.word_bytes)  # output writes, Eq. 11 / 12
        b.counts["output_writes"] = layer.outputs
        total.add(b)
    return total


def lemaire_snn(layers: list[LayerWork], num_steps: int, c: LemaireCosts = LemaireCosts()) -> Breakdown:
    """The spiking network over ``num_steps`` steps, Lemaire et al. Sec. 3.

    Spike-fed layer with theta_in input events, S synaptic operations and theta_out spikes:
    ACs ``S + T*N + theta_out`` (Eq. 1.4 / 2.4: accumulate, bias, reset); MACs ``T*N`` with
    leak (Eq. 1.3 / 2.3); addressing ``2*theta_in`` MACs + ``S`` ACs (conv, Eq. 16.2-16.3)
    or ``S`` ACs (fc, Eq. 17.2); weight reads ``S`` (Eq. 7f / 8f); bias reads ``T*N``
    (Eq. 7s); potential reads and writes ``S + T*N`` each (Eqs. 9, 10, 14, 15); input reads
    ``theta_in`` and output writes ``theta_out`` in FIFOs (Eqs. 5, 13).
    """
    t, w = num_steps, c.word_bytes
    fifo = c.word_pj(c.fifo_words * w)
    total = Breakdown()
    for layer in layers:
        n = layer.outputs
        pot = c.word_pj(n * w)
        if layer.analog_input:  # dense pass at every step, then the neuron update
            step = _formal_layer(layer, c)
            b = Breakdown(counts={k: v * t for k, v in step.counts.items()})
            for k in ("ops", "addressing", "weights", "biases", "io"):
                setattr(b, k, getattr(step, k) * t)
            accesses: float = t * n
        else:
            s, theta = layer.synops, layer.input_events
            mac_addr = 2 * theta if layer.kind == "conv" else 0.0
            b = Breakdown(
                ops=(s + t * n) * c.add_pj, addressing=mac_addr * (c.mul_pj + c.add_pj) + s * c.add_pj,
                weights=s * c.word_pj(layer.params * w), biases=t * n * c.word_pj(layer.params * w),
                io=theta * fifo,
                counts={"ac": s + t * n, "mac": 0.0, "acc_addr": s, "mac_addr": mac_addr,
                        "weight_reads": s, "bias_reads": t * n, "input_reads": theta})
            accesses = s + t * n
        leak = t * n if layer.leak else 0
        b.ops += leak * (c.mul_pj + c.add_pj) + layer.spikes * c.add_pj  # leak (Eq. 1.3) and reset
        b.potentials = 2 * accesses * pot  # reads and writes
        sent = layer.spikes if layer.sent is None else layer.sent
        b.io += sent * fifo
        b.counts["mac"] = b.counts.get("mac", 0.0) + leak
        b.counts["ac"] = b.counts.get("ac", 0.0) + layer.spikes
        b.counts.update(potential_accesses=2 * accesses, output_writes=sent)
        total.add(b)
    return total


def estimate(layers: list[LayerWork], num_steps: int, ops: OperationEnergy = OperationEnergy(),
             costs: LemaireCosts = LemaireCosts()) -> dict[str, Any]:
    """All literature estimates of one inference (uJ), with breakdowns (pJ) and sources."""
    snn, ann = lemaire_snn(layers, num_steps, costs), lemaire_ann(layers, costs)
    return {"compute_only_uj": compute_only_pj(layers, ops) * 1e-6,
            "lemaire_snn_uj": snn.total * 1e-6, "lemaire_ann_uj": ann.total * 1e-6,
            "lemaire_snn_pj": snn.to_dict(), "lemaire_ann_pj": ann.to_dict(),
            "sources": {"compute_only": asdict(ops), "lemaire": {**asdict(costs), "sram_points": [
                list(p) for p in costs.sram_points]}}}


def accelerator_uj(hw: dict[str, Any]) -> float:
    """The accelerator's modelled energy per inference (uJ): power x latency of its cost report."""
    return float(hw["power_w"] * hw["latency_us"])


def from_run(specs: list[LayerSpec], metrics: dict[str, Any]) -> dict[str, Any]:
    """The estimates of a run from its metrics (profile, NeuroBench counts, hardware), with the
    accelerator's energy per inference (power x latency of its cost report), labelled modelled."""
    prof = metrics["profile"]
    analog = metrics.get("neurobench", {}).get("synaptic_operations", {}).get("Effective_MACs", 0) > 0
    out = estimate(layer_work(specs, prof, analog), prof["num_steps"])
    hw = metrics.get("hardware")
    if hw:
        out["accelerator_modelled_uj"] = accelerator_uj(hw)
    return out
