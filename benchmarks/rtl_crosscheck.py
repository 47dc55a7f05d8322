"""Cross-check spiketune's cycle model against the accelerator's RTL.

Usage::

    python benchmarks/rtl_crosscheck.py PATH/TO/SNN-DSE [--cases 40] [--seed 0] [--write tests/data/rtl_cycles.json]

Needs Icarus Verilog (``apt-get install iverilog``). The event-control units
``Hardware/conv_ec.sv`` and ``Hardware/fc_ec.sv`` are read from the given checkout,
copied to a temporary folder and given four mechanical, behaviour-preserving edits
that Icarus needs (it lacks ``break``, ``'{default:0}`` array literals, whole-array
copies and a port without direction); nothing of the RTL is stored in this project.
Our own testbenches (``benchmarks/rtl/*.sv``) feed random spike frames, count clock
cycles to the done flag and to the end of the last neuron sweep, and the script
compares them with ``spiketune.hardware.cycles`` in ``rtl`` mode.

Icarus 11 cannot elaborate the FC unit for T = 1; the FC unit never finishes when
EC_SIZE = 1 and the layer size is a power of two (its neuron counter overflows), or when
its input has fewer than 8 bits (the chunk counter overflows): those cases are not
generated.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from spiketune.hardware.hybrid.dense import dense_cycles  # noqa: E402
from spiketune.hardware.snn_dse.cycles import conv_cycles, counter_bits, fc_cycles  # noqa: E402

PENC_LOOP = re.compile(r"for\(i=0; i<PENC_SIZE; i=i\+1\) begin\s*if\(sparse_in\[i\]\) begin\s*"
                       r"penc_spk_addr = i;\s*penc_done = 0;\s*break;\s*end\s*end")
PENC_DOWN = ("penc_spk_addr = 0;\n    for(i=PENC_SIZE-1; i>=0; i=i-1) begin\n      if(sparse_in[i]) begin\n"
             "        penc_spk_addr = i;\n        penc_done = 0;\n      end\n    end")


def port(rtl: Path, work: Path) -> list[Path]:
    """Copy and minimally adapt the two event-control units for Icarus Verilog."""
    conv = (rtl / "Hardware" / "conv_ec.sv").read_text()
    fc = (rtl / "Hardware" / "fc_ec.sv").read_text()
    # priority encoder: scanning downwards without break yields the same lowest set bit
    conv, n = PENC_LOOP.subn(PENC_DOWN, conv)
    assert n == 1, "priority encoder loop not found in conv_ec.sv"
    conv = conv.replace("spk_addr_array = '{default:0};",
                        "for (int z = 0; z < SPARSE_SIZE; z = z + 1) spk_addr_array[z] = 0;")
    conv = conv.replace("spk_addr_array1 <= spk_addr_array;",
                        "for (int z = 0; z < SPARSE_SIZE; z = z + 1) spk_addr_array1[z] <= spk_addr_array[z];")
    fc = PENC_LOOP.sub(PENC_DOWN, fc)
    fc = fc.replace("concat_spk_train = '{default:0};", "concat_spk_train = '0;")
    fc = re.sub(r"^(\s*)logic en_accum, en_activ,", r"\1output logic en_accum, en_activ,", fc, flags=re.M)
    out = [work / "conv_ec.sv", work / "fc_ec.sv"]
    out[0].write_text(conv)
    out[1].write_text(fc)
    return out


def port_dense(rtl: Path, work: Path) -> Path:
    """Copy the hybrid design's dense core (``Hardware/hybrid_sim/conv_dense_nc.sv``) for Icarus.

    Its done flag comes from one state machine that reads no data, so the copy keeps that
    machine and drops what Icarus 11 cannot elaborate and the flag does not depend on: the
    image loader ($fscanf into shortreal arrays), the PE array and the thresholding unit
    (unpacked real-array ports); ``shortreal`` becomes ``real``."""
    src = (rtl / "Hardware" / "hybrid_sim" / "conv_dense_nc.sv").read_text().replace("shortreal", "real")
    i = src.index("initial begin")
    src = src[:i] + src[src.index("end", src.index("$fclose(file);", i)) + 3:]
    i = src.index("pe_array #(")
    src = src[:i] + src[src.index(");", src.index("pe_array0(", i)) + 2:]
    i = src.rindex("thresholding #(")
    src = src[:i] + src[src.index(");", src.index("fm0(", i)) + 2:]
    out = work / "conv_dense_nc.sv"
    out.write_text(src)
    return out


def dense_case(work: Path, src: Path, rng: np.random.Generator) -> dict:
    oc = int(rng.choice([2, 4, 6, 8, 16, 32]))
    rows = int(rng.choice([r for r in (1, 2, 4, 8) if oc % r == 0]))
    p = dict(T=int(rng.choice([1, 2, 3, 5, 10, 25])), IC=3, OC=oc, W=int(rng.integers(4, 33)), R=rows)
    res = _sim(work, "dense_tb", p, [HERE / "rtl" / "dense_tb.sv", src])
    model = dense_cycles(p["T"], p["IC"], p["OC"], p["W"] ** 2, 3, p["R"])
    return {"kind": "dense", **p, "rtl": {"done": int(res["done"])}, "model": {"done": model}}


def _frames(path: Path, frames: np.ndarray) -> None:
    with path.open("w") as f:
        for row in frames.reshape(-1, frames.shape[-1]):
            f.write("".join("1" if b else "0" for b in row[::-1]) + "\n")


def _sim(work: Path, top: str, params: dict, sources: list[Path]) -> dict:
    exe = work / f"{top}.vvp"
    cmd = ["iverilog", "-g2012", "-s", top, "-o", str(exe)] + \
        [f"-P{top}.{k}={v}" for k, v in params.items()] + [str(s) for s in sources]
    subprocess.run(cmd, check=True, capture_output=True, cwd=work)
    out = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, cwd=work,
                         timeout=600).stdout
    line = next((l for l in out.splitlines() if l.startswith("CYCLES")), None)
    if line is None:
        raise RuntimeError(f"{top} {params}: no result ({out[-200:]})")
    return {k: v for k, v in (kv.split("=") for kv in line.split()[1:])}


def conv_params(rng: np.random.Generator, large: bool, published: bool) -> dict:
    """Random conv layer: small, or realistic (16..32 pixels wide, T up to 25)."""
    if large:
        w, t = int(rng.choice([16, 28, 32])), int(rng.choice([5, 10, 25]))
        ic, oc = int(rng.integers(1, 4)), int(rng.integers(2, 9))
    else:
        w, t = int(rng.integers(4, 10)), int(rng.choice([1, 2, 3, 4, 6, 25]))
        ic, oc = int(rng.integers(1, 5)), int(rng.integers(1, 7))
    f = w * w
    return dict(T=t, IC=ic, OC=oc, W=w, E=int(rng.integers(1, oc + 1)),
                P=f >> 2 if published else math.ceil(f / 4), S=f >> 1 if published else f)


def conv_model(case: dict) -> dict:
    w = case["W"]
    counts = np.array([case["counts"]])
    c = conv_cycles(counts, case["OC"], case["E"], w * w, (w - 2) ** 2, 3, case["P"],
                    counter_bits(case["S"]), mode="rtl")
    # testbench: 'idle' is sampled from the cycle after the done flag on
    return {"done": int(c.latency[0]), "idle": int(max(c.latency[0] + 1, c.end[0])),
            "accum": int(c.accumulate[0]), "activ": int(c.activations[0]) * ((w - 2) ** 2 - 2)}


def conv_case(work: Path, srcs: list[Path], p: dict, density: float, rng: np.random.Generator) -> dict:
    w = p["W"]
    frames = rng.random((p["T"], p["IC"], w * w)) < density
    _frames(work / "frames.mem", frames)
    res = _sim(work, "conv_tb", dict(p, OW=w - 2), [HERE / "rtl" / "conv_tb.sv", srcs[0]])
    case = {"kind": "conv", **p, "density": density, "counts": frames.sum(-1).tolist(),
            "rtl": {k: int(res[k]) for k in ("done", "idle", "accum", "activ")}}
    return {**case, "model": conv_model(case)}


def fc_params(rng: np.random.Generator, large: bool, published: bool) -> dict:
    t, ic = int(rng.choice([2, 3, 4, 10, 25] if large else [2, 3, 4])), int(rng.integers(1, 4))
    f = int(rng.integers(32, 300)) if large else int(rng.integers(math.ceil(8 / ic), 20))
    n = int(rng.integers(2, 65 if large else 12))
    e = int(rng.integers(1, n + 1))
    if e == 1 and n & (n - 1) == 0:  # the RTL's neuron counter overflows: never finishes
        e = 2
    return dict(T=t, IC=ic, F=f, N=n, E=e, P=200 if published else math.ceil(ic * f / 4))


def fc_model(case: dict) -> dict:
    c = fc_cycles(np.array([case["counts"]]), case["N"], case["E"], case["IC"], case["F"],
                  case["P"], mode="rtl")
    return {"done": int(c.latency[0])}


def fc_case(work: Path, srcs: list[Path], p: dict, density: float, rng: np.random.Generator) -> dict:
    frames = rng.random((p["T"], p["IC"], p["F"])) < density
    _frames(work / "frames.mem", frames)
    res = _sim(work, "fc_tb", p, [HERE / "rtl" / "fc_tb.sv", srcs[1], srcs[0]])
    spikes = [int(x) for x in res["spikes"].strip(",").split(",")]
    assert spikes == frames.reshape(p["T"], -1).sum(1).tolist(), "testbench fed frames wrongly"
    case = {"kind": "fc", **p, "density": density, "counts": frames.sum(-1).tolist(),
            "rtl": {"done": int(res["done"])}}
    return {**case, "model": fc_model(case)}


DENSITIES = [0.0, 0.02, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rtl", type=Path, help="checkout of the accelerator RTL (SNN-DSE)")
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--large", type=int, default=0, help="how many of the cases are realistic sizes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hybrid", type=Path, help="checkout of the RTL's DATE25 branch: also check the "
                    "dense first-layer core of the hybrid design")
    ap.add_argument("--dense-cases", type=int, default=40)
    ap.add_argument("--svhn", action="store_true", help="add an SVHN-sized direct-coded first layer")
    ap.add_argument("--write", type=Path, help="save the cases (inputs + RTL cycles) as JSON")
    a = ap.parse_args()
    if not shutil.which("iverilog"):
        print("iverilog not found: apt-get install iverilog", file=sys.stderr)
        return 2
    rng = np.random.default_rng(a.seed)
    cases, bad = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        srcs = port(a.rtl, work)
        for i in range(a.cases):
            large, published = i < a.large, (i // 2) % 4 != 3  # 3 in 4 of each kind: published parameters
            conv = i % 2 == 0
            p = (conv_params if conv else fc_params)(rng, large, published)
            density = float(rng.choice(DENSITIES))
            case = (conv_case if conv else fc_case)(work, srcs, p, density, rng)
            ok = case["rtl"] == case["model"]
            bad += not ok
            print(("match   " if ok else "MISMATCH"), json.dumps({k: v for k, v in case.items()
                                                                 if k != "counts"}), flush=True)
            cases.append(case)
        if a.hybrid:
            src = port_dense(a.hybrid, work)
            for _ in range(a.dense_cases):
                case = dense_case(work, src, rng)
                ok = case["rtl"] == case["model"]
                bad += not ok
                print(("match   " if ok else "MISMATCH"), json.dumps(case), flush=True)
                cases.append(case)
        if a.svhn:  # a direct-coded SVHN first layer on the published build (dense maps)
            p = dict(T=25, IC=3, OC=32, W=32, E=32, P=1024 >> 2, S=1024 >> 1)
            case = conv_case(work, srcs, p, 0.9, rng)
            bad += case["rtl"] != case["model"]
            print("svhn    ", json.dumps({k: v for k, v in case.items() if k != "counts"}), flush=True)
            cases.append(case)
    print(f"{len(cases) - bad} of {len(cases)} cases match the RTL cycle-exactly")
    if a.write:
        a.write.parent.mkdir(parents=True, exist_ok=True)
        a.write.write_text(json.dumps({"generated_by": "benchmarks/rtl_crosscheck.py",
                                       "seed": a.seed, "cases": cases}) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
