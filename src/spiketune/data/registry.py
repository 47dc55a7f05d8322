"""The dataset registry: one :class:`DatasetSpec` per dataset, the one place each dataset
fact lives (names, input shape, classes, default network and T, encoding, loader, citation).
Configuration defaults, ``get_dataset`` and the ``data`` commands read it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from spiketune.data import datasets as static
from spiketune.data import events as ev
from spiketune.errors import DatasetError, DatasetMissingError

StaticLoader = Callable[[str, str | os.PathLike | None, bool], static.TensorDataset]


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset. ``source`` loads it: static images through ``source(split, root,
    download)``; event-camera recordings (an :class:`~spiketune.data.events.EventSource`)
    become ``num_steps`` frames per sample, ``input_shape`` at the default framing (its size
    fixes the default spatial downsampling of the sensor)."""

    name: str
    input_shape: tuple[int, int, int]  # (C, H, W) of one image or one event frame
    num_classes: int
    arch: str  # default network
    num_steps: int  # default T
    citation: str
    source: StaticLoader | ev.EventSource
    downloadable: bool = False  # fetched into the data root (created) when absent
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.source, ev.EventSource):
            size = ev.Framing(1, downsample=self.downsample).size(self.source.sensor)
            if (2, size[1], size[0]) != self.input_shape:
                raise ValueError(f"dataset '{self.name}': input {self.input_shape} is no integer "
                                 f"downsampling of its {self.source.sensor} sensor")

    @property
    def is_event(self) -> bool:
        return isinstance(self.source, ev.EventSource)

    @property
    def encoding(self) -> Literal["direct", "events"]:
        """Default input encoding: event frames as they are, static images directly."""
        return "events" if self.is_event else "direct"

    @property
    def downsample(self) -> int:
        """Default spatial factor of event frames (sensor width over frame width)."""
        if isinstance(self.source, ev.EventSource):
            return self.source.sensor[0] // self.input_shape[2]
        return 1


# Networks: the digits one is small enough for a laptop; SVHN is Study A's network and T (from
# its script); the event VGG-9 is Study B's (same padding, BN, dropout) with a population output
# (10 neurons per class for DVS Gesture, Study B's 200-neuron one for CIFAR10-DVS).
_VGG9 = "64C3p1-28C3p1-BN-MP2-48C3p1-54C3p1-BN-MP2-120C3p1-126C3p1-140C3p1-BN-MP2-1064-D0.1-"

SPECS: dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec("digits", (1, 8, 8), 10, "16C3p1-MP2-32C3p1-MP2-64-10", 8,
                "Alpaydin & Kaynak, UCI Optical Recognition of Handwritten Digits (1998)",
                lambda split, root, download: static.load_digits(split)),
    DatasetSpec("fashion-mnist", (1, 28, 28), 10, "32C3-P2-32C3-MP2-256-10", 10,
                "Xiao, Rasul & Vollgraf, arXiv:1708.07747 (2017)",
                lambda split, root, download: static.load_fashion_mnist(split, root),
                aliases=("fashion",)),
    DatasetSpec("svhn", (3, 32, 32), 10, "32C3-P2-32C3-MP2-256-10", 18,
                "Netzer et al., NIPS Workshop on Deep Learning (2011)",
                static.load_svhn, downloadable=True),
    # T = 10 bins: a common choice in the snnTorch/tonic tutorials
    DatasetSpec("nmnist", (2, 34, 34), 10, "32C3p1-MP2-32C3p1-MP2-256-10", 10,
                "Orchard et al., Frontiers in Neuroscience 9:437 (2015)",
                ev.NMNIST, downloadable=True, aliases=("n-mnist",)),
    DatasetSpec("dvsgesture", (2, 32, 32), 11, _VGG9 + "110", 20, "Amir et al., CVPR (2017)",
                ev.DVSGESTURE, downloadable=True, aliases=("dvs-gesture", "dvs128-gesture")),
    # T = 10 bins as in SpikingJelly's CIFAR10-DVS benchmarks (Study B: T = 4)
    DatasetSpec("cifar10dvs", (2, 32, 32), 10, _VGG9 + "200",
                10, "Li et al., Frontiers in Neuroscience 11:309 (2017)",
                ev.CIFAR10DVS, downloadable=True, aliases=("cifar10-dvs", "dvs-cifar10")),
)}
_ALIASES = {a: s.name for s in SPECS.values() for a in s.aliases}


def spec(name: str) -> DatasetSpec:
    """The spec of ``name`` (case, '_' and the aliases accepted); DatasetError lists the valid names."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in SPECS:
        raise DatasetError(f"unknown dataset '{name}'; valid: {', '.join(sorted(SPECS))}")
    return SPECS[key]


def framing_error(dataset: str, knobs: dict[str, object]) -> str | None:
    """Why the event-framing ``knobs`` that are set (name -> value) cannot apply to ``dataset``."""
    given = [k for k, v in knobs.items() if v not in (None, False)]
    if spec(dataset).is_event or not given:
        return None
    events = ", ".join(s.name for s in SPECS.values() if s.is_event)
    return f"{', '.join(given)}: settings of event datasets ({events}), not of '{dataset}'"


def describe(name: str, root: str | os.PathLike | None = None, num_steps: int | None = None,
             downsample: int | None = None) -> list[str]:
    """The lines ``spiketune data info`` prints: shape, classes, split sizes, storage and
    (event data) frame cache of a dataset, and its defaults. Nothing is downloaded."""
    s = spec(name)
    if isinstance(s.source, ev.EventSource):
        framing = ev.Framing(num_steps or s.num_steps, downsample=downsample or s.downsample)
        info = ev.describe(s.name, s.source, root, framing)
        lines = [f"{s.name}: {info['sensor']} sensor, frames {info['input']} ({info['framing']}), "
                 f"{s.num_classes} classes", f"train: {info['train']}", f"test: {info['test']}"]
    else:
        try:
            tr, te = (static.get_dataset(s.name, split, root, download=False) for split in ("train", "test"))
            lines = [f"{s.name}: input {tr.input_shape}, {tr.num_classes} classes, train {len(tr)}, "
                     f"test {len(te)}, stored at {tr.source}"]
        except DatasetMissingError as e:
            fetch = f"; 'spiketune run --dataset {s.name}' downloads it" if s.downloadable else ""
            lines = [f"{s.name}: not present ({e}){fetch}"]
    return [*lines, f"default network {s.arch}, T = {s.num_steps}", f"citation: {s.citation}"]
