"""FPGA resources of an accelerator allocation, whether it fits a device, and its power.

Resource formulas per component of the SNN-DSE RTL (branch DATE25, ``Hardware/sparse_synth_int``),
fitted to Yosys 0.23 ``synth_xilinx -family xcup`` results over a grid of layer sizes;
``benchmarks/synth/`` holds the script, the recorded results and the fit with its
held-out errors. LUT and FF counts are linear in the regressors below; BRAM and DSP
counts are closed forms checked against the same syntheses:

* neural core, conv (``conv_nc``): LUT/FF ~ output frame F_out (its spike row register
  and addressing); 2 DSP (the membrane-by-decay multiply).
* neural core, fc (``fc_nc``): LUT/FF ~ log2 of the layer size; 2 DSP.
* event-control unit, conv (``conv_ec``): LUT/FF ~ its channel and time-step counters and
  its priority encoder's input (PENC_SIZE = F_in/4 bits); FF also its spike-address list
  (SPARSE_SIZE = F_in/2 entries of clog2(F_in) bits, latches); fitted on the power-of-two
  frame widths W; other widths add ``WIDTH_LUTS[W]``.
  There the unit's address split (``addr / W``, ``addr % W``, 32-bit operations because
  the parameter is untyped) is no longer bit slices but a 32-bit divider whose carry
  chains, mapped before ABC, keep constant propagation from shrinking it, and its chunk
  addressing (``chunk_index * PENC_SIZE + i``, PENC_SIZE = F_in/4) is no longer shifts but
  adders and compares: together 4,400-16,700 LUTs, irregular in W. ``WIDTH_LUTS`` is that
  excess from synthesis: the whole unit's (its LUTs less the formula) at the widths where
  it was synthesized, else the address split synthesized alone (probe ``split``), which
  misses the whole unit by -54% to +28% (benchmarks/synth/coefficients.json); beyond the
  table a power of two adds nothing and any other width the table's median.
* event-control unit, fc (``fc_ec``): LUT/FF ~ input bits B. Its 200-bit priority encoder
  dominates: in the public synthesizable ``fc_ec.sv`` the spike-address list's index
  expressions (``t<<23 + t<<15 + ...``, which Verilog parses as shifts by sums) leave the
  list unreachable, and synthesis removes it.
* potential RAM, one per core (``bram_pot``, ``ram_style = "block"``): F_out 32-bit words in
  block RAM.
* spike RAM per layer (``bram_spk``, no RAM style): T x C rows of F bits, in LUT-RAM while
  that is cheap, else block RAM, as Yosys chooses. Block RAM is columns of RAMB36 aspect
  ratios, the rows past the last whole RAMB36 in a RAMB18 where they fit (with a read
  multiplexer); both closed forms equal Yosys on 48 synthesized memories (LUT-RAM LUTs within
  10%).
* weights: not synthesizable from the public code (no contents); counted from their
  bits: conv cores keep theirs in LUT-RAM (64 bits per LUT), fc cores in block RAM.

Inputs are plain numbers (:class:`LayerHardware`), not the simulator's classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace


def clog2(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


def power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def address_bits(p: dict) -> float:
    """Bits of the conv event-control unit's spike-address list: SPARSE_SIZE entries of
    clog2(F_in) bits (latches in the synthesized unit)."""
    return p["SPARSE_SIZE"] * clog2(p["INPUT_FRAME_WIDTH"] ** 2)


def verilog_clog2(n: int) -> int:
    """Verilog's ``$clog2``: 0 for 1."""
    return (n - 1).bit_length()


def channel_counter_bits(p: dict) -> float:
    """Register bits of the conv event-control unit's channel and time-step counters that grow
    with the layer, as declared: ``ic`` (clog2 C_in), ``oc_phase``, ``oc_phase_shift``,
    ``oc_phase_intermed`` (clog2 C_out each) and ``time_step_out_spikes``,
    ``time_step_in_spikes``, ``time_step_shift`` (clog2 T each)."""
    return (verilog_clog2(p["INPUT_CHANNELS"]) + 3 * verilog_clog2(p["OUTPUT_CHANNELS"])
            + 3 * verilog_clog2(p["TIME_STEPS"]))


