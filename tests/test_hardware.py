import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spiketune import traces
from spiketune.errors import ConfigError
from spiketune.hardware import HardwareConfig, allocate, conv_cycles, fc_cycles, simulate
from spiketune.hardware import config as hwconfig
from spiketune.hardware.snn_dse.cycles import counter_bits
from spiketune.traces import LayerSpec

DATA = Path(__file__).parent / "data"


def test_fc_hand_computed():
    # FC: 4 inputs (IC=1, frame 4), 3 neurons on 3 cores (1 group), T=2, events [2, 1].
    # P = 1 -> 4 chunks. Compression per step: (IC+1) concat + 2*4 chunks + 1 advance
    # = 11, plus 2 per spike: 11*2 + 2*3 = 28. Replay: per step max(s,1) + 2 -> 4 + 3, +1 per group = 8.
    # Control: 4. Total 40.
    c = fc_cycles(np.array([[[2], [1]]]), neurons=3, cores=3, in_channels=1, frame_in=4, penc_size=1)
    assert int(c.latency[0]) == 28 + 8 + 4 == 40
    assert int(c.accumulate[0]) == 3
    # rtl mode: floor(3/3) + 1 = 2 groups -> replay twice
    r = fc_cycles(np.array([[[2], [1]]]), 3, 3, 1, 4, penc_size=1, mode="rtl")
    assert int(r.latency[0]) == 28 + 2 * 8 + 4
    # the published PENC_SIZE = 200 scans the 4 bits in one chunk: 2*(IC+2+2) + 2*3 = 16
    assert int(fc_cycles(np.array([[[2], [1]]]), 3, 3, 1, 4).latency[0]) == 16 + 8 + 4


def test_two_layer_fc_network_with_three_events():
    # 4 -> 3 -> 2 network, T = 1; input events: 2 (layer 0 sees 2), layer 0 fires 1 (layer 1 sees 1).
    layers = [LayerSpec("fc", (4,), (3,), (3,)), LayerSpec("fc", (3,), (2,), (2,))]
    counts = [np.array([[[1, 1, 0, 0]]]), np.array([[[1, 0, 0]]]), np.array([[[0, 0]]])]
    t = traces.Traces(Path("."), 1, "rate", (4,), layers, counts, np.zeros(1), np.zeros(1))
    hw = HardwareConfig(cores=[3, 2], clock_mhz=100)
    rep = simulate(t, hw)
    # PENC_SIZE 200: one chunk per frame.
    # layer 0: compress (1+2+2*1) + 2*2 = 9; replay 1 group: (2 + 2) + 1 = 5; +4 -> 18
    # layer 1: (1+2+2*1) + 2*1 = 7; replay (1+2)+1 = 4; +4 -> 15
    assert rep.layers[0].latency_cycles == 18 and rep.layers[1].latency_cycles == 15
    assert rep.latency_cycles == 33
    assert rep.fps == pytest.approx(100e6 / 33)
    assert rep.latency_us == pytest.approx(0.33)


def test_conv_hand_computed():
    # 4x4 input, 1 channel, 2 spikes, 2 output channels on 2 cores, 3x3 kernel -> 2x2 output, T=1.
    # start 1 + compression (1 request + 2*4 chunks + 2*2 spikes = 13) + 1 hand-off
    # + replay 9*2 = 18 + sweep (4 - 1) = 3  ->  36
    c = conv_cycles(np.array([[[2]]]), out_channels=2, cores=2, frame_in=16, frame_out=4)
    assert int(c.latency[0]) == 1 + 13 + 1 + 18 + 3 == 36
    assert int(c.accumulate[0]) == 18 and int(c.activations[0]) == 1


def test_conv_zero_events_costs_the_fixed_overhead_only():
    # per map: 1 + 2*chunks scan + 1 advance; per step: sweep F_out-1 after 1 cycle, 1 advance
    t, ic, oc, e = 3, 2, 4, 2
    c = conv_cycles(np.zeros((1, t, ic), int), oc, e, frame_in=36, frame_out=16)
    groups = 2
    per_step = ic * (1 + 2 * 4 + 1) + 1
    scan = 1 + groups * (t * per_step + 1) + 1  # start, groups, done
    assert int(c.accumulate[0]) == 0
    assert int(c.activations[0]) == groups * t  # ideal mode sweeps every step
    # the last sweep starts 1 cycle after the final map's advance and lasts 15 cycles
    last_sweep_end = scan - 2 - 1 + 1 + 15
    assert int(c.latency[0]) == max(scan, last_sweep_end)


