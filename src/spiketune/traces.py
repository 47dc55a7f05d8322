"""Spike-trace folders: the contract between the profiler and the hardware model.

Format ``spiketune-trace`` version 2 (version 1 still reads), a folder holding:

``manifest.json``
    ``format``, ``version``, ``num_steps`` T, ``num_samples`` N, ``encoding``,
    ``input_shape``, ``layers`` (one entry per weight layer: ``kind`` conv|fc,
    ``in_shape``, ``conv_shape`` (conv output before pooling), ``out_shape``
    (neuron shape), ``kernel``, ``stride``, ``padding``, ``pool`` [kind, size] or
    null, ``neuron`` (the model's registry name), ``beta``, ``threshold``, ``reset``,
    ``weight_bits`` and, from version 2, ``dynamics``: the neuron update as the hardware
    runs it, see :class:`NeuronDynamics`; a version-1 layer gets it derived from
    ``neuron``/``beta``/``reset``) and ``labels``/``predictions`` files.
``counts_K.npy``
    uint32 [N, T, C_K]: events per channel per time step of spike tensor K, where
    K = 0 is the input of layer 0 and K = i+1 the spikes of layer i. For a
    direct-coded (analog) input an event is a non-zero input value.
``bits_K.npy`` (optional)
    uint8 [N_bits, T, ceil(prod(shape_K)/8)]: ``np.packbits`` of each step's events
    in C-order (channel, row, column), for the first N_bits samples.
``weights_I.npz``
    ``weight`` and ``bias`` (float32) of layer I; with quantisation also
    ``int_weight`` (int32) and ``scale``; with batch norm ``bn_scale`` and ``bn_shift``
    (the eval-mode affine map per channel).
``input_values.npy`` (direct input, or event frames holding counts above 1)
    float32 [N_bits, *input_shape]: the analog input; or the integer event counts
    [N_bits, T, *input_shape] (``meta.input_max_count`` > 1), which the accelerator's
    input bitmap sees as one event per active pixel and step.

This module depends on numpy only; the hardware model reads traces through it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spiketune.errors import TraceError
from spiketune.results import write_atomic

FORMAT, VERSION = "spiketune-trace", 2
READS = (1, 2)


@dataclass(frozen=True)
class NeuronDynamics:
    """One layer's neuron update, ``I_t = alpha*I_{t-1} + X_t`` (second state, only when
    ``synapse_decay`` is set; else ``I_t = X_t``), ``U_t = decay*U_{t-1} + gain*I_t``,
    reset by ``reset`` (subtract | zero | none) of the previous step's spike, a zero reset
    applied to the new membrane when ``reset_after_update`` (snnTorch Lapicque, Synaptic) or
    to the old one before the decay (snnTorch Leaky, NIR's ``v_reset``). A non-spiking
    layer (``spiking`` false, a leaky-integrator read-out) outputs its membrane.
    ``decay``/``synapse_decay`` are numbers, or nested lists broadcasting against the
    layer's neuron shape (per channel or per neuron)."""

    model: str
    decay: float | list
    gain: float = 1.0
    synapse_decay: float | list | None = None
    reset: str = "subtract"
    reset_after_update: bool = False
    spiking: bool = True

    @property
    def states(self) -> int:
        """State variables per neuron (membrane, plus the synaptic current)."""
        return 1 if self.synapse_decay is None else 2

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "states": self.states}

    @staticmethod
    def from_json(d: dict[str, Any]) -> "NeuronDynamics":
        return NeuronDynamics(**{k: v for k, v in d.items() if k != "states"})


def legacy_dynamics(neuron: str, beta: float, reset: str) -> NeuronDynamics:
    """The dynamics a version-1 layer (LIF or Lapicque, scalar beta) stands for."""
    if neuron == "lapicque":  # snnTorch from beta alone: R = 1, C = 1/ln(1/beta), dt = 1
        c = 1.0 / math.log(1.0 / beta)
        return NeuronDynamics("lapicque", 1.0 - 1.0 / c, 1.0 / c, None, reset, True)
    return NeuronDynamics(neuron, min(max(beta, 0.0), 1.0), 1.0, None, reset, False)


@dataclass
class LayerSpec:
    """One weight layer as the hardware sees it."""

    kind: str
    in_shape: tuple[int, ...]
    conv_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    pool: tuple[str, int] | None = None
    neuron: str = "lif"
    beta: float = 0.5
    threshold: float = 1.0
    reset: str = "subtract"
    weight_bits: int | None = None
    dynamics: NeuronDynamics | None = None  # None: derived from neuron/beta/reset (version 1)

    def __post_init__(self) -> None:
        if self.dynamics is None:
            self.dynamics = legacy_dynamics(self.neuron, self.beta, self.reset)

    @property
    def in_channels(self) -> int:
        return self.in_shape[0] if self.kind == "conv" else int(np.prod(self.in_shape))

    @property
    def out_channels(self) -> int:
        return self.conv_shape[0]

    @staticmethod
    def from_json(d: dict[str, Any]) -> "LayerSpec":
        d = dict(d)
        for k in ("in_shape", "conv_shape", "out_shape"):
            d[k] = tuple(d[k])
        if d.get("pool") is not None:
            d["pool"] = (d["pool"][0], int(d["pool"][1]))
        if d.get("dynamics") is not None:
            d["dynamics"] = NeuronDynamics.from_json(d["dynamics"])
        return LayerSpec(**d)


