"""BPTT training: Adam, cosine annealing, early stopping, checkpoints, progress bar.

:func:`train` sets a run up (data, network, optimizer, schedule, chi tracker), restores its
:class:`~spiketune.training.checkpoint.Checkpoint` if there is one, and runs the
:class:`EpochLoop` epoch by epoch, checkpointing after each. The batch loop never waits
for the device: its totals (:class:`EpochTotals`) stay there until the epoch's end (and
every :data:`SYNC_EVERY` batches, for the progress bar and the divergence check), and with
``train.cuda_graphs`` each step is one replayed CUDA graph (:mod:`.cuda_graph`).

Protocol settings: ``train.optimizer_reset: epoch`` zeroes Adam's moments and step count
at the start of every epoch, which is what a freshly built Adam starts from (Study B's
``train()`` built a new Adam every epoch, and with it a cosine scheduler it never stepped).
The schedule here is not reset: the learning rate goes on along it, and
``train.scheduler: none`` keeps it constant as the authors' was.
``train.select_on: test`` picks the checkpoint and stops early on the **test** set's
accuracy each epoch, the authors' method: it leaks the test set into model selection, so
the test accuracy reported afterwards is optimistically biased. ``train.accuracy_from:
first_step`` scores predictions from the first time step's output only (Study A).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from spiketune.data.datasets import TensorDataset
from spiketune.data.encoding import encode
from spiketune.data.normalize import channel_stats, standardize
from spiketune.data.splits import stratified_split
from spiketune.errors import ConfigError, SpiketuneError
from spiketune.network import surrogate as sg
from spiketune.network.models import SpikingBlock, SpikingNetwork, build
from spiketune.training import progress as prog
from spiketune.training.checkpoint import CHECKPOINT, Checkpoint, LoopState
from spiketune.training.chi import ChiTracker
from spiketune.training.config import RunConfig
from spiketune.training.cuda_graph import GraphedStep
from spiketune.training.health import HealthCheck
from spiketune.training.losses import ce_count_loss, mse_count_loss

__all__ = ["CHECKPOINT", "EpochLoop", "EpochRecord", "EpochTotals", "StepStats", "TrainResult",
           "TrainingDiverged", "build_model", "device_of", "evaluate", "load_splits", "surrogates_for",
           "train"]


class TrainingDiverged(SpiketuneError):
    """Loss or membrane became NaN/inf; the message says where and when."""


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    train_accuracy: float
    val_accuracy: float
    firing_rate: float
    lr: float
    seconds: float
    chi: float = float("nan")  # mean neuron chi over layers (see spiketune.training.chi)
    param_chi: float = float("nan")
    layer_chi: list[float] = field(default_factory=list)
    layer_width: list[float] = field(default_factory=list)
    test_accuracy: float = float("nan")  # every epoch only when train.select_on is "test"


def surrogates_for(cfg: RunConfig, num_layers: int) -> list[sg.Surrogate]:
    """One surrogate per layer from the model config (global or per-layer)."""
    m = cfg.model
    names = m.layer_surrogates or [m.surrogate] * num_layers
    slopes: Sequence[float | None] = m.layer_slopes or [m.slope] * num_layers
    if len(names) != num_layers or len(slopes) != num_layers:
        raise ConfigError(f"layer_surrogates/layer_slopes need {num_layers} entries "
                          f"(one per weight layer), got {len(names)}/{len(slopes)}")
    out = []
    for name, slope in zip(names, slopes, strict=True):
        params = m.surrogate_params if sg.canonical_name(name) == m.surrogate else {}
        out.append(sg.make(name, slope, params, m.surrogate_compat))
    return out


def device_of(cfg: RunConfig) -> torch.device:
    """The device ``train.device`` names, refused with a clear error when absent."""
    device = torch.device(cfg.train.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device is '{cfg.train.device}' but this torch "
                              f"({torch.__version__}) has no CUDA device")
        if (device.index or 0) >= torch.cuda.device_count():
            raise ConfigError(f"train.device '{cfg.train.device}': this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    return device


def build_model(cfg: RunConfig, input_shape: tuple[int, ...], num_classes: int) -> SpikingNetwork:
    """The network a (resolved) config describes, on its ``train.device``."""
    from spiketune.network.arch import parse

    m = cfg.model
    if m.arch is None:
        raise ConfigError("model.arch is unset until the config is resolved")
    n_layers = len(parse(m.arch, input_shape))
    return build(m.arch, input_shape, num_classes, neuron=m.neuron, beta=m.beta,
                 threshold=m.threshold, reset=m.reset, surrogate=surrogates_for(cfg, n_layers),
                 learn_beta=m.learn_beta, learn_threshold=m.learn_threshold,
                 weight_bits=m.weight_bits, precision=cfg.train.precision).to(device_of(cfg))


def load_splits(cfg: RunConfig, progress: bool = False) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
    """(train, validation, test) datasets of a resolved config; with ``data.normalize``
    all three standardised by the training part's channel statistics (validation excluded,
    see :mod:`spiketune.data.normalize`)."""
    d = cfg.data
    train_full, test = d.load("train", progress), d.load("test", progress)
    if d.train_limit:
        train_full = train_full.subset(np.arange(min(d.train_limit, len(train_full))))
    if d.test_limit:
        test = test.subset(np.arange(min(d.test_limit, len(test))))
    if d.val_fraction > 0:
        split_seed = cfg.train.seed if d.split_seed is None else d.split_seed  # replicates share one
        tr_idx, val_idx = stratified_split(train_full.y.numpy(), d.val_fraction, split_seed)
        train, val = train_full.subset(tr_idx), train_full.subset(val_idx)
    else:
        train, val = train_full, test
    if d.batch_size > len(train):
        raise ConfigError(f"batch_size {d.batch_size} is larger than the {len(train)} "
                          f"training samples of '{d.dataset}'")
    if d.normalize == "mean_std":
        mean, std = channel_stats(train)
        train, val, test = (standardize(ds, mean, std) for ds in (train, val, test))
    return train, val, test


def _loss_fn(cfg: RunConfig, num_classes: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    t = cfg.train
    if t.loss == "mse_count":
        return lambda s, y: mse_count_loss(s, y, num_classes, t.correct_rate, t.incorrect_rate)
    return lambda s, y: ce_count_loss(s, y, num_classes)


def _scheduler(cfg: RunConfig, opt: torch.optim.Optimizer, iters_per_epoch: int):
    t = cfg.train
    if t.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=t.t_max or t.epochs * iters_per_epoch, eta_min=t.eta_min)
    if t.scheduler == "cosine_restarts":
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=t.t_0 or iters_per_epoch, eta_min=t.eta_min)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


@torch.no_grad()
def evaluate(model: SpikingNetwork, ds: TensorDataset, num_steps: int, encoding: str,
             batch_size: int = 512, seed: int = 0, accuracy_from: str = "all_steps") -> float:
    """Accuracy of ``model`` on ``ds``: predictions from the output summed over all time
    steps, or (``accuracy_from="first_step"``) from the first step's output alone."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, len(ds), batch_size):
        x, y = ds.x[start:start + batch_size], ds.y[start:start + batch_size]
        out = model(encode(x, encoding, num_steps, gen).to(device), num_steps=num_steps)
        if accuracy_from == "first_step":
            out = out[:1]
        correct += (model.decode(out).argmax(1) == y.to(device)).sum()
    return int(correct) / max(1, len(ds))