@pytest.mark.parametrize("name,least", [("rtl_cycles.json", 40), ("rtl_cycles_published.json", 240)])
def test_rtl_mode_matches_cycles_simulated_from_the_rtl(name, least):
    """Inputs and cycle counts recorded by benchmarks/rtl_crosscheck.py from the public RTL
    under Icarus: the legacy testbench parameters, and the published top level's
    (SPARSE_SIZE = F/2, PENC_SIZE = F/4 and 200) with densities up to 1.0 and T up to 25."""
    cases = json.loads((DATA / name).read_text())["cases"]
    assert len(cases) >= least
    for case in cases:
        counts = np.array([case["counts"]])
        if case["kind"] == "conv":
            w = case["W"]
            c = conv_cycles(counts, case["OC"], case["E"], w * w, (w - 2) ** 2, 3, case["P"],
                            counter_bits(case["S"]), mode="rtl")
            assert int(c.latency[0]) == case["rtl"]["done"], case
            assert int(max(c.latency[0] + 1, c.end[0])) == case["rtl"]["idle"], case
            assert int(c.accumulate[0]) == case["rtl"]["accum"], case
            assert int(c.activations[0]) * ((w - 2) ** 2 - 2) == case["rtl"]["activ"], case
        else:
            c = fc_cycles(counts, case["N"], case["E"], case["IC"], case["F"], case["P"], mode="rtl")
            assert int(c.latency[0]) == case["rtl"]["done"], case


def test_published_build_drops_most_spikes_of_a_dense_svhn_first_layer():
    """The recorded SVHN-sized direct-coded first layer: the RTL finishes in 296,772 cycles
    because its 9-bit spike counter keeps only s mod 512 of each ~920-spike map."""
    case = [c for c in json.loads((DATA / "rtl_cycles_published.json").read_text())["cases"]
            if c["kind"] == "conv" and c["W"] == 32 and c["IC"] == 3 and c["OC"] == 32 and c["T"] == 25][-1]
    counts = np.array([case["counts"]])
    c = conv_cycles(counts, 32, 32, 1024, 900, 3, 256, counter_bits(512), mode="rtl")
    assert int(c.latency[0]) == case["rtl"]["done"] == 296772
    s = counts.astype(np.int64)
    assert int(c.dropped_events[0]) == int((s - s % 512).sum())  # independent: the wrap by hand
    assert 0.5 < c.dropped_events[0] / s.sum() < 0.6
    unwrapped = conv_cycles(counts, 32, 32, 1024, 900, 3, 256, None, mode="rtl")
    assert unwrapped.latency[0] > 2 * c.latency[0]


@pytest.mark.skipif(not os.environ.get("SPIKETUNE_RTL"), reason="set SPIKETUNE_RTL=path to an RTL checkout")
def test_live_rtl_crosscheck():
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "benchmarks" / "rtl_crosscheck.py"
    r = subprocess.run([sys.executable, str(script), os.environ["SPIKETUNE_RTL"], "--cases", "10"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.integers(1, 3), st.integers(1, 6))
def test_more_events_never_lower_latency(seed, t, ic, oc):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 6, size=(1, t, ic))
    more = base + rng.integers(0, 3, size=base.shape)
    e = int(rng.integers(1, oc + 1))
    a = conv_cycles(base, oc, e, 36, 16)
    b = conv_cycles(more, oc, e, 36, 16)
    assert b.latency[0] >= a.latency[0]
    fa = fc_cycles(base, oc, e, ic, 8)
    fb = fc_cycles(more, oc, e, ic, 8)
    assert fb.latency[0] >= fa.latency[0]


def test_doubling_cores_in_critical_layer_cuts_its_cycles_as_modelled():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 8, size=(20, 5, 4))
    one = conv_cycles(counts, 8, 2, 64, 36)  # 4 groups
    two = conv_cycles(counts, 8, 4, 64, 36)  # 2 groups
    # each group repeats the same work: latency = groups * per-group time + a fixed part, so
    # halving the groups from 4 to 2 saves twice what halving them from 2 to 1 saves, exactly
    assert two.latency.mean() < one.latency.mean()
    g1 = conv_cycles(counts, 8, 8, 64, 36)  # 1 group
    np.testing.assert_array_equal(one.latency - two.latency, 2 * (two.latency - g1.latency))


