"""Synthesize the SNN-DSE accelerator's components with Yosys over a parameter grid.

Usage::

    python benchmarks/synth/synth.py RTL_DIR [--only conv_nc,...]   # appends to results.csv
    python benchmarks/synth/synth.py --fit                          # writes coefficients.json

RTL_DIR holds ``Hardware/sparse_synth_int`` of github.com/githubofaliyev/SNN-DSE, branch
``DATE25`` (e.g. ``git -C SNN-DSE archive DATE25 Hardware/sparse_synth_int | tar x``).
The files are copied to a temporary folder and edited there, mechanically (EDITS below);
each component is synthesized alone (``synth_xilinx -family xcup -noiopad``, Kintex/Virtex
UltraScale+) and its cells counted: LUT = LUT1-6 + LUT-RAM/SRL cells in LUT equivalents,
FF = flip-flops + latches, BRAM = RAMB36 + RAMB18/2, DSP = DSP48E2.

Edits (none changes a cycle or a storage element):

1. ``parameter string NAME`` -> ``parameter NAME`` (Yosys 0.23 has no ``string`` type).
2. ``always_comb`` -> ``always @*``: several blocks do not assign every output in every
   branch; Yosys rejects latches in ``always_comb``, Vivado infers them. ``always @*``
   gives the same latches.
3. ``fc_ec.sv``: the port ``logic en_accum, en_activ`` has no direction; made ``output``
   (they drive the neural cores).
4. ``conv_ec.sv``: the unpacked-array output ports ``affect_neur_addr_y/x[EC_SIZE-1:0]``
   (every element is the same wire) become one scalar port each; the EC_SIZE copies are
   wiring only and cost nothing.
5. ``bram_spk.sv``: the ``initial`` block that fills the RAM from a text file with
   ``$fopen``/``$fscanf`` (simulation file I/O, unknown to Yosys) is removed; the layer
   writes every row before reading it, so the contents do not change the memory built.
6. ``'{default:0}`` assignment patterns (not parsed by Yosys 0.23): on the unpacked
   ``spk_addr_array`` of ``conv_ec.sv`` a for loop zeroing every entry; on the packed
   vector ``concat_spk_train`` of ``fc_ec.sv`` the literal 0. Likewise the whole-array copy
   ``spk_addr_array1 <= spk_addr_array`` (conv_ec) becomes a for loop over the entries.
7. ``penc`` (in ``conv_ec.sv``): the priority encoder's ascending loop that stops at the
   first set bit with ``break`` (unsupported) becomes a descending loop without it; the
   lowest set bit wins in both, so it is the same function.
8. ``fc_nc.sv`` and the dense core's files: the real-valued defaults of ``w_sfactor,
   b_sfactor, w_zpt, b_zpt`` become the integer 1 the published top levels pass (``b_zpt`` is
   subtracted from a weight); the real literal ``0.0`` in the dense core's resets becomes 0.

The hybrid design's dense core (``dense_nc``: ``conv_dense_nc.sv``, ``pe_array.sv``, ``pe.sv``,
``thresholding.sv``, the same files in ``hybrid_synth_int`` and ``sparse_synth_int``):

9. Its image (``conv_dense_nc.sv``), each PE's weights (``pe.sv``) and the biases
   (``thresholding.sv``) are read from text files by ``$fopen``/``$fscanf`` under names built
   with ``$sformatf``, neither known to Yosys; never written, they are ROMs whose contents
   synthesis keeps. Each becomes an ``initial`` loop filling a pseudo-random 32-bit word per
   entry (``FILL``), a seed per memory (``SEED`` parameters replace the file names): random
   words stand for trained weights and for the image, which ``Scripts/Extract.py`` writes as
   the dataset's float values into the 32-bit pixels. A real image (zeros, fewer distinct
   words) can take fewer LUTs.
10. The unpacked-array ports ``col0_in0``, ``d_out`` (``pe_array``) and ``spk_arr`` become
    flat vectors with ``[32*i +: 32]`` part-selects: wiring only.

Synthesized as written: ``pe.sv``'s product ``(w - w_zpt<<30 + w<<28 + w - w_zpt<<24) * in0``
parses as shifts by sums, ``((w - w_zpt) << (30 + w) << (28 + w - w_zpt)) << 24``: 8 bits of
each factor reach the 32-bit result, and with the weights known each PE's product reduces to
9 LUTs (no DSP).

Probes (not part of the RTL):

* ``divmod``: the address split ``spk_addr % INPUT_FRAME_WIDTH`` and
  ``spk_addr / INPUT_FRAME_WIDTH`` alone, results truncated and registered (DIVMOD below).
  At a power-of-two width both are bit slices; at any other width Yosys builds a 32-bit
  divider (the untyped parameter is 32 bits wide) whose carry chains, mapped before ABC,
  survive constant propagation: ~5,000-6,400 LUTs. With ``synth_xilinx -nocarry`` (ABC sees
  the whole divider) W = 6 maps to 5 LUTs.
* ``split``: the unit's own split (``split_probe``): ``conv_ec.sv``'s three assigns that use
  it, verbatim, with the addressed list entry as an input of the same width. Before ABC it is
  the unit's split cell for cell (one ``$div`` and one ``$mod``, a ``clog2(W*W)``-bit dividend,
  the constant W, 32-bit results); after ABC it differs from the split inside the whole unit
  by -54% to +28% (ABC maps the glue between the carry chains differently in context, and
  the whole unit pays more than its split at such widths: see ``conv_ec_slices``).
* ``conv_ec_slices``: the whole unit with the split by W replaced by the split by 16 (bit
  slices, ``slices_probe``): what the unit costs at a width without its divider. At 14x14
  it has 4,770 LUTs where the power-of-two formula gives 916: with PENC_SIZE = F/4 not a
  power of two, the chunk addressing ``chunk_index*PENC_SIZE + i`` needs adders and
  compares instead of shifts.

Not synthesized: the weight memories (``dram_wght``/``uram_wght`` have no initial contents
or write port in the public code, so synthesis removes them); their size is counted
analytically in spiketune.hardware.resources.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.csv"
COEFFS = HERE / "coefficients.json"
FIELDS = ["component", "params", "lut", "ff", "bram", "dsp", "seconds"]


def clog2(n: int) -> int:
    return max(1, math.ceil(math.log2(n)))


def edit(src: Path, dst: Path) -> None:
    """Copy the RTL and apply the mechanical edits listed in the module docstring."""
    for f in src.glob("*.sv"):
        s = f.read_text()
        s = s.replace("parameter string ", "parameter ")
        s = re.sub(r"\balways_comb\b", "always @*", s)
        if f.name == "fc_ec.sv":
            s = re.sub(r"^(\s*)logic en_accum, en_activ,", r"\1output logic en_accum, en_activ,", s, flags=re.MULTILINE)
        if f.name == "conv_ec.sv":
            s = s.replace("affect_neur_addr_y[EC_SIZE-1:0], // neuron address", "affect_neur_addr_y, // neuron address")
            s = s.replace("affect_neur_addr_x[EC_SIZE-1:0],", "affect_neur_addr_x,")
            s = re.sub(r"generate\s+genvar i;\s+for \(i = 0; i < EC_SIZE; i = i \+ 1\) begin\s+"
                       r"assign affect_neur_addr_y\[i\] = affect_neur_addr_y_tmp;\s+"
                       r"assign affect_neur_addr_x\[i\] = affect_neur_addr_x_tmp;\s+end\s+endgenerate",
                       "assign affect_neur_addr_y = affect_neur_addr_y_tmp;\n"
                       "  assign affect_neur_addr_x = affect_neur_addr_x_tmp;", s)
        s = s.replace("spk_addr_array = '{default:0};",
                      "for (int k = 0; k < SPARSE_SIZE; k = k + 1) spk_addr_array[k] = 0;")
        s = s.replace("concat_spk_train = '{default:0};", "concat_spk_train = 0;")
        s = s.replace("spk_addr_array1 <= spk_addr_array;",
                      "for (int k = 0; k < SPARSE_SIZE; k = k + 1) spk_addr_array1[k] <= spk_addr_array[k];")
        s = re.sub(r"for\(i=0; i<PENC_SIZE; i=i\+1\) begin\s*if\(sparse_in\[i\]\) begin\s*"
                   r"penc_spk_addr = i;\s*penc_done = 0;\s*break;\s*end\s*end",
                   "for(i=PENC_SIZE-1; i>=0; i=i-1) begin\n      if(sparse_in[i]) begin\n"
                   "        penc_spk_addr = i;\n        penc_done = 0;\n      end\n    end", s)
        if f.name == "bram_spk.sv":
            s = re.sub(r"integer file;.*?(?=\s*// Write Operation)", "", s, flags=re.DOTALL)
        if f.name in ("fc_nc.sv",) + DENSE_FILES:
            s = re.sub(r"parameter (w_sfactor|b_sfactor|w_zpt|b_zpt) = [0-9.]+", r"parameter \1 = 1", s)
        if f.name in DENSE_FILES:
            s = edit_dense(f.name, s)
        (dst / f.name).write_text(s)


DENSE_FILES = ("pe.sv", "pe_array.sv", "thresholding.sv", "conv_dense_nc.sv")
# a pseudo-random 32-bit word per entry k of a memory, different for each SEED (multiplicative hashing)
FILL = "((32'h9E3779B9 * (SEED*1000 + k + 1)) ^ (32'h7F4A7C15 * (k + SEED + 1)))"
FILE_LOAD = r"integer file;\s*initial begin.*?\$fclose\(file\);\s*end(?:\s*end)?"


def edit_dense(name: str, s: str) -> str:
    """The hybrid design's dense core (edits 8-10 of the module docstring)."""
    s = s.replace("= 0.0;", "= 0;")
    if name == "pe.sv":
        s = s.replace('parameter WEIGHT_FILENAME = "weight_file_0_3.txt"', "parameter SEED = 0")
        return re.sub(FILE_LOAD, "initial for (int k = 0; k < WEIGHT_SIZE; k++) weight_bias[k] = "
                      + FILL.replace("SEED", "(SEED+10)") + ";", s, flags=re.DOTALL)
    if name == "thresholding.sv":
        s = s.replace('parameter BIAS_FILENAME = "weight_file_0_3.txt"', "parameter SEED = 0")
        return re.sub(FILE_LOAD, "initial for (int k = 0; k < SIZE; k++) bias[k] = "
                      + FILL.replace("SEED", "(SEED+100)") + ";", s, flags=re.DOTALL)
    if name == "pe_array.sv":
        s = s.replace("input logic [31:0] col0_in0[PE_ARRAY_COL_SIZE-1:0],",
                      "input logic [PE_ARRAY_COL_SIZE*32-1:0] col0_in0,")
        s = s.replace("output logic [31:0] d_out[PE_ARRAY_ROW_SIZE-1:0]",
                      "output logic [PE_ARRAY_ROW_SIZE*32-1:0] d_out")
        s = s.replace(".in0(col0_in0[i])", ".in0(col0_in0[32*i +: 32])")
        s = s.replace("assign d_out[0] =", "assign d_out[31:0] =")
        return re.sub(r'\.WEIGHT_FILENAME\(\$sformatf\([^)]*\)\)', ".SEED(i)", s)
    # conv_dense_nc.sv: the image, a 32-bit word per pixel
    s = re.sub(FILE_LOAD, "initial for (int k = 0; k < FRAME_WIDTH*FRAME_WIDTH; k++) begin\n"
               + "".join(f"      fmap{c}[k] = {FILL.replace('SEED', str(c + 1))};\n" for c in range(3))
               + "    end", s, flags=re.DOTALL)
    s = s.replace("output logic [FRAME_WIDTH*FRAME_WIDTH-1:0] spk_arr [PE_ARRAY_ROW_SIZE-1:0]",
                  "output logic [PE_ARRAY_ROW_SIZE*FRAME_WIDTH*FRAME_WIDTH-1:0] spk_arr")
    s = s.replace("logic [31:0] col0_in0[PE_ARRAY_COL_SIZE-1:0];",
                  "logic [PE_ARRAY_COL_SIZE*32-1:0] col0_in0;")
    s = s.replace("logic [31:0] d_out[PE_ARRAY_ROW_SIZE-1:0], dout0, dout1;",
                  "logic [PE_ARRAY_ROW_SIZE*32-1:0] d_out; logic [31:0] dout0, dout1;")
    s = re.sub(r"assign col0_in0\[(\d+)\]", r"assign col0_in0[32*\1 +: 32]", s)
    s = s.replace("assign dout0 = d_out[0];", "assign dout0 = d_out[31:0];")
    s = s.replace(".spk_arr(spk_arr[0])", ".spk_arr(spk_arr[FRAME_WIDTH*FRAME_WIDTH-1:0])")
    s = re.sub(r'\.model_dir\(\$sformatf\([^)]*\)\)', '.model_dir("")', s)
    return re.sub(r'\.BIAS_FILENAME\(\$sformatf\([^)]*\)\)', ".SEED(0)", s)