# Regressors of the fitted LUT/FF formulas, on the synthesis grid's parameter names (the last
# one orders a component's syntheses for the fit's every-other-point split).
REGRESSORS: dict[str, Callable[[dict], list[float]]] = {
    "conv_nc": lambda p: [1.0, p["OUTPUT_FRAME_WIDTH"] ** 2],
    # the counters, and the priority encoder's width (F/4 pixels): its chunk of the frame's spikes
    "conv_ec": lambda p: [1.0, channel_counter_bits(p), p["PENC_SIZE"]],
    "fc_ec": lambda p: [1.0, p["INPUT_CHANNELS"] * p["INPUT_FRAME_SIZE"]],
    "fc_nc": lambda p: [1.0, clog2(p["LAYER_SIZE"])],
    # oc_phase's bits (the biases it selects set the thresholding's shift amounts), and the
    # membrane array (F words) with the image ROMs (least leave-one-out error of the forms tried)
    "dense_nc": lambda p: [1.0, clog2(p["OUT_CHANNELS"]), p["FRAME_WIDTH"] ** 2],
}

# where a resource's regressors differ
FF_REGRESSORS: dict[str, Callable[[dict], list[float]]] = {
    # + the spike-address list's latches
    "conv_ec": lambda p: [1.0, channel_counter_bits(p), address_bits(p), p["PENC_SIZE"]],
}


def regressors(component: str, resource: str, p: dict) -> list[float]:
    """The regressors of ``component``'s ``resource`` (lut | ff) formula at parameters ``p``."""
    if resource == "ff" and component in FF_REGRESSORS:
        return FF_REGRESSORS[component](p)
    return REGRESSORS[component](p)


# Fitted coefficients (benchmarks/synth/coefficients.json; regenerate with synth.py --fit).
COEFFICIENTS: dict[str, dict[str, list[float]]] = {
    "conv_nc": {"lut": [864.612782, 1.456959], "ff": [76.537594, 1.01471]},
    "conv_ec": {"lut": [47.454078, 1.387304, 16.742024], "ff": [25.663253, 0.962815, 0.847508, 4.308483]},
    "fc_ec": {"lut": [866.333333, 0.057292], "ff": [308.0, 0.0625]},
    "fc_nc": {"lut": [226.4, -0.95], "ff": [23.0, 1.0]},
    "dense_nc": {"lut": [-968.190535, 617.004448, 85.603619], "ff": [13180.830639, 11.963297, 33.077929]},
}

# LUTs the conv event-control unit adds at frame width W over its fitted formula (coefficients.json
# "width_luts": whole-unit syntheses where listed in "width_luts_from_whole_unit", else probe ``split``).
WIDTH_LUTS: dict[int, float] = {
    3: 4418.506, 5: 4483.538, 6: 5694.312, 7: 5762.086, 8: 13.0, 9: 6592.15, 10: 5185.44, 11: 6221.73,
    12: 6508.277, 13: 6932.825, 14: 8568.631, 15: 6400.437, 17: 6369.565, 18: 5874.0, 19: 5844.0,
    20: 9083.788, 21: 5702.0, 22: 5995.0, 23: 5352.0, 24: 5495.0, 25: 5713.0, 26: 5296.0, 27: 5681.0,
    28: 17383.554, 29: 5355.0, 30: 5272.0, 31: 6188.0, 33: 5047.0, 34: 4736.0, 35: 5740.0, 36: 5645.0,
    40: 5343.0, 48: 4387.0, 56: 4390.0, 63: 4776.0
}


