"""Is a network degenerate? A layer that never fires, a cross-entropy loss stuck at
ln(classes), or an accuracy within noise of chance make its hardware figures meaningless
(a network that never fires costs nothing), so such a run is warned about while it trains
and flagged ``degenerate`` in its results, and rankings leave it out by default.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from spiketune.network.models import SpikingBlock, SpikingNetwork

CHANCE_SDS = 3.0  # an accuracy this many binomial standard deviations above chance is not chance
LOSS_AT_CHANCE = 0.01  # a CE loss within this fraction of ln(classes) has learnt nothing
PROBE_SAMPLES = 256  # validation samples whose per-layer spikes are checked after each epoch


class DegenerateWarning(UserWarning):
    """A training run looks degenerate (silent layer, chance loss or chance accuracy)."""


def chance_accuracy(labels: torch.Tensor | Sequence[int]) -> float:
    """Accuracy of always answering the most frequent class of ``labels``."""
    y = torch.as_tensor(labels, dtype=torch.long)
    return float(torch.bincount(y).max()) / len(y) if len(y) else 0.0


def near_chance(accuracy: float, chance: float, n: int) -> bool:
    """Whether ``accuracy`` on ``n`` samples is within CHANCE_SDS binomial sds of ``chance``."""
    sd = math.sqrt(chance * (1 - chance) / max(1, n))
    return accuracy <= chance + CHANCE_SDS * sd


def reasons(layer_rates: Sequence[tuple[str, float]], accuracy: float, chance: float, n: int,
            ce_loss: float | None = None, num_classes: int | None = None) -> list[str]:
    """Why a network is degenerate (empty: it is not): each silent layer by name, a
    cross-entropy loss at ln(classes), an accuracy within noise of chance."""
    out = [f"layer {name} never fires" for name, rate in layer_rates if rate == 0]
    if ce_loss is not None and num_classes and abs(ce_loss - math.log(num_classes)) <= \
            LOSS_AT_CHANCE * math.log(num_classes):
        out.append(f"loss {ce_loss:.4f} ~ ln({num_classes}) = {math.log(num_classes):.4f} (the outputs "
                   f"carry no class information)")
    if near_chance(accuracy, chance, n):
        out.append(f"accuracy {100 * accuracy:.2f}% is within {CHANCE_SDS:g} sd of chance "
                   f"({100 * chance:.2f}%, {n} samples)")
    return out


@torch.no_grad()
def probe_rates(model: SpikingNetwork, x: torch.Tensor, num_steps: int,
                encoding: str) -> list[tuple[str, float]]:
    """(layer name, firing rate) of each spiking layer of ``model`` on the inputs ``x``."""
    from spiketune.data.encoding import encode

    was_training = model.training
    model.eval()
    _, rec = model(encode(x, encoding, num_steps, torch.Generator().manual_seed(0)), num_steps=num_steps,
                   record=True)
    model.train(was_training)
    return [(layer_name(i, blk), float(r.float().mean()))
            for i, (blk, r) in enumerate(zip(model.spiking_blocks(), rec, strict=True))]


def layer_name(index: int, block: SpikingBlock) -> str:
    """A spiking layer's name, as profiles and traces write it: ``L<i>:<arch tokens>``."""
    return f"L{index}:{'-'.join(block.spec.tokens)}"


@dataclass
class HealthCheck:
    """Warns (once per reason) when an epoch leaves the network degenerate."""

    warned: set[str] = field(default_factory=set)

    def after_epoch(self, epoch: int, model: SpikingNetwork, val_x: torch.Tensor, val_y: torch.Tensor,
                    num_classes: int, val_accuracy: float, ce_loss: float | None, num_steps: int,
                    encoding: str) -> list[str]:
        """Check the network after ``epoch`` (``ce_loss``: the epoch's cross-entropy loss, None
        under another loss); warn about each new reason; return all reasons (none without
        validation samples)."""
        if not len(val_y):
            return []
        rates = probe_rates(model, val_x[:PROBE_SAMPLES], num_steps, encoding)
        found = reasons(rates, val_accuracy, chance_accuracy(val_y), len(val_y), ce_loss, num_classes)
        for r in found:
            kind = r if r.startswith("layer") else r.split()[0]
            if kind not in self.warned:
                self.warned.add(kind)
                warnings.warn(f"degenerate network at epoch {epoch}: {r}", DegenerateWarning, stacklevel=2)
        return found