def test_allocation_beats_uniform_and_respects_budget():
    rng = np.random.default_rng(1)
    layers = [LayerSpec("conv", (2, 8, 8), (8, 6, 6), (8, 3, 3), kernel=3),
              LayerSpec("conv", (8, 3, 3), (16, 3, 3), (16, 3, 3), kernel=3, padding=1),
              LayerSpec("fc", (16, 3, 3), (10,), (10,))]
    counts = [rng.integers(0, 20, (8, 4, 2)), rng.integers(0, 3, (8, 4, 8)),
              rng.integers(0, 4, (8, 4, 16)), rng.integers(0, 2, (8, 4, 10))]
    t = traces.Traces(Path("."), 4, "rate", (2, 8, 8), layers, counts, np.zeros(8), np.zeros(8))
    budget = 12
    for pipeline in ("sequential", "layer_pipelined"):
        hw = HardwareConfig(pipeline=pipeline)
        a = allocate(t, hw, budget)
        assert sum(a.cores) <= budget and all(c >= 1 for c in a.cores)
        uniform = simulate(t, hw, cores=[4, 4, 2])  # near-uniform and buildable (2 | 10)
        best = simulate(t, hw, cores=a.cores)
        assert best.fps >= uniform.fps
        # the RTL builds only core counts dividing the channels/neurons
        assert all(n % e == 0 for n, e in zip((8, 16, 10), a.cores, strict=True))
        # exhaustive check on small budgets: nothing buildable is better for the max objective
        if pipeline == "layer_pipelined":
            import itertools

            divs = [[e for e in range(1, n + 1) if n % e == 0] for n in (8, 16, 10)]
            best_max = min(max(simulate(t, hw, cores=list(c)).layers[i].latency_cycles for i in range(3))
                           for c in itertools.product(*divs) if sum(c) <= budget)
            assert a.latency_cycles == pytest.approx(best_max)
            ideal = HardwareConfig(pipeline=pipeline, core_counts="ideal")
            free = allocate(t, ideal, budget)
            best_free = min(max(simulate(t, ideal, cores=list(c)).layers[i].latency_cycles for i in range(3))
                            for c in itertools.product(range(1, 9), range(1, 11), range(1, 11))
                            if sum(c) <= budget)
            assert free.latency_cycles == pytest.approx(best_free)
            assert free.latency_cycles <= a.latency_cycles


def test_power_and_fps_per_watt_formula():
    layers = [LayerSpec("fc", (4,), (3,), (3,))]
    counts = [np.array([[[1, 1, 0, 0]]]), np.array([[[1, 0, 0]]])]
    t = traces.Traces(Path("."), 1, "rate", (4,), layers, counts, np.zeros(1), np.zeros(1))
    hw = HardwareConfig(cores=[3], power={"model": "operations"})
    rep = simulate(t, hw)
    p = hw.power
    # 2 events x 3 neurons accumulates; 1 sweep x 3 neurons updates; compress 9 ECU cycles
    # (IC + 2 + 2 * 1 chunk + 2 * 2 spikes)
    dyn = 1e-12 * (6 * p.accumulate_pj + 3 * p.update_pj["lif"] + 9 * p.ecu_cycle_pj)
    static = p.static_w + 3 * p.core_static_mw * 1e-3
    assert rep.power_w == pytest.approx(static + dyn * rep.fps)
    assert rep.fps_per_w == pytest.approx(rep.fps / rep.power_w)


def test_calibrate_recovers_coefficients():
    from spiketune.hardware.snn_dse.power import calibrate

    e = np.array([1e-6, 2e-6, 3e-6])
    fps = np.array([1000.0, 2000.0, 500.0])
    watts = 0.7 + 1.5 * e * fps
    s, k = calibrate(e.tolist(), fps.tolist(), watts.tolist())
    assert s == pytest.approx(0.7) and k == pytest.approx(1.5)


@pytest.mark.parametrize("text,msg", [("cores: [4, 0]", "cores"), ("clock_mhz: 0", "clock_mhz"),
                                      ("membrane_bits: 8\nmembrane_frac_bits: 12", "membrane_frac_bits"),
                                      ("speed: 3", "speed")])
def test_bad_hardware_configs(tmp_path, text, msg):
    p = tmp_path / "hw.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=msg):
        hwconfig.load(p)


def test_hardware_model_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys; import spiketune.hardware, spiketune.traces; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
