"""One serialisable run configuration (YAML) holding every knob of a run.

Unknown keys and out-of-range values raise :class:`ConfigError` naming the field.
``arch: null``, ``num_steps: null`` and ``encoding: null`` take the dataset's defaults (its
:class:`~spiketune.data.registry.DatasetSpec`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spiketune.data import registry as datasets
from spiketune.data.resize import resize_error
from spiketune.errors import ConfigError, describe_validation
from spiketune.network import surrogate as sg
from spiketune.results import load_validated
from spiketune.training.chi import ChiConfig

if TYPE_CHECKING:
    from spiketune.data.datasets import TensorDataset

class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    dataset: str = "digits"
    root: str | None = None
    num_steps: int | None = Field(None, ge=1, le=10_000)  # None: the dataset's T
    encoding: Literal["direct", "rate", "latency", "events"] | None = None  # None: the dataset's
    batch_size: int = Field(64, ge=1)
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    train_limit: int | None = Field(None, ge=1)  # use only the first N training samples
    test_limit: int | None = Field(None, ge=1)
    split_seed: int | None = Field(None, ge=0, le=2**32 - 1)  # validation split; None: train.seed
    download: bool = True  # fetch an absent dataset through its library's download path
    # event datasets only (see spiketune.data.events.Framing)
    time_window_us: float | None = Field(None, gt=0)  # frames of this length instead of T equal bins
    denoise_us: float | None = Field(None, gt=0)  # drop events isolated for longer than this
    downsample: int | None = Field(None, ge=1)  # spatial factor (default: the dataset's)
    binary_frames: bool = False  # clip counts to 1: the spike bitmap an accelerator's input sees
    # per-channel standardisation by the training part (spiketune.data.normalize); direct input only
    normalize: Literal["none", "mean_std"] = "none"
    resize: int | None = Field(None, ge=1)  # bilinear resize of every image/frame to resize x resize

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        return datasets.spec(v).name

    def steps_and_encoding(self) -> tuple[int, str]:
        """(num_steps, encoding) of a resolved config (:meth:`RunConfig.resolved` fills both)."""
        if self.num_steps is None or self.encoding is None:
            raise ConfigError("data.num_steps and data.encoding are unset until the config is resolved")
        return self.num_steps, self.encoding

    def load(self, split: str, progress: bool = False) -> TensorDataset:
        """The ``split`` ('train' or 'test') of this dataset, framed as configured."""
        from spiketune.data.datasets import get_dataset

        return get_dataset(self.dataset, split, self.root, self.num_steps,
                           time_window_us=self.time_window_us, denoise_us=self.denoise_us,
                           downsample=self.downsample, binary_frames=self.binary_frames,
                           resize=self.resize, progress=progress, download=self.download)


class ModelConfig(_Section):
    arch: str | None = None
    neuron: Literal["lif", "lapicque", "if", "cuba_lif"] = "lif"  # network.neurons models that spike
    beta: float = Field(0.5, ge=0.0, le=1.0)
    threshold: float = Field(1.0, gt=0.0)
    reset: Literal["subtract", "zero", "none"] = "subtract"
    surrogate: str = sg.DEFAULT
    slope: float | None = Field(None, gt=0.0)  # generic width knob (see surrogate.get)
    surrogate_params: dict[str, float] = Field(default_factory=dict)
    layer_surrogates: list[str] | None = None  # optional per-layer surrogate names
    layer_slopes: list[float] | None = None  # optional per-layer widths
    surrogate_compat: Literal["current", "snntorch-0.7"] = "current"  # whose surrogates (surrogate.COMPATS)
    learn_beta: bool = False
    learn_threshold: bool = False
    weight_bits: int | None = Field(None, ge=2, le=16)

    @field_validator("surrogate")
    @classmethod
    def _known_surrogate(cls, v: str) -> str:
        return sg.canonical_name(v)

    @model_validator(mode="after")
    def _surrogate_params(self) -> ModelConfig:
        """``surrogate_params`` are checked against the surrogate's family record."""
        try:
            sg.make(self.surrogate, None, self.surrogate_params, self.surrogate_compat)
        except ConfigError as e:
            raise ValueError(f"surrogate_params: {e}") from None
        return self


class TrainConfig(_Section):
    epochs: int = Field(15, ge=1)
    lr: float = Field(5e-3, gt=0.0)
    adam_betas: tuple[Annotated[float, Field(ge=0.0, lt=1.0)],
                      Annotated[float, Field(ge=0.0, lt=1.0)]] = (0.9, 0.999)
    weight_decay: float = Field(0.0, ge=0.0)
    scheduler: Literal["cosine", "cosine_restarts", "none"] = "cosine"
    t_max: int | None = Field(None, ge=1)  # cosine: iterations to anneal over (default: all)
    t_0: int | None = Field(None, ge=1)  # cosine_restarts: iterations per cycle (default: 1 epoch)
    eta_min: float = Field(0.0, ge=0.0)
    patience: int | None = Field(5, ge=1)  # early stopping on validation accuracy
    loss: Literal["ce_count", "mse_count"] = "ce_count"
    correct_rate: float = Field(1.0, ge=0.0, le=1.0)
    incorrect_rate: float = Field(0.0, ge=0.0, le=1.0)
    grad_clip: float | None = Field(None, gt=0.0)
    seed: int = Field(0, ge=0, le=2**32 - 1)  # numpy's seed range
    device: str = "cpu"  # "cpu", "cuda" or "cuda:N"
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16: synapses (conv/linear) in bfloat16 autocast
    cuda_graphs: bool = False  # capture the training step (forward, backward, Adam) in a CUDA graph
    # "epoch": Adam's moments and step count start afresh every epoch (the schedule goes on)
    optimizer_reset: Literal["never", "epoch"] = "never"
    # the set whose accuracy picks the checkpoint and stops early; "test" leaks the test set
    select_on: Literal["validation", "test"] = "validation"
    # "first_step": a prediction from the first time step's output spikes only
    accuracy_from: Literal["all_steps", "first_step"] = "all_steps"

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        kind, _, index = v.partition(":")
        if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got '{v}'")
        return v

    @model_validator(mode="after")
    def _graphs_on_cuda(self) -> TrainConfig:
        if self.cuda_graphs and not self.device.startswith("cuda"):
            raise ValueError(f"cuda_graphs needs device 'cuda' (a CUDA graph replays GPU work); "
                             f"this run trains on '{self.device}'")
        return self


