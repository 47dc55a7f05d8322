"""The ``as-run`` reproduction protocol: the studies' plans as the authors' scripts ran them.

``corrected`` (the default of ``spiketune reproduce``) is spiketune's sound method: the
checkpoint chosen on a validation split, accuracy over every time step, one optimiser per
run, the trained network's input on the hardware. ``as-run`` replaces each of those with what
the public scripts did. Every setting below names its row of the protocol table in
docs/experiments.md (A1-A14, B1-B19), which cites the script file and commit it comes from.
Sizes (epochs, T, batch) follow ``--quick`` and ``--set`` as in the corrected protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spiketune.data import registry
from spiketune.errors import ArchError
from spiketune.network import arch as archmod

PROTOCOLS = ("corrected", "as-run")

STUDY_A_NET = "32C3-P2-32C3-MP2-256"  # A4: the SVHN network, pooling before the neuron
STUDY_A_POPULATION = 45  # output neurons per class: 450 on SVHN (A-train)
STUDY_A_CORES = [32, 32, 8, 8]  # A14 (A-ext l1..l4)
VGG9_CORES = [64, 28, 48, 54, 120, 126, 140, 56, 50]  # B18 (B-ext): conv per channel, FC 56 and 50
STUDY_B_POPULATION = 100  # output neurons per class (B-cfg pop_size_factor)
STUDY_B_EVENT_POPULATION = 200  # I-data's output size on the event datasets, where it divides the classes


@dataclass
class Plan:
    """One study's plan under a protocol: the run config every point starts from, the
    accelerator config, and where this dataset makes the plan depart from the scripts."""

    base: dict[str, Any]
    hardware: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class SearchPlan(Plan):
    """Study B's plan: also the searched space, trials per configuration, pruner and top-k."""

    space: dict[str, Any] = field(default_factory=dict)
    trials: int = 1
    pruner: Any = None
    top_k: int = 1


def with_output(arch: str, units: int) -> str:
    """``arch`` with its output layer replaced by ``units`` neurons."""
    head, _, _ = arch.rpartition("-")
    return f"{head}-{units}"


def fire_then_pool(arch: str) -> str:
    """``arch`` rewritten the authors' way (B11): each block's neuron fires before its pooling,
    and dropout acts on the current before the neuron (``64C3-BN-MP2`` -> ``64C3-BN-S-MP2``,
    ``1064-D0.1`` -> ``1064-D0.1-S``); blocks with neither keep their form."""
    blocks: list[list[archmod.Token]] = []
    for tok in archmod.tokenize(arch):
        if tok.kind in ("conv", "linear"):
            blocks.append([tok])
        else:
            blocks[-1].append(tok)
    out: list[str] = []
    for block in blocks:
        pools = [t.text for t in block if t.kind == "pool"]
        drops = [t.text for t in block if t.kind == "dropout"]
        rest = [t.text for t in block if t.kind not in ("pool", "dropout")]
        out += rest + drops + (["S"] if pools or drops else []) + pools
    return "-".join(out)


def _fits(arch: str, spec: registry.DatasetSpec) -> bool:
    try:
        archmod.parse(arch, spec.input_shape)
    except ArchError:
        return False
    return True


def study_a(dataset: str, quick: bool) -> Plan:
    """Study A (surrogate slope) as its SVHN script ran it (A-train, A-ext)."""
    spec = registry.spec(dataset)
    notes: list[str] = []
    units = STUDY_A_POPULATION * spec.num_classes
    net, hardware = f"{STUDY_A_NET}-{units}", {"cores": STUDY_A_CORES}
    if not _fits(net, spec):
        net, hardware = with_output(spec.arch, units), {}
        notes.append(f"the authors' network ({STUDY_A_NET}-{units}) does not fit {dataset}'s "
                     f"{spec.input_shape[1]}x{spec.input_shape[2]} input: the dataset's network with "
                     f"their population output, and one core per channel instead of {STUDY_A_CORES}")
    data: dict[str, Any] = {"dataset": dataset, "num_steps": 6 if quick else 18,  # A2
                            "batch_size": 64 if quick else 32}
    profile: dict[str, Any] = {"trace_samples": 1}  # A14: one image on the hardware
    if spec.is_event:
        notes.append(f"{dataset} is event data: fed as frames, no normalisation, and the hardware "
                     f"sees the frames (Study A trained on SVHN images)")
    else:
        data["normalize"] = "mean_std"  # A1
        profile["hardware_input"] = "rate"  # A3: spikegen.rate of the normalised image
    return Plan(
        base={"data": data,
              "model": {"arch": net, "beta": 0.25, "threshold": 1.0},  # A4, A5
              "train": {"epochs": 8 if quick else 25, "patience": 3 if quick else 5,  # A10
                        "lr": 2e-3, "scheduler": "cosine", "t_max": 4690,  # A9
                        "loss": "mse_count", "correct_rate": 1.0, "incorrect_rate": 0.0,  # A8
                        "select_on": "test",  # A10, A11
                        "accuracy_from": "first_step"},  # A12
              "profile": profile},
        hardware=hardware, notes=notes)


def study_b(dataset: str, quick: bool) -> SearchPlan:
    """Study B (surrogates x neurons) as its scripts ran it (B-cfg, B-opt, B-net; I-data, I-net)."""
    spec = registry.spec(dataset)
    notes: list[str] = []
    units = STUDY_B_POPULATION * spec.num_classes  # B12
    if spec.is_event and STUDY_B_EVENT_POPULATION % spec.num_classes == 0:
        units = STUDY_B_EVENT_POPULATION
    net = fire_then_pool(with_output(spec.arch, units))  # B11
    vgg9 = spec.is_event and len(archmod.parse(net, spec.input_shape)) == len(VGG9_CORES)
    if not vgg9:
        notes.append(f"{dataset}'s network is not Study B's VGG-9: its default network, fired before "
                     f"pooling, one core per conv channel instead of the VGG-9's core counts")
    data: dict[str, Any] = {"dataset": dataset, "num_steps": 4,  # B13
                            "batch_size": 64 if quick else 16}
    if spec.is_event:
        data.update(denoise_us=10_000.0, resize=32)  # B8, B9: 10 ms denoise, bilinear 32x32
    trials = 3 if quick else 45
    return SearchPlan(
        base={"data": data,
              "model": {"arch": net, "beta": 0.15, "threshold": 0.5, "slope": 1.0,  # B1
                        "surrogate_compat": "snntorch-0.7",  # B14
                        "weight_bits": 4},  # B16
              "train": {"epochs": 8 if quick else 200, "patience": None,  # B6
                        "lr": 5e-3, "optimizer_reset": "epoch",  # B1, B4
                        "scheduler": "none",  # B5
                        "loss": "mse_count", "correct_rate": 1.0, "incorrect_rate": 0.0,
                        "select_on": "test"},  # B7
              "profile": {"trace_samples": 1}},  # B19: one test sample on the hardware
        hardware={"cores": VGG9_CORES} if vgg9 else {},
        notes=notes,
        space={"train.lr": {"low": 1e-7, "high": 1e-1, "log": True}},  # B2
        trials=trials,
        pruner={"median": {"n_warmup_steps": 50}},  # B2
        top_k=2 if quick else 10)  # B3