DIVMOD = """module divmod #(parameter W = 6, parameter F = W*W)
  (input clk, input [$clog2(F)-1:0] a, output logic [$clog2(W)-1:0] q, r);
  always_ff @(posedge clk) begin q <= a / W; r <= a % W; end
endmodule
"""


def split_probe(conv_ec: str) -> str:
    """Probe ``split``: ``conv_ec.sv``'s own address split, its three ``assign`` statements
    copied verbatim with the addressed entry ``spk_addr_array[spk_phase]`` as an input port
    of the same width, and the same output widths."""
    assigns = re.findall(r"assign (?:neur_addr_invalid|affect_neur_addr_[xy]_tmp) =.*?;", conv_ec, re.DOTALL)
    if len(assigns) != 3:
        raise ValueError(f"conv_ec.sv: expected the 3 address-split assigns, found {len(assigns)}")
    body = "\n".join(a.replace("spk_addr_array[spk_phase]", "spk_addr") for a in assigns)
    return ("module split #(parameter INPUT_FRAME_WIDTH = 6, parameter KERNEL_SIZE = 3,\n"
            "  parameter INPUT_FRAME_SIZE = INPUT_FRAME_WIDTH*INPUT_FRAME_WIDTH)\n"
            "  (input [$clog2(INPUT_FRAME_SIZE)-1:0] spk_addr, input [$clog2(KERNEL_SIZE)+1:0] filter_phase,\n"
            "   output logic [$clog2(INPUT_FRAME_WIDTH)-1:0] affect_neur_addr_x_tmp, affect_neur_addr_y_tmp,\n"
            f"   output logic neur_addr_invalid);\n{body}\nendmodule\n")


