"""The hardware package's public API against hand-computed cycles, energies, power and
FPS/W (every term), exhaustive allocation search and hand-rounded fixed point."""

import itertools
import math

import numpy as np
import pytest

from spiketune import traces as tr
from spiketune.errors import ConfigError
from spiketune.hardware import HardwareConfig, allocate, conv_cycles, fc_cycles, simulate
from spiketune.hardware import fixed_point as fp
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
    rep = simulate(t, HardwareConfig())
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
    assert (d0["accumulate_cycles"], d0["activate_cycles"], l0.input_events) == (3.0, 2.0, 3.0)
    assert d0["other_cycles"] == 28.5 - 5.0 and d0["core_utilisation"] == pytest.approx(5 / 28.5, rel=1e-12)
    assert l0.breakdown == {"accumulate (core replay)": 3.0, "neuron sweep": 2.0, "scan / control": 23.5}
    assert (l0.name, l0.kind, l0.unit, l1.name) == ("L0:fc", "fc", "sparse fc", "L1:fc")
    assert (l1.cores, l1.latency_cycles, l1.input_events, l1.dropped_events) == (4, 25.5, 2.0, 0.0)
    assert (l0.dropped_fraction, rep.dropped_events, rep.accelerator, rep.num_samples) == (0.0, 0.0, "snn_dse", 2)
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
        "static_w": 1.0, "core_static_mw": 10.0, "accumulate_pj": 5.0, "update_pj": {"lif": 1.0, "lapicque": 7.0},
        "ecu_cycle_pj": 0.5})
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
    # all 2 cores of each of the 4 groups busy: (accumulate 12 + sweeps 8) of 54 cycles
    assert rep.layers[0].detail["core_utilisation"] == pytest.approx((12 + 8) / 54, rel=1e-12)
    rtl = simulate(t, HardwareConfig(mode="rtl"))
    # rtl: an FC layer runs floor(N/E) + 1 groups: 8 // 8 + 1 = 2 and 4 // 4 + 1 = 2
    assert [l.detail["groups"] for l in rtl.layers] == [2, 2] and rtl.mode == "rtl"


def test_update_energy_of_an_unknown_neuron_takes_the_largest():
    layer = tr.LayerSpec("fc", (8,), (4,), (4,), neuron="izhikevich")
    c = fc_cycles(np.array([[[0]]]), 4, 4, 1, 8)
    hw = HardwareConfig(power={"update_pj": {"lif": 1.0, "lapicque": 9.0}, "ecu_cycle_pj": 0.0})
    assert layer_energy_j(layer, c, hw) == pytest.approx(1 * 4 * 9.0 * 1e-12, rel=1e-12)


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
    assert [l.cores for l in simulate(t, HardwareConfig(fc_cores=5)).layers] == [4, 4]
    assert [l.cores for l in simulate(t, HardwareConfig(fc_cores=5, core_counts="ideal")).layers] == [5, 4]
    rep = simulate(t, HardwareConfig(cores=[1, 3]))  # 3 does not divide layer 1's 4 neurons
    assert [l.cores for l in rep.layers] == [1, 3]
    assert rep.warnings == ["L1: 3 cores do not divide its 4 channels/neurons; the RTL cannot build that "
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
        got = [l.latency_cycles for l in simulate(t, HardwareConfig(core_counts="ideal"), cores=list(cores)).layers]
        assert got == _hand(cores)


@pytest.mark.parametrize("counts", ["divisors", "ideal"])
@pytest.mark.parametrize("budget", [2, 5, 9, 12])
def test_layer_pipelined_allocation_is_the_exhaustive_optimum(tmp_path, budget, counts):
    t = _fc_traces(tmp_path)
    hw = HardwareConfig(pipeline="layer_pipelined", core_counts=counts)
    sets = DIVISORS if counts == "divisors" else ANY
    best = min(max(_hand(c)) for c in itertools.product(*sets) if sum(c) <= budget)
    a = allocate(t, hw, budget)
    assert a.objective == "max" and sum(a.cores) <= budget and all(e in s for e, s in zip(a.cores, sets))
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
    assert a.objective == "sum" and sum(a.cores) <= budget and all(e in s for e, s in zip(a.cores, sets))
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