def reset_adam(optimizer: torch.optim.Optimizer) -> None:
    """Zero Adam's state (moments and step count) in place: its next step is a freshly
    built Adam's first (which starts from zeros), and a captured CUDA graph keeps its tensors."""
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                value.zero_()


def _nanmean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else float("nan")


@dataclass
class TrainResult:
    model: SpikingNetwork
    history: list[EpochRecord]
    best_epoch: int
    best_val_accuracy: float  # the validation accuracy of the chosen epoch
    stopped_early: bool
    samples_per_s: float | None = None  # training batches only, epochs run by this call


SYNC_EVERY = 50  # batches between the batch loop's host reads (progress bar, divergence check)
DEVICE_DATA_BYTES = 2**30  # training sets up to this size are held on the GPU


class StepStats(NamedTuple):
    """What a training step leaves on the device: loss, correct predictions, spikes of all
    layers and the finiteness flags of every layer's membrane input and of the loss."""

    loss: torch.Tensor
    correct: torch.Tensor
    spikes: torch.Tensor
    finite: torch.Tensor


class EpochTotals:
    """An epoch's training sums, kept on the device and read by :meth:`check`/:meth:`read`:
    the batch loop never waits for the device. Sums are float64 in batch order, so the
    results equal those of summing on the host after every batch."""

    def __init__(self, device: torch.device, flags: int) -> None:
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.spikes = torch.zeros((), dtype=torch.float64, device=device)
        self.bad_batch = torch.full((), -1, dtype=torch.int64, device=device)  # first non-finite
        self.bad_flags = torch.ones(flags, dtype=torch.bool, device=device)  # its flags
        self.bad_loss = torch.zeros((), dtype=torch.float32, device=device)
        self.samples = 0

    def add(self, batch: int, stats: StepStats, n: int) -> None:
        self.loss += stats.loss.double() * n
        self.correct += stats.correct
        self.spikes += stats.spikes.double()
        first = (self.bad_batch < 0) & ~stats.finite.all()
        self.bad_batch.copy_(torch.where(first, batch, self.bad_batch))
        self.bad_flags.copy_(torch.where(first, stats.finite, self.bad_flags))
        self.bad_loss.copy_(torch.where(first, stats.loss, self.bad_loss))
        self.samples += n

    def check(self, epoch: int, blocks: list[SpikingBlock]) -> float:
        """Raise :class:`TrainingDiverged` naming the first non-finite batch; else the mean
        loss so far (one host read)."""
        loss, bad = torch.stack([self.loss, self.bad_batch.double()]).tolist()
        if bad >= 0:
            flags = self.bad_flags.tolist()
            layers = [f"L{i}:{'-'.join(blk.spec.tokens)}" for i, blk in enumerate(blocks)
                      if not flags[i]]
            raise TrainingDiverged(
                f"training diverged at epoch {epoch}, batch {int(bad)}: "
                + (f"non-finite membrane input in layer {layers[0]}" if layers else
                   f"loss became {float(self.bad_loss)}"))
        return loss / max(1, self.samples)

    def read(self) -> tuple[float, int, float]:
        """(summed loss, correct predictions, spikes)."""
        loss, spikes = torch.stack([self.loss, self.spikes]).tolist()
        return loss, int(self.correct), spikes


