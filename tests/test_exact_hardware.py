"""The hardware package's public API against hand-computed cycles, energies, power and
FPS/W (every term), exhaustive allocation search and hand-rounded fixed point."""

import itertools
import math

import numpy as np
import pytest

from spiketune import traces as tr
from spiketune.errors import ConfigError, TraceError
from spiketune.hardware import (
    HardwareConfig,
    PowerConfig,
    allocate,
    build,
    conv_cycles,
    fc_cycles,
    from_dict,
    load,
    simulate,
)
from spiketune.hardware import fixed_point as fp
from spiketune.hardware.config import identity as hw_identity
from spiketune.hardware.hybrid import dense_cycles
from spiketune.hardware.snn_dse import neuron_math as nm
from spiketune.hardware.snn_dse.alloc import candidates
from spiketune.hardware.snn_dse.layers import check_memory, fc_input
from spiketune.hardware.snn_dse.power import layer_energy_j


def test_fc_cycles_by_hand_ideal_and_rtl():
    # 8 neurons, 4 cores, 1 input channel of 8 bits in PENC chunks of 2 bits (4 chunks);
    # steps with 3 and 0 events
    counts = np.array([[[3], [0]]])
    c = fc_cycles(counts, 8, 4, 1, 8, penc_size=2)
    # compress per step IC + 2 + 2*chunks = 1 + 2 + 8 = 11, twice, + 2 per event (6) = 28
    # iterate: groups ceil(8/4) = 2 x ((3+2) + (max(0,1)+2) + 1) = 18; + 4 control cycles = 50
    assert (int(c.compress[0]), int(c.latency[0]), int(c.end[0])) == (28, 50, 50)
    assert (int(c.accumulate[0]), int(c.activations[0]), int(c.activate[0]), c.groups) == (6, 4, 4, 2)
    assert int(c.dropped_events[0]) == 0
    r = fc_cycles(counts, 8, 4, 1, 8, penc_size=2, mode="rtl")  # groups = 8 // 4 + 1 = 3
    # 28 + 3 x 9 + 4 = 59; accumulates 3 x 3 = 9; sweeps 3 groups x 2 steps = 6
    assert (int(r.latency[0]), int(r.accumulate[0]), int(r.activations[0]), r.groups) == (59, 9, 6, 3)
    # the published PENC_SIZE (200 bits): the 8-bit frame is one chunk, 1 + 2 + 2 = 5 per step;
    # compress 10 + 6 = 16, iterate 18, + 4 = 38
    d = fc_cycles(counts, 8, 4, 1, 8)
    assert (int(d.compress[0]), int(d.latency[0])) == (16, 38)


def test_fc_cycles_sums_input_channels_and_rounds_chunks_up():
    # 2 channels of 5 bits = 10 bits; PENC_SIZE 3 -> ceil(10/3) = 4 chunks (3 would miss a bit)
    counts = np.array([[[1, 2]], [[0, 0]]])
    c = fc_cycles(counts, 5, 5, 2, 5, penc_size=3)
    # sample 0: compress (2 + 2 + 8) + 2*3 = 18; iterate 1 x ((3+2) + 1) = 6; + 4 = 28
    # sample 1: compress 12; iterate 1 x ((1+2) + 1) = 4; + 4 = 20
    assert c.latency.tolist() == [28, 20] and c.compress.tolist() == [18, 12]
    assert c.accumulate.tolist() == [3, 0]
    # legacy ``penc_chunks: 4``: PENC_SIZE = ceil(10/4) = 3 bits; otherwise the published 200
    assert HardwareConfig(penc_chunks=4).fc_penc(10) == 3 and HardwareConfig().fc_penc(10) == 200


def test_conv_cycles_one_empty_map_by_hand():
    # frame 16 in 4 chunks; ECU: cycle 1 start, 1 + 2*4 = 9 scan cycles (b = 10), advance (11);
    # sweep of a 4-neuron frame (3 cycles) from idle begins at 12 and ends at 15; step advance
    # 12, group advance 13, done 14
    c = conv_cycles(np.zeros((1, 1, 1)), 2, 2, 16, 4, kernel=3)
    assert (int(c.latency[0]), int(c.end[0]), int(c.compress[0])) == (15, 15, 9)
    assert (int(c.activate[0]), int(c.activations[0]), int(c.accumulate[0]), c.groups) == (3, 1, 0, 1)
    r = conv_cycles(np.zeros((1, 1, 1)), 2, 2, 16, 4, kernel=3, mode="rtl")
    assert (int(r.latency[0]), int(r.end[0])) == (14, 15)  # rtl: counted to the done flag


def test_conv_cycles_one_map_with_two_spikes_by_hand():
    # scan ends at b = 1 + 1 + 8 + 2*2 = 14; replay of 9 taps x 2 spikes from 15 to 33;
    # the sweep queued after it ends at 36; ECU: 16, step 17, group 18, done 19
    c = conv_cycles(np.array([[[2]]]), 3, 3, 16, 4, kernel=3)
    assert (int(c.latency[0]), int(c.compress[0]), int(c.accumulate[0])) == (36, 13, 18)
    r = conv_cycles(np.array([[[2]]]), 3, 3, 16, 4, kernel=3, mode="rtl")
    assert (int(r.latency[0]), int(r.end[0]), int(r.dropped_events[0])) == (19, 36, 0)
    # two groups (3 channels, 2 cores): the whole scan runs twice
    g = conv_cycles(np.array([[[2]]]), 3, 2, 16, 4, kernel=3)
    assert (g.groups, int(g.compress[0]), int(g.accumulate[0]), int(g.activations[0])) == (2, 26, 36, 2)


def test_conv_cycles_per_neuron_and_per_tap_costs():
    c = conv_cycles(np.array([[[1]]]), 1, 1, 16, 4, kernel=3, cycles_per_neuron=2, cycles_per_tap=3)
    # taps 3*3*3 = 27 per spike; sweep 4*2 - 1 = 7; scan ends 12, replay 13..40, sweep to 47
    assert (int(c.accumulate[0]), int(c.activate[0]), int(c.latency[0])) == (27, 7, 47)


# ---- a two-layer FC network through simulate: every term of the report by hand ----

def _fc_traces(tmp_path, neuron="lif"):
    layers = [tr.LayerSpec("fc", (8,), (8,), (8,), neuron=neuron), tr.LayerSpec("fc", (8,), (4,), (4,))]
    c0 = np.zeros((2, 2, 8), np.uint32)
    c0[0, 0, :3] = 1  # sample A: 3 then 1 input events
    c0[0, 1, 0] = 1
    c0[1, 1, :2] = 1  # sample B: 0 then 2
    c1 = np.zeros((2, 2, 8), np.uint32)
    c1[0, 0, :2] = 1  # layer-0 spikes, A: 2 then 0; B: 1 then 1
    c1[1, 0, 0] = c1[1, 1, 0] = 1
    c2 = np.zeros((2, 2, 4), np.uint32)
    weights = [{"weight": np.ones((8, 8), np.float32), "bias": np.zeros(8, np.float32)},
               {"weight": np.ones((4, 8), np.float32), "bias": np.zeros(4, np.float32)}]
    tr.write(tmp_path, num_steps=2, encoding="rate", input_shape=(8,), layers=layers, counts=[c0, c1, c2],
             bits=None, weights=weights, labels=np.zeros(2), predictions=np.zeros(2))
    return tr.read(tmp_path)


