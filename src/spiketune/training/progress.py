"""Training progress: a bar on a terminal, one line per epoch otherwise (a redirected log
stays readable), and the run's resume messages."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def on_terminal() -> bool:
    """Whether progress output (stderr) goes to a terminal."""
    return sys.stderr.isatty()


def bar(total: int, initial: int, progress: bool) -> tqdm:
    """The batch progress bar; disabled without ``progress`` or off a terminal."""
    return tqdm(total=total, initial=initial, disable=not progress or not on_terminal(),
                desc="train", unit="batch", dynamic_ncols=True)


def say(text: str) -> None:
    """One line of progress to stderr (outside any bar)."""
    tqdm.write(text, file=sys.stderr)


def epoch_line(epoch: int, epochs: int, loss: float, train_accuracy: float, val_accuracy: float,
               firing_rate: float, seconds: float) -> str:
    """One epoch's summary line."""
    return (f"epoch {epoch}/{epochs}: loss {loss:.4f}, train {100 * train_accuracy:.2f}%, "
            f"validation {100 * val_accuracy:.2f}%, firing rate {100 * firing_rate:.2f}%, {seconds:.1f} s")