@dataclass
class Traces:
    """A loaded trace folder. ``counts[K]`` is [N, T, C_K]; ``bits`` may be empty."""

    path: Path
    num_steps: int
    encoding: str
    input_shape: tuple[int, ...]
    layers: list[LayerSpec]
    counts: list[np.ndarray]
    labels: np.ndarray
    predictions: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_samples(self) -> int:
        return int(self.counts[0].shape[0])

    def spike_shape(self, k: int) -> tuple[int, ...]:
        return self.input_shape if k == 0 else self.layers[k - 1].out_shape

    def bits(self, k: int) -> np.ndarray | None:
        """Unpacked events [N_bits, T, *shape] of spike tensor ``k`` as uint8, if stored."""
        f = self.path / f"bits_{k}.npy"
        if not f.exists():
            return None
        packed = _load(f)
        shape = self.spike_shape(k)
        n = int(np.prod(shape))
        flat = np.unpackbits(packed, axis=-1, count=n)
        return flat.reshape(packed.shape[0], packed.shape[1], *shape)

    def weights(self, i: int) -> dict[str, np.ndarray]:
        f = self.path / f"weights_{i}.npz"
        try:
            with np.load(f) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise TraceError(f"cannot read {f}: {e}") from None

    def input_values(self) -> np.ndarray | None:
        f = self.path / "input_values.npy"
        return _load(f) if f.exists() else None


def _load(path: Path) -> np.ndarray:
    try:
        return np.load(path)
    except (OSError, ValueError, EOFError) as e:
        raise TraceError(f"cannot read trace file {path}: {e}") from None


def write(path: str | Path, *, num_steps: int, encoding: str, input_shape: tuple[int, ...],
          layers: list[LayerSpec], counts: list[np.ndarray], bits: list[np.ndarray] | None,
          weights: list[dict[str, np.ndarray]], labels: np.ndarray, predictions: np.ndarray,
          input_values: np.ndarray | None = None, meta: dict[str, Any] | None = None) -> Path:
    """Write a trace folder; the manifest is written last, so a folder without one is incomplete."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    if len(counts) != len(layers) + 1:
        raise TraceError(f"{len(counts)} count arrays for {len(layers)} layers (need layers + 1)")
    for k, c in enumerate(counts):
        write_atomic(out / f"counts_{k}.npy", lambda f, c=c: np.save(f, c.astype(np.uint32)))
    for k, b in enumerate(bits or []):
        flat = b.reshape(b.shape[0], b.shape[1], -1).astype(bool)
        write_atomic(out / f"bits_{k}.npy", lambda f, p=np.packbits(flat, axis=-1): np.save(f, p))
    for i, w in enumerate(weights):
        write_atomic(out / f"weights_{i}.npz", lambda f, w=w: np.savez(f, **w))
    if input_values is not None:
        vals = input_values if input_values.dtype.kind in "iu" else input_values.astype(np.float32)
        write_atomic(out / "input_values.npy", lambda f: np.save(f, vals))
    write_atomic(out / "labels.npy", lambda f: np.save(f, labels.astype(np.int64)))
    write_atomic(out / "predictions.npy", lambda f: np.save(f, predictions.astype(np.int64)))
    manifest = {"format": FORMAT, "version": VERSION, "num_steps": int(num_steps),
                "num_samples": int(counts[0].shape[0]), "encoding": encoding,
                "input_shape": list(input_shape),
                "layers": [{**l.__dict__, "in_shape": list(l.in_shape),
                            "conv_shape": list(l.conv_shape), "out_shape": list(l.out_shape),
                            "pool": list(l.pool) if l.pool else None,
                            "dynamics": l.dynamics.to_json()} for l in layers],
                "meta": meta or {}}
    write_atomic(out / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=1).encode()))
    return out


def read(path: str | Path) -> Traces:
    """Load a trace folder; TraceError names what is missing or malformed."""
    p = Path(path)
    mf = p / "manifest.json"
    if not mf.is_file():
        raise TraceError(f"no trace manifest at {mf} (not a trace folder, or writing was interrupted)")
    try:
        m = json.loads(mf.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TraceError(f"cannot read {mf}: {e}") from None
    if m.get("format") != FORMAT:
        raise TraceError(f"{mf} is not a {FORMAT} manifest")
    if m.get("version") not in READS:
        raise TraceError(f"{mf} has trace version {m.get('version')}; this spiketune reads "
                         f"{', '.join(map(str, READS))}")
    layers = [LayerSpec.from_json(d) for d in m["layers"]]
    counts = [_load(p / f"counts_{k}.npy") for k in range(len(layers) + 1)]
    n, t = m["num_samples"], m["num_steps"]
    for k, c in enumerate(counts):
        if c.ndim != 3 or c.shape[:2] != (n, t):
            raise TraceError(f"{p / f'counts_{k}.npy'} has shape {c.shape}, expected ({n}, {t}, C)")
    return Traces(p, t, m["encoding"], tuple(m["input_shape"]), layers, counts,
                  _load(p / "labels.npy"), _load(p / "predictions.npy"), m.get("meta", {}))