def test_simulate_report_by_hand(tmp_path):
    t = _fc_traces(tmp_path)
    rep = simulate(t, HardwareConfig(power={"model": "operations"}))
    # both layers read one 8-bit frame: PENC_SIZE 200 -> 1 chunk, compress 1 + 2 + 2 = 5 per step
    # cores: largest divisor of 8 (of 4) up to fc_cores 50 -> 8 (4), one group each
    # layer 0, events A 3, 1: compress 10 + 8 = 18, iterate (3+2) + (1+2) + 1 = 9, + 4 = 31
    #          events B 0, 2: compress 10 + 4 = 14, iterate (1+2) + (2+2) + 1 = 8, + 4 = 26
    # layer 1, events A 2, 0: 10 + 4 = 14, (2+2) + (1+2) + 1 = 8, + 4 = 26
    #          events B 1, 1: 10 + 4 = 14, (1+2) + (1+2) + 1 = 7, + 4 = 25
    assert rep.latency_cycles_per_sample.tolist() == [57, 51]
    assert rep.latency_cycles == 54.0 and rep.latency_us == pytest.approx(54 / 200, rel=1e-12)
    assert rep.fps == pytest.approx(200e6 / 54, rel=1e-12)
    l0, l1 = rep.layers
    d0 = l0.to_dict()
    assert (l0.cores, d0["groups"], l0.latency_cycles, d0["compress_cycles"]) == (8, 1, 28.5, 16.0)
    # accumulates (4 + 2) / 2 = 3; sweeps 1 group x 2 steps = 2 cycles; events (4 + 2) / 2
    assert (d0["accumulate_cycles"], d0["activate_cycles"], l0.input_events_per_inference) == (3.0, 2.0, 3.0)
    assert d0["other_cycles"] == 28.5 - 5.0 and d0["core_utilisation"] == pytest.approx(5 / 28.5, rel=1e-12)
    assert l0.breakdown == {"accumulate (core replay)": 3.0, "neuron sweep": 2.0, "scan / control": 23.5}
    assert (l0.name, l0.kind, l0.unit, l1.name) == ("L0:fc", "fc", "sparse fc", "L1:fc")
    assert (l1.cores, l1.latency_cycles, l1.input_events_per_inference, l1.dropped_events) == (
        4, 25.5, 2.0, 0.0)
    assert (l0.dropped_fraction, rep.dropped_events) == (0.0, 0.0)
    assert (rep.accelerator, rep.num_samples) == ("snn_dse", 2)
    assert rep.warnings == []
    # dynamic energy, pJ: accumulates x cores reached x 2, updates x neurons x 3, ECU cycles x 1
    e0 = 3 * 8 * 2.0 + 2 * 8 * 3.0 + 16 * 1.0  # 112
    e1 = 2 * 4 * 2.0 + 2 * 4 * 3.0 + 14 * 1.0  # 54
    assert l0.energy_uj == pytest.approx(e0 * 1e-6, rel=1e-12)
    assert l1.energy_uj == pytest.approx(e1 * 1e-6, rel=1e-12)
    fps = 200e6 / 54
    static = 0.6 + 12 * 0.4e-3  # device + 12 cores
    power = static + (e0 + e1) * 1e-12 * fps
    assert rep.total_cores == 12
    assert rep.power_w == pytest.approx(power, rel=1e-12)
    # energy of one inference includes its share of static power
    assert rep.energy_per_inference_uj == pytest.approx(((e0 + e1) * 1e-12 + static / fps) * 1e6, rel=1e-12)
    assert rep.fps_per_w == pytest.approx(fps / power, rel=1e-12)
    d = rep.to_dict()
    assert "latency_cycles_per_sample" not in d and d["layers"][0]["energy_uj"] == l0.energy_uj


def test_simulate_layer_pipelined_rtl_and_custom_power(tmp_path):
    t = _fc_traces(tmp_path, neuron="lapicque")
    hw = HardwareConfig(pipeline="layer_pipelined", clock_mhz=100, power={
        "model": "operations", "static_w": 1.0, "core_static_mw": 10.0, "accumulate_pj": 5.0,
        "update_pj": {"lif": 1.0, "lapicque": 7.0}, "ecu_cycle_pj": 0.5})
    rep = simulate(t, hw, cores=[2, 4])
    # layer 0 with 2 cores: 4 groups; A: 18 + 4*9 + 4 = 58, B: 14 + 4*8 + 4 = 50 -> mean 54
    assert rep.layers[0].latency_cycles == 54.0 and rep.layers[0].detail["groups"] == 4
    assert rep.fps == pytest.approx(100e6 / 54, rel=1e-12)  # the slowest layer sets the rate
    assert rep.fps_sequential == pytest.approx(100e6 / (54 + 25.5), rel=1e-12)
    assert rep.latency_cycles == 54 + 25.5
    # layer 0: accumulates 4 groups x 3 x (8/4 = 2 cores) = 24 -> 120 pJ; updates 4 x 2 x 2 x 7 = 112;
    # ECU 16 x 0.5 = 8. layer 1 (lif): 2 x 4 x 5 = 40; 2 x 4 x 1 = 8; 14 x 0.5 = 7
    e = (120 + 112 + 8 + 40 + 8 + 7) * 1e-12
    power = 1.0 + 6 * 10e-3 + e * 100e6 / 54
    assert rep.power_w == pytest.approx(power, rel=1e-12)
    pm = rep.power_model
    assert sorted(pm) == ["dynamic_energy_j", "dynamic_w", "model", "static_w"]
    assert pm["model"] == "operations"
    terms = (pm["static_w"], pm["dynamic_w"], pm["dynamic_energy_j"])
    assert terms == pytest.approx((1.06, e * 100e6 / 54, e), rel=1e-12)
    # all 2 cores of each of the 4 groups busy: (accumulate 12 + sweeps 8) of 54 cycles
    assert rep.layers[0].detail["core_utilisation"] == pytest.approx((12 + 8) / 54, rel=1e-12)
    rtl = simulate(t, HardwareConfig(mode="rtl"))
    # rtl: an FC layer runs floor(N/E) + 1 groups: 8 // 8 + 1 = 2 and 4 // 4 + 1 = 2
    assert [layer.detail["groups"] for layer in rtl.layers] == [2, 2] and rtl.mode == "rtl"


def test_update_energy_of_an_unpriced_neuron_is_lifs_per_state():
    c = fc_cycles(np.array([[[0]]]), 4, 4, 1, 8)
    hw = HardwareConfig(power={"update_pj": {"lif": 1.0, "lapicque": 9.0}, "ecu_cycle_pj": 0.0})
    # one activation of 4 neurons: an IF neuron (one state) costs LIF's 1 pJ, a CubaLIF (two) 2 pJ
    one = tr.LayerSpec("fc", (8,), (4,), (4,), dynamics=tr.NeuronDynamics("if", 1.0))
    two = tr.LayerSpec("fc", (8,), (4,), (4,), dynamics=tr.NeuronDynamics("cuba_lif", 0.5, synapse_decay=0.5))
    assert layer_energy_j(one, c, hw) == pytest.approx(1 * 4 * 1.0 * 1e-12, rel=1e-12)
    assert layer_energy_j(two, c, hw) == pytest.approx(1 * 4 * 2.0 * 1e-12, rel=1e-12)