# the split probe at every width a conv layer's input meets in practice (not 2^k: bit slices)
SPLIT_WIDTHS = tuple(w for w in range(3, 65) if w & (w - 1)) + (8,)
CONV_EC_HELD_OUT = (13, 15, 17, 28, 9, 11, 3, 20)  # whole units at widths in no fit
# whole units with other channels, time steps and cores than the grid's 32/64/16/8, at widths whose
# LUTs are otherwise from the grid: (width, input channels, output channels, time steps, cores) of
# real layers (the default digits network's two convs, Study A's second conv on Fashion-MNIST and
# SVHN, Study B's VGG-9 on CIFAR-10 and on Fashion-MNIST)
CONV_EC_OTHER = ((4, 16, 32, 8, 32), (8, 1, 16, 8, 16), (13, 32, 32, 25, 16), (14, 64, 28, 20, 28),
                 (15, 32, 32, 25, 8), (16, 48, 54, 20, 54))
GRID_CHANNELS = dict(TIME_STEPS=16, INPUT_CHANNELS=32, OUTPUT_CHANNELS=64, EC_SIZE=8)
# whole units at power-of-two widths with other channels and time steps, in the fit: they fix the
# LUTs and FFs of the unit's channel and time-step counters (same fields as CONV_EC_OTHER)
CONV_EC_COUNTERS = ((4, 2, 8, 4, 8), (4, 128, 256, 64, 8), (8, 8, 4, 32, 8))


