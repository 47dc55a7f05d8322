"""Configuration of the hybrid design (YAML ``kind: hybrid``): the SNN-DSE fields for the
sparse layers plus the dense first-layer core's. Sources as in ``snn_dse/config.py``;
[RTL-H] read from SNN-DSE branch DATE25, ``Hardware/hybrid_sim``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..snn_dse.config import MAX_COUNT, Energy, HardwareConfig


class HybridConfig(HardwareConfig):
    kind: Literal["hybrid"] = "hybrid"  # type: ignore[assignment]
    dense_rows: int = Field(1, ge=1, le=MAX_COUNT)  # PE_ARRAY_ROW_SIZE: output channels per pass; pe_array.sv
    # wires one column of IC*K*K PEs, so one [RTL-H]
    dense_mac_pj: Energy = 2.0  # one multiply-accumulate of the PE column [A]