def test_conv_layer_energy_counts_every_neuron_of_the_frame():
    layer = tr.LayerSpec("conv", (1, 4, 4), (3, 2, 2), (3, 2, 2), kernel=3)
    c = conv_cycles(np.array([[[2]]]), 3, 3, 16, 4, kernel=3)
    # accumulates 18 taps x 3 channels; one sweep of 3 channels x 4 neurons; 13 ECU cycles
    want = (18 * 3 * 2.0 + 1 * 3 * 4 * 3.0 + 13 * 1.0) * 1e-12
    assert layer_energy_j(layer, c, HardwareConfig()) == pytest.approx(want, rel=1e-12)


def test_memory_check_boundary(tmp_path):
    t = _fc_traces(tmp_path)  # weights: (8*8 + 4*8) = 96 x weight_bits
    simulate(t, HardwareConfig(weight_bits=32, bram_kbits=3, bram_count=1))  # 3072 bits: fits exactly
    with pytest.raises(ConfigError) as e:
        simulate(t, HardwareConfig(weight_bits=32, bram_kbits=1, bram_count=2))
    assert str(e.value) == ("the network's weights need 0 KiB but the device has 0 KiB of block RAM "
                            "(2 x 1 kbit)")


def test_cores_must_match_layers(tmp_path):
    t = _fc_traces(tmp_path)
    with pytest.raises(ConfigError, match=r"cores per layer \[4\]: need 2 counts >= 1"):
        simulate(t, HardwareConfig(), cores=[4])
    with pytest.raises(ConfigError, match="need 2 counts >= 1"):
        simulate(t, HardwareConfig(), cores=[4, 0])
    # fc_cores 5: the largest divisor of 8 up to 5 is 4, of 4 it is 4; ``ideal``: min(5, 8), min(5, 4)
    assert [layer.cores for layer in simulate(t, HardwareConfig(fc_cores=5)).layers] == [4, 4]
    ideal = simulate(t, HardwareConfig(fc_cores=5, core_counts="ideal"))
    assert [layer.cores for layer in ideal.layers] == [5, 4]
    rep = simulate(t, HardwareConfig(cores=[1, 3]))  # 3 does not divide layer 1's 4 neurons
    assert [layer.cores for layer in rep.layers] == [1, 3]
    assert rep.warnings == ["L1:fc: 3 cores do not divide its 4 channels/neurons; the RTL cannot build that "
                            "(core_counts: ideal allows it)"]
    assert simulate(t, HardwareConfig(cores=[1, 3], core_counts="ideal")).warnings == []


# ---- allocation against exhaustive search ----
# Mean layer latencies by hand (see test_simulate_report_by_hand) with G groups (ideal mode):
# layer 0: A 18 + 9G + 4, B 14 + 8G + 4 -> 20 + 8.5G;  layer 1: A 18 + 8G, B 18 + 7G -> 18 + 7.5G

def _hand(cores):
    e0, e1 = cores
    return [20 + 8.5 * math.ceil(8 / e0), 18 + 7.5 * math.ceil(4 / e1)]


DIVISORS = (1, 2, 4, 8), (1, 2, 4)  # buildable: E divides 8 and 4 neurons
ANY = tuple(range(1, 9)), tuple(range(1, 5))


def test_hand_latencies_match_the_model(tmp_path):
    t = _fc_traces(tmp_path)
    for cores in [(1, 1), (3, 2), (5, 3), (8, 4)]:
        rep = simulate(t, HardwareConfig(core_counts="ideal"), cores=list(cores))
        got = [layer.latency_cycles for layer in rep.layers]
        assert got == _hand(cores)


@pytest.mark.parametrize("counts", ["divisors", "ideal"])
@pytest.mark.parametrize("budget", [2, 5, 9, 12])
def test_layer_pipelined_allocation_is_the_exhaustive_optimum(tmp_path, budget, counts):
    t = _fc_traces(tmp_path)
    hw = HardwareConfig(pipeline="layer_pipelined", core_counts=counts)
    sets = DIVISORS if counts == "divisors" else ANY
    best = min(max(_hand(c)) for c in itertools.product(*sets) if sum(c) <= budget)
    a = allocate(t, hw, budget)
    assert a.objective == "max" and sum(a.cores) <= budget
    assert all(e in s for e, s in zip(a.cores, sets, strict=True))
    assert a.latency_cycles == best == max(_hand(a.cores))


def test_buildable_core_counts_cost_latency_at_budget_5(tmp_path):
    # ideal: (3, 2) -> max(20 + 8.5*3, 18 + 7.5*2) = 45.5; buildable: (4, 1) -> max(37, 48) = 48
    t = _fc_traces(tmp_path)
    assert allocate(t, HardwareConfig(pipeline="layer_pipelined", core_counts="ideal"), 5).cores == [3, 2]
    a = allocate(t, HardwareConfig(pipeline="layer_pipelined"), 5)
    assert (a.cores, a.latency_cycles) == ([4, 1], 48.0)


@pytest.mark.parametrize("counts", ["divisors", "ideal"])
@pytest.mark.parametrize("budget", [2, 3, 6, 12])
def test_sequential_allocation_is_the_exhaustive_optimum_on_a_convex_case(tmp_path, budget, counts):
    t = _fc_traces(tmp_path)
    hw = HardwareConfig(core_counts=counts)
    sets = DIVISORS if counts == "divisors" else ANY
    best = min(sum(_hand(c)) for c in itertools.product(*sets) if sum(c) <= budget)
    a = allocate(t, hw, budget)
    assert a.objective == "sum" and sum(a.cores) <= budget
    assert all(e in s for e, s in zip(a.cores, sets, strict=True))
    assert a.latency_cycles == best == sum(_hand(a.cores))


def test_allocation_through_the_config_and_its_budget_check(tmp_path):
    t = _fc_traces(tmp_path)
    rep = simulate(t, HardwareConfig(core_budget=6))
    assert rep.total_cores <= 6 and rep.latency_cycles == allocate(t, HardwareConfig(), 6).latency_cycles
    with pytest.raises(ConfigError) as e:
        allocate(t, HardwareConfig(), 1)
    assert str(e.value) == "core budget 1 is below one core per layer (2 layers)"


# ---- fixed point: round to nearest, saturate ----

def test_fixed_point_neuron_rounds_to_nearest_by_hand():
    # 4 fractional bits: beta 0.5 -> 8/16, thr 1 -> 16; currents in 1/16 units
    layer = tr.LayerSpec("fc", (1,), (1,), (1,), beta=0.5, threshold=1.0)
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)
    cur = np.array([[[3], [0], [0], [17]]])  # U: 3, round(1.5) = 2, round(1.0) = 1, 1 + 17 = 18 > 16
    assert fp.neuron_run(layer, cur, hw)[0, :, 0].tolist() == [0, 0, 0, 1]
    # truncation would give U: 3, 1, 0, 17 -> also a spike; a current of 16 separates them:
    # nearest: 2 -> 1 -> 1 + 16 = 17 > 16 spikes; truncation: 1 -> 0 -> 16 does not
    cur = np.array([[[3], [0], [16]]])
    assert fp.neuron_run(layer, cur, hw)[0, :, 0].tolist() == [0, 0, 1]