# widths whose WIDTH_LUTS entry is the whole unit's synthesis (coefficients.json
# "width_luts_from_whole_unit"); the other entries are the probe's
WHOLE_UNIT_WIDTHS = frozenset({3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 17, 20, 28})
# how far the probe's prediction missed the whole unit where both were synthesized
PROBE_ERROR = "-54% to +28%"


def conv_ec_lut_source(width: int) -> str:
    """Where the conv event-control unit's LUTs at ``width`` come from: ``formula`` (a power of
    two), ``synthesis`` (the whole unit synthesized at that width), ``probe`` (its address split
    synthesized alone) or ``median`` (no synthesis at that width)."""
    if power_of_two(width):
        return "formula"
    if width in WHOLE_UNIT_WIDTHS:
        return "synthesis"
    return "probe" if width in WIDTH_LUTS else "median"


def width_luts(width: int, table: dict[int, float] = WIDTH_LUTS) -> float:
    """LUTs the conv event-control unit adds at frame width ``width`` over its formula: the
    synthesized table; outside it, a power of two adds nothing (bit slices, shifts) and any
    other width the median of the table's other widths."""
    if width in table:
        return table[width]
    if power_of_two(width):
        return 0.0
    others = sorted(v for w, v in table.items() if not power_of_two(w))
    return others[len(others) // 2]


def offset(component: str, resource: str, p: dict, table: dict[int, float] = WIDTH_LUTS) -> float:
    """The part of a formula taken from a synthesized table, not fitted: conv_ec's LUTs at widths
    that are not powers of two."""
    return width_luts(p["INPUT_FRAME_WIDTH"], table) if (component, resource) == ("conv_ec", "lut") else 0.0


DSP_PER_CORE = 2  # the 32-bit membrane x decay multiply (Yosys: 2 DSP48E2 in every core)

# The hybrid design's dense core as its RTL builds it: 3 input channels (three image arrays and
# 27 shift chains written out), a 3x3 kernel, one row of PEs, a square frame of at most 32x32
# (thresholding.sv counts pixels in 10 bits)
DENSE_SHAPE = {"in_channels": 3, "kernel": 3, "rows": 1}
DENSE_MAX_FRAME = 1024
# how far the dense core's LUT formula misses its syntheses, fitted and held out (coefficients.json):
# its LUTs are irregular in the frame size (7x7 as 8x8; 24x24 99 LUTs per pixel, 32x32 85)
DENSE_LUT_ERROR = "-23% to +15%"


@dataclass(frozen=True)
class Resources:
    lut: float = 0.0
    ff: float = 0.0
    bram: float = 0.0  # 36 Kb block RAMs (an 18 Kb half counts 0.5)
    dsp: float = 0.0

    def __add__(self, o: Resources) -> Resources:
        return Resources(*(getattr(self, f.name) + getattr(o, f.name) for f in fields(self)))

    def __mul__(self, k: float) -> Resources:
        return Resources(*(getattr(self, f.name) * k for f in fields(self)))


@dataclass(frozen=True)
class Device:
    """An FPGA part's capacities (product tables of its data sheet)."""

    name: str
    lut: int
    ff: int
    bram: int  # 36 Kb block RAMs
    dsp: int
    # device static power at 25 C junction: an assumption [A], order of the vendor's estimator
    static_w: float
    source: str


_DS890 = "Xilinx DS890, UltraScale Architecture and Product Data Sheet: Overview (v4.x)"
_DS891 = "Xilinx DS891, Zynq UltraScale+ MPSoC Data Sheet: Overview"
_DS180 = "Xilinx DS180, 7 Series FPGAs Data Sheet: Overview"
_DS190 = "Xilinx DS190, Zynq-7000 SoC Data Sheet: Overview"
DEVICES: dict[str, Device] = {d.name: d for d in [
    Device("xc7z020", 53_200, 106_400, 140, 220, 0.15, _DS190),
    Device("xc7a100t", 63_400, 126_800, 135, 240, 0.10, _DS180),
    Device("xcku5p", 216_960, 433_920, 480, 1_824, 0.50, _DS890),
    Device("xczu9eg", 274_080, 548_160, 912, 2_520, 0.70, _DS891),
    Device("xcku15p", 522_720, 1_045_440, 984, 1_968, 0.80, _DS890),
    Device("xcku115", 663_360, 1_326_720, 2_160, 5_520, 1.00, _DS890),
    Device("xcvu9p", 1_182_240, 2_364_480, 2_160, 6_840, 2.50, _DS890),
]}


@dataclass(frozen=True)
class LayerHardware:
    """One layer of an allocation, as plain numbers."""

    kind: str  # conv | fc
    cores: int  # neural cores (EC_SIZE)
    in_channels: int  # conv input channels; fc: input channels of the flattened input (1 if flat)
    out_channels: int  # conv output channels or fc neurons
    frame_in: int  # conv: H*W of an input channel; fc: input size of one channel
    frame_out: int  # conv: H*W of the conv output (before pooling); fc: 1
    spike_frame: int  # bits of one output spike row written per channel and step (after pooling)
    num_steps: int
    kernel: int = 3
    weight_bits: int = 4


def _linear(component: str, resource: str, p: dict) -> float:
    c = COEFFICIENTS[component][resource]
    fitted = sum(a * x for a, x in zip(c, regressors(component, resource, p), strict=True))
    return max(0.0, fitted + offset(component, resource, p))


# RAMB36 aspect ratios (rows, bits), narrowest last (UG573)
BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))