def slices_probe(conv_ec: str) -> str:
    """Probe ``conv_ec_slices``: ``conv_ec.sv`` with ``% INPUT_FRAME_WIDTH`` and ``/ INPUT_FRAME_WIDTH``
    replaced by ``% 16`` and ``/ 16`` (bit slices) and the module renamed."""
    s = conv_ec.replace("%INPUT_FRAME_WIDTH", "%16").replace("/INPUT_FRAME_WIDTH", "/16")
    return s.replace("module conv_ec#", "module conv_ec_slices#")


def grid() -> list[tuple[str, str, dict[str, int]]]:
    """(component, file, parameters) of every synthesis run."""
    runs = []
    for w in (4, 6, 8, 10, 12, 16, 20, 24, 28, 32):
        f = w * w
        runs.append(("conv_nc", "conv_nc.sv", dict(INPUT_FRAME_WIDTH=w, OUTPUT_FRAME_WIDTH=w,
                                                   BRAM_ADDR_WIDTH=clog2(f), IN_CHANNELS=32, OUT_CHANNELS=64)))
        runs.append(("bram_pot", "bram_pot.sv", dict(RAM_DEPTH=f)))
    for bits, t in ((64, 4), (128, 4), (256, 4), (128, 8)):  # fc_ec reads conv_ec.sv's penc
        runs.append(("fc_ec", "conv_ec.sv fc_ec.sv", dict(INPUT_FRAME_SIZE=bits // 16, INPUT_CHANNELS=16,
                                                          LAYER_SIZE=256, EC_SIZE=16, PENC_SIZE=200,
                                                          TIME_STEPS=t)))
    for n in (10, 32, 64, 128, 256, 1024):
        runs.append(("fc_nc", "fc_nc.sv", dict(IN_CHANNELS=16, INPUT_FRAME_SIZE=64, LAYER_SIZE=n,
                                               BRAM_ADDR_WIDTH=clog2(16 * 64 * n))))
    for depth, width in ((64, 64), (128, 256), (256, 784), (512, 1024), (400, 196)) + BRAM_EDGES + BRAM_DEEP + BRAM_SMALL:
        runs.append(("bram_spk", "bram_spk.sv", dict(RAM_DEPTH=depth, RAM_WIDTH=width)))
    for depth in (512, 513, 1024, 1025):
        runs.append(("bram_pot", "bram_pot.sv", dict(RAM_DEPTH=depth)))
    for w in (5, 6, 7, 8, 10, 12, 14, 28):
        runs.append(("divmod", "divmod.sv", dict(W=w)))
    for w in SPLIT_WIDTHS:
        runs.append(("split", "split.sv", dict(INPUT_FRAME_WIDTH=w)))
    conv_ec = [(w, GRID_CHANNELS) for w in (4, 6, 8, 5, 7, 16, 12, 10, 14) + CONV_EC_HELD_OUT]
    conv_ec += [(w, dict(TIME_STEPS=t, INPUT_CHANNELS=ic, OUTPUT_CHANNELS=oc, EC_SIZE=ec))
                for w, ic, oc, t, ec in CONV_EC_COUNTERS + CONV_EC_OTHER]
    for w, channels in conv_ec:
        f = w * w
        runs.append(("conv_ec", "conv_ec.sv", dict(INPUT_FRAME_WIDTH=w, OUTPUT_FRAME_WIDTH=w, **channels,
                                                   PENC_SIZE=f >> 2, SPARSE_SIZE=f >> 1)))
    for w, oc, t in DENSE_GRID + DENSE_HELD_OUT:
        runs.append(("dense_nc", " ".join(DENSE_FILES), dict(FRAME_WIDTH=w, OUT_CHANNELS=oc, TIME_STEPS=t)))
    runs.append(("conv_ec_slices", "conv_ec_slices.sv", dict(
        INPUT_FRAME_WIDTH=14, OUTPUT_FRAME_WIDTH=14, TIME_STEPS=16, INPUT_CHANNELS=32, OUTPUT_CHANNELS=64,
        EC_SIZE=8, PENC_SIZE=49, SPARSE_SIZE=98)))
    return runs


