"""Spike-trace folders: the contract between the profiler and the hardware model.

Format ``spiketune-trace`` version 2 (version 1 still reads), a folder holding:

``manifest.json``
    ``format``, ``version``, ``num_steps`` T, ``num_samples`` N, ``encoding`` (of spike
    tensor 0, the input the hardware receives: ``rate`` also for a direct-trained network
    costed on rate-coded input, see :mod:`spiketune.measure.profile`),
    ``input_shape``, ``layers`` (one entry per weight layer: ``kind`` conv|fc,
    ``in_shape``, ``conv_shape`` (conv output before pooling), ``out_shape``
    (the layer's output spikes, what the next layer receives), ``kernel``, ``stride``,
    ``padding``, ``pool`` [kind, size] or null, ``pool_spikes`` (optional, default false:
    true when the neurons fire before the pooling, at ``conv_shape``, and the pooling
    max-pools their spikes; else they sit at ``out_shape``, after pooling), ``neuron``
    (the model's registry name), ``beta``, ``threshold``, ``reset``, ``weight_bits``
    and, from version 2, ``dynamics``: the neuron update as the hardware runs it, see
    :class:`NeuronDynamics`; a version-1 layer gets it derived from
    ``neuron``/``beta``/``reset``) and ``labels``/``predictions`` files.
``counts_K.npy``
    uint32 [N, T, C_K]: events per channel per time step of spike tensor K, where
    K = 0 is the input of layer 0 and K = i+1 the output spikes of layer i (after the
    pooling of spikes when ``pool_spikes``: what layer i+1 receives). For a
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

``meta.layer_names`` (optional) names each weight layer as the sparsity profile does
(``L0:16C3p1-MP2``); every report of the traces uses these names, and ``L<i>:<kind>``
for a folder written without them.

This module depends on numpy only; the hardware model reads traces through it.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

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
    def from_json(d: dict[str, Any]) -> NeuronDynamics:
        return NeuronDynamics(**{k: v for k, v in d.items() if k != "states"})


def legacy_dynamics(neuron: str, beta: float, reset: str) -> NeuronDynamics:
    """The dynamics a version-1 layer (LIF or Lapicque, scalar beta) stands for."""
    if neuron == "lapicque":  # snnTorch from beta alone: R = 1, C = 1/ln(1/beta), dt = 1
        c = 1.0 / math.log(1.0 / beta)
        return NeuronDynamics("lapicque", 1.0 - 1.0 / c, 1.0 / c, None, reset, True)
    return NeuronDynamics(neuron, min(max(beta, 0.0), 1.0), 1.0, None, reset, False)


KINDS, RESETS, POOLS = ("conv", "fc"), ("subtract", "zero", "none"), ("max", "avg")
NEURONS = ("lif", "lapicque", "if", "cuba_lif", "li")  # the neuron models a trace may name


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
    pool_spikes: bool = False  # the neurons fire before the pooling, which max-pools their spikes
    neuron: str = "lif"
    beta: float = 0.5
    threshold: float = 1.0
    reset: str = "subtract"
    weight_bits: int | None = None
    # left out: derived from neuron/beta/reset (version 1) in __post_init__, so never None after
    dynamics: NeuronDynamics = cast(NeuronDynamics, None)

    def __post_init__(self) -> None:
        if self.dynamics is None:
            self.dynamics = legacy_dynamics(self.neuron, self.beta, self.reset)

    @property
    def neuron_shape(self) -> tuple[int, ...]:
        """The neurons: the conv output when they fire before pooling, else the output."""
        return self.conv_shape if self.pool_spikes else self.out_shape

    @property
    def in_channels(self) -> int:
        return self.in_shape[0] if self.kind == "conv" else int(np.prod(self.in_shape))

    @property
    def out_channels(self) -> int:
        return self.conv_shape[0]

    def weight_shape(self) -> tuple[int, ...]:
        if self.kind == "conv":
            return (self.out_channels, self.in_shape[0], self.kernel, self.kernel)
        return (self.out_channels, int(np.prod(self.in_shape)))

    @staticmethod
    def from_json(d: Any, where: str = "layer") -> LayerSpec:
        """A layer entry of a manifest, validated; TraceError names ``where`` and the field."""
        if not isinstance(d, dict):
            raise TraceError(f"{where} must be a mapping, got {type(d).__name__}")
        unknown = set(d) - set(LayerSpec.__dataclass_fields__)
        if unknown:
            raise TraceError(f"{where} has unknown fields {sorted(unknown)}")
        missing = {"kind", "in_shape", "conv_shape", "out_shape"} - set(d)
        if missing:
            raise TraceError(f"{where} lacks the fields {sorted(missing)}")
        f = {k: d[k] for k in d}
        f["kind"] = _choice(d["kind"], KINDS, f"{where}.kind")
        for k in ("in_shape", "conv_shape", "out_shape"):
            f[k] = _shape(d[k], f"{where}.{k}")
        for k, low in (("kernel", 1), ("stride", 1), ("padding", 0)):
            if k in d:
                f[k] = _int(d[k], f"{where}.{k}", low)
        if d.get("pool") is not None:
            p = d["pool"]
            if not isinstance(p, (list, tuple)) or len(p) != 2:
                raise TraceError(f"{where}.pool must be [kind, size] or null, got {p!r}")
            f["pool"] = (_choice(p[0], POOLS, f"{where}.pool[0]"), _int(p[1], f"{where}.pool[1]", 1))
        if "pool_spikes" in d:
            if not isinstance(d["pool_spikes"], bool):
                raise TraceError(f"{where}.pool_spikes must be true or false, got {d['pool_spikes']!r}")
            if d["pool_spikes"] and (f.get("pool") is None or f["pool"][0] != "max"):
                raise TraceError(f"{where}.pool_spikes needs a max pooling, got pool {f.get('pool')!r}")
        if "neuron" in d:
            f["neuron"] = _choice(d["neuron"], NEURONS, f"{where}.neuron")
        if "reset" in d:
            f["reset"] = _choice(d["reset"], RESETS, f"{where}.reset")
        if "beta" in d:
            f["beta"] = _number(d["beta"], f"{where}.beta", 0.0, 1.0)
        if "threshold" in d:
            f["threshold"] = _number(d["threshold"], f"{where}.threshold", 0.0, None)
            if f["threshold"] <= 0:
                raise TraceError(f"{where}.threshold must be > 0, got {f['threshold']}")
        if d.get("weight_bits") is not None:
            f["weight_bits"] = _int(d["weight_bits"], f"{where}.weight_bits", 1, 32)
        if d.get("dynamics") is not None:
            f["dynamics"] = _dynamics(d["dynamics"], f"{where}.dynamics")
        spec = LayerSpec(**f)
        if spec.kind == "conv" and (len(spec.in_shape) != 3 or len(spec.conv_shape) != 3
                                    or len(spec.out_shape) != 3 or spec.conv_shape[0] != spec.out_shape[0]):
            raise TraceError(f"{where}: a conv layer needs (C, H, W) shapes with the same output channels, "
                             f"got in {spec.in_shape}, conv {spec.conv_shape}, out {spec.out_shape}")
        if spec.kind == "fc" and not (len(spec.conv_shape) == 1 and spec.out_shape == spec.conv_shape):
            raise TraceError(f"{where}: an fc layer needs conv_shape = out_shape = (units,), got "
                             f"{spec.conv_shape} and {spec.out_shape}")
        return spec


def _decays(v: Any, where: str, low: float = 0.0) -> Any:
    """A decay: a number in [low, 1], or nested lists of them (per channel or neuron)."""
    a = np.asarray(v, dtype=object)
    try:
        x = a.astype(np.float64)
    except (TypeError, ValueError):
        raise TraceError(f"{where} must be a number or nested lists of numbers in [{low:g}, 1], "
                         f"got {v!r}") from None
    if isinstance(v, bool) or x.size == 0 or not np.all(np.isfinite(x)) or x.min() < low or x.max() > 1:
        raise TraceError(f"{where} must be a number or nested lists of numbers in [{low:g}, 1], got {v!r}")
    return v


def _dynamics(d: Any, where: str) -> NeuronDynamics:
    """A layer's recorded neuron dynamics, validated."""
    if not isinstance(d, dict):
        raise TraceError(f"{where} must be a mapping, got {type(d).__name__}")
    known = set(NeuronDynamics.__dataclass_fields__) | {"states"}
    if set(d) - known or "model" not in d or "decay" not in d:
        raise TraceError(f"{where} must hold model and decay, and only {sorted(known)}; got {sorted(d)}")
    f = {k: v for k, v in d.items() if k != "states"}
    f["model"] = _choice(d["model"], NEURONS, f"{where}.model")
    f["decay"] = _decays(d["decay"], f"{where}.decay", low=-1e6)  # Lapicque's 1 - ln(1/beta) < 0
    if d.get("synapse_decay") is not None:
        f["synapse_decay"] = _decays(d["synapse_decay"], f"{where}.synapse_decay")
    if "gain" in d:
        f["gain"] = _number(d["gain"], f"{where}.gain", -1e30, 1e30)
    if "reset" in d:
        f["reset"] = _choice(d["reset"], RESETS, f"{where}.reset")
    for k in ("reset_after_update", "spiking"):
        if k in d and not isinstance(d[k], bool):
            raise TraceError(f"{where}.{k} must be true or false, got {d[k]!r}")
    return NeuronDynamics(**f)