def _bram_column(depth: int, bits: int, used: int) -> tuple[float, int, int]:
    """(block RAMs, glue LUTs, glue FFs) of one column of ``bits``-wide block RAMs holding
    ``depth`` rows of ``used`` bits: whole RAMB36s of that aspect ratio down the rows, and the
    rest in a RAMB18 (half as deep, up to 36 bits) where it fits, else one more RAMB36. A RAMB36
    and a RAMB18 in one column need a read multiplexer: a LUT per bit and 3, and 2 FFs."""
    rows = next(d for d, w in BRAM36_SHAPES if w == bits)
    full, rest = divmod(depth, rows)
    if not rest:
        return float(full), 0, 0
    if rest <= rows // 2 and bits <= 36:
        return full + 0.5, (used + 3 if full else 0), (2 if full else 0)
    return float(full + 1), 0, 0


def block_ram(depth: int, width: int) -> Resources:
    """A ``depth`` x ``width`` memory in block RAM as Yosys maps it for UltraScale+: columns of
    RAMB36 aspect ratios (32K x 1 ... 512 x 72) side by side, the cheapest combination (fewest
    block RAMs, then fewest glue LUTs); a 36 Kb block counts 1, an 18 Kb half 0.5."""
    best: list[tuple[float, int, int]] = [(0.0, 0, 0)]
    for w in range(1, width + 1):
        options = []
        for _, bits in BRAM36_SHAPES:
            b, lut, ff = _bram_column(depth, bits, min(bits, w))
            rb, rlut, rff = best[max(0, w - bits)]
            options.append((b + rb, lut + rlut, ff + rff))
        best.append(min(options))
    b, lut, ff = best[width]
    return Resources(lut=lut, ff=ff, bram=b)


# LUT-RAM cells (rows, bits): RAM64M8 and RAM32M16, 8 LUTs each
LUTRAM_CELLS = ((64, 7), (32, 14))


def _lutram_cells(depth: int, width: int) -> tuple[int, int, float]:
    """(cells, banks, bits' worth of cells) of the LUT-RAM option with the fewest cells (then
    the fewest banks of rows)."""
    options = []
    for rows, bits in LUTRAM_CELLS:
        banks = math.ceil(depth / rows)
        options.append((banks * math.ceil(width / bits), banks, banks * width / bits))
    return min(options)