def test_fixed_point_neuron_saturates_and_resets():
    layer = tr.LayerSpec("fc", (1,), (1,), (1,), beta=1.0, threshold=1.0, reset="zero")
    hw = HardwareConfig(membrane_bits=8, membrane_frac_bits=4)  # range [-128, 127]
    cur = np.array([[[100], [100], [-100], [-100], [-100]]])
    # U: 100 S; zeroed then 100 S; zeroed then -100; -200 -> -128 (saturated); -228 -> -128
    assert fp.neuron_run(layer, cur, hw)[0, :, 0].tolist() == [1, 1, 0, 0, 0]
    sub = tr.LayerSpec("fc", (1,), (1,), (1,), beta=1.0, threshold=1.0)
    cur = np.array([[[100], [100], [0]]])  # U: 100 S, 200 -> 127 (sat), then 127 - 16 = 111 S
    assert fp.neuron_run(sub, cur, hw)[0, :, 0].tolist() == [1, 1, 1]


def test_fixed_point_currents_by_hand():
    layer = tr.LayerSpec("fc", (3,), (2,), (2,))
    w = {"weight": np.array([[0.6, -0.25, 0.0], [0.125, 0.0, 1.0]], np.float32),
         "bias": np.array([0.03, -0.5], np.float32)}
    hw = HardwareConfig(weight_bits=4, membrane_bits=16, membrane_frac_bits=4)
    # scale = 1/7; int weights round(4.2) = 4, round(-1.75) = -2, 0 | round(0.875) = 1, 0, 7
    # inputs 1, 1, 0: acc 2 and 1 -> 2/7*16 = 4.57 -> 5 (not 4), 1/7*16 = 2.29 -> 2;
    # biases 0.48 -> 0 and -8
    cur = fp.layer_currents(layer, w, np.array([[1, 1, 0]]), 0, hw)
    assert cur.tolist() == [[5, -6]]


def _loop_conv(x, w, stride, pad):
    """Integer convolution by explicit loops: x [C, H, W], w [O, C, K, K] -> [O, H', W']."""
    c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.zeros((c, h + 2 * pad, wd + 2 * pad), np.int64)
    xp[:, pad:pad + h, pad:pad + wd] = x
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((o, oh, ow), np.int64)
    for a in range(o):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    for u in range(k):
                        for v in range(k):
                            out[a, i, j] += int(w[a, ch, u, v]) * int(xp[ch, i * stride + u, j * stride + v])
    return out


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_fixed_point_conv_currents_with_stride_padding_pool_and_batch_norm(pool):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 2, 4, 4))  # two samples of event counts (0 fractional bits)
    iw = rng.integers(-7, 8, (3, 2, 3, 3))
    # stride 2, padding 1: (4 + 2 - 3) // 2 + 1 = 2 -> conv 2x2, pooled 2 -> 1x1
    layer = tr.LayerSpec("conv", (2, 4, 4), (3, 2, 2), (3, 1, 1), kernel=3, stride=2, padding=1,
                         pool=(pool, 2))
    w = {"int_weight": iw, "scale": np.float32(0.5), "bias": np.array([0.25, -0.5, 0.0], np.float32),
         "bn_scale": np.array([1.5, -0.75, 2.0], np.float32),
         "bn_shift": np.array([0.0, 1.0, -0.125], np.float32)}
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)
    got = fp.layer_currents(layer, w, x, 0, hw)
    for m in range(2):
        acc = _loop_conv(x[m], iw, 2, 1)
        # current = acc * 0.5 * 16 = 8 acc (exact), + bias 4 / -8 / 0 (in 1/16 units);
        # batch norm: (cur * round(16 s)) >> 4 + round(16 b): scales 24, -12, 32; shifts 0, 16, -2
        cur = 8 * acc + np.array([4, -8, 0])[:, None, None]
        cur = (cur * np.array([24, -12, 32])[:, None, None]) // 16 + np.array([0, 16, -2])[:, None, None]
        want = cur.max((1, 2)) if pool == "max" else cur.sum((1, 2)) // 4  # floor of the mean
        assert got[m, :, 0, 0].tolist() == want.tolist()


def test_fixed_point_avg_pool_drops_the_ragged_edge_and_floors():
    # 5x5 frame, padding 1, stride 1 -> 5x5 currents; avg pool 3 keeps rows/cols 0..2 only
    layer = tr.LayerSpec("conv", (1, 5, 5), (1, 5, 5), (1, 1, 1), kernel=3, padding=1, pool=("avg", 3))
    x = np.zeros((1, 1, 5, 5), np.int64)
    x[0, 0, 1, 1] = 1  # reaches conv outputs (0..2, 0..2): all 9 of the pooled window
    x[0, 0, 4, 4] = 5  # reaches only outputs (3..4, 3..4): outside the pooled window
    w = {"int_weight": np.ones((1, 1, 3, 3), np.int64), "scale": 1.0, "bias": np.array([-0.0625])}
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)
    # each of the 9 window currents: 16 * 1 - 1 = 15; mean 15
    assert fp.layer_currents(layer, w, x, 0, hw).tolist() == [[[[15]]]]
    w["bias"] = np.array([-0.125])  # every current 16 - 2 = 14
    x[0, 0, 3, 3] = 1  # reaches outputs (2..4, 2..4): only (2, 2) of the window, +16
    # sum 9*14 + 16 = 142; 142 / 9 = 15.8 -> floor 15 (rounding would give 16)
    assert fp.layer_currents(layer, w, x, 0, hw).tolist() == [[[[15]]]]


def test_fixed_point_lapicque_zeroes_after_the_update():
    # beta = exp(-0.5): C = 1/ln(1/beta) = 2, a = 1 - 1/C = 0.5 -> 8/16, b = 1/C = 0.5 -> 8/16
    layer = tr.LayerSpec("fc", (1,), (1,), (1,), neuron="lapicque", beta=math.exp(-0.5), reset="zero")
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)  # threshold 16
    # U0 = 0 + (8*40 + 8) >> 4 = 20 > 16 spikes; U1 = (8*20 + 8) >> 4 + 20 = 10 + 20 = 30, zeroed
    # after the update (the reset of step 0), so no spike; U2 = 0 + 20 spikes
    # (zeroing before the update would give U1 = 20, U2 = 20: [1, 1, 1])
    assert fp.neuron_run(layer, np.array([[[40], [40], [40]]]), hw)[0, :, 0].tolist() == [1, 0, 1]
    # LIF (a 8/16, b 16/16) zeroes before the update: U0 20 S; U1 0 + 20 S; U2 0 + 10 no
    # (zeroing after: U1 10 + 20 -> 0, [1, 0, 0]; no reset: U2 15 + 10 = 25 S, [1, 1, 1])
    lif = tr.LayerSpec("fc", (1,), (1,), (1,), beta=0.5, reset="zero")
    assert fp.neuron_run(lif, np.array([[[20], [20], [10]]]), hw)[0, :, 0].tolist() == [1, 1, 0]