# the hybrid design's dense core (FRAME_WIDTH, OUT_CHANNELS, TIME_STEPS; 3 input channels, 3x3, one row
# of PEs as the RTL builds it): frame widths, then output channels and steps at one width
DENSE_GRID = ((4, 16, 16), (6, 16, 16), (8, 16, 16), (12, 16, 16), (16, 16, 16), (8, 2, 16), (8, 64, 16),
              (8, 16, 4), (8, 16, 64), (24, 16, 16), (8, 4, 16), (8, 8, 16), (8, 32, 16), (6, 4, 16),
              (12, 64, 16), (12, 4, 16), (8, 128, 16), (5, 16, 16), (7, 16, 16), (9, 16, 16),
              (10, 16, 16), (32, 32, 18))
# held out of the fit: other sizes (Study A's first layer on SVHN, 32x32x3 -> 32 channels at T = 18, was
# held out until the form it tested missed it; see docs/experiments.md)
DENSE_HELD_OUT = ((10, 32, 25), (14, 8, 8), (7, 4, 10), (20, 32, 18))


# spike RAMs at the edges of the block-RAM shapes: 36 and 72 bits wide and one more, 512 and 1,024
# rows and one more, and the LUT-RAM limit of 64 rows
BRAM_EDGES = ((512, 36), (513, 36), (1024, 36), (1025, 36), (512, 37), (512, 72), (513, 73), (512, 108),
              (65, 8), (64, 37))
