"""The whole-network runner of the ISPASS build's arithmetic against recorded Icarus runs of
the RTL's neural cores on trained digits networks (tests/data/rtl_net_cases.json, written
by benchmarks/rtl_net_crosscheck.py), hand cases of the top level's wiring, and the
``neuron_math="hardware"`` costing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spiketune import traces
from spiketune.errors import ConfigError
from spiketune.hardware.report import cost
from spiketune.hardware.snn_dse import network_math as netm
from spiketune.hardware.snn_dse import neuron_math as nm

CASES = json.loads((Path(__file__).parent / "data" / "rtl_net_cases.json").read_text())["cases"]


def _layers(case: dict) -> list[netm.HwLayer]:
    return [netm.HwLayer(la["kind"], np.array(la["weights"]), np.array(la["bias"]), la["w_scale"],
                         la["b_scale"], la["pool"], la["cores"]) for la in case["layers"]]


def _from_rtl(la: dict, rtl: list, t: int, last: bool, wiring: str) -> np.ndarray:
    """A layer's output from its cores' recorded RTL spikes, wired as the top level does."""
    o = len(la["bias"])
    if la["kind"] == "conv":  # rtl[o][t] = the map's W*W bits
        maps = np.array(rtl)
        w = int(round(maps.shape[-1] ** 0.5))
        if not la["pool"]:
            return maps.transpose(1, 0, 2).reshape(t, o, w, w)
        out = np.zeros((t, o, w * w // 4), int)
        for j in range(w * w // 4):  # bit j: raster positions 4j, 4j+1, 4j+2, 4j+3
            out[:, :, j] = np.maximum.reduce([maps[:, :, 4 * j + q] for q in range(4)]).T
        return out.reshape(t, o, w // 2, w // 2)
    e = la["cores"]
    out = np.zeros((t, o), int)
    for k in range(o // e + 1):  # groups 0 .. O/E, cores in order: later writes win
        for c in range(e):
            if wiring == "intended":  # neuron k*E + c at its own index; the extra group unused
                idx = k * e + c if k < o // e else o
            else:
                idx = k + c if last else k * e + c
            if idx < o:
                out[:, idx] = rtl[c][k]
    return out


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c["run"] for c in CASES])
def test_network_matches_rtl_cores_layer_by_layer(i: int) -> None:
    case = CASES[i]
    x = np.array(case["input"], bool)
    got = netm.run_network(_layers(case), x, case["lapicque"], case["beta"], case["threshold"],
                           case["wiring"])
    assert len(got) == len(case["layers"]) == 4
    for k, (la, rtl) in enumerate(zip(case["layers"], case["rtl_cores"], strict=True)):
        ref = _from_rtl(la, rtl, x.shape[0], k == len(got) - 1, case["wiring"])
        assert got[k].tolist() == ref.tolist(), f"layer {k}"
    assert sum(int(g.sum()) for g in got[:3]) > 100  # the network fires


def test_recorded_runs_cover_lif_lapicque_and_both_wirings() -> None:
    assert {c["lapicque"] for c in CASES} == {False, True}
    assert {c["wiring"] for c in CASES} == {"as_built", "intended"}
    last_layer_spikes = [np.sum(c["rtl_cores"][-1]) for c in CASES]
    assert max(last_layer_spikes) > 0  # the output layer fires in at least one recorded run


def test_or_pool_takes_four_consecutive_raster_positions() -> None:
    m = np.zeros((1, 4, 4), np.uint8)
    m[0, 1, 0] = 1  # raster position 4: the second quad -> output (0, 1), not the 2x2 window (0, 0)
    assert netm.or_pool(m)[0].tolist() == [[0, 1], [0, 0]]


def test_conv_weight_words_by_hand() -> None:
    w = np.arange(18).reshape(1, 2, 3, 3)  # one map, two input channels
    layer = netm.HwLayer("conv", w, np.array([-5]), 1.0, 1.0)
    # reversed, then the bias
    assert netm.conv_words(layer, "as_built").tolist() == [[*range(17, -1, -1), -5]]
    assert netm.conv_words(layer, "intended").tolist() == [[*range(18), -5]]


def test_conv_as_built_applies_the_turned_kernel() -> None:
    # as built the core applies W[C-1-ic, 2-i, 2-j]: the same spikes as the turned kernel intended
    rng = np.random.default_rng(2)
    w = rng.integers(-8, 8, (3, 2, 3, 3))
    layer = netm.HwLayer("conv", w, np.array([1, -2, 3]), 0.2, 0.1)
    x = rng.random((4, 2, 5, 5)) < 0.5
    turned = netm.HwLayer("conv", w[:, ::-1, ::-1, ::-1], layer.bias, 0.2, 0.1)
    got = netm.conv_layer(x, layer, True, 0.5, 0.3, "as_built")
    assert got.tolist() == netm.conv_layer(x, turned, True, 0.5, 0.3, "intended").tolist()
    assert got.sum() > 0


def test_fc_weight_words_by_hand() -> None:
    w = np.arange(12).reshape(4, 3) + 1  # neuron n: 3n+1, 3n+2, 3n+3
    layer = netm.HwLayer("fc", w, np.array([-1, -2, -3, -4]), 1.0, 1.0, cores=2)
    built = netm.fc_memories(layer, "as_built")
    # weight file of core 0: neurons 0, 1, each its 3 weights then its bias; (2+2)*3 words
    assert built[0].tolist() == [1, 2, 3, -1, 4, 5, 6, -2, 0, 0, 0, 0]
    assert built[1].tolist() == [7, 8, 9, -3, 10, 11, 12, -4, 0, 0, 0, 0]
    intended = netm.fc_memories(layer, "intended")  # neuron k*E + c at k*F
    assert intended[0].tolist() == [1, 2, 3, 7, 8, 9, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("wiring,last,order", [
    ("as_built", False, {0: (0, 0), 1: (1, 0), 2: (0, 1), 3: (1, 1)}),  # index k*E + c
    ("as_built", True, {0: (0, 0), 1: (0, 1), 2: (0, 2), 3: (1, 2)}),  # k + c, the last write wins
    ("intended", False, {0: (0, 0), 1: (1, 0), 2: (0, 1), 3: (1, 1)}),
])
def test_fc_spike_index_by_hand(wiring: str, last: bool, order: dict) -> None:
    rng = np.random.default_rng(1)
    layer = netm.HwLayer("fc", rng.integers(-8, 8, (4, 6)), rng.integers(-8, 8, 4), 0.3, 0.2, cores=2)
    x = rng.random((5, 6)) < 0.6
    core = nm.CoreParams(False, 0.5, 0.4, 0.3, 0.2)
    per_core = [nm.fc_core(x, mem, 3, core) for mem in netm.fc_memories(layer, wiring)]  # type: ignore[arg-type]
    got = netm.fc_layer(x, layer, False, 0.5, 0.4, wiring, last)  # type: ignore[arg-type]
    for idx, (c, k) in order.items():  # output index <- (core, group)
        assert got[:, idx].tolist() == per_core[c][k].tolist()


def _trace(path: Path, n: int = 5, t: int = 4) -> Path:
    rng = np.random.default_rng(0)
    layers = [traces.LayerSpec("conv", (1, 4, 4), (2, 4, 4), (2, 2, 2), kernel=3, padding=1, pool=("max", 2)),
              traces.LayerSpec("fc", (2, 2, 2), (4,), (4,))]
    shapes = [(1, 4, 4), (2, 2, 2), (4,)]
    ev = [rng.random((n, t, *s)) < 0.4 for s in shapes]
    counts = [e.reshape(n, t, s[0], -1).sum(-1) for e, s in zip(ev, shapes, strict=True)]
    weights = [{"weight": rng.normal(size=(2, 1, 3, 3)), "bias": rng.normal(size=2)},
               {"weight": rng.normal(size=(4, 8)), "bias": rng.normal(size=4)}]
    return traces.write(path, num_steps=t, encoding="events", input_shape=(1, 4, 4), layers=layers,
                        counts=counts, bits=ev, weights=weights, labels=np.arange(n) % 4,
                        predictions=np.arange(n) % 4, meta={"num_classes": 4})


def test_hardware_neuron_math_costing(tmp_path: Path) -> None:
    folder = _trace(tmp_path / "tr")
    trained = cost(folder)
    rep = cost(folder, neuron_math="hardware")
    d = rep.neuron_math
    assert trained.neuron_math is None and d is not None
    assert d["accuracy_trained"] == 1.0 and d["latency_cycles_trained"] == trained.latency_cycles
    tr = traces.read(folder)
    for k, m in enumerate(d["layers"], 1):
        bits = tr.bits(k)
        assert bits is not None and m["spikes_trained"] == int(bits.sum())
        if m["spikes_trained"]:
            assert m["count_ratio"] == m["spikes_hardware"] / m["spikes_trained"]
        assert 0.0 <= m["bit_divergence"] <= 1.0
    with pytest.raises(ConfigError, match="neuron_math"):
        cost(folder, neuron_math="rtl")