def _mux_luts(banks: int) -> int:
    """LUTs per bit of the read multiplexer over ``banks`` banks (a LUT6 selects one of four)."""
    if banks <= 1:
        return 0
    if banks <= 4:
        return 1
    if banks <= 8:
        return 2
    return math.ceil(banks / 4) + _mux_luts(math.ceil(banks / 4))


def lut_ram(depth: int, width: int) -> Resources:
    """A memory in LUT-RAM: its cells (8 LUTs each), a read multiplexer per bit and a write
    decoder per bank when it has several banks of rows, and the registered read port."""
    cells, banks, _ = _lutram_cells(depth, width)
    return Resources(lut=8 * cells + (width * _mux_luts(banks) + banks if banks > 1 else 0), ff=width)


# Yosys takes LUT-RAM for a memory without a RAM-style attribute while it needs under 7.5 cells'
# worth of bits per 18 Kb of the block RAM it would take: 128 x 25 (7.1) is LUT-RAM, 96 x 36 (7.7)
# a RAMB18 (benchmarks/synth: bram_spk)
LUTRAM_CELLS_PER_BRAM18 = 7.5


def free_ram(depth: int, width: int) -> Resources:
    """A memory without a RAM-style attribute (the spike RAMs): LUT-RAM or block RAM, as Yosys
    chooses."""
    blocks = block_ram(depth, width)
    _, _, worth = _lutram_cells(depth, width)
    return lut_ram(depth, width) if worth < LUTRAM_CELLS_PER_BRAM18 * 2 * blocks.bram else blocks


def potential_ram(frame_out: int) -> Resources:
    """One core's membrane potentials: ``frame_out`` 32-bit words (``ram_style = "block"``)."""
    return block_ram(frame_out, 32)


def spike_ram(num_steps: int, channels: int, frame: int) -> Resources:
    """A layer's output spikes: one ``frame``-bit row per channel and step."""
    return free_ram(num_steps * channels, frame)


def neural_core(layer: LayerHardware) -> Resources:
    """One neural core (without its potential RAM and weights)."""
    if layer.kind == "conv":
        w = math.isqrt(layer.frame_out)
        p = {"OUTPUT_FRAME_WIDTH": w}
        return Resources(_linear("conv_nc", "lut", p), _linear("conv_nc", "ff", p), 0.0, DSP_PER_CORE)
    p = {"LAYER_SIZE": layer.out_channels}
    return Resources(_linear("fc_nc", "lut", p), _linear("fc_nc", "ff", p), 0.0, DSP_PER_CORE)


def event_control(layer: LayerHardware) -> Resources:
    """The layer's event-control unit."""
    if layer.kind == "conv":
        # PENC_SIZE F >> 2 and SPARSE_SIZE F >> 1, as the RTL's top level builds them
        p = {"INPUT_FRAME_WIDTH": math.isqrt(layer.frame_in), "PENC_SIZE": max(1, layer.frame_in >> 2),
             "SPARSE_SIZE": max(1, layer.frame_in >> 1), "INPUT_CHANNELS": layer.in_channels,
             "OUTPUT_CHANNELS": layer.out_channels, "TIME_STEPS": layer.num_steps}
        return Resources(_linear("conv_ec", "lut", p), _linear("conv_ec", "ff", p))
    p = {"INPUT_CHANNELS": layer.in_channels, "INPUT_FRAME_SIZE": layer.frame_in,
         "TIME_STEPS": layer.num_steps, "LAYER_SIZE": layer.out_channels}
    return Resources(_linear("fc_ec", "lut", p), _linear("fc_ec", "ff", p))


