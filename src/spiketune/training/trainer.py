"""BPTT training: Adam, cosine annealing, early stopping, checkpoints, progress bar.

:func:`train` sets a run up (data, network, optimizer, schedule, chi tracker), restores its
:class:`~spiketune.training.checkpoint.Checkpoint` if there is one, and runs the
:class:`EpochLoop` epoch by epoch, checkpointing after each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from spiketune.training import progress as prog
from spiketune.data.datasets import TensorDataset
from spiketune.data.encoding import encode
from spiketune.data.splits import stratified_split
from spiketune.errors import ConfigError, SpiketuneError
from spiketune.network import surrogate as sg
from spiketune.network.models import SpikingNetwork, build
from spiketune.training.checkpoint import CHECKPOINT, Checkpoint, LoopState
from spiketune.training.chi import ChiTracker
from spiketune.training.config import RunConfig
from spiketune.training.health import HealthCheck
from spiketune.training.losses import ce_count_loss, mse_count_loss

__all__ = ["CHECKPOINT", "EpochLoop", "EpochRecord", "TrainResult", "TrainingDiverged", "build_model",
           "evaluate", "load_splits", "surrogates_for", "train"]


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


def surrogates_for(cfg: RunConfig, num_layers: int) -> list[sg.Surrogate]:
    """One surrogate per layer from the model config (global or per-layer)."""
    m = cfg.model
    names = m.layer_surrogates or [m.surrogate] * num_layers
    slopes = m.layer_slopes or [m.slope] * num_layers
    if len(names) != num_layers or len(slopes) != num_layers:
        raise ConfigError(f"layer_surrogates/layer_slopes need {num_layers} entries "
                          f"(one per weight layer), got {len(names)}/{len(slopes)}")
    out = []
    for name, slope in zip(names, slopes, strict=True):
        params = m.surrogate_params if sg.canonical_name(name) == m.surrogate else {}
        out.append(sg.get(name, width=slope, **params))
    return out


def build_model(cfg: RunConfig, input_shape: tuple[int, ...], num_classes: int) -> SpikingNetwork:
    """The network a (resolved) config describes."""
    from spiketune.network.arch import parse

    m = cfg.model
    n_layers = len(parse(m.arch, input_shape))
    return build(m.arch, input_shape, num_classes, neuron=m.neuron, beta=m.beta,
                 threshold=m.threshold, reset=m.reset, surrogate=surrogates_for(cfg, n_layers),
                 learn_beta=m.learn_beta, learn_threshold=m.learn_threshold,
                 weight_bits=m.weight_bits)


def load_splits(cfg: RunConfig, progress: bool = False) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
    """(train, validation, test) datasets of a resolved config."""
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
             batch_size: int = 512, seed: int = 0) -> float:
    """Accuracy of ``model`` on ``ds``."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    correct = 0
    for start in range(0, len(ds), batch_size):
        x, y = ds.x[start:start + batch_size], ds.y[start:start + batch_size]
        out = model(encode(x, encoding, num_steps, gen), num_steps=num_steps)
        correct += int((model.decode(out).argmax(1) == y).sum())
    return correct / max(1, len(ds))


def _nanmean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else float("nan")