@dataclass
class EpochLoop:
    """One epoch of BPTT training and validation, over and over."""

    cfg: RunConfig
    model: SpikingNetwork
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    tracker: ChiTracker
    train_ds: TensorDataset
    val_ds: TensorDataset
    bar: tqdm
    train_seconds: float = 0.0  # batch loops of the epochs this loop ran
    train_samples: int = 0
    test_ds: TensorDataset | None = None  # scored every epoch when selecting on the test set

    def __post_init__(self) -> None:
        self.device = next(self.model.parameters()).device
        self.x, self.y = self.train_ds.x, self.train_ds.y
        if self.device.type != "cpu" and self.x.nbytes + self.y.nbytes <= DEVICE_DATA_BYTES:
            self.x, self.y = self.x.to(self.device), self.y.to(self.device)
        self.loss_fn = _loss_fn(self.cfg, self.train_ds.num_classes)
        self.graphed = GraphedStep(self.step) if self.cfg.train.cuda_graphs else None
        self.num_steps, self.encoding = self.cfg.data.steps_and_encoding()

    @property
    def iters(self) -> int:
        """Batches per epoch."""
        return math.ceil(len(self.train_ds) / self.cfg.data.batch_size)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> StepStats:
        """One training step on a batch already on the device; no host synchronisation."""
        model, t, T = self.model, self.cfg.train, self.num_steps
        out, rec = model(encode(x, self.encoding, T), num_steps=T, record=True)
        spikes = sum(r.detach().sum() for r in rec)
        del rec  # the hidden layers' float spikes are not needed in backward
        loss = self.loss_fn(out, y)
        finite = torch.stack([blk.finite for blk in model.spiking_blocks()] + [torch.isfinite(loss)])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.tracker.record_params()
        if t.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
        self.optimizer.step()
        correct = (model.decode(out).argmax(1) == y).sum()
        return StepStats(loss.detach(), correct, spikes, finite)

    def run(self, epoch: int) -> EpochRecord:
        """Train one epoch (batches in a seeded order), then validate; raises
        :class:`TrainingDiverged` on a non-finite loss or membrane input."""
        cfg, model, train_ds = self.cfg, self.model, self.train_ds
        t, bs, T, enc = cfg.train, cfg.data.batch_size, self.num_steps, self.encoding
        blocks = model.spiking_blocks()
        model.train()
        if t.optimizer_reset == "epoch":
            reset_adam(self.optimizer)
        t0 = time.perf_counter()
        order = torch.randperm(len(train_ds), generator=torch.Generator().manual_seed(
            t.seed * 100_003 + epoch)).to(self.x.device)
        totals = EpochTotals(self.device, len(blocks) + 1)
        slots = 0
        for b in range(self.iters):
            idx = order[b * bs:(b + 1) * bs]
            x, y = self.x[idx].to(self.device), self.y[idx].to(self.device)
            graphed = self.graphed if len(idx) == bs else None  # a short last batch runs eagerly
            stats = graphed(x, y) if graphed is not None else self.step(x, y)
            self.tracker.batch_done()
            self.scheduler.step()
            totals.add(b, stats, len(idx))
            slots += sum(math.prod(blk.spec.out_shape) for blk in blocks) * len(idx) * T
            self.bar.update(1)
            if (b + 1) % SYNC_EVERY == 0:
                mean_loss = totals.check(epoch, blocks)
                self.bar.set_postfix(epoch=epoch, loss=f"{mean_loss:.3f}")
        totals.check(epoch, blocks)
        tot_loss, correct, spikes = totals.read()
        seconds = time.perf_counter() - t0
        self.train_seconds += seconds
        self.train_samples += len(train_ds)
        chi = self.tracker.epoch_end()
        val_acc = evaluate(model, self.val_ds, T, enc, seed=t.seed, accuracy_from=t.accuracy_from)
        test_acc = (evaluate(model, self.test_ds, T, enc, seed=t.seed, accuracy_from=t.accuracy_from)
                    if self.test_ds is not None else float("nan"))
        self.bar.set_postfix(epoch=epoch, val=f"{val_acc:.3f}")
        return EpochRecord(epoch, tot_loss / len(train_ds), correct / len(train_ds), val_acc,
                           spikes / max(1, slots), float(self.optimizer.param_groups[0]["lr"]),
                           time.perf_counter() - t0, _nanmean(chi["chi"]),
                           _nanmean(chi["param_chi"]), chi["chi"], chi["width"], test_acc)


