"""Configuration of the SNN-DSE design (YAML ``kind: snn_dse``, the default), validated;
every default documented with its source.

Sources: [RTL] read from the public accelerator RTL (SNN-DSE, ``Hardware/conv_ec.sv``,
``fc_ec.sv``, ``top_wrapper.sv``); [PUB] the published configuration; [A] an assumption
of spiketune's, to be calibrated against measurements (see ``power.calibrate``).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .cycles import counter_bits


class PowerConfig(BaseModel):
    """Parametric power model: static + per-core + per-operation energies [A]."""

    model_config = ConfigDict(extra="forbid")
    static_w: float = Field(0.6, ge=0)  # device static power of a mid-size Kintex UltraScale+ [A]
    core_static_mw: float = Field(0.4, ge=0)  # clock/leakage per neural core [A]
    accumulate_pj: float = Field(2.0, ge=0)  # one weight read + 32-bit accumulate [A]
    update_pj: dict[str, float] = Field(  # one neuron update: LIF shift decay = 3 ops;
        default_factory=lambda: {"lif": 3.0, "lapicque": 10.0})  # Lapicque 4 ops + 2 DSP multiplies [A]
    ecu_cycle_pj: float = Field(1.0, ge=0)  # one event-control (priority encoder) cycle [A]


class HardwareConfig(BaseModel):
    """Accelerator parameters. ``mode``: 'ideal' (the documented cost model) or 'rtl'
    (also reproduces the public RTL's quirks; see docs/hardware-model.md)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["snn_dse"] = "snn_dse"
    clock_mhz: float = Field(200.0, gt=0)  # not in the RTL; Kintex UltraScale+ designs run at a few hundred MHz [A]
    mode: Literal["ideal", "rtl"] = "ideal"
    pipeline: Literal["sequential", "layer_pipelined"] = "sequential"  # RTL: one image, layer by layer [RTL]
    cores: list[int] | None = None  # neural cores (EC_SIZE) per layer; None: the policy below
    conv_cores: Literal["per_channel"] = "per_channel"  # one NC per output channel [PUB]
    fc_cores: int = Field(50, ge=1)  # NCs of an FC layer (56 and 50 in the published build) [PUB]
    core_budget: int | None = Field(None, ge=1)  # if set: allocate cores across layers (alloc.py)
    core_counts: Literal["divisors", "ideal"] = "divisors"  # the RTL builds E | channels; ideal: any E
    conv_penc_shift: int = Field(2, ge=0)  # conv PENC_SIZE = F >> 2 (5 chunks when 4 does not divide F) [RTL top]
    conv_sparse_shift: int = Field(1, ge=0)  # conv SPARSE_SIZE = F >> 1: the spike counter has
    # $clog2(SPARSE_SIZE) bits and wraps in rtl mode [RTL top]
    fc_penc_size: int = Field(200, ge=1)  # FC PENC_SIZE [RTL top]
    penc_chunks: int | None = Field(None, ge=1)  # legacy: PENC_SIZE = ceil(frame/penc_chunks) for every layer
    kernel_cycles_per_tap: int = Field(1, ge=1)  # one kernel tap per cycle, all group cores in parallel [RTL]
    activation_cycles_per_neuron: dict[str, int] = Field(  # one neuron per cycle per core, LIF and
        default_factory=lambda: {"lif": 1, "lapicque": 1})  # Lapicque alike in the public RTL [RTL]
    weight_bits: int = Field(4, ge=1, le=32)  # INT4 weights, per-layer scale/zero point [PUB]
    membrane_bits: int = Field(32, ge=8, le=64)  # fp32 membrane in the public RTL [RTL]
    membrane_frac_bits: int = Field(16, ge=0, le=62)  # fixed-point format for bit-exact checks [A]
    bram_kbits: int = Field(36, ge=1)  # one block RAM [RTL device]
    bram_count: int = Field(1080, ge=1)  # BRAMs available (XCKU115-class device) [A]
    power: PowerConfig = Field(default_factory=PowerConfig)

    @model_validator(mode="after")
    def _check(self) -> "HardwareConfig":
        if self.cores is not None and any(c < 1 for c in self.cores):
            raise ValueError(f"every layer needs >= 1 neural core, got cores={self.cores}")
        if self.membrane_frac_bits >= self.membrane_bits:
            raise ValueError("membrane_frac_bits must be below membrane_bits")
        return self

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    def conv_build(self, frame_in: int) -> tuple[int, int | None]:
        """(PENC_SIZE, spike-counter bits or None when it never wraps) of a conv layer."""
        penc = (math.ceil(frame_in / self.penc_chunks) if self.penc_chunks
                else max(1, frame_in >> self.conv_penc_shift))
        if self.mode != "rtl":
            return penc, None
        return penc, counter_bits(max(1, frame_in >> self.conv_sparse_shift))

    def fc_penc(self, bits: int) -> int:
        return math.ceil(bits / self.penc_chunks) if self.penc_chunks else self.fc_penc_size

    def identity(self) -> dict:
        """The fields that identify a point in a sweep: those of the original format, plus
        any later field set away from its default (so earlier sweeps keep their run ids)."""
        d = self.model_dump()
        for k in ADDED_FIELDS:
            if d[k] == HardwareConfig.model_fields[k].default:
                del d[k]
        if d["penc_chunks"] is None:
            d["penc_chunks"] = 4
        return d


ADDED_FIELDS = ("kind", "core_counts", "conv_penc_shift", "conv_sparse_shift", "fc_penc_size")