@dataclass
class TrainResult:
    model: SpikingNetwork
    history: list[EpochRecord]
    best_epoch: int
    best_val_accuracy: float
    stopped_early: bool


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

    @property
    def iters(self) -> int:
        """Batches per epoch."""
        return math.ceil(len(self.train_ds) / self.cfg.data.batch_size)

    def run(self, epoch: int) -> EpochRecord:
        """Train one epoch (batches in a seeded order), then validate; raises
        :class:`TrainingDiverged` on a non-finite loss or membrane input."""
        cfg, model, train_ds = self.cfg, self.model, self.train_ds
        t, bs, T, enc = cfg.train, cfg.data.batch_size, cfg.data.num_steps, cfg.data.encoding
        loss_fn = _loss_fn(cfg, train_ds.num_classes)
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(train_ds), generator=torch.Generator().manual_seed(
            t.seed * 100_003 + epoch))
        tot_loss, correct, spikes, slots = 0.0, 0, 0.0, 0
        for b in range(self.iters):
            idx = order[b * bs:(b + 1) * bs]
            x, y = train_ds.x[idx], train_ds.y[idx]
            out, rec = model(encode(x, enc, T), num_steps=T, record=True)
            loss = loss_fn(out, y)
            finite = torch.stack([blk.finite for blk in model.blocks] + [torch.isfinite(loss)])
            if not bool(finite.all()):
                bad = [f"L{i}:{'-'.join(blk.spec.tokens)}" for i, blk in enumerate(model.blocks)
                       if not bool(blk.finite)]
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}, batch {b}: "
                    + (f"non-finite membrane input in layer {bad[0]}" if bad else
                       f"loss became {loss.item()}"))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.tracker.after_backward()
            if t.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            tot_loss += loss.item() * len(y)
            correct += int((model.decode(out).argmax(1) == y).sum())
            spikes += float(sum(r.detach().sum() for r in rec))
            slots += sum(r[0].numel() for r in rec) * T
            self.bar.update(1)
            self.bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
        chi = self.tracker.epoch_end()
        val_acc = evaluate(model, self.val_ds, T, enc, seed=t.seed)
        self.bar.set_postfix(epoch=epoch, val=f"{val_acc:.3f}")
        return EpochRecord(epoch, tot_loss / len(train_ds), correct / len(train_ds), val_acc,
                           spikes / max(1, slots), self.optimizer.param_groups[0]["lr"],
                           time.perf_counter() - t0, _nanmean(chi["chi"]),
                           _nanmean(chi["param_chi"]), chi["chi"], chi["width"])


def train(cfg: RunConfig, out_dir: str | Path | None = None, progress: bool = True,
          data: tuple[TensorDataset, TensorDataset, TensorDataset] | None = None,
          on_epoch: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train a resolved config; with ``out_dir`` checkpoints every epoch and resumes.

    ``on_epoch(epoch, validation accuracy)`` runs after each epoch's checkpoint; it may
    raise to stop training (a search pruner does)."""
    cfg = cfg.resolved()
    torch.manual_seed(cfg.train.seed)
    train_ds, val_ds, _ = data or load_splits(cfg)
    model = build_model(cfg, train_ds.input_shape, train_ds.num_classes)
    t = cfg.train
    opt = torch.optim.Adam(model.parameters(), lr=t.lr, betas=t.adam_betas,
                           weight_decay=t.weight_decay)
    iters = math.ceil(len(train_ds) / cfg.data.batch_size)
    sched = _scheduler(cfg, opt, iters)
    tracker = ChiTracker([n.surrogate for n in model.neurons()],
                         [b.weight_layer.weight for b in model.blocks], cfg.chi, t.epochs)
    ck = Checkpoint(Path(out_dir) / CHECKPOINT, cfg.to_dict(), model, opt, sched) if out_dir else None
    state = (ck.restore() if ck else None) or LoopState()
    if state.epoch and isinstance(sched, torch.optim.lr_scheduler.CosineAnnealingLR) and not t.t_max:
        sched.T_max = t.epochs * iters  # an extended run anneals over its new length
    if state.epoch and progress:
        prog.say(f"resuming from epoch {state.epoch} of {t.epochs}")
    tracker.epoch = state.epoch
    bar = prog.bar(t.epochs * iters, state.epoch * iters, progress)
    loop = EpochLoop(cfg, model, opt, sched, tracker, train_ds, val_ds, bar)
    health = HealthCheck()
    for epoch in range(state.epoch + 1, t.epochs + 1):
        if state.stopped:
            break
        record = loop.run(epoch)
        health.after_epoch(epoch, model, val_ds.x, val_ds.y, train_ds.num_classes, record.val_accuracy,
                           record.loss if t.loss == "ce_count" else None, cfg.data.num_steps,
                           cfg.data.encoding)
        if progress and bar.disable:
            prog.say(prog.epoch_line(epoch, t.epochs, record.loss, record.train_accuracy,
                                     record.val_accuracy, record.firing_rate, record.seconds))
        state.epoch = epoch
        state.history.append(asdict(record))
        state.best.update(epoch, record.val_accuracy, model)
        state.stopped = state.best.exhausted(t.patience)
        if ck:
            ck.save(state)
        if on_epoch is not None:
            on_epoch(epoch, record.val_accuracy)
    bar.close()
    tracker.detach()
    if state.best.state is not None:
        model.load_state_dict(state.best.state)
    return TrainResult(model, [EpochRecord(**h) for h in state.history], state.best.epoch, state.best.acc,
                       state.stopped)
