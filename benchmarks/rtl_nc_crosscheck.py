"""Cross-check spiketune's model of the accelerator's neuron arithmetic against the RTL's
neural cores (``conv_nc.sv``, ``fc_nc.sv``) under Icarus Verilog.

Usage::

    python benchmarks/rtl_nc_crosscheck.py PATH/TO/RTL_DIR [--cases 40] [--seed 0] [--write tests/data/rtl_nc_cases.json]

``RTL_DIR`` holds the two cores of the ISPASS artifact build (SNN-DSE commit
1d52c17ed96da31dede4c135135e96d84844d44f, ``Hardware/ispass_sim/``). Each case draws a
random core (LIF or Lapicque, beta, threshold, scales, integer weights) and random input
spikes, replays the event stream the event-control unit sends (``benchmarks/rtl/*_nc_tb.sv``)
and records the output spikes per time step; ``spiketune.hardware.snn_dse.neuron_math``
must give the same spikes. Nothing of the RTL is stored in this project.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from spiketune.hardware.snn_dse import neuron_math as nm  # noqa: E402


def port(rtl: Path, work: Path) -> tuple[Path, Path]:
    """Copy the two cores with the edits Icarus 11 needs: ``shortreal`` becomes ``real``
    (Icarus computes both in double precision), string parameters lose their type, the
    conv core's real output port is driven from a variable and its activation sweep reads
    the previous cycle's address (see below)."""
    out = []
    for name in ("conv_nc.sv", "fc_nc.sv"):
        src = (rtl / name).read_text().replace("shortreal", "real").replace("parameter string", "parameter")
        if name == "conv_nc.sv":  # a real output port is a net: drive it from a variable
            src = src.replace("bram_wrdat = ", "bram_wrdat_v = ").replace(
                "int spk_ctr = 0;", "int spk_ctr = 0;\n  real bram_wrdat_v;\n  assign bram_wrdat = bram_wrdat_v;\n"
                "  logic [BRAM_ADDR_WIDTH-1:0] sweep_q;\n  always_ff @(posedge clk) sweep_q <= bram_raddr;")
            # the sweep reads bram_raddr in the always_comb block that writes it: a combinational
            # loop whose outcome depends on how often the simulator wakes the block; read the
            # address of the previous cycle instead, as the loop intends
            head = "if(bram_raddr < OUTPUT_FRAME_WIDTH*OUTPUT_FRAME_WIDTH - 1) begin\n                intermed_addr_nxt = bram_raddr;\n                bram_raddr = bram_raddr + 1;"
            assert src.count(head) == 1, "activation sweep not found in conv_nc.sv"
            src = src.replace(head, head.replace("bram_raddr <", "sweep_q <").replace("= bram_raddr", "= sweep_q"))
        (work / name).write_text(src)
        out.append(work / name)
    return out[0], out[1]


def _run(work: Path, top: str, params: dict, sources: list[Path]) -> list[str]:
    exe = work / f"{top}.vvp"
    cmd = ["iverilog", "-g2012", "-DSIM", "-s", top, "-o", str(exe)] + \
        [f"-P{top}.{k}={v}" for k, v in params.items()] + [str(s) for s in sources]
    subprocess.run(cmd, check=True, capture_output=True, cwd=work)
    out = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, cwd=work, timeout=600).stdout
    return [line for line in out.splitlines() if line.startswith("SPIKE")]


def _core(rng: np.random.Generator) -> dict:
    return dict(NEURON_TYPE=int(rng.integers(0, 2)), BETA=float(rng.choice([0.15, 0.24, 0.5, 0.6, 0.9])),
                THR=float(rng.choice([0.23, 0.5, 1.0, 1.2])), WS=float(np.round(rng.uniform(0.02, 0.3), 4)),
                BS=float(np.round(rng.uniform(0.02, 0.3), 4)))


