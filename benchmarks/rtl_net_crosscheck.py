"""Cross-check spiketune's whole-network runner of the ISPASS build's arithmetic
(``spiketune.hardware.snn_dse.network_math``) against the RTL's neural cores under Icarus,
layer by layer, on a trained network's weights and test samples.

Usage::

    python benchmarks/rtl_net_crosscheck.py RTL_DIR RESULTS [RESULTS ...] [--samples 3]
        [--wiring as_built] [--write tests/data/rtl_net_case.json]

``RTL_DIR`` holds ``conv_nc.sv`` and ``fc_nc.sv`` of SNN-DSE commit
1d52c17ed96da31dede4c135135e96d84844d44f (``Hardware/ispass_sim/``); ``RESULTS`` is a
trained run (``spiketune run``). The artifact's folder lacks the top level's other modules
(``conv_ec``, the BRAMs, the priority encoder), so the whole top cannot be built: every
core of every layer is replayed instead (``benchmarks/rtl/*_nc_tb.sv``) on that layer's
input spikes from the runner, and the cores' outputs are assembled as the top level does
(OR of four consecutive raster positions; the FC spike index). Spike for spike per layer,
on every layer, is spike for spike through the network. ``--neuron`` and ``--threshold``
set the cores' neuron and threshold whatever the network was trained with (the build's
``NEURON_TYPE`` and threshold are synthesis settings). ``--write`` saves the first sample
of each run (the layers, the network input and every core's RTL output) for the tests.
Nothing of the RTL is stored in this project.
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
sys.path.insert(0, str(HERE))

from rtl_nc_crosscheck import port  # noqa: E402

from spiketune.hardware import as_built  # noqa: E402
from spiketune.hardware.config import HardwareConfig  # noqa: E402
from spiketune.hardware.snn_dse import network_math as netm  # noqa: E402
from spiketune.hardware.snn_dse import neuron_math as nm  # noqa: E402
from spiketune.hardware.snn_dse.layers import default_cores  # noqa: E402
from spiketune.traces import read  # noqa: E402


def compile_tb(work: Path, top: str, params: dict, sources: list[Path]) -> Path:
    exe = work / f"{top}.vvp"
    cmd = ["iverilog", "-g2012", "-DSIM", "-s", top, "-o", str(exe)] + \
        [f"-P{top}.{k}={v}" for k, v in params.items()] + [str(s) for s in sources]
    subprocess.run(cmd, check=True, capture_output=True, cwd=work)
    return exe


def simulate(work: Path, exe: Path, words: list) -> list[str]:
    (work / "weights.txt").write_text("".join(f"{v}\n" for v in words))
    out = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, cwd=work,
                         timeout=600, check=True).stdout
    return [line for line in out.splitlines() if line.startswith("SPIKE")]


def core_params(lapicque: bool, beta: float, thr: float, layer: netm.HwLayer) -> dict:
    return dict(NEURON_TYPE=int(lapicque), BETA=beta, THR=thr, WS=repr(layer.w_scale), BS=repr(layer.b_scale))


def write_cmds(work: Path, cmds: list[list[int]]) -> None:
    (work / "cmds.mem").write_text("".join(" ".join(f"{v:x}" for v in c) + "\n" for c in cmds))


def rtl_conv(work: Path, conv: Path, x: np.ndarray, layer: netm.HwLayer, neuron: tuple, wiring: str) -> list:
    """Every output map's RTL spikes [T][W*W] (before pooling) for input spikes x [T, C, W, W]."""
    t, c, w = x.shape[0], x.shape[1], x.shape[-1]
    cmds = nm.conv_events(x)
    write_cmds(work, cmds)
    exe = compile_tb(work, "conv_nc_tb", dict(IC=c, W=w, N_CMD=len(cmds), **core_params(*neuron, layer)),
                     [HERE / "rtl" / "conv_nc_tb.sv", conv])
    maps = []
    for words in netm.conv_words(layer, wiring):  # type: ignore[arg-type]
        lines = simulate(work, exe, words.tolist())
        maps.append([[int(b) for b in line.split()[1][::-1]][: w * w] for line in lines])
        assert len(maps[-1]) == t
    return maps


def rtl_fc(work: Path, fc: Path, x: np.ndarray, layer: netm.HwLayer, neuron: tuple, wiring: str) -> list:
    """Every core's RTL spikes [groups][T] for input spikes x [T, F]."""
    o, f = layer.weights.shape
    groups = o // layer.cores + 1  # fc_ec runs neuron groups 0 .. O/E
    cmds = nm.fc_events(x, groups)
    write_cmds(work, cmds)
    mems = netm.fc_memories(layer, wiring)  # type: ignore[arg-type]
    exe = compile_tb(work, "fc_nc_tb", dict(IC=1, F=f, N=o, DEPTH=len(mems[0]), N_CMD=len(cmds),
                                            **core_params(*neuron, layer)),
                     [HERE / "rtl" / "fc_nc_tb.sv", fc])
    out = []
    for mem in mems:
        bits = [int(line.split()[1]) for line in simulate(work, exe, mem.astype(int).tolist())]
        out.append(np.array(bits).reshape(groups, x.shape[0]).tolist())
    return out