def _fp_traces(tmp_path, encoding="rate", input_values=None, bits=True):
    """2 inputs -> 2 LIF (identity weights) -> 2 LIF (class 1 sums both), T = 2, one sample."""
    layers = [tr.LayerSpec("fc", (2,), (2,), (2,)), tr.LayerSpec("fc", (2,), (2,), (2,))]
    b0 = np.array([[[1, 1], [1, 0]]], np.uint8)
    b1 = np.array([[[0, 0], [0, 1]]], np.uint8)  # the float model's layer-0 spikes
    b2 = np.array([[[0, 1], [0, 1]]], np.uint8)
    w0, w1 = np.eye(2), np.array([[0, 0], [1, 1]])  # scale 1: the float weights are the integers
    weights = [{"weight": w0.astype(np.float32), "int_weight": w0.astype(np.int64), "scale": np.float32(1.0),
                "bias": np.zeros(2, np.float32)},
               {"weight": w1.astype(np.float32), "int_weight": w1, "scale": np.float32(1.0),
                "bias": np.array([0.0, 1.5], np.float32)}]
    tr.write(tmp_path, num_steps=2, encoding=encoding, input_shape=(2,), layers=layers,
             counts=[b0, b1, b2], bits=[b0, b1, b2] if bits else None, weights=weights,
             labels=np.array([1]), predictions=np.array([1]), input_values=input_values,
             meta={"num_classes": 2})
    return tr.read(tmp_path)


def test_fixed_point_check_and_chained_run_by_hand(tmp_path):
    t = _fp_traces(tmp_path)
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)  # beta 0.5 -> 8/16, thr 16
    # layer 0 currents 16x: t0 [16, 16] -> U 16, 16 (not > 16); t1 [16, 0] -> U 8 + 16 = 24, 8 + 0 = 8
    # fixed spikes [[0, 0], [1, 0]] vs the float [[0, 0], [0, 1]]: 2 of 4 bits differ
    # layer 1 fed the float spikes: neuron 1 gets 0 + 24 (bias 1.5) = 24 -> spike, then
    # (8*24 + 8) >> 4 = 12, + 16 + 24 = 52 - 16 = 36 -> spike; neuron 0 never: as the float model
    m = fp.check(t, hw)
    assert [(x.name, x.spikes_float, x.spikes_fixed, x.mismatch_rate) for x in m] == [
        ("L0:fc", 1, 1, 0.5), ("L1:fc", 2, 2, 0.0)]
    # chained: layer 1 fed the fixed spikes ([1, 0] at t1) sums the same 1 event: same spikes
    counts, pred = fp.run_chained(t, hw)
    assert [c[0].tolist() for c in counts] == [[[1, 1], [1, 0]], [[0, 0], [1, 0]], [[0, 1], [0, 1]]]
    assert counts[1].dtype == np.uint32 and pred.tolist() == [1]  # class 1: 2 spikes vs 0


def test_fixed_point_direct_and_event_inputs(tmp_path):
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)
    # direct: values 1.25, 0.5 -> 20, 8 with 4 fractional bits, repeated over both steps; currents
    # 20*1 / 2^4 -> 20/16 * 16 = 20 and 8: U0 20 > 16 spikes, 8; U1 (8*20 + 8) >> 4 + 20 - 16 = 14,
    # (8*8 + 8) >> 4 + 8 = 12: layer-0 spikes [[1, 0], [0, 0]]
    t = _fp_traces(tmp_path / "d", "direct", np.array([[1.25, 0.5]], np.float32))
    counts, _ = fp.run_chained(t, hw)
    assert counts[1][0].tolist() == [[1, 0], [0, 0]]
    # event frames: integer counts per step enter as they are: [2, 0], [0, 1] -> currents 32, 0 | 0, 16
    # U0 32 spikes, 0; U1 16 + 0 - 16 = 0, 0 + 16 = 16 (not > 16)
    t = _fp_traces(tmp_path / "e", "events", np.array([[[2, 0], [0, 1]]], np.int64))
    counts, _ = fp.run_chained(t, hw)
    assert counts[1][0].tolist() == [[1, 0], [0, 0]]
    t = _fp_traces(tmp_path / "n", bits=False)
    with pytest.raises(TraceError) as e:
        fp.check(t, hw)
    assert str(e.value) == f"{t.path} keeps no input events (profile.trace_samples = 0)"


# ---- the published build: counter wrap, conv build parameters, memory, hybrid ----

def _conv_net(count, encoding="rate"):
    layers = [tr.LayerSpec("conv", (1, 4, 4), (1, 2, 2), (1, 2, 2), kernel=3)]
    counts = [np.array([[[count]]]), np.zeros((1, 1, 1), np.int64)]
    return tr.Traces(None, 1, encoding, (1, 4, 4), layers, counts, np.zeros(1), np.zeros(1))


def test_rtl_counter_wrap_drops_spikes_and_warns():
    # 4x4 frame: PENC 16 >> 2 = 4 bits (4 chunks), SPARSE 16 >> 1 = 8 -> $clog2(8) = 3-bit counter
    assert HardwareConfig(mode="rtl").conv_build(16) == (4, 3)
    assert HardwareConfig().conv_build(16) == (4, None)
    # 9 spikes: scanned at full cost, 1 + 2*4 + 2*9 = 27 cycles from cycle 1 (ends 28); 9 mod 8 = 1
    # replayed: 9 taps from 29 to 38, then the 2x2 sweep (3) to 41; ECU advance 30, step 31,
    # group 32, done 33
    rep = simulate(_conv_net(9), HardwareConfig(mode="rtl"))
    l0 = rep.layers[0]
    assert (l0.latency_cycles, l0.detail["accumulate_cycles"], l0.dropped_events) == (33.0, 9.0, 8.0)
    assert l0.dropped_fraction == 8 / 9 and rep.dropped_events == 8.0
    assert rep.warnings == ["L0:conv: the hardware drops 88.9% of its input spikes (8.0 per inference "
                            "over its passes)"]
    # ideal: no wrap; all 81 taps from 29 to 110, sweep to 113
    ideal = simulate(_conv_net(9), HardwareConfig())
    assert (ideal.layers[0].latency_cycles, ideal.dropped_events, ideal.warnings) == (113.0, 0.0, [])
    # direct input on the sparse design carries a warning naming the hybrid design
    assert simulate(_conv_net(9, "direct"), HardwareConfig()).warnings == [
        "direct (analog) input is costed as events on the sparse cores, which no built design does; "
        "the hybrid design (kind: hybrid, or --accelerator hybrid) computes the first layer on a dense core"]


def test_fc_cycles_with_the_published_encoder_width_by_hand():
    # 3 samples, T = 2, a 201-bit input frame: the default 200-bit encoder needs 2 chunks.
    # compress per step 1 + 2 + 2*2 = 7, plus 2 per spike; per group and step max(s, 1) + 2,
    # +1 per group, +4 control. Sample 0 (spikes 3, 0): 14 + 6 = 20; 2 groups (ideal) x
    # (5 + 3 + 1) = 18 -> 42; rtl runs 4 // 2 + 1 = 3 groups -> 20 + 27 + 4 = 51. Sample 1
    # (0, 0): 14 + 2 x 7 + 4 = 32 (rtl 14 + 21 + 4 = 39); sample 2 (1, 1): 18 + 14 + 4 = 36 (43).
    counts = np.array([[[3], [0]], [[0], [0]], [[1], [1]]])
    ideal = fc_cycles(counts, 4, 2, 1, 201)
    assert ideal.latency.tolist() == [42, 32, 36] and ideal.compress.tolist() == [20, 14, 18]
    assert ideal.activations.tolist() == [4, 4, 4] and ideal.accumulate.tolist() == [6, 0, 4]
    rtl = fc_cycles(counts, 4, 2, 1, 201, mode="rtl")
    assert rtl.latency.tolist() == [51, 39, 43] and rtl.activations.tolist() == [6, 6, 6]