class ProfileConfig(_Section):
    trace_samples: int | None = Field(None, ge=0)  # samples whose full spike bits are kept (None: all)
    # "rate": the hardware's input is rate-coded spikes of each (direct) test input, not the traced one
    hardware_input: Literal["traced", "rate"] = "traced"


class RunConfig(_Section):
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    chi: ChiConfig = Field(default_factory=ChiConfig)

    @model_validator(mode="after")
    def _graphs_without_adaptation(self) -> RunConfig:
        if self.train.cuda_graphs and self.chi.adaptive:
            raise ValueError("train.cuda_graphs cannot be combined with chi.adaptive: a captured "
                             "graph replays the surrogate widths it was captured with")
        return self

    def resolved(self) -> RunConfig:
        """A copy with dataset defaults (arch, num_steps) filled in."""
        cfg = self.model_copy(deep=True)
        spec = datasets.spec(cfg.data.dataset)
        if cfg.model.arch is None:
            cfg.model.arch = spec.arch
        if cfg.data.num_steps is None:
            cfg.data.num_steps = spec.num_steps
        if cfg.data.encoding is None or spec.is_event:  # event frames are always fed as they are
            cfg.data.encoding = spec.encoding
        d = cfg.data
        problem = datasets.framing_error(d.dataset, {"data.time_window_us": d.time_window_us,
                                                       "data.denoise_us": d.denoise_us,
                                                       "data.downsample": d.downsample,
                                                       "data.binary_frames": d.binary_frames})
        problem = problem or resize_error(d.resize, d.downsample, d.binary_frames) or _analog_only(cfg)
        if problem:
            raise ConfigError(problem)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _analog_only(cfg: RunConfig) -> str | None:
    """Why a setting that needs the direct (analog) input cannot apply to ``cfg``, or None."""
    enc = cfg.data.encoding
    if enc == "direct":
        return None
    if cfg.data.normalize != "none":
        return (f"data.normalize '{cfg.data.normalize}' standardises analog images; this run's input "
                f"is '{enc}' spikes or event counts, which standardising would turn into non-events "
                f"(use data.encoding direct)")
    if cfg.profile.hardware_input == "rate":
        return (f"profile.hardware_input 'rate' rate-codes a direct (analog) input for the hardware; "
                f"this run's '{enc}' input already reaches the hardware as spikes")
    return None


# Keys added after results folders and sweeps were first written: a config's identity (its
# sweep run id and default results folder) leaves them out while they hold these defaults,
# so earlier sweeps resume and earlier folders are found again.
LATER_KEYS: dict[tuple[str, str], Any] = {("data", "split_seed"): None, ("train", "device"): "cpu",
                                          ("train", "precision"): "fp32", ("train", "cuda_graphs"): False,
                                          ("data", "normalize"): "none",
                                          ("data", "resize"): None,
                                          ("train", "optimizer_reset"): "never",
                                          ("train", "select_on"): "validation",
                                          ("train", "accuracy_from"): "all_steps",
                                          ("profile", "hardware_input"): "traced",
                                          ("model", "surrogate_compat"): "current",
                                          }


def identity(cfg: RunConfig) -> dict[str, Any]:
    """What identifies a run configuration: its settings, less later keys at their defaults."""
    d = cfg.to_dict()
    for (section, key), default in LATER_KEYS.items():
        if key in d.get(section, {}) and d[section][key] == default:
            del d[section][key]
    return d


def from_dict(d: dict[str, Any]) -> RunConfig:
    try:
        return RunConfig.model_validate(d)
    except ValidationError as e:
        raise ConfigError("invalid configuration: " + describe_validation(e)) from None


def load(path: str | Path) -> RunConfig:
    """Read a YAML config; errors name the file and the offending field."""
    return load_validated(path, "config", from_dict)


def dump(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def with_overrides(cfg: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """Apply dotted overrides such as ``{"model.beta": 0.9}``."""
    d = cfg.to_dict()
    for key, value in overrides.items():
        section, _, field = key.partition(".")
        if section not in d or not field:
            raise ConfigError(f"unknown setting '{key}'; use section.field, sections: {', '.join(d)}")
        if field not in d[section]:
            raise ConfigError(f"unknown setting '{key}'; fields of {section}: {', '.join(d[section])}")
        d[section][field] = value
    return from_dict(d)