def dense_core(frame: int, out_channels: int, num_steps: int) -> Resources:
    """The hybrid design's dense first-layer core (``conv_dense_nc.sv``: image, 27 shift chains,
    a column of 27 PEs with their weights, thresholding) at ``frame`` = FRAME_WIDTH^2 pixels,
    in the shape ``DENSE_SHAPE``: LUTs and FFs from the fitted formula; no block RAM or DSP
    (Yosys keeps the image, weights and biases as ROMs in LUTs; each PE's product, whose
    weight expression parses as shifts by sums, reduces to 9 LUTs once the weights are
    known). ``num_steps`` only widens a counter; it is in no regressor."""
    p = {"FRAME_WIDTH": math.sqrt(frame), "OUT_CHANNELS": out_channels, "TIME_STEPS": num_steps}
    return Resources(_linear("dense_nc", "lut", p), _linear("dense_nc", "ff", p))


def weight_memory(layer: LayerHardware) -> Resources:
    """Weights and biases of all cores, from their bits (the RTL's weight RAMs are empty).

    Words are ``weight_bits + 1`` wide as in the RTL. Conv: each core holds its
    ``ceil(C_out / E)`` filters in LUT-RAM (64 bits per LUT); fc: each core its neurons'
    rows in block RAM of the narrowest aspect ratio (the RTL's UltraRAM is not modelled)."""
    width = layer.weight_bits + 1
    per_out = (layer.in_channels * layer.kernel ** 2 if layer.kind == "conv"
               else layer.in_channels * layer.frame_in) + 1
    words = math.ceil(layer.out_channels / layer.cores) * per_out
    if layer.kind == "conv":
        return Resources(lut=layer.cores * math.ceil(words / 64) * width)
    return Resources(bram=layer.cores * narrow_bram(words, width))




def narrow_bram(depth: int, width: int) -> int:
    """RAMB36s of a read-only table in the narrowest aspect ratio (UG573) holding ``width``-bit words."""
    d, w = next(((d, w) for d, w in BRAM36_SHAPES if w >= width), BRAM36_SHAPES[-1])
    return math.ceil(depth / d) * math.ceil(width / w)


@dataclass
class LayerResources:
    cores: Resources
    potential_rams: Resources
    event_control: Resources
    spike_ram: Resources
    weights: Resources

    @property
    def total(self) -> Resources:
        return self.cores + self.potential_rams + self.event_control + self.spike_ram + self.weights


@dataclass
class AllocationResources:
    layers: list[LayerResources]
    input_ram: Resources = field(default_factory=Resources)  # the first layer's input spikes
    # what is estimated rather than synthesized: the conv event-control units' LUTs at widths
    # where only the probe (or nothing) was synthesized, one sentence per layer
    estimates: list[str] = field(default_factory=list)

    @property
    def total(self) -> Resources:
        t = self.input_ram
        for layer in self.layers:
            t = t + layer.total
        return t

    def fits(self, device: Device | str) -> bool:
        return fits(self.total, device)

    def to_dict(self) -> dict:
        return {"total": asdict(self.total), "input_ram": asdict(self.input_ram),
                "layers": [{k: asdict(getattr(layer, k))
                            for k in ("cores", "potential_rams", "event_control", "spike_ram", "weights")}
                           for layer in self.layers]}


def resources(layers: list[LayerHardware], input_channels: int, input_frame: int,
              names: list[str] | None = None) -> AllocationResources:
    """Resources of an allocation: every layer's cores, potential RAMs, event-control unit,
    spike RAM and weights, plus the input spike RAM (``input_channels`` rows of
    ``input_frame`` bits per step). ``names``: the layers' names in the estimates (default
    ``layer <i>``)."""
    out: list[LayerResources] = []
    estimates: list[str] = []
    for i, layer in enumerate(layers):
        width = math.isqrt(layer.frame_in)
        source = conv_ec_lut_source(width) if layer.kind == "conv" else "formula"
        if source in ("probe", "median"):
            how = ("its address split synthesized alone" if source == "probe"
                   else "the median of the synthesized widths (none at this width)")
            name = names[i] if names else f"layer {i}"
            estimates.append(f"{name} ({width}x{width} input): event-control LUTs estimated from {how}; "
                             f"the probe missed whole units by {PROBE_ERROR}")
        if layer.cores < 1:
            raise ValueError(f"a layer needs at least one neural core, got cores={layer.cores}")
        pot = potential_ram(layer.frame_out) * layer.cores if layer.kind == "conv" else Resources()
        conv = layer.kind == "conv"
        spikes = spike_ram(layer.num_steps, layer.out_channels if conv else 1,
                           layer.spike_frame if conv else layer.out_channels)
        out.append(LayerResources(neural_core(layer) * layer.cores, pot, event_control(layer), spikes,
                                  weight_memory(layer)))
    steps = layers[0].num_steps if layers else 1
    return AllocationResources(out, spike_ram(steps, input_channels, input_frame), estimates)