def test_dropped_fraction_counts_every_pass_over_the_input():
    # the 9-spike map above, read by 2 output channels on 1 core: 2 passes, each scans 9 spikes
    # and hands over 9 mod 8 = 1. Pass 1 ends as above (group advance at 32); pass 2 scans
    # from 33 to 59, replays 60-69 (the unit is free since 41), ECU advance 61, step 62, its
    # sweep queued after the replay; group 63, done 64. 16 of 2 x 9 = 18 events dropped.
    layers = [tr.LayerSpec("conv", (1, 4, 4), (2, 2, 2), (2, 2, 2), kernel=3)]
    t = tr.Traces(None, 1, "rate", (1, 4, 4), layers, [np.array([[[9]]]), np.zeros((1, 1, 2), np.int64)],
                  np.zeros(1), np.zeros(1))
    l0 = simulate(t, HardwareConfig(mode="rtl"), cores=[1]).layers[0]
    assert (l0.cores, l0.latency_cycles, l0.input_events_per_inference, l0.dropped_events) == (
        1, 64.0, 9.0, 16.0)
    assert l0.dropped_fraction == 16 / 18 and l0.detail["accumulate_cycles"] == 18.0
    # no input events: nothing dropped, a fraction of 0
    silent = simulate(_conv_net(0), HardwareConfig(mode="rtl")).layers[0]
    assert (silent.input_events_per_inference, silent.dropped_events, silent.dropped_fraction) == (
        0.0, 0.0, 0.0)


def test_conv_build_parameters():
    # F = 18: PENC 18 >> 2 = 4 -> ceil(18/4) = 5 chunks; SPARSE 9 -> 4-bit counter
    assert HardwareConfig(mode="rtl").conv_build(18) == (4, 4)
    # legacy penc_chunks 4: PENC = ceil(18/4) = 5 bits;
    # shifts configurable: F >> 3 = 2, SPARSE F >> 2 = 4 -> 2 bits
    assert HardwareConfig(penc_chunks=4).conv_build(18) == (5, None)
    assert HardwareConfig(mode="rtl", conv_penc_shift=3, conv_sparse_shift=2).conv_build(18) == (2, 2)
    assert HardwareConfig(conv_penc_shift=6).conv_build(18) == (1, None)  # at least one bit per chunk
    # the counter never has fewer bits than needed for SPARSE_SIZE - 1: 1024 >> 1 = 512 -> 9 bits
    assert HardwareConfig(mode="rtl").conv_build(1024) == (256, 9)
    # chunks in the cycle count: an empty map costs 1 + 2*5 scan cycles + 1 advance
    c = conv_cycles(np.zeros((1, 1, 1)), 1, 1, 18, 4, kernel=3)
    assert int(c.compress[0]) == 11


def test_hardware_config_checks_and_identity(tmp_path):
    with pytest.raises(ConfigError) as e:
        from_dict({"membrane_bits": 16, "membrane_frac_bits": 16})
    assert "membrane_frac_bits must be below membrane_bits" in str(e.value)
    assert str(e.value).startswith("invalid hardware config (snn_dse): ")
    from_dict({"membrane_bits": 16, "membrane_frac_bits": 15})
    with pytest.raises(ConfigError, match=r"cores.1: Input should be greater than or equal to 1"):
        from_dict({"cores": [2, 0]})
    assert load(None) == HardwareConfig()
    (tmp_path / "hw.yaml").write_text("kind: hybrid\ndense_rows: 2\n")
    h = load(tmp_path / "hw.yaml")
    assert (h.kind, h.dense_rows) == ("hybrid", 2)
    # sweep identity: later fields appear only when set away from their defaults
    ident = HardwareConfig(core_counts="ideal", penc_chunks=2, fc_penc_size=100).identity()
    assert (ident["core_counts"], ident["penc_chunks"], ident["fc_penc_size"]) == ("ideal", 2, 100)
    assert "conv_penc_shift" not in ident and "kind" not in ident
    assert hw_identity(HardwareConfig()) == HardwareConfig().identity()
    assert HardwareConfig(clock_mhz=100).clock_hz == 100e6


def test_memory_of_conv_layers_and_per_layer_weight_bits():
    # conv 4 x 3 x 3 x 3 weights at the layer's 8 bits = 864 bits; FC 10 x 36 at 4 bits = 1440:
    # 2304 bits > 2 kbit; fits 3 kbit
    layers = [tr.LayerSpec("conv", (3, 8, 8), (4, 6, 6), (4, 3, 3), kernel=3, pool=("max", 2), weight_bits=8),
              tr.LayerSpec("fc", (4, 3, 3), (10,), (10,))]
    check_memory(layers, HardwareConfig(bram_kbits=1, bram_count=3))
    with pytest.raises(ConfigError, match="need 0 KiB but the device has 0 KiB of block RAM"):
        check_memory(layers, HardwareConfig(bram_kbits=1, bram_count=2))
    # 72 kbit of weights: 9 KiB, against 2 x 36 kbit = 9 KiB fits; 1 x 36 does not
    big = [tr.LayerSpec("fc", (1152,), (64,), (64,))]  # 73,728 weights x 1 bit = 72 kbit
    check_memory(big, HardwareConfig(weight_bits=1, bram_count=2))
    with pytest.raises(ConfigError) as e:
        check_memory(big, HardwareConfig(weight_bits=1, bram_count=1))
    assert str(e.value) == ("the network's weights need 9 KiB but the device has 4 KiB of block RAM "
                            "(1 x 36 kbit)")


def test_fc_after_conv_reads_channels_times_frame():
    # FC fed by a 4 x 3 x 3 map: IC = 4, F = 9 -> 36 bits, one chunk of 200: per step 4 + 2 + 2 = 8
    layers = [tr.LayerSpec("conv", (1, 4, 4), (4, 2, 2), (4, 2, 2), kernel=3),
              tr.LayerSpec("fc", (4, 2, 2), (10,), (10,))]
    counts = [np.zeros((1, 1, 1), np.int64), np.array([[[1, 0, 2, 0]]]), np.zeros((1, 1, 10), np.int64)]
    t = tr.Traces(None, 1, "rate", (1, 4, 4), layers, counts, np.zeros(1), np.zeros(1))
    rep = simulate(t, HardwareConfig(fc_cores=5))
    # 3 events: compress 8 + 6 = 14; cores 5 (divides 10): 2 groups x ((3+2) + 1) = 12; + 4 = 30
    assert rep.layers[1].cores == 5 and rep.layers[1].latency_cycles == 30.0
    assert rep.layers[1].detail["compress_cycles"] == 14.0
    assert fc_input(layers[1]) == (4, 4) and fc_input(tr.LayerSpec("fc", (7,), (2,), (2,))) == (1, 7)