def assemble(kind: str, rtl: list, pool: bool, t: int, o: int, cores: int, wiring: str,
             last: bool) -> np.ndarray:
    """The layer's output [T, ...] from its cores' RTL spikes, as the top level stores them."""
    if kind == "conv":
        maps = np.array(rtl, np.uint8)  # [O, T, W*W]
        w = int(round(maps.shape[-1] ** 0.5))
        if pool:  # output bit j = OR of raster positions 4j .. 4j+3
            pooled = np.zeros((o, t, maps.shape[-1] // 4), np.uint8)
            for j in range(pooled.shape[-1]):
                pooled[:, :, j] = maps[:, :, 4 * j: 4 * j + 4].max(-1)
            return pooled.transpose(1, 0, 2).reshape(t, o, w // 2, w // 2)
        return maps.transpose(1, 0, 2).reshape(t, o, w, w)
    out = np.zeros((t, o), np.uint8)
    s = o // cores
    for k in range(s + 1):
        for c in range(cores):
            if wiring == "intended":
                idx = k * cores + c if k < s else o
            else:
                idx = k + c if last else k * cores + c
            if idx < o:
                out[:, idx] = rtl[c][k]
    return out


def check_run(results: Path, rtl_dir: Path, samples: int, wiring: str,
              neuron: str | None, threshold: float | None) -> tuple[int, int, dict]:
    traces = read(results / "traces" if (results / "traces").is_dir() else results)
    hw = HardwareConfig()
    cores = default_cores(traces.layers, hw)
    lapicque, beta, thr = as_built.neuron(traces)
    if neuron is not None:  # the build's NEURON_TYPE and threshold are synthesis settings
        lapicque = neuron == "lapicque"
    thr = thr if threshold is None else threshold
    layers = as_built.hw_layers(traces, hw.weight_bits, cores)
    x_all = traces.bits(0)
    assert x_all is not None
    ok = bad = 0
    record: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        conv, fc = port(rtl_dir, work)
        for n in range(samples):
            model = netm.run_network(layers, x_all[n], lapicque, beta, thr, wiring)  # type: ignore[arg-type]
            x = x_all[n].astype(bool)
            cores_rtl = []
            for i, layer in enumerate(layers):
                last = i == len(layers) - 1
                if layer.kind == "conv":
                    rtl = rtl_conv(work, conv, x, layer, (lapicque, beta, thr), wiring)
                else:
                    x = x.reshape(x.shape[0], -1)
                    rtl = rtl_fc(work, fc, x, layer, (lapicque, beta, thr), wiring)
                got = assemble(layer.kind, rtl, layer.pool, x.shape[0], len(layer.bias), layer.cores,
                               wiring, last)
                same = np.array_equal(got, model[i])
                ok, bad = ok + same, bad + (not same)
                print(f"{results.name} sample {n} L{i}:{layer.kind:4s} spikes rtl={int(got.sum()):6d} "
                      f"runner={int(model[i].sum()):6d} {'ok' if same else 'DIFFERS'}", flush=True)
                cores_rtl.append(rtl)
                x = model[i].astype(bool)  # the next layer's input: the runner's (equal when ok)
            if n == 0:
                name = (results.name + (f"-as-{neuron}" if neuron else "")
                        + (f"-thr{threshold}" if threshold else ""))
                record = {"run": name, "lapicque": lapicque, "beta": beta, "threshold": thr,
                          "wiring": wiring, "input": x_all[0].astype(int).tolist(),
                          "layers": [{"kind": la.kind, "weights": la.weights.tolist(),
                                      "bias": la.bias.tolist(),
                                      "w_scale": la.w_scale, "b_scale": la.b_scale, "pool": la.pool,
                                      "cores": la.cores} for la in layers],
                          "rtl_cores": cores_rtl}
    return ok, bad, record


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rtl", type=Path, help="folder holding the ISPASS build's conv_nc.sv and fc_nc.sv")
    ap.add_argument("results", type=Path, nargs="+", help="trained runs (results folders)")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--wiring", choices=netm.WIRINGS, default="as_built")
    ap.add_argument("--neuron", choices=("lif", "lapicque"),
                    help="run the cores as this neuron (default: the trained network's)")
    ap.add_argument("--threshold", type=float, help="the cores' threshold (default: the trained network's)")
    ap.add_argument("--write", type=Path,
                    help="save each run's first sample (inputs, layers, RTL spikes) as JSON")
    a = ap.parse_args()
    if not shutil.which("iverilog"):
        print("iverilog not found: apt-get install iverilog", file=sys.stderr)
        return 2
    total_ok = total_bad = 0
    records = []
    for r in a.results:
        ok, bad, rec = check_run(r, a.rtl, a.samples, a.wiring, a.neuron, a.threshold)
        total_ok, total_bad = total_ok + ok, total_bad + bad
        records.append(rec)
    if a.write:
        a.write.write_text(json.dumps({"rtl": "SNN-DSE 1d52c17 Hardware/ispass_sim", "cases": records}))
    print(f"{total_ok}/{total_ok + total_bad} layer outputs spike-exact")
    return 1 if total_bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