def with_dense_core(alloc: AllocationResources, dense: Resources) -> AllocationResources:
    """The hybrid design: the dense core as a first layer before ``alloc``'s sparse layers, whose
    input spike RAM holds the dense layer's output spikes."""
    first = LayerResources(dense, Resources(), Resources(), alloc.input_ram, Resources())
    note = (f"dense core: LUTs from a formula in the frame and output channels that misses its "
            f"syntheses by {DENSE_LUT_ERROR}")
    return AllocationResources([first] + alloc.layers, Resources(), [note] + alloc.estimates)


def room_left(device: Device | str, used: Resources) -> Device:
    """``device`` less ``used``: the budget left for the rest of an allocation."""
    d = catalog_device(device)
    return replace(d, name=f"{d.name} less the dense core", lut=math.floor(d.lut - used.lut),
                   ff=math.floor(d.ff - used.ff), bram=math.floor(d.bram - used.bram),
                   dsp=math.floor(d.dsp - used.dsp))


def catalog_device(name: Device | str) -> Device:
    """The catalogued device ``name`` (a Device passes through)."""
    if isinstance(name, Device):
        return name
    if name not in DEVICES:
        raise ValueError(f"device '{name}' is not in the catalog: {', '.join(DEVICES)}")
    return DEVICES[name]


def fits(r: Resources, device: Device | str) -> bool:
    """Whether ``r`` is within every capacity of ``device`` (a catalog name or a Device)."""
    d = catalog_device(device)
    return r.lut <= d.lut and r.ff <= d.ff and r.bram <= d.bram and r.dsp <= d.dsp


def smallest_fit(r: Resources) -> str | None:
    """The catalog's smallest device (by LUTs) that holds ``r``."""
    ok = [d for d in sorted(DEVICES.values(), key=lambda d: d.lut) if fits(r, d)]
    return ok[0].name if ok else None


@dataclass(frozen=True)
class PowerCoefficients:
    """Per-resource energies of an UltraScale+-class device. Every value is an assumption
    [A] of the order given by the vendor's power estimator at 12.5% toggle rate, not a
    measurement: fit them to a board with :func:`spiketune.hardware.power.calibrate` (its
    ``scale`` multiplies the dynamic terms, its ``static_w`` replaces the device's)."""

    lut_pj: float = 0.02  # one LUT (with its routing) in a cycle its block is active [A]
    ff_pj: float = 0.01  # one flip-flop in an active cycle [A]
    bram_pj: float = 5.0  # one 36 Kb block RAM access [A]
    dsp_pj: float = 2.0  # one DSP48E2 operation [A]
    clock_ff_pj: float = 0.002  # clock tree per flip-flop per cycle, active or not [A]


@dataclass(frozen=True)
class Activity:
    """Cycles one block is busy during an inference (from the cycle model), and its resources."""

    resources: Resources
    cycles: float


def busy_energy_j(block: Activity, k: PowerCoefficients = PowerCoefficients()) -> float:
    """Dynamic energy (J) of ``block``: its cycles x (LUT, FF, BRAM, DSP counts . their
    per-cycle energies)."""
    r = block.resources
    return 1e-12 * block.cycles * (r.lut * k.lut_pj + r.ff * k.ff_pj + r.bram * k.bram_pj + r.dsp * k.dsp_pj)