def test_hybrid_dense_layer_by_hand():
    layers = [tr.LayerSpec("conv", (3, 8, 8), (4, 6, 6), (4, 3, 3), kernel=3, pool=("max", 2)),
              tr.LayerSpec("fc", (4, 3, 3), (10,), (10,))]
    counts = [np.full((2, 3, 3), 5), np.zeros((2, 3, 4), np.int64), np.zeros((2, 3, 10), np.int64)]
    t = tr.Traces(None, 3, "direct", (3, 8, 8), layers, counts, np.zeros(2), np.zeros(2))
    rep = build(from_dict({"kind": "hybrid", "dense_rows": 2, "dense_mac_pj": 0.5})).cost(t)
    # 1 + (4/2 passes) * 3 steps * (64 pixels + 3*9 + 2) = 559 cycles, whatever the input
    # MACs: 4 channels x 3 steps x 64 pixels x 27 = 20,736 x 0.5 pJ
    d = rep.layers[0]
    assert (d.latency_cycles, d.cores, d.detail["groups"], d.detail["macs"]) == (559.0, 2, 2, 20736.0)
    assert (d.input_events_per_inference, d.dropped_events, d.unit, d.name) == (
        45.0, 0.0, "dense conv", "L0:conv")
    assert d.energy_uj == pytest.approx(20736 * 0.5e-6, rel=1e-12)
    assert rep.layers[1].name == "L1:fc" and rep.accelerator == "hybrid"
    # FC: no events, 3 steps x (4 + 2 + 2) = 24; 10 cores (divides 10): 1 x (3 x 3 + 1) = 10; + 4 = 38
    assert rep.layers[1].latency_cycles == 38.0 and rep.latency_cycles == 559 + 38
    assert rep.total_cores == 2 + 10 and not any("direct" in w for w in rep.warnings)
    # cores given for every layer: the first entry is the dense core's and is ignored
    assert build(from_dict({"kind": "hybrid"})).cost(t, cores=[9, 5]).layers[1].cores == 5
    with pytest.raises(ConfigError) as e:
        build(from_dict({"kind": "hybrid", "dense_rows": 3})).cost(t)
    assert str(e.value) == "dense_rows 3 must divide the first layer's 4 output channels"
    fc_first = tr.Traces(None, 3, "rate", (36,), [tr.LayerSpec("fc", (36,), (10,), (10,))],
                         [np.zeros((2, 3, 36)), np.zeros((2, 3, 10))], np.zeros(2), np.zeros(2))
    with pytest.raises(ConfigError) as e:
        build(from_dict({"kind": "hybrid"})).cost(fc_first)
    assert str(e.value) == ("the hybrid design computes a conv first layer on its dense core; "
                            "this network starts with an fc layer")
    assert dense_cycles(1, 1, 3, 4, kernel=1, rows=3) == 1 + 1 * 1 * (4 + 1 + 2)
    # one PE column by default: 3 passes of (4 + 1 + 2); a whole number of cycles
    assert dense_cycles(1, 1, 3, 4, kernel=1) == 1 + 3 * 7 and type(dense_cycles(1, 1, 3, 4, kernel=1)) is int


def test_snn_dse_plugin_costs_as_simulate():
    t = _conv_net(9)
    acc = build(from_dict({"mode": "rtl"}))
    rep = acc.cost(t)
    assert (rep.accelerator, rep.layers[0].latency_cycles) == ("snn_dse", 33.0)  # as in the wrap test
    assert acc.cost(t, cores=[1]).layers[0].cores == 1
    assert [h for h, _, _ in acc.table(rep)][:3] == ["cores", "groups", "cycles"]
    assert hw_identity(PowerConfig()) == PowerConfig().model_dump()  # a section without identity()


def test_nc_crosscheck_stimulus_streams_by_hand():
    # FC: step 0 has spikes at 0 and 2: en_accum for all but the last, en_activ, 3 idle, read-out;
    # step 1 has none: only the idle cycles and the read-out
    s = np.array([[1, 0, 1], [0, 0, 0]])
    idle, read = [0, 0, 0, 1], [3, 0, 0, 1]
    assert nm.fc_events(s, 1) == [[1, 0, 0, 1], [2, 0, 0, 1], idle, idle, idle, read, idle, idle, idle, read]
    assert nm.fc_events(s[1:], 2) == [[0, 0, 0, 1]] * 3 + [[3, 0, 0, 1]] + [[0, 1, 0, 1]] * 3 + [[3, 1, 0, 1]]
    # conv 3x3 map, one spike at (0, 0), padding 1: tap (i, j) reaches neuron (1 - i, 1 - j):
    # taps 0 (0,0) -> neuron 4 = (1, 1); 1 (0,1) -> 3 = (1, 0); 3 (1,0) -> 1 = (0, 1); 4 (1,1) -> 0
    sp = np.zeros((1, 1, 3, 3), np.uint8)
    sp[0, 0, 0, 0] = 1
    cmds = nm.conv_events(sp)
    assert cmds[:5] == [[1, 1, 1, 0, 0, 1], [1, 1, 0, 0, 1, 1], [1, 0, 1, 0, 3, 1], [1, 0, 0, 0, 4, 1],
                        [2, 0, 0, 0, 0, 1]]
    assert cmds[5:] == [[0] * 6] * (9 + 4) + [[3, 0, 0, 0, 0, 0]]
    # two steps, second channel: the flag ``last`` marks only the last step's commands
    sp2 = np.zeros((2, 2, 3, 3), np.uint8)
    sp2[1, 1, 2, 2] = 1  # reaches neurons (1..2, 1..2) with taps 4, 5, 7, 8
    c2 = nm.conv_events(sp2)
    assert c2[:15] == [[2, 0, 0, 0, 0, 0]] + [[0] * 6] * 13 + [[3, 0, 0, 0, 0, 0]]
    assert c2[15:19] == [[1, 2, 2, 1, 4, 1], [1, 2, 1, 1, 5, 1], [1, 1, 2, 1, 7, 1], [1, 1, 1, 1, 8, 1]]


def test_cost_report_dict_and_run_fields():
    t = _conv_net(9)
    t.meta["input_max_count"] = 3
    rep = simulate(t, HardwareConfig(mode="rtl", clock_mhz=50))
    d = rep.to_dict()
    # one layer of 33 cycles (see the wrap test): both FPS figures are f / 33
    assert (d["pipeline"], d["clock_mhz"], d["input_max_count"]) == ("sequential", 50.0, 3)
    assert d["accelerator"] == "snn_dse"
    assert d["fps_pipelined"] == d["fps_sequential"] == pytest.approx(50e6 / 33, rel=1e-12)
    assert d["dropped_events"] == 8.0 and "latency_cycles_per_sample" not in d
    assert [layer["name"] for layer in d["layers"]] == ["L0:conv"]
    assert d["layers"][0]["dropped_fraction"] == 8 / 9
    assert d["layers"][0]["groups"] == 1 and "detail" not in d["layers"][0]
    assert simulate(_conv_net(9), HardwareConfig()).input_max_count == 1  # no count recorded: a bitmap


