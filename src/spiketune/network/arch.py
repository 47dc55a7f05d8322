"""The layer notation SNN papers use, parsed into a torch-free layer list.

Grammar (tokens joined by ``-``; case-sensitive)::

    arch    := layer ('-' layer)*
    layer   := conv | pool | 'BN' | dropout | linear | 'S'
    conv    := INT 'C' INT ['p' INT] ['s' INT]   32C3 = 32 filters 3x3; p = zero padding, s = stride
    pool    := ('P' | 'MP' | 'AP') INT           P/MP = max pooling, AP = average pooling (kernel = stride)
    dropout := 'D' FLOAT                         dropout probability in [0, 1)
    linear  := INT                               fully connected layer with INT units
    'S'                                          the block's neuron fires here

A conv or linear layer opens a *block*; the BN, pooling and dropout tokens that follow
it belong to that block, in that order (BN, pooling and dropout at most once each), and
one spiking neuron serves it. Without ``S`` the neuron closes the block's BN and pooling
(it sits after the pooling, or directly after the conv/linear) and dropout acts on its
spikes. ``S`` places the neuron: tokens before it act on the synaptic current, tokens
after it on the spikes, so ``64C3-BN-S-MP2`` fires and then max-pools the spikes (an OR
of each window; average pooling of spikes is refused: it sends fractions, not spikes) and
``256-D0.2-S`` drops out the current. BN acts on the current only. The last token must be
a linear layer: the output. Its width is the number of classes, or ``classes * pop_size``
for a population-coded output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spiketune.errors import ArchError

_CONV = re.compile(r"^(\d+)C(\d+)(?:p(\d+))?(?:s(\d+))?$")
_POOL = re.compile(r"^(MP|AP|P)(\d+)$")
_DROP = re.compile(r"^D((?:0|1)?(?:\.\d+)?)$")
_LIN = re.compile(r"^(\d+)$")


@dataclass(frozen=True)
class Token:
    """One parsed token: ``kind`` in conv/pool/bn/dropout/linear/fire, 1-based ``position``."""

    kind: str
    text: str
    position: int
    args: tuple = ()


@dataclass
class Block:
    """A weight layer with its trailing BN/pooling, one neuron and optional dropout.

    ``pool_spikes``: the pooling follows the neuron (``S`` before it) and acts on spikes;
    ``current_dropout``: the dropout precedes the neuron and acts on the current."""

    kind: str  # "conv" or "fc"
    in_shape: tuple[int, ...]
    out_channels: int
    kernel: int = 1
    padding: int = 0
    stride: int = 1
    conv_shape: tuple[int, ...] = ()  # conv output before pooling (C, H, W)
    batch_norm: bool = False
    pool: tuple[str, int] | None = None  # ("max" | "avg", size)
    dropout: float = 0.0
    out_shape: tuple[int, ...] = ()  # block output: what the next layer receives
    neuron_shape: tuple[int, ...] = ()  # the neurons (= out_shape unless the spikes are pooled)
    pool_spikes: bool = False
    current_dropout: bool = False
    tokens: list[str] = field(default_factory=list)


def _err(arch: str, tok: str, pos: int, why: str) -> ArchError:
    return ArchError(f"bad token '{tok}' at position {pos} of '{arch}': {why}")


def tokenize(arch: str) -> list[Token]:
    """Split ``arch`` into tokens; raises ArchError naming the first bad one."""
    if not isinstance(arch, str) or not arch.strip():
        raise ArchError("empty architecture string")
    tokens = []
    for pos, text in enumerate(arch.strip().split("-"), start=1):
        t = text.strip()
        if m := _CONV.match(t):
            n, k, p, s = (int(g) if g is not None else None for g in m.groups())
            if n == 0 or k == 0 or s == 0:
                raise _err(arch, t, pos, "filters, kernel and stride must be > 0")
            tokens.append(Token("conv", t, pos, (n, k, p or 0, s or 1)))
        elif m := _POOL.match(t):
            size = int(m.group(2))
            if size < 1:
                raise _err(arch, t, pos, "pool size must be >= 1")
            tokens.append(Token("pool", t, pos, ("avg" if m.group(1) == "AP" else "max", size)))
        elif t == "BN":
            tokens.append(Token("bn", t, pos))
        elif (m := _DROP.match(t)) and m.group(1) not in ("", "."):
            prob = float(m.group(1))
            if not 0.0 <= prob < 1.0:
                raise _err(arch, t, pos, "dropout probability must be in [0, 1)")
            tokens.append(Token("dropout", t, pos, (prob,)))
        elif t == "S":
            tokens.append(Token("fire", t, pos))
        elif m := _LIN.match(t):
            if int(t) == 0:
                raise _err(arch, t, pos, "a linear layer needs >= 1 unit")
            tokens.append(Token("linear", t, pos, (int(t),)))
        else:
            raise _err(arch, t, pos, "expected one of NCk[pP][sS] (conv), P/MP/AP<k> (pool), "
                       "BN, D<p> (dropout), S (the neuron fires) or <N> (linear)")
    return tokens


def parse(arch: str, input_shape: tuple[int, ...]) -> list[Block]:
    """Blocks of ``arch`` on inputs of ``input_shape`` (C, H, W) or (features,)."""
    tokens = tokenize(arch)
    shape = tuple(int(s) for s in input_shape)
    if not shape or any(s <= 0 for s in shape):
        raise ArchError(f"input shape must be positive, got {input_shape}")
    blocks: list[Block] = []
    for tok in tokens:
        cur = blocks[-1] if blocks else None
        if tok.kind == "conv":
            if len(shape) != 3:
                raise _err(arch, tok.text, tok.position,
                           f"a convolution needs a (C, H, W) input, got shape {shape}")
            n, k, p, s = tok.args
            h = (shape[1] + 2 * p - k) // s + 1
            w = (shape[2] + 2 * p - k) // s + 1
            if h < 1 or w < 1:
                raise _err(arch, tok.text, tok.position,
                           f"kernel {k} with padding {p} does not fit a {shape[1]}x{shape[2]} input")
            blocks.append(Block("conv", shape, n, k, p, s, conv_shape=(n, h, w), out_shape=(n, h, w),
                                neuron_shape=(n, h, w), tokens=[tok.text]))
            shape = (n, h, w)
        elif tok.kind == "linear":
            n = tok.args[0]
            blocks.append(Block("fc", shape, n, conv_shape=(n,), out_shape=(n,), neuron_shape=(n,),
                                tokens=[tok.text]))
            shape = (n,)
        else:
            fired = cur is not None and "S" in cur.tokens
            if tok.kind == "fire":
                if cur is None:
                    raise _err(arch, tok.text, tok.position, "S must follow a conv or linear layer")
                if fired:
                    raise _err(arch, tok.text, tok.position, "the neuron fires once per block (S twice)")
                cur.current_dropout = bool(cur.dropout)
            elif tok.kind == "bn":
                if cur is None or (cur.dropout and not fired):
                    raise _err(arch, tok.text, tok.position, "BN must directly follow a conv or linear layer")
                if fired:
                    raise _err(arch, tok.text, tok.position, "BN acts on the current: it must come before S")
                if cur.pool is not None or cur.batch_norm:
                    raise _err(arch, tok.text, tok.position, "BN must come before pooling, once")
                cur.batch_norm = True
            elif tok.kind == "pool":
                if cur is None or cur.kind != "conv" or (cur.dropout and not cur.current_dropout):
                    raise _err(arch, tok.text, tok.position, "pooling must directly follow a conv layer")
                if cur.pool is not None:
                    raise _err(arch, tok.text, tok.position, "one pooling per block")
                kind, size = tok.args
                if fired and kind == "avg":
                    raise _err(arch, tok.text, tok.position, "average pooling after S would pass on "
                               "fractions of spikes; max-pool the spikes (MP, their OR) or pool before S")
                c, h, w = shape
                if size > h or size > w:
                    raise _err(arch, tok.text, tok.position,
                               f"pool {size} is larger than the {h}x{w} feature map")
                cur.pool = (kind, size)
                cur.pool_spikes = fired
                shape = (c, h // size, w // size)
                cur.out_shape = shape
                if not fired:
                    cur.neuron_shape = shape
            else:  # dropout
                if cur is None or cur.dropout:
                    raise _err(arch, tok.text, tok.position, "dropout must follow a layer, once")
                cur.dropout = tok.args[0]
            cur.tokens.append(tok.text)
    if tokens[-1].kind != "linear":
        last = tokens[-1]
        raise _err(arch, last.text, last.position, "the last token must be the linear output layer")
    return blocks