def train(cfg: RunConfig, out_dir: str | Path | None = None, progress: bool = True,
          data: tuple[TensorDataset, TensorDataset, TensorDataset] | None = None,
          on_epoch: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train a resolved config; with ``out_dir`` checkpoints every epoch and resumes.

    ``on_epoch(epoch, accuracy)`` runs after each epoch's checkpoint with the accuracy
    that selects the checkpoint (validation, or test with ``train.select_on: test``); it may
    raise to stop training (a search pruner does)."""
    cfg = cfg.resolved()
    torch.manual_seed(cfg.train.seed)
    train_ds, val_ds, test_ds = data or load_splits(cfg)
    model = build_model(cfg, train_ds.input_shape, train_ds.num_classes)
    t = cfg.train
    # a captured optimizer step reads its step count and learning rate from the device
    lr = torch.tensor(t.lr, device=device_of(cfg)) if t.cuda_graphs else t.lr
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=t.adam_betas,
                           weight_decay=t.weight_decay, capturable=t.cuda_graphs)
    iters = math.ceil(len(train_ds) / cfg.data.batch_size)
    sched = _scheduler(cfg, opt, iters)
    tracker = ChiTracker([n.surrogate for n in model.neurons()],
                         [b.weight_layer.weight for b in model.spiking_blocks()], cfg.chi, t.epochs)
    ck = (Checkpoint(Path(out_dir) / CHECKPOINT, cfg.to_dict(), model, opt, sched, tracker)
          if out_dir else None)
    state = (ck.restore() if ck else None) or LoopState()
    if state.epoch and isinstance(sched, torch.optim.lr_scheduler.CosineAnnealingLR) and not t.t_max:
        sched.T_max = t.epochs * iters  # an extended run anneals over its new length
    if state.epoch and progress:
        prog.say(f"resuming from epoch {state.epoch} of {t.epochs}")
    tracker.epoch = state.epoch
    bar = prog.bar(t.epochs * iters, state.epoch * iters, progress)
    loop = EpochLoop(cfg, model, opt, sched, tracker, train_ds, val_ds, bar,
                     test_ds=test_ds if t.select_on == "test" else None)
    health = HealthCheck()
    for epoch in range(state.epoch + 1, t.epochs + 1):
        if state.stopped:
            break
        record = loop.run(epoch)
        health.after_epoch(epoch, model, val_ds.x, val_ds.y, train_ds.num_classes, record.val_accuracy,
                           record.loss if t.loss == "ce_count" else None, loop.num_steps, loop.encoding)
        if progress and bar.disable:
            prog.say(prog.epoch_line(epoch, t.epochs, record.loss, record.train_accuracy,
                                     record.val_accuracy, record.firing_rate, record.seconds))
        state.epoch = epoch
        state.history.append(asdict(record))
        chosen_by = record.test_accuracy if t.select_on == "test" else record.val_accuracy
        state.best.update(epoch, chosen_by, model)
        state.stopped = state.best.exhausted(t.patience)
        if ck:
            ck.save(state)
        if on_epoch is not None:
            on_epoch(epoch, chosen_by)
    bar.close()
    tracker.detach()
    if state.best.state is not None:
        model.load_state_dict(state.best.state)
    history = [EpochRecord(**h) for h in state.history]
    best_val = history[state.best.epoch - 1].val_accuracy if state.best.epoch else state.best.acc
    return TrainResult(model, history, state.best.epoch, best_val, state.stopped,
                       loop.train_samples / loop.train_seconds if loop.train_seconds else None)