# deep spike RAMs of real layers (T x C rows of the pooled frame's bits: VGG-9's last conv, 20 x 140
# rows of 4x4; 25 x 64 rows of 5x5) and the other RAMB36 aspect ratios
BRAM_DEEP = ((2800, 16), (1600, 25), (1536, 36), (2048, 36), (2048, 18), (4096, 9), (8192, 4), (1025, 18))
# small spike RAMs of real layers (the digits network: 8 x 16 rows of 16 bits, 8 x 32 rows of 4) where
# Yosys chooses between LUT-RAM and a block RAM
BRAM_SMALL = ((128, 16), (256, 4), (128, 8), (256, 8), (512, 8), (256, 16), (128, 25), (128, 64), (96, 36),
              (200, 49), (512, 2), (1024, 1))

LUT_EQUIV = {"RAM32M": 4, "RAM32M16": 8, "RAM64M": 4, "RAM64M8": 8, "RAM32X1D": 2, "RAM64X1D": 2,
             "RAM128X1D": 4, "RAM256X1D": 8, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2,
             "RAM256X1S": 4, "SRL16E": 1, "SRLC32E": 1}


def count(stat: str) -> dict[str, float]:
    """Resources from the cell list of Yosys's last ``stat``."""
    cells = dict((m[1], int(m[2])) for m in re.finditer(r"^\s+(\w+)\s+(\d+)$", stat.split("=== ")[-1], re.MULTILINE))
    lut = sum(v for k, v in cells.items() if re.fullmatch(r"LUT[1-6]", k))
    lut += sum(v * LUT_EQUIV[k] for k, v in cells.items() if k in LUT_EQUIV)
    ff = sum(v for k, v in cells.items() if re.fullmatch(r"FD[RSCP]E|LD[CP]E", k))
    bram = cells.get("RAMB36E2", 0) + cells.get("RAMB18E2", 0) / 2
    return {"lut": lut, "ff": ff, "bram": bram, "dsp": cells.get("DSP48E2", 0)}


def synthesize(rtl: Path, component: str, file: str, params: dict[str, int]) -> dict[str, float]:
    sets = " ".join(f"-set {k} {v}" for k, v in params.items())
    script = (f"read_verilog -sv {file}; chparam {sets} {component}; "
              f"synth_xilinx -family xcup -noiopad -top {component}; stat")
    t0 = time.time()
    out = subprocess.run(["nice", "-n", "10", "yosys", "-q", "-p", script, "-l", "log.txt"], cwd=rtl,
                         capture_output=True, text=True)
    log = (rtl / "log.txt").read_text()
    if out.returncode:
        raise RuntimeError(f"{component} {params}: {out.stderr.strip() or log[-500:]}")
    return {**count(log), "seconds": round(time.time() - t0, 1)}


def run(rtl_dir: Path, only: set[str] | None) -> None:
    done = set()
    if RESULTS.exists():
        done = {(r["component"], r["params"]) for r in csv.DictReader(RESULTS.open())}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        edit(rtl_dir, work)
        (work / "divmod.sv").write_text(DIVMOD)
        (work / "split.sv").write_text(split_probe((work / "conv_ec.sv").read_text()))
        (work / "conv_ec_slices.sv").write_text(slices_probe((work / "conv_ec.sv").read_text()))
        new = not RESULTS.exists()
        with RESULTS.open("a", newline="") as f:
            w = csv.DictWriter(f, FIELDS)
            if new:
                w.writeheader()
            for comp, file, params in grid():
                key = json.dumps(params, sort_keys=True)
                if (only and comp not in only) or (comp, key) in done:
                    continue
                r = synthesize(work, comp, file, params)
                w.writerow({"component": comp, "params": key, **r})
                f.flush()
                print(comp, key, r, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rtl", nargs="?", type=Path)
    ap.add_argument("--only", default="")
    ap.add_argument("--fit", action="store_true")
    a = ap.parse_args()
    if a.fit:
        from fit import fit
        fit(RESULTS, COEFFS)
    elif a.rtl is None or shutil.which("yosys") is None:
        sys.exit("need RTL_DIR and yosys on PATH")
    else:
        run(a.rtl, set(a.only.split(",")) - {""} or None)


if __name__ == "__main__":
    main()
