"""Cycles of the hybrid design's dense first-layer core (``conv_dense_nc.sv``, module dense_nc).

Per pass of ``rows`` output channels and per step, the core streams every input pixel
into a column of IC*K*K PEs (``F + 1`` cycles: pixels 0..F) and waits IC*K*K + 1 cycles for
the column to drain into the thresholding unit; one cycle leaves idle. Nothing depends on
the input values: ``1 + (OC / rows) * T * (F + IC*K*K + 2)`` cycles to the done flag,
checked against the RTL under Icarus by ``benchmarks/rtl_crosscheck.py``.
"""

from __future__ import annotations


def dense_cycles(steps: int, in_channels: int, out_channels: int, frame: int, kernel: int = 3,
                 rows: int = 1) -> int:
    """Cycles to the done flag; ``frame`` = input pixels (FRAME_WIDTH^2)."""
    passes = out_channels // rows
    return 1 + passes * steps * (frame + in_channels * kernel * kernel + 2)