def test_a_fraction_of_a_dropped_spike_per_inference_still_warns():
    # 16 samples, one of them with a 9-spike map: 8 dropped / 16 = 0.5 per inference
    layers = [tr.LayerSpec("conv", (1, 4, 4), (1, 2, 2), (1, 2, 2), kernel=3)]
    c0 = np.zeros((16, 1, 1), np.int64)
    c0[3] = 9
    t = tr.Traces(None, 1, "rate", (1, 4, 4), layers, [c0, np.zeros((16, 1, 1))], np.zeros(16), np.zeros(16))
    rep = simulate(t, HardwareConfig(mode="rtl"))
    # events 9 / 16 per inference: 0.5 / 0.5625 = 88.9% of them dropped
    assert rep.warnings == ["L0:conv: the hardware drops 88.9% of its input spikes (0.5 per inference "
                            "over its passes)"]


def test_hybrid_names_unbuildable_sparse_layers_by_their_network_index():
    layers = [tr.LayerSpec("conv", (3, 8, 8), (4, 6, 6), (4, 3, 3), kernel=3, pool=("max", 2)),
              tr.LayerSpec("fc", (4, 3, 3), (10,), (10,))]
    counts = [np.zeros((1, 3, 3)), np.zeros((1, 3, 4)), np.zeros((1, 3, 10))]
    t = tr.Traces(None, 3, "direct", (3, 8, 8), layers, counts, np.zeros(1), np.zeros(1))
    rep = build(from_dict({"kind": "hybrid"})).cost(t, cores=[1, 3])
    assert rep.warnings == ["L1:fc: 3 cores do not divide its 10 channels/neurons; the RTL cannot build that "
                            "(core_counts: ideal allows it)"]


def test_hardware_config_file_errors_name_the_file(tmp_path):
    f = tmp_path / "hw.yaml"
    f.write_text("- 1\n")
    with pytest.raises(ConfigError) as e:
        load(f)
    assert str(e.value) == f"hardware config {f} must be a mapping, got list"


def test_core_count_candidates_by_hand():
    fc8 = tr.LayerSpec("fc", (4,), (8,), (8,))
    conv6 = tr.LayerSpec("conv", (1, 4, 4), (6, 2, 2), (6, 2, 2), kernel=3)
    assert candidates(fc8, "ideal") == [1, 2, 4, 8] and candidates(conv6, "rtl") == [1, 2, 3, 6]  # divisors
    # ideal counts, ceil(8/E) groups: E 1 -> 8, 2 -> 4, 3 -> 3, 4 -> 2, 8 -> 1 (5..7 also 2: not smallest)
    assert candidates(fc8, "ideal", "ideal") == [1, 2, 3, 4, 8]
    # rtl FC, 8 // E + 1 groups: E 1 -> 9, 2 -> 5, 3 -> 3, 4 -> 3, 5..8 -> 2: smallest per count 1, 2, 3, 5
    assert candidates(fc8, "rtl", "ideal") == [1, 2, 3, 5]
    conv8 = tr.LayerSpec("conv", (1, 4, 4), (8, 2, 2), (8, 2, 2), kernel=3)
    assert candidates(conv8, "rtl", "ideal") == [1, 2, 3, 4, 8]


def test_conv_sweep_queues_behind_a_running_sweep_in_ideal_mode():
    # 2 steps of one empty 16-bit map (4 chunks), output frame 64: sweeps of 63 cycles.
    # step 0: scan to 10, advance 11; sweep from idle 12..75; step advance 12
    # step 1: scan 13..21, advance 22: the unit still sweeps, so ideal queues 75..138;
    # step advance 23, group 24, done 25
    c = conv_cycles(np.zeros((1, 2, 1), np.int64), 1, 1, 16, 64, kernel=3)
    assert (int(c.activations[0]), int(c.latency[0]), int(c.end[0])) == (2, 138, 138)
    # rtl: a step whose maps are all empty gets no sweep (after the first): one sweep, done at 25
    r = conv_cycles(np.zeros((1, 2, 1), np.int64), 1, 1, 16, 64, kernel=3, mode="rtl")
    assert (int(r.activations[0]), int(r.latency[0]), int(r.end[0])) == (1, 25, 75)


def test_cycle_counts_are_whole_numbers():
    for mode in ("ideal", "rtl"):
        for c in (conv_cycles(np.array([[[3, 0], [9, 1]]]), 2, 1, 16, 4, kernel=3, counter_bits=3, mode=mode),
                  fc_cycles(np.array([[[3], [0]]]), 8, 4, 1, 8, mode=mode)):
            for a in (c.latency, c.end, c.compress, c.accumulate, c.activate, c.activations,
                      c.dropped_events):
                assert a.dtype == np.int64


def test_fixed_point_saturates_at_the_format_limits():
    # 8-bit membrane, 4 fractional bits: integers in [-128, 127]
    hw = HardwareConfig(membrane_bits=8, membrane_frac_bits=4)
    layer = tr.LayerSpec("fc", (1,), (3,), (3,))
    w = {"int_weight": np.zeros((3, 1), np.int64), "scale": 1.0, "bias": np.array([100.0, -100.0, 7.96875])}
    # biases 1600 -> 127, -1600 -> -128, 127.5 -> 128 (nearest even) -> 127
    assert fp.layer_currents(layer, w, np.zeros((1, 1), np.int64), 0, hw).tolist() == [[127, -128, 127]]
    # a saturated membrane at 127 against thresholds 126/16 and 127/16 (beta 1, one step)
    cur = np.array([[[200]]])
    hi = tr.LayerSpec("fc", (1,), (1,), (1,), beta=1.0, threshold=126 / 16)
    at = tr.LayerSpec("fc", (1,), (1,), (1,), beta=1.0, threshold=127 / 16)
    assert fp.neuron_run(hi, cur, hw)[0, 0, 0] == 1 and fp.neuron_run(at, cur, hw)[0, 0, 0] == 0
    # negative saturation: -200 -> -128, then + 150 = 22 > 16 spikes (unsaturated: -50)
    one = tr.LayerSpec("fc", (1,), (1,), (1,), beta=1.0, threshold=1.0)
    assert fp.neuron_run(one, np.array([[[-200], [150]]]), hw)[0, :, 0].tolist() == [0, 1]


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_fixed_point_lapicque_tracks_float64(reset):
    # snnTorch's RC form with R = 1, C = 1/ln(1/beta): U = (1 - ln(1/beta)) U + ln(1/beta) I
    beta, thr = 0.8, 0.6
    lb = math.log(1 / beta)
    rng = np.random.default_rng(1)
    cur = rng.normal(1.5, 2.0, size=(3000, 20))
    layer = tr.LayerSpec("fc", (1,), (3000,), (3000,), neuron="lapicque", beta=beta, threshold=thr,
                         reset=reset)
    hw = HardwareConfig(membrane_frac_bits=24, membrane_bits=48)
    got = fp.neuron_run(layer, np.round(cur * 2.0**24).astype(np.int64)[:, :, None], hw)[:, :, 0]
    mem, ref = np.zeros(3000), []
    for t in range(20):
        r = mem > thr
        mem = (1 - lb) * mem + lb * cur[:, t]
        mem = mem - r * thr if reset == "subtract" else np.where(r, 0.0, mem)
        ref.append(mem > thr)
    ref = np.stack(ref, 1)
    assert 0.1 < ref.mean() < 0.9 and (got != ref).mean() <= 1e-4