def clock_energy_j(ff: float, cycles: float, k: PowerCoefficients = PowerCoefficients()) -> float:
    """Clock-tree energy (J) of ``ff`` flip-flops over ``cycles`` clock cycles."""
    return 1e-12 * ff * k.clock_ff_pj * cycles


def power(total: Resources, blocks: list[Activity], latency_cycles: float, clock_hz: float,
          device: Device | str, k: PowerCoefficients = PowerCoefficients(),
          scale: float = 1.0) -> dict[str, float]:
    """Power and energy per inference from resources and activity.

    ``P = P_static(device) + P_clock + E_dyn / latency``, with ``P_clock`` = every
    flip-flop's clock load at ``clock_hz`` and ``E_dyn`` = sum over busy blocks of
    cycles x (LUT, FF, BRAM, DSP counts . their per-cycle energies), times ``scale``.
    Blocks are a layer's neural cores (busy in accumulate and sweep cycles; one group of
    cores at a time) and its event-control unit (busy in its scan cycles)."""
    d = catalog_device(device)
    latency_s = latency_cycles / clock_hz
    clock_w = scale * clock_energy_j(total.ff, clock_hz, k)
    e_dyn = scale * sum(busy_energy_j(b, k) for b in blocks)
    watts = d.static_w + clock_w + e_dyn / latency_s
    return {"static_w": d.static_w, "clock_w": clock_w, "dynamic_w": e_dyn / latency_s, "power_w": watts,
            "energy_per_inference_j": watts * latency_s, "fps_per_w": 1.0 / (watts * latency_s)}


def layers_from_specs(specs: list, cores: list[int], num_steps: int,
                      weight_bits: int = 4) -> list[LayerHardware]:
    """Plain layer descriptions from layer specs (anything with ``kind``, ``in_shape``,
    ``conv_shape``, ``out_shape``, ``out_channels``, ``kernel``: a trace's LayerSpec or a
    parsed architecture block) and the cores per layer."""
    if len(cores) != len(specs):
        raise ValueError(f"{len(cores)} core counts for {len(specs)} layers")
    out = []
    for s, e in zip(specs, cores, strict=True):
        if s.kind == "conv":
            out.append(LayerHardware("conv", e, s.in_shape[0], s.out_channels, math.prod(s.in_shape[1:]),
                                     math.prod(s.conv_shape[1:]), math.prod(s.out_shape[1:]), num_steps,
                                     s.kernel, weight_bits))
        else:
            flat = len(s.in_shape) != 3
            out.append(LayerHardware("fc", e, 1 if flat else s.in_shape[0], s.out_channels,
                                     s.in_shape[0] if flat else math.prod(s.in_shape[1:]), 1, 1,
                                     num_steps, 1, weight_bits))
    return out


def allocation(specs: list, cores: list[int], num_steps: int, input_shape: tuple[int, ...],
               weight_bits: int = 4, names: list[str] | None = None) -> AllocationResources:
    """Resources of a network (layer specs, its input shape) with ``cores`` per layer."""
    frame = math.prod(input_shape[1:]) if len(input_shape) == 3 else input_shape[0]
    channels = input_shape[0] if len(input_shape) == 3 else 1
    return resources(layers_from_specs(specs, cores, num_steps, weight_bits), channels, frame, names)


def allocation_fits(specs: list, cores: list[int], num_steps: int, input_shape: tuple[int, ...],
                    device: Device | str, weight_bits: int = 4) -> bool:
    """Whether a network with ``cores`` per layer fits ``device``: the constraint an allocator
    checks before buying more cores when its budget is a device."""
    return allocation(specs, cores, num_steps, input_shape, weight_bits).fits(device)