def _choice(v: Any, valid: tuple[str, ...], where: str) -> str:
    if v not in valid:
        raise TraceError(f"{where} must be one of {', '.join(valid)}, got {v!r}")
    return v


def _int(v: Any, where: str, low: int, high: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise TraceError(f"{where} must be an integer {bound}, got {v!r}")
    return v


def _number(v: Any, where: str, low: float, high: float | None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < low \
            or (high is not None and v > high):
        top = high if high is not None else "inf"
        raise TraceError(f"{where} must be a finite number in [{low}, {top}], got {v!r}")
    return float(v)


def _shape(v: Any, where: str) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)) or not 1 <= len(v) <= 3:
        raise TraceError(f"{where} must be a list of 1 to 3 sizes, got {v!r}")
    return tuple(_int(x, f"{where}[{i}]", 1, 2**31) for i, x in enumerate(v))


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

    def layer_name(self, i: int) -> str:
        """Layer ``i``'s name: ``meta.layer_names[i]``, else ``L<i>:<kind>``."""
        names = self.meta.get("layer_names")
        return names[i] if names is not None else f"L{i}:{self.layers[i].kind}"

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
        _check_array(packed, f, "uint8", (None, self.num_steps, -(-n // 8)), self.num_samples)
        flat = np.unpackbits(packed, axis=-1, count=n)
        return flat.reshape(packed.shape[0], packed.shape[1], *shape)

    def weights(self, i: int) -> dict[str, np.ndarray]:
        """Weights of layer ``i``, checked against its spec: shapes and finite values."""
        f = self.path / f"weights_{i}.npz"
        try:
            with np.load(f) as z:
                w = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise TraceError(f"cannot read {f}: {e}") from None
        spec = self.layers[i]
        want = {"weight": spec.weight_shape(), "bias": (spec.out_channels,)}
        for key, shape in want.items():
            if key not in w:
                raise TraceError(f"{f} lacks the array '{key}'")
            if w[key].shape != shape or w[key].dtype.kind not in "fiu":
                raise TraceError(f"{f}: '{key}' has shape {w[key].shape} ({w[key].dtype}), expected {shape} "
                                 f"numbers for layer {i} ({spec.kind})")
        for key, a in w.items():
            if a.dtype.kind not in "fiu" or not np.isfinite(a).all():
                raise TraceError(f"{f}: '{key}' holds non-finite or non-numeric values")
        return w

    def input_values(self) -> np.ndarray | None:
        f = self.path / "input_values.npy"
        if not f.exists():
            return None
        v = _load(f)
        first = v.shape[0] if v.ndim else 0
        shapes = ((first, *self.input_shape), (first, self.num_steps, *self.input_shape))
        if v.ndim == 0 or v.shape not in shapes or first > self.num_samples:
            raise TraceError(f"{f} has shape {v.shape}, expected (N_bits <= {self.num_samples}, [T,] "
                             f"*{self.input_shape})")
        if v.dtype.kind not in "fiu" or not np.isfinite(v).all() or (v.dtype.kind != "f" and (v < 0).any()):
            raise TraceError(f"{f} holds non-finite, negative or non-numeric values ({v.dtype})")
        return v


def _load(path: Path) -> np.ndarray:
    try:
        return np.load(path)  # allow_pickle stays False: no object arrays, no code
    except (OSError, ValueError, EOFError) as e:
        raise TraceError(f"cannot read trace file {path}: {e}") from None


def _check_array(a: np.ndarray, path: Path, kind: str, shape: tuple[int | None, ...],
                 max_first: int | None = None) -> None:
    """TraceError naming ``path`` unless ``a`` is ``kind`` ('int': any integer, else a dtype
    name) of ``shape`` (None: any size; first size at most ``max_first``)."""
    ok_kind = a.dtype.kind in "iu" if kind == "int" else a.dtype == np.dtype(kind)
    want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
    if not ok_kind:
        raise TraceError(f"{path} holds {a.dtype} values, expected {kind}")
    if a.ndim != len(shape) or any(s is not None and a.shape[d] != s for d, s in enumerate(shape)) \
            or (max_first is not None and a.shape[0] > max_first):
        raise TraceError(f"{path} has shape {a.shape}, expected {want}"
                         + (f" with N <= {max_first}" if max_first is not None else ""))


SIDE_FILES = ("counts_", "bits_", "weights_", "input_values", "labels", "predictions")


def _trace_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.startswith(SIDE_FILES))


def _npy(a: np.ndarray) -> Callable[[BinaryIO], None]:
    """A writer of ``a`` as one .npy file."""
    return lambda f: np.save(f, a)


def _npz(arrays: dict[str, np.ndarray]) -> Callable[[BinaryIO], None]:
    """A writer of ``arrays`` as one .npz file."""
    # numpy's stub lets **kwds bind its allow_pickle: bool keyword; the keys are array names
    return lambda f: np.savez(f, **arrays)  # type: ignore[arg-type]


def write(path: str | Path, *, num_steps: int, encoding: str, input_shape: tuple[int, ...],
          layers: list[LayerSpec], counts: list[np.ndarray], bits: list[np.ndarray] | None,
          weights: list[dict[str, np.ndarray]], labels: np.ndarray, predictions: np.ndarray,
          input_values: np.ndarray | None = None, meta: dict[str, Any] | None = None) -> Path:
    """Write a trace folder. The old manifest goes first and the new one is written last,
    so a folder without one is incomplete; files of an earlier trace are removed, and the
    manifest lists the files it was written with."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    if len(counts) != len(layers) + 1:
        raise TraceError(f"{len(counts)} count arrays for {len(layers)} layers (need layers + 1)")
    (out / "manifest.json").unlink(missing_ok=True)
    for name in _trace_files(out):
        (out / name).unlink()
    for k, c in enumerate(counts):
        write_atomic(out / f"counts_{k}.npy", _npy(c.astype(np.uint32)))
    for k, b in enumerate(bits or []):
        flat = b.reshape(b.shape[0], b.shape[1], -1).astype(bool)
        write_atomic(out / f"bits_{k}.npy", _npy(np.packbits(flat, axis=-1)))
    for i, w in enumerate(weights):
        write_atomic(out / f"weights_{i}.npz", _npz(w))
    if input_values is not None:
        vals = input_values if input_values.dtype.kind in "iu" else input_values.astype(np.float32)
        write_atomic(out / "input_values.npy", lambda f: np.save(f, vals))
    write_atomic(out / "labels.npy", lambda f: np.save(f, labels.astype(np.int64)))
    write_atomic(out / "predictions.npy", lambda f: np.save(f, predictions.astype(np.int64)))
    manifest = {"format": FORMAT, "version": VERSION, "num_steps": int(num_steps),
                "num_samples": int(counts[0].shape[0]), "encoding": encoding,
                "input_shape": list(input_shape),
                "layers": [_layer_json(layer) for layer in layers],
                "meta": meta or {}, "files": _trace_files(out)}
    write_atomic(out / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=1).encode()))
    return out


def _layer_json(layer: LayerSpec) -> dict[str, Any]:
    """A manifest's layer entry (``pool_spikes`` only where true, as older readers expect)."""
    d = {**layer.__dict__, "in_shape": list(layer.in_shape), "conv_shape": list(layer.conv_shape),
         "out_shape": list(layer.out_shape), "pool": list(layer.pool) if layer.pool else None,
         "dynamics": layer.dynamics.to_json()}
    if not layer.pool_spikes:
        del d["pool_spikes"]
    return d


def read(path: str | Path) -> Traces:
    """Load a trace folder, validated against its manifest: every field, every array's
    shape, dtype and range, and no file the manifest was not written with. TraceError
    names the file and the field."""
    p = Path(path)
    mf = p / "manifest.json"
    if not mf.is_file():
        raise TraceError(f"no trace manifest at {mf} (not a trace folder, or writing was interrupted)")
    try:
        m = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TraceError(f"cannot read {mf}: {e}") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise TraceError(f"{mf} is not a {FORMAT} manifest")
    if m.get("version") not in READS:
        raise TraceError(f"{mf} has trace version {m.get('version')!r}; this spiketune reads "
                         f"{', '.join(map(str, READS))}")
    t = _int(m.get("num_steps"), f"{mf}: num_steps", 1)
    n = _int(m.get("num_samples"), f"{mf}: num_samples", 1)
    encoding = m.get("encoding")
    if not isinstance(encoding, str):
        raise TraceError(f"{mf}: encoding must be a string, got {encoding!r}")
    input_shape = _shape(m.get("input_shape"), f"{mf}: input_shape")
    raw_layers = m.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise TraceError(f"{mf}: layers must be a non-empty list")
    layers = [LayerSpec.from_json(d, f"{mf}: layers[{i}]") for i, d in enumerate(raw_layers)]
    for i, spec in enumerate(layers):
        before = input_shape if i == 0 else layers[i - 1].out_shape
        if spec.in_shape != before:
            raise TraceError(f"{mf}: layers[{i}].in_shape {spec.in_shape} is not the shape {before} "
                             f"that feeds it")
    meta = m.get("meta", {})
    if not isinstance(meta, dict):
        raise TraceError(f"{mf}: meta must be a mapping")
    names = meta.get("layer_names")
    if names is not None and (not isinstance(names, list) or len(names) != len(layers)
                              or not all(isinstance(x, str) for x in names)):
        raise TraceError(f"{mf}: meta.layer_names must be a list of {len(layers)} strings, one per layer")
    _check_files(p, mf, m.get("files"), len(layers))
    shapes = [input_shape, *(layer.out_shape for layer in layers)]
    counts = []
    for k, shape in enumerate(shapes):
        f = p / f"counts_{k}.npy"
        c = _load(f)
        _check_array(c, f, "int", (n, t, shape[0]))
        top = int(np.prod(shape[1:]))  # one event per position of a channel and step
        if c.size and (c.min() < 0 or c.max() > top):
            raise TraceError(f"{f} holds counts outside [0, {top}] (min {c.min()}, max {c.max()})")
        counts.append(c)
    labels, preds = _load(p / "labels.npy"), _load(p / "predictions.npy")
    _check_array(labels, p / "labels.npy", "int", (n,))
    _check_array(preds, p / "predictions.npy", "int", (n,))
    return Traces(p, t, encoding, input_shape, layers, counts, labels, preds, meta)


def _check_files(folder: Path, mf: Path, listed: Any, num_layers: int) -> None:
    """No stale side file: only the files the manifest lists (or, for a manifest without
    a list, only indices of its layers)."""
    present = _trace_files(folder)
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            raise TraceError(f"{mf}: files must be a list of file names")
        stale = sorted(set(present) - set(listed))
        missing = sorted(set(listed) - set(present))
        if stale or missing:
            raise TraceError(f"{folder} does not match its manifest: "
                             + (f"stale files {stale} (not written with it)" if stale else "")
                             + ("; " if stale and missing else "")
                             + (f"missing files {missing}" if missing else ""))
        return
    allowed = ({f"counts_{k}.npy" for k in range(num_layers + 1)}
               | {f"bits_{k}.npy" for k in range(num_layers + 1)}
               | {f"weights_{i}.npz" for i in range(num_layers)}
               | {"input_values.npy", "labels.npy", "predictions.npy"})
    stale = sorted(set(present) - allowed)
    if stale:
        raise TraceError(f"{folder} holds stale files {stale} beyond its manifest's {num_layers} layers")
