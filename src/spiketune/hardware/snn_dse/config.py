"""Configuration of the SNN-DSE design (YAML ``kind: snn_dse``, the default), validated;
every default documented with its source.

Sources: [RTL] read from the public accelerator RTL (SNN-DSE, ``Hardware/conv_ec.sv``,
``fc_ec.sv``, ``top_wrapper.sv``); [PUB] the published configuration; [A] an assumption
of spiketune's, to be calibrated against measurements (see ``power.calibrate``).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..resources import DEVICES, PowerCoefficients
from .cycles import counter_bits

MAX_COUNT = 2**24  # bound of every count field (cores, BRAMs, sizes): beyond any device
MAX_ENERGY = 1e6  # bound of every power and energy field (W, mW, pJ)
Energy = Annotated[float, Field(ge=0, le=MAX_ENERGY, allow_inf_nan=False)]
Cycles = Annotated[int, Field(ge=1, le=MAX_COUNT)]
NEURON_KINDS = ("lif", "lapicque")


def _per_neuron(field: str, values: dict) -> None:
    if set(values) != set(NEURON_KINDS):
        raise ValueError(f"{field} needs exactly the neuron kinds {list(NEURON_KINDS)}, got {sorted(values)}")


class PowerConfig(BaseModel):
    """Power model, finite, non-negative and bounded. ``model: resources`` (the default):
    the device's static power plus per-resource energies of the allocation's LUTs, FFs,
    block RAMs and DSPs in the cycles the cycle model keeps them busy (``resources.power``);
    ``model: operations``: static + per-core + per-operation energies. Every energy is an
    assumption [A] until fitted with ``power.calibrate``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: Literal["resources", "operations"] = "resources"
    # resources model: per-resource energies (defaults: resources.PowerCoefficients) [A]
    lut_pj: Energy = PowerCoefficients.lut_pj
    ff_pj: Energy = PowerCoefficients.ff_pj
    bram_pj: Energy = PowerCoefficients.bram_pj
    dsp_pj: Energy = PowerCoefficients.dsp_pj
    clock_ff_pj: Energy = PowerCoefficients.clock_ff_pj
    dynamic_scale: Energy = 1.0  # calibrate()'s scale on the clock and dynamic terms
    device_static_w: Energy | None = None  # calibrate()'s static power; None: the device catalog's [A]
    # operations model:
    static_w: Energy = 0.6  # device static power of a mid-size Kintex UltraScale+ [A]
    core_static_mw: Energy = 0.4  # clock/leakage per neural core [A]
    accumulate_pj: Energy = 2.0  # one weight read + 32-bit accumulate [A]
    update_pj: dict[str, Energy] = Field(  # one neuron update: LIF shift decay = 3 ops;
        default_factory=lambda: {"lif": 3.0, "lapicque": 10.0})  # Lapicque 4 ops + 2 DSP multiplies [A]
    ecu_cycle_pj: Energy = 1.0

    @model_validator(mode="after")
    def _check(self) -> PowerConfig:
        _per_neuron("update_pj", self.update_pj)
        return self  # one event-control (priority encoder) cycle [A]


class HardwareConfig(BaseModel):
    """Accelerator parameters. ``mode``: 'ideal' (the documented cost model) or 'rtl'
    (also reproduces the public RTL's quirks; see docs/hardware-model.md)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["snn_dse"] = "snn_dse"
    # not in the RTL; Kintex UltraScale+ designs run at a few hundred MHz [A]
    clock_mhz: float = Field(200.0, gt=0, le=1e6)
    mode: Literal["ideal", "rtl"] = "ideal"
    pipeline: Literal["sequential", "layer_pipelined"] = "sequential"  # RTL: one image, layer by layer [RTL]
    # neural cores (EC_SIZE) per layer; None: the policy below
    cores: list[Cycles] | None = Field(None, max_length=4096)
    conv_cores: Literal["per_channel"] = "per_channel"  # one NC per output channel [PUB]
    # NCs of an FC layer (56 and 50 in the published build) [PUB]
    fc_cores: int = Field(50, ge=1, le=MAX_COUNT)
    # if set: allocate cores across layers (alloc.py)
    core_budget: int | None = Field(None, ge=1, le=MAX_COUNT)
    core_counts: Literal["divisors", "ideal"] = "divisors"  # the RTL builds E | channels; ideal: any E
    # conv PENC_SIZE = F >> 2 (5 chunks when 4 does not divide F) [RTL top]
    conv_penc_shift: int = Field(2, ge=0, le=31)
    conv_sparse_shift: int = Field(1, ge=0, le=31)  # conv SPARSE_SIZE = F >> 1: the spike counter has
    # $clog2(SPARSE_SIZE) bits and wraps in rtl mode [RTL top]
    fc_penc_size: int = Field(200, ge=1, le=MAX_COUNT)  # FC PENC_SIZE [RTL top]
    # legacy: PENC_SIZE = ceil(frame/penc_chunks) for every layer
    penc_chunks: int | None = Field(None, ge=1, le=MAX_COUNT)
    # one kernel tap per cycle, all group cores in parallel [RTL]
    kernel_cycles_per_tap: int = Field(1, ge=1, le=MAX_COUNT)
    activation_cycles_per_neuron: dict[str, Cycles] = Field(  # one neuron per cycle per core, LIF and
        default_factory=lambda: {"lif": 1, "lapicque": 1})  # Lapicque alike in the public RTL [RTL]
    weight_bits: int = Field(4, ge=1, le=32)  # INT4 weights, per-layer scale/zero point [PUB]
    membrane_bits: int = Field(32, ge=8, le=64)  # fp32 membrane in the public RTL [RTL]
    membrane_frac_bits: int = Field(16, ge=0, le=62)  # fixed-point format for bit-exact checks [A]
    bram_kbits: int = Field(36, ge=1, le=MAX_COUNT)  # one block RAM [RTL device]
    bram_count: int = Field(1080, ge=1, le=MAX_COUNT)  # BRAMs available (XCKU115-class device) [A]
    # a part of resources.DEVICES to build on: the cost report says whether the allocation fits
    # it, and without explicit cores the allocator buys the largest allocation that fits it
    device: str | None = None
    power: PowerConfig = Field(default_factory=PowerConfig)

    @model_validator(mode="after")
    def _check(self) -> HardwareConfig:
        _per_neuron("activation_cycles_per_neuron", self.activation_cycles_per_neuron)
        if self.membrane_frac_bits >= self.membrane_bits:
            raise ValueError("membrane_frac_bits must be below membrane_bits")
        if self.device is not None and self.device not in DEVICES:
            raise ValueError(f"device '{self.device}' is not in the catalog: {', '.join(DEVICES)}")
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
        for k in ADDED_POWER_FIELDS:
            if d["power"][k] == PowerConfig.model_fields[k].default:
                del d["power"][k]
        if d["penc_chunks"] is None:
            d["penc_chunks"] = 4
        return d


ADDED_FIELDS = ("kind", "core_counts", "conv_penc_shift", "conv_sparse_shift", "fc_penc_size", "device")
# the power model changes FPS/W, never cycles: sweeps keep their run ids
ADDED_POWER_FIELDS = ("model", "lut_pj", "ff_pj", "bram_pj", "dsp_pj", "clock_ff_pj", "dynamic_scale",
                      "device_static_w")