def conv_case(work: Path, rtl: Path, rng: np.random.Generator) -> dict:
    p = dict(IC=int(rng.integers(1, 4)), W=int(rng.integers(3, 9)), **_core(rng))
    t = int(rng.integers(1, 6))
    weights = rng.integers(-8, 8, (p["IC"], 3, 3))
    bias = int(rng.integers(-8, 8))
    spikes = rng.random((t, p["IC"], p["W"], p["W"])) < rng.choice([0.05, 0.2, 0.5, 0.9])
    cmds = nm.conv_events(spikes)
    (work / "cmds.mem").write_text("".join(" ".join(f"{v:x}" for v in c) + "\n" for c in cmds))
    (work / "weights.txt").write_text("".join(f"{v}\n" for v in [*weights.ravel().tolist(), bias]))
    lines = _run(work, "conv_nc_tb", dict(p, N_CMD=len(cmds)), [HERE / "rtl" / "conv_nc_tb.sv", rtl])
    f = p["W"] ** 2
    rtl_spikes = [[int(b) for b in line.split()[1][::-1]][:f] for line in lines]
    return {"kind": "conv", **p, "T": t, "weights": weights.tolist(), "bias": bias,
            "spikes_in": spikes.astype(int).tolist(), "rtl": rtl_spikes}


def fc_case(work: Path, rtl: Path, rng: np.random.Generator) -> dict:
    p = dict(IC=1, F=int(rng.integers(4, 40)), N=int(rng.integers(2, 9)), **_core(rng))
    t = int(rng.integers(1, 6))
    depth = (p["N"] + 1) * p["F"]
    mem = rng.integers(-8, 8, depth)
    spikes = rng.random((t, p["F"])) < rng.choice([0.05, 0.2, 0.5, 0.9])
    cmds = nm.fc_events(spikes, p["N"])
    (work / "cmds.mem").write_text("".join(" ".join(f"{v:x}" for v in c) + "\n" for c in cmds))
    (work / "weights.txt").write_text("".join(f"{v}\n" for v in mem.tolist()))
    lines = _run(work, "fc_nc_tb", dict(p, DEPTH=depth, N_CMD=len(cmds)), [HERE / "rtl" / "fc_nc_tb.sv", rtl])
    return {"kind": "fc", **p, "T": t, "memory": mem.tolist(), "spikes_in": spikes.astype(int).tolist(),
            "rtl": [int(line.split()[1]) for line in lines]}


def model(case: dict) -> list:
    core = nm.CoreParams(lapicque=bool(case["NEURON_TYPE"]), beta=case["BETA"], threshold=case["THR"],
                         w_scale=case["WS"], b_scale=case["BS"])
    if case["kind"] == "conv":
        out = nm.conv_core(np.array(case["spikes_in"], bool), np.array(case["weights"]), case["bias"], core)
        return out.reshape(out.shape[0], -1).astype(int).tolist()
    return nm.fc_core(np.array(case["spikes_in"], bool), np.array(case["memory"]), case["N"], core).ravel().astype(int).tolist()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rtl", type=Path, help="folder holding the ISPASS build's conv_nc.sv and fc_nc.sv")
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", type=Path, help="save the cases (inputs + RTL spikes) as JSON")
    a = ap.parse_args()
    if not shutil.which("iverilog"):
        print("iverilog not found: apt-get install iverilog", file=sys.stderr)
        return 2
    rng = np.random.default_rng(a.seed)
    cases, bad = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        conv, fc = port(a.rtl, Path(tmp))
        for i in range(a.cases):
            case = conv_case(Path(tmp), conv, rng) if i % 2 == 0 else fc_case(Path(tmp), fc, rng)
            got = model(case)
            ok = got == case["rtl"]
            bad += not ok
            print(f"{i:3d} {case['kind']:4s} T={case['T']} lapicque={case['NEURON_TYPE']} "
                  f"spikes rtl={np.sum(case['rtl'])} model={np.sum(got)} {'ok' if ok else 'DIFFERS'}")
            cases.append(case)
    if a.write:
        a.write.write_text(json.dumps({"rtl": "SNN-DSE 1d52c17 Hardware/ispass_sim", "cases": cases}))
    print(f"{len(cases) - bad}/{len(cases)} cases spike-exact")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
