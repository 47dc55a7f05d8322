"""Hand-computed checks of the hardware package's glue: command-line overrides of a hardware
config, the resources' dictionary, the hybrid design's dense layer and checks, ``cost()``'s
fixed-point and build-arithmetic paths and report files, and the ISPASS build's runner
(:mod:`spiketune.hardware.as_built`) against the core arithmetic with hand-quantised layers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spiketune import traces as tr
from spiketune.errors import ConfigError
from spiketune.hardware import resources as rs
from spiketune.hardware.as_built import hardware_math_lines
from spiketune.hardware.config import HardwareConfig, from_dict, parse_cores, with_flags
from spiketune.hardware.hybrid import HybridConfig
from spiketune.hardware.registry import design


def build(hw):
    """The accelerator of the design ``hw`` names."""
    return design(hw.kind)(hw)


def test_with_flags_sets_the_given_fields_only_and_a_kind_flag_picks_the_design():
    base = HardwareConfig(clock_mhz=150, mode="rtl")
    assert with_flags(base, clock_mhz=None, mode=None) is base  # nothing given: the same config
    got = with_flags(base, clock_mhz=100, mode=None)
    assert isinstance(got, HardwareConfig) and (got.clock_mhz, got.mode) == (100, "rtl")
    assert base.clock_mhz == 150  # the original is not changed
    hybrid = with_flags(base, kind="hybrid")
    assert isinstance(hybrid, HybridConfig) and (hybrid.clock_mhz, hybrid.mode) == (150, "rtl")
    with pytest.raises(ConfigError, match="clock_mhz"):
        with_flags(base, clock_mhz=-1)


def test_parse_cores_reads_comma_separated_integers_and_names_bad_text():
    assert parse_cores("16,32,50,10") == [16, 32, 50, 10]
    assert parse_cores("7") == [7]
    assert parse_cores(None) is None and parse_cores("") is None
    with pytest.raises(ConfigError, match=r"--cores expects integers like 16,32,50,10, got '16,x'"):
        parse_cores("16,x")


def test_allocation_resources_to_dict_by_hand():
    a = rs.LayerResources(rs.Resources(1, 2, 0, 4), rs.Resources(bram=0.5), rs.Resources(10, 20),
                          rs.Resources(ff=3), rs.Resources(lut=8))
    b = rs.LayerResources(rs.Resources(5, 6, 0, 2), rs.Resources(), rs.Resources(1, 1), rs.Resources(),
                          rs.Resources(bram=2))
    d = rs.AllocationResources([a, b], rs.Resources(lut=16, ff=7)).to_dict()
    def r(lut=0.0, ff=0.0, bram=0.0, dsp=0.0):
        return {"lut": lut, "ff": ff, "bram": bram, "dsp": dsp}

    assert d == {
        # input 16/7 + layer a (1+10+8, 2+20+3, 0.5, 4) + layer b (5+1, 6+1, 2, 2)
        "total": r(16 + 19 + 6, 7 + 25 + 7, 2.5, 6), "input_ram": r(16, 7),
        "layers": [{"cores": r(1, 2, 0, 4), "potential_rams": r(bram=0.5), "event_control": r(10, 20),
                    "spike_ram": r(ff=3), "weights": r(lut=8)},
                   {"cores": r(5, 6, 0, 2), "potential_rams": r(), "event_control": r(1, 1),
                    "spike_ram": r(), "weights": r(bram=2)}]}


def test_hardware_math_lines_by_hand():
    d = {"build": "SNN-DSE 1d52c17 ispass_sim", "wiring": "as_built", "accuracy": 0.5,
         "accuracy_trained": 0.875, "latency_cycles_trained": 12345.4,
         "layers": [{"name": "L0:conv", "bit_divergence": 0.0625, "spikes_hardware": 3,
                     "spikes_trained": 4, "count_ratio": 0.75},
                    {"name": "L1:fc", "bit_divergence": 0.0, "spikes_hardware": 2, "spikes_trained": 0,
                     "count_ratio": None}]}
    assert hardware_math_lines(d) == (
        "neuron arithmetic of the build (SNN-DSE 1d52c17 ispass_sim, wiring as_built): accuracy 50.00% "
        "(trained 87.50%), latency 12,345 cycles with the trained spikes\n"
        "  L0:conv  spike bits differing   6.25%, spikes 3 vs 4 trained (0.75x)\n"
        "  L1:fc    spike bits differing   0.00%, spikes 2 vs 0 trained (n/a)")


def _hybrid_traces(second: tr.LayerSpec, third: tr.LayerSpec | None = None) -> tr.Traces:
    """A conv LIF first layer (3x8x8 -> 4x6x6, pooled to 4x3x3), then ``second`` (and ``third``)."""
    layers = [tr.LayerSpec("conv", (3, 8, 8), (4, 6, 6), (4, 3, 3), kernel=3, pool=("max", 2)), second,
              *([third] if third is not None else [])]
    counts = [np.full((2, 3, 3), 5), np.zeros((2, 3, 4), np.int64)] + [
        np.zeros((2, 3, la.out_channels), np.int64) for la in layers[1:]]
    return tr.Traces(None, 3, "direct", (3, 8, 8), layers, counts, np.zeros(2), np.zeros(2))


def _fc(model: str, in_shape: tuple[int, ...] = (4, 3, 3), **kw) -> tr.LayerSpec:
    """A 10-neuron FC layer of ``model`` neurons."""
    return tr.LayerSpec("fc", in_shape, (10,), (10,), neuron=model,
                        dynamics=tr.NeuronDynamics(model, 0.5, **kw))


def test_hybrid_dense_layer_fields_and_which_layers_each_core_checks():
    rep = build(from_dict({"kind": "hybrid", "dense_rows": 2})).cost(_hybrid_traces(_fc("lif")))
    d = rep.layers[0]
    # 1 + (4/2 passes) * 3 steps * (64 pixels + 3*9 + 2) = 559 cycles (test_exact_hardware.py)
    assert (d.kind, d.dropped_fraction, d.breakdown) == ("conv", 0.0, {"dense PE column": 559.0})
    assert d.detail["groups"] == 2 and type(d.detail["groups"]) is int
    assert rep.to_dict()["layers"][0]["kind"] == "conv"
    # the dense core checks the first layer only: a CUBA LIF second layer runs on the sparse cores
    cuba = _hybrid_traces(_fc("cuba_lif", synapse_decay=0.5))
    assert build(from_dict({"kind": "hybrid"})).cost(cuba).layers[1].latency_cycles > 0
    # the sparse cores check every later layer, named by its index in the network
    li_first = _hybrid_traces(_fc("li", spiking=False, reset="none"), _fc("lif", (10,)))
    with pytest.raises(ConfigError) as e:
        build(from_dict({"kind": "hybrid"})).cost(li_first)
    assert str(e.value) == ("layer L1's 'li' neurons send no spikes, but the hybrid design passes spikes "
                            "to the next layer")
    with pytest.raises(ConfigError) as e:
        build(from_dict({"kind": "hybrid"})).cost(_hybrid_traces(_fc("adex")))
    assert str(e.value) == ("the hybrid design's sparse cores cannot run layer L1's 'adex' neurons (it runs "
                            "lif, if, lapicque, cuba_lif, li)")
    with pytest.raises(ConfigError) as e:
        build(from_dict({"kind": "hybrid", "device": "xc7z020", "dense_rows": 2})).cost(
            _hybrid_traces(_fc("lif")))
    assert str(e.value) == ("device: the hybrid design's dense core has resource formulas only as its RTL "
                            "builds it; this first layer has dense_rows 2 (the RTL: 1)")
    # as built (3 channels, 3x3, one row): the device holds the dense core and the sparse layers
    assert build(from_dict({"kind": "hybrid", "device": "xc7z020"})).cost(
        _hybrid_traces(_fc("lif"))).resources["fits_device"] is True


def _quantised_traces(path):
    """2 inputs -> 2 LIF (identity weights) -> 2 LIF (class 1 sums both), T = 2, one sample of
    class 1, trained with 4-bit weights (the fixed-point case of test_exact_hardware.py)."""
    layers = [tr.LayerSpec("fc", (2,), (2,), (2,), weight_bits=4), tr.LayerSpec("fc", (2,), (2,), (2,),
                                                                              weight_bits=4)]
    b0 = np.array([[[1, 1], [1, 0]]], np.uint8)
    b1 = np.array([[[0, 0], [0, 1]]], np.uint8)  # the float model's layer-0 spikes
    b2 = np.array([[[0, 1], [0, 1]]], np.uint8)
    w0, w1 = np.eye(2), np.array([[0, 0], [1, 1]])
    weights = [{"weight": w0.astype(np.float32), "int_weight": w0.astype(np.int64), "scale": np.float32(1.0),
                "bias": np.zeros(2, np.float32)},
               {"weight": w1.astype(np.float32), "int_weight": w1, "scale": np.float32(1.0),
                "bias": np.array([0.0, 1.5], np.float32)}]
    return tr.write(path, num_steps=2, encoding="rate", input_shape=(2,), layers=layers, counts=[b0, b1, b2],
                    bits=[b0, b1, b2], weights=weights, labels=np.array([1]), predictions=np.array([0]),
                    meta={"num_classes": 2})


def test_cost_of_a_quantised_trace_runs_the_fixed_point_network_by_default(tmp_path):
    from spiketune.hardware.report import cost

    folder = _quantised_traces(tmp_path / "t")
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)
    rep = cost(folder, hw)
    # by hand (test_fixed_point_check_and_chained_run_by_hand): layer 0's fixed spikes differ from
    # the float ones in 2 of 4 bits; the chained network predicts class 1, the label (the trace's
    # float prediction, class 0, is not used)
    assert rep.fixed_point == {"accuracy": 1.0, "layers": [
        {"name": "L0:fc", "spikes_float": 1, "spikes_fixed": 1, "mismatch_rate": 0.5},
        {"name": "L1:fc", "spikes_float": 2, "spikes_fixed": 2, "mismatch_rate": 0.0}]}
    assert cost(folder, hw, fixed_point=False).fixed_point is None


def test_cost_takes_the_cores_and_clock_given_and_writes_the_report_files(tmp_path):
    import csv
    import json

    from pydantic import BaseModel

    from spiketune.hardware.report import cost

    folder = _quantised_traces(tmp_path / "t")
    rep = cost(folder, HardwareConfig(clock_mhz=50), cores=[1, 2], out_dir=tmp_path / "o", fixed_point=False)
    assert [layer.cores for layer in rep.layers] == [1, 2]
    assert rep.latency_us == rep.latency_cycles / 50  # 50 cycles per microsecond
    assert json.loads((tmp_path / "o" / "hardware.json").read_text()) == json.loads(json.dumps(rep.to_dict()))
    with (tmp_path / "o" / "hardware_layers.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["L0:fc", "L1:fc"] and [r["cores"] for r in rows] == ["1", "2"]
    assert "breakdown" not in rows[0] and set(rows[0]) == set(rep.layers[0].to_dict()) - {"breakdown"}

    class NoKind(BaseModel):
        clock_mhz: float = 1.0

    with pytest.raises(ConfigError) as e:
        cost(folder, NoKind(), fixed_point=False)
    assert str(e.value) == "a NoKind has no 'kind' naming its accelerator design"


def _net_trace(path, n: int, n_bits: int):
    """A 1x4x4 input, a pooled 2-map conv and a 4-neuron FC layer (LIF), T = 4: ``n`` samples'
    counts, the first ``n_bits`` samples' spike bits; labels 0 1 2 3 0, the trained network
    right on samples 0-2 and wrong on 3 and 4."""
    rng = np.random.default_rng(0)
    layers = [tr.LayerSpec("conv", (1, 4, 4), (2, 4, 4), (2, 2, 2), kernel=3, padding=1, pool=("max", 2)),
              tr.LayerSpec("fc", (2, 2, 2), (4,), (4,))]
    shapes = [(1, 4, 4), (2, 2, 2), (4,)]
    ev = [rng.random((5, 4, *s)) < 0.4 for s in shapes]
    counts = [e.reshape(5, 4, s[0], -1).sum(-1)[:n] for e, s in zip(ev, shapes, strict=True)]
    weights = [{"weight": rng.normal(size=(2, 1, 3, 3)), "bias": rng.normal(size=2)},
               {"weight": rng.normal(size=(4, 8)), "bias": rng.normal(size=4)}]
    return tr.write(path, num_steps=4, encoding="events", input_shape=(1, 4, 4), layers=layers,
                    counts=counts, bits=[e[:n_bits] for e in ev], weights=weights,
                    labels=np.array([0, 1, 2, 3, 0])[:n], predictions=np.array([0, 1, 2, 0, 1])[:n],
                    meta={"num_classes": 4})


def test_hardware_math_compares_with_the_trained_spikes_of_the_same_samples(tmp_path):
    from spiketune.hardware import as_built
    from spiketune.hardware.report import cost

    hw = HardwareConfig(fc_cores=2)
    rep = cost(_net_trace(tmp_path / "t", 5, 3), hw, neuron_math="hardware")
    # the bits of 3 of the 5 samples: the trained latency and accuracy are those of these 3
    three = cost(_net_trace(tmp_path / "t3", 3, 3), hw)
    assert rep.neuron_math["latency_cycles_trained"] == three.latency_cycles
    assert rep.neuron_math["latency_us_trained"] == three.latency_us
    assert rep.neuron_math["accuracy_trained"] == 1.0  # 0.6 over all 5
    # the wiring asked for reaches the build's arithmetic (its FC spikes differ between wirings)
    t = tr.read(tmp_path / "t")
    for wiring in ("as_built", "intended"):
        spikes, _ = as_built.run(t, 4, [2, 2], wiring)
        got = cost(tmp_path / "t", hw, neuron_math="hardware", wiring=wiring).neuron_math
        assert got["wiring"] == wiring and got["layers"] == as_built.divergence(t, spikes)
    built, intended = (as_built.run(t, 4, [2, 2], w) for w in ("as_built", "intended"))
    assert (built[0][2] != intended[0][2]).any()
    # the build's accuracy and latency: those of its own spikes (counted here by hand)
    spikes, pred = built
    d = rep.neuron_math
    assert set(d) == {"arithmetic", "build", "wiring", "accuracy", "accuracy_trained",
                      "latency_cycles_trained", "latency_us_trained", "layers"}
    assert (d["arithmetic"], d["build"]) == ("hardware", "SNN-DSE 1d52c17 ispass_sim")
    assert d["accuracy"] == float((pred == np.array([0, 1, 2])).mean())
    counts = [s.reshape(3, 4, s.shape[2], -1).sum(-1) for s in spikes]
    own = design("snn_dse")(hw).cost(replace(tr.read(tmp_path / "t3"), counts=counts), [2, 2])
    assert rep.latency_cycles == own.latency_cycles and rep.fixed_point is None


def test_build_bias_words_and_neuron_configuration_by_hand():
    from spiketune.hardware import as_built

    # 4 bits: qmax 7, scale 1/7: 0.5 -> 3.5 -> 4, -1 -> -7, 0.25 -> 1.75 -> 2
    q, scale = as_built._bias(np.array([0.5, -1.0, 0.25]), 4)
    assert q.tolist() == [4, -7, 2] and q.dtype == np.int64 and scale == 1 / 7
    q, scale = as_built._bias(np.array([0.0, 0.0]), 8)  # all zero: a tiny positive scale, zero words
    assert q.tolist() == [0, 0] and scale == 1e-12 / 127

    def traces(*layers):
        return tr.Traces(None, 1, "rate", (4,), list(layers), [], np.zeros(1), np.zeros(1))

    fc = tr.LayerSpec("fc", (4,), (4,), (4,))
    assert as_built.neuron(traces(fc, tr.LayerSpec("fc", (4,), (2,), (2,)))) == (False, 0.5, 1.0)
    lap = tr.LayerSpec("fc", (4,), (4,), (4,), neuron="lapicque", beta=0.25, threshold=0.75)
    assert as_built.neuron(traces(lap)) == (True, 0.25, 0.75)
    with pytest.raises(ConfigError) as e:
        as_built.neuron(traces(fc, tr.LayerSpec("fc", (4,), (2,), (2,), beta=0.25)))
    assert str(e.value) == ("None: the build runs one neuron configuration for every layer, the trace has "
                            "[('lif', 0.25, 1.0), ('lif', 0.5, 1.0)]")
    with pytest.raises(ConfigError) as e:
        as_built.neuron(traces(tr.LayerSpec("fc", (4,), (4,), (4,), neuron="if", beta=1.0)))
    assert str(e.value) == "None: the build's cores run LIF or Lapicque neurons, not if"


def test_build_layers_refuse_what_the_build_cannot_hold(tmp_path):
    from spiketune.hardware import as_built

    def traces(layer):
        return tr.Traces(tmp_path, 1, "rate", (1, 4, 4), [layer], [], np.zeros(1), np.zeros(1))

    for kernel, padding, stride in ((5, 1, 1), (3, 0, 1), (3, 1, 2)):
        conv = tr.LayerSpec("conv", (1, 4, 4), (2, 4, 4), (2, 4, 4), kernel=kernel, padding=padding,
                            stride=stride)
        with pytest.raises(ConfigError) as e:
            as_built.hw_layers(traces(conv), 4, [2])
        assert str(e.value) == (f"{tmp_path}: layer 0: the build's conv cores are 3x3, padding 1, stride 1 "
                                f"(got kernel {kernel}, padding {padding}, stride {stride})")
    pooled = tr.LayerSpec("conv", (1, 6, 6), (2, 6, 6), (2, 2, 2), kernel=3, padding=1, pool=("max", 3))
    with pytest.raises(ConfigError) as e:
        as_built.hw_layers(traces(pooled), 4, [2])
    assert str(e.value) == f"{tmp_path}: layer 0: the build pools 2x2 only (got ('max', 3))"


def test_build_run_quantises_each_layer_and_sums_the_population_of_each_class(tmp_path):
    # 16 inputs -> 8 -> 4 LIF neurons (2 classes of 2), trained with 4-bit weights (integers and
    # scale kept); biases quantised here: layer 0 bias max 1.4 -> scale 0.2, words 7 -3 1 0 2 5 -7 1;
    # layer 1 max 0.7 -> scale 0.1, words 7 -2 0 3
    from spiketune.hardware import as_built
    from spiketune.hardware.snn_dse import network_math as netm

    rng = np.random.default_rng(0)
    w0, w1 = rng.integers(-7, 8, (8, 16)), rng.integers(-7, 8, (4, 8))
    x = (rng.random((6, 3, 16)) < 0.5).astype(np.uint8)
    b0, b1 = np.array([1.4, -0.6, 0.2, 0.0, 0.4, 1.0, -1.4, 0.2]), np.array([0.7, -0.2, 0.0, 0.3])
    layers = [tr.LayerSpec("fc", (16,), (8,), (8,), weight_bits=4),
              tr.LayerSpec("fc", (8,), (4,), (4,), weight_bits=4)]
    weights = [{"weight": (w0 * 0.25).astype(np.float32), "int_weight": w0, "scale": np.float32(0.25),
                "bias": b0.astype(np.float32)},
               {"weight": (w1 * 0.5).astype(np.float32), "int_weight": w1, "scale": np.float32(0.5),
                "bias": b1.astype(np.float32)}]
    counts = [x, np.zeros((6, 3, 8), np.int64), np.zeros((6, 3, 4), np.int64)]
    t = tr.read(tr.write(tmp_path, num_steps=3, encoding="rate", input_shape=(16,), layers=layers,
                         counts=counts, bits=[x], weights=weights, labels=np.zeros(6),
                         predictions=np.zeros(6), meta={"num_classes": 2}))
    ref = [netm.HwLayer("fc", w0, np.array([7, -3, 1, 0, 2, 5, -7, 1]), 0.25, float(np.float32(1.4)) / 7),
           netm.HwLayer("fc", w1, np.array([7, -2, 0, 3]), 0.5, float(np.float32(0.7)) / 7)]
    classes = set()
    for wiring in ("as_built", "intended"):
        spikes, pred = as_built.run(t, 8, [1, 1], wiring)
        want = [netm.run_network(ref, s, False, 0.5, 1.0, wiring) for s in x]
        assert spikes[0].tolist() == x.tolist()
        for k in (1, 2):
            assert spikes[k].tolist() == [w[k - 1].tolist() for w in want]
        # class c: the last layer's spikes of neurons 2c and 2c + 1 over all steps
        total = np.array([w[1].sum(0) for w in want])
        assert pred.tolist() == (total[:, 0::2] + total[:, 1::2]).argmax(1).tolist()
        classes |= set(pred.tolist())
    assert classes == {0, 1}


def test_divergence_and_counts_of_the_build_spikes_by_hand(tmp_path):
    from spiketune.errors import TraceError
    from spiketune.hardware import as_built
    from spiketune.hardware.config import from_dict as hw_from_dict

    # a 1x1x2 input, a conv layer of 2 maps (1x2 each), an FC layer of 3; T = 1, 2 samples
    layers = [tr.LayerSpec("conv", (1, 1, 2), (2, 1, 2), (2, 1, 2), kernel=1),
              tr.LayerSpec("fc", (2, 1, 2), (3,), (3,))]
    x = np.array([[[[[1, 0]]]], [[[[0, 1]]]]], np.uint8)
    b1 = np.zeros((2, 1, 2, 1, 2), np.uint8)  # the trained network: layer 0 silent
    b2 = np.array([[[1, 1, 0]], [[0, 0, 0]]], np.uint8)  # layer 1: 2 spikes
    counts = [x.reshape(2, 1, 1, 2).sum(-1), b1.reshape(2, 1, 2, 2).sum(-1), b2]
    t = tr.read(tr.write(tmp_path / "a", num_steps=1, encoding="rate", input_shape=(1, 1, 2), layers=layers,
                         counts=counts, bits=[x, b1, b2], weights=[], labels=np.zeros(2),
                         predictions=np.zeros(2)))
    # the build's spikes for 3 samples (only the 2 with bits are compared)
    h1 = np.zeros((3, 1, 2, 1, 2), np.uint8)
    h1[0, 0, 1, 0, 1] = h1[2, 0, 0, 0, 0] = 1
    h2 = np.array([[[1, 0, 1]], [[0, 0, 0]], [[1, 1, 1]]], np.uint8)
    got = as_built.divergence(t, [x, h1, h2])
    # layer 0: 1 of 8 bits differs, 1 spike vs 0; layer 1: bits (0, 1) and (0, 2) differ, 2 of 6
    assert got == [{"name": "L0:conv", "spikes_trained": 0, "spikes_hardware": 1, "bit_divergence": 1 / 8,
                    "count_ratio": None},
                   {"name": "L1:fc", "spikes_trained": 2, "spikes_hardware": 2, "bit_divergence": 2 / 6,
                    "count_ratio": 1.0}]
    c = as_built.counts([x, h1, h2])  # events per channel: [N, T, C]
    assert [a.tolist() for a in c] == [[[[1]], [[1]]], [[[0, 1]], [[0, 0]], [[1, 0]]], h2.tolist()]
    assert all(a.dtype == np.uint32 for a in c)
    t2 = tr.read(tr.write(tmp_path / "b", num_steps=1, encoding="rate", input_shape=(1, 1, 2), layers=layers,
                          counts=counts, bits=[x, b1], weights=[], labels=np.zeros(2),
                          predictions=np.zeros(2)))
    with pytest.raises(TraceError) as e:
        as_built.divergence(t2, [x, h1, h2])
    assert str(e.value) == f"{tmp_path / 'b'} keeps no spike bits for layer 1"
    # hardware config mappings: the errors name what is wrong
    with pytest.raises(ConfigError) as e:
        hw_from_dict([1])
    assert str(e.value) == "a hardware config is a mapping of fields, got list"
    with pytest.raises(ConfigError) as e:
        hw_from_dict({"kind": 3})
    assert str(e.value) == "kind: the accelerator's name, got 3"


def test_dense_cycles_default_to_a_3x3_kernel_on_one_row():
    from spiketune.hardware.hybrid import dense_cycles

    # 2 output channels, one row: 2 passes x 1 step x (16 pixels + 1*9 + 2)
    assert dense_cycles(1, 1, 2, 16) == 1 + 2 * (16 + 9 + 2)


def test_fixed_point_chain_reads_a_leaky_integrator_readout_by_its_membranes(tmp_path):
    from spiketune.hardware import fixed_point as fp

    # the fixed-point case of test_exact_hardware.py with a non-spiking LI read-out (decay 0.5):
    # layer 0 spikes [[0, 0], [1, 0]]; read-out neuron 1 gets bias 1.5 (24/16) and, at t1, the
    # spike (16/16): membranes 0, 0 and 24, 12 + 40 = 52; classes by summed membrane: class 1
    li = tr.LayerSpec("fc", (2,), (2,), (2,), neuron="li",
                      dynamics=tr.NeuronDynamics("li", 0.5, reset="none", spiking=False))
    b0 = np.array([[[1, 1], [1, 0]]], np.uint8)
    b1 = np.array([[[0, 0], [0, 1]]], np.uint8)
    weights = [{"weight": np.eye(2, dtype=np.float32), "int_weight": np.eye(2, dtype=np.int64),
                "scale": np.float32(1.0), "bias": np.zeros(2, np.float32)},
               {"weight": np.array([[0, 0], [1, 1]], np.float32), "int_weight": np.array([[0, 0], [1, 1]]),
                "scale": np.float32(1.0), "bias": np.array([0.0, 1.5], np.float32)}]
    t = tr.read(tr.write(tmp_path, num_steps=2, encoding="rate", input_shape=(2,),
                         layers=[tr.LayerSpec("fc", (2,), (2,), (2,)), li],
                         counts=[b0, b1, np.zeros((1, 2, 2), np.int64)], bits=[b0, b1], weights=weights,
                         labels=np.array([1]), predictions=np.array([1]), meta={"num_classes": 2}))
    counts, pred = fp.run_chained(t, HardwareConfig(membrane_bits=16, membrane_frac_bits=4))
    assert counts[1][0].tolist() == [[0, 0], [1, 0]] and counts[2].tolist() == [[[0, 0], [0, 0]]]
    assert pred.tolist() == [1]


def test_min_max_allocation_by_hand():
    from spiketune.hardware.snn_dse.alloc import Allocation, _min_max

    # layer latencies work / cores: layer 0 (8 units) on 1, 2 or 4 cores: 8, 4, 2; layer 1 (9) on
    # 1 or 3: 9, 3. The smallest max latency within the budget, each layer on its fewest cores for it
    def lat(i, e):
        return [8, 9][i] / e

    cands = [[1, 2, 4], [1, 3]]

    def solve(budget, fits=lambda cores: True):
        return _min_max(cands, lat, budget, fits)

    assert solve(100) == Allocation([4, 3], "max", 3.0)  # max(2, 3)
    assert solve(5) == Allocation([2, 3], "max", 4.0)  # 4 + 3 = 7 cores would exceed 5
    assert solve(2) == Allocation([1, 1], "max", 9.0)  # only the largest target fits
    assert solve(1) == Allocation([1, 1], "max", 9.0)  # nothing fits: the fewest cores
    assert solve(100, fits=lambda cores: sum(cores) <= 4) == Allocation([1, 3], "max", 8.0)  # a device budget
    # one layer whose best target is the smallest: 8 units on 2 cores
    assert _min_max([[1, 2]], lambda i, e: 8 / e, 10, lambda cores: True) == Allocation([2], "max", 4.0)


def test_fixed_point_cuba_lif_membranes_by_hand():
    from spiketune.hardware import fixed_point as fp

    # 4 fractional bits, 16-bit words (limit 2^15): alpha = decay = 0.5 (8/16), gain 1, threshold 16
    layer = tr.LayerSpec("fc", (2,), (2,), (2,), neuron="cuba_lif",
                         dynamics=tr.NeuronDynamics("cuba_lif", 0.5, synapse_decay=0.5))
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)
    cur = np.array([[[16, 40000], [16, 0]]])  # [N, T, neurons]
    # neuron 0: I0 16, U0 16 (not > 16); I1 8 + 16 = 24, U1 8 + 24 = 32
    # neuron 1: I0 clipped to 32767, U0 32767 (a spike); I1 (8*32767 + 8) >> 4 = 16384,
    # U1 = (8*32767 + 8) >> 4 + 16384 - 16 (the reset by subtraction) = 32752
    assert fp.neuron_run(layer, cur, hw, membranes=True)[0].tolist() == [[16, 32767], [32, 32752]]
    assert fp.neuron_run(layer, cur, hw)[0].tolist() == [[0, 1], [1, 1]]


def test_resource_formula_pieces_by_hand():
    powers = [rs.power_of_two(n) for n in (0, 1, 2, 3, 4, 6, 8)]
    assert powers == [False, True, True, False, True, False, True]
    # 32-bit words: up to 512 deep in half a RAMB36, then whole RAMB36s of 1K words; the last row of
    # 2,049 in a RAMB18 below two RAMB36s, read through a multiplexer (32 + 3 LUTs, 2 FFs)
    assert (rs.block_ram(512, 32).bram, rs.block_ram(513, 32).bram) == (0.5, 1)
    assert rs.block_ram(2049, 32) == rs.Resources(lut=35, ff=2, bram=2.5)
    # 1,600 rows of 25 bits: a 2K x 18 and a 4K x 9 column (1.5), not a 1K x 36 column and a half (2)
    assert rs.block_ram(1600, 25) == rs.Resources(bram=1.5)
    # LUT-RAM: 65 x 8 in three RAM32M16 banks (24 LUTs), a 3:1 read mux per bit (8), a write decoder
    # per bank (3); 128 x 25 in two banks of four RAM64M8 (64), a 2:1 mux per bit (25), 2 decoders
    assert rs.spike_ram(65, 1, 8) == rs.Resources(lut=35, ff=8)
    assert rs.spike_ram(128, 1, 25) == rs.Resources(lut=91, ff=25)
    # 96 x 36 would take 3 banks of three RAM32M16 (7.7 cells' worth of bits): a RAMB18 instead
    assert rs.spike_ram(96, 1, 36) == rs.Resources(bram=0.5)
    conv = rs.LayerHardware("conv", cores=2, in_channels=1, out_channels=4, frame_in=16, frame_out=16,
                            spike_frame=4, num_steps=2)
    assert rs.neural_core(conv).bram == 0.0 and rs.neural_core(conv).dsp == rs.DSP_PER_CORE
    # fc: 2 cores, ceil(10/2) = 5 neurons of 2000 + 1 words each = 10,005 five-bit words: RAMB36s
    # as 4096 x 9, three per core
    fc = rs.LayerHardware("fc", cores=2, in_channels=1, out_channels=10, frame_in=2000, frame_out=1,
                          spike_frame=1, num_steps=2)
    assert rs.weight_memory(fc) == rs.Resources(bram=6)
    p = rs.power(rs.Resources(ff=1), [], latency_cycles=100, clock_hz=1e8, device="xcku5p")
    assert set(p) == {"static_w", "clock_w", "dynamic_w", "power_w", "energy_per_inference_j", "fps_per_w"}
    assert p["fps_per_w"] == 1 / (p["power_w"] * 1e-6)  # 100 cycles at 100 MHz: 1 us


def _alloc(lut: float) -> rs.AllocationResources:
    """One layer of ``lut`` LUTs, 100 FF, 1 BRAM, 2 DSP in its cores, and an 8-LUT input RAM."""
    r, none = rs.Resources, rs.Resources()
    return rs.AllocationResources([rs.LayerResources(r(lut, 100, 1, 2), none, none, none, none)], r(8, 4))


def test_resource_summary_names_the_device_by_hand():
    from spiketune.hardware.snn_dse.simulate import resource_summary

    # 60,008 LUTs: over the xc7z020's 53,200, within the xc7a100t's 63,400
    total = "60,008 LUT, 104 FF, 1 BRAM, 2 DSP"
    s, used, warnings = resource_summary(_alloc(60_000), HardwareConfig(device="xc7z020"))
    assert s["fit"] == (f"{total}: the xc7z020 does not hold it; the smallest catalogued device that holds "
                        "it is the xc7a100t")
    assert (s["device"], s["fits_device"], s["smallest_device"], used.name) == ("xc7z020", False, "xc7a100t",
                                                                                   "xc7z020")
    assert (s["lut"], s["ff"], s["bram"], s["dsp"]) == (60_008, 104, 1, 2)
    assert s["layers"] == [{"lut": 60_000, "ff": 100, "bram": 1, "dsp": 2}]
    assert s["input_ram"] == {"lut": 8, "ff": 4, "bram": 0, "dsp": 0} and s["estimates"] == []
    assert warnings == [f"the allocation ({total}) does not fit the xc7z020 (53,200 LUT, 106,400 FF, "
                        "140 BRAM, 220 DSP)"]
    s, used, warnings = resource_summary(_alloc(60_000), HardwareConfig(device="xc7a100t"))
    assert s["fit"] == (f"{total}: the xc7a100t holds it; the smallest catalogued device that holds it is "
                        "the xc7a100t")
    assert (s["fits_device"], used.name, warnings) == (True, "xc7a100t", [])
    # no device named: static power from the smallest that holds it, else the largest
    s, used, warnings = resource_summary(_alloc(60_000), HardwareConfig())
    assert (s["device"], s["fits_device"], used.name, warnings) == (None, None, "xc7a100t", [])
    assert s["fit"] == f"{total}: the smallest catalogued device that holds it is the xc7a100t"
    s, used, warnings = resource_summary(_alloc(2_000_000), HardwareConfig())
    big = "2,000,008 LUT, 104 FF, 1 BRAM, 2 DSP"
    assert s["fit"] == f"{big}: no catalogued device holds it" and s["smallest_device"] is None
    assert used.name == "xcvu9p"
    assert warnings == [f"the allocation ({big}) fits no catalogued device; its static power is the largest "
                        "one's (xcvu9p)"]


def test_allocation_reads_the_input_shape_and_weight_bits_by_hand():
    from spiketune.network import arch

    # 2 x 8 x 8 input, T = 3: the input RAM holds 3 x 2 rows of 64 bits (LUT-RAM: five RAM32M16 of 14 bits)
    specs = arch.parse("4C3p1-10", (2, 8, 8))
    a = rs.allocation(specs, [2, 10], 3, (2, 8, 8))
    assert a.input_ram == rs.Resources(lut=8 * 5, ff=64)
    # a flat input of 64 values: one row of 64 bits per step; 3 steps of a 16 x 8 x 8 input: 48 rows,
    # one bank of ten RAM64M8 (as many cells as two banks of five RAM32M16, which need a read mux)
    flat = rs.allocation(arch.parse("10", (64,)), [10], 3, (64,))
    assert flat.input_ram == rs.Resources(lut=8 * 5, ff=64)
    wide = rs.allocation(arch.parse("4C3p1-10", (16, 8, 8)), [2, 10], 3, (16, 8, 8))
    assert wide.input_ram == rs.Resources(lut=8 * 10, ff=64)
    # the spike RAM of the conv layer: 3 steps x 4 channels rows of 64 bits, as T says
    assert a.layers[0].spike_ram == rs.Resources(lut=8 * 5, ff=64)
    # 17 steps: 68 rows of 64 bits, LUT-RAM of 3 banks of five RAM32M16 (13.7 cells' worth, under the
    # 15 of the RAMB36 it would take): 120 LUTs + a 3:1 mux per bit + 3 decoders
    assert rs.allocation(specs, [2, 10], 17, (2, 8, 8)).layers[0].spike_ram == rs.Resources(lut=187, ff=64)
    # 8-bit weights: 2 cores x 2 filters of 2 x 9 + 1 words of 9 bits in 64-bit LUTs: 2 x 1 x 9
    w8 = rs.allocation(specs, [2, 10], 3, (2, 8, 8), weight_bits=8).layers[0].weights
    assert w8 == rs.Resources(lut=2 * 1 * 9) and a.layers[0].weights == rs.Resources(lut=2 * 1 * 5)
    assert not rs.allocation_fits(specs, [2, 10], 3, (2, 8, 8), "xc7z020", weight_bits=4000)
    assert rs.allocation_fits(specs, [2, 10], 3, (2, 8, 8), "xc7z020", weight_bits=8)


def test_power_with_other_coefficients_by_hand():
    k = rs.PowerCoefficients(lut_pj=0.1, ff_pj=0.2, bram_pj=3.0, dsp_pj=4.0, clock_ff_pj=0.5)
    block = rs.Activity(rs.Resources(lut=10, ff=20, bram=1, dsp=2), cycles=100)
    # 100 cycles x (10 x 0.1 + 20 x 0.2 + 3 + 2 x 4) pJ = 1,600 pJ
    assert rs.busy_energy_j(block, k) == pytest.approx(1.6e-9, rel=1e-12)
    assert rs.clock_energy_j(20, 100, k) == pytest.approx(20 * 0.5 * 100e-12, rel=1e-12)
    p = rs.power(rs.Resources(ff=20), [block], 200, 100e6, "xc7z020", k, scale=2.0)
    # clock: 2 x 20 FF x 0.5 pJ x 1e8 Hz = 2 mW; dynamic: 2 x 1,600 pJ over 2 us = 1.6 mW
    assert p["clock_w"] == pytest.approx(2e-3, rel=1e-12)
    assert p["dynamic_w"] == pytest.approx(1.6e-3, rel=1e-12)
    assert p["power_w"] == pytest.approx(0.15 + 3.6e-3, rel=1e-12)


@pytest.mark.parametrize("after, membranes", [(False, [20, 4, 7]), (True, [20, 0, 4])])
def test_fixed_point_zero_reset_before_and_after_the_update_by_hand(after, membranes):
    from spiketune.hardware import fixed_point as fp

    # 4 fractional bits: decay 0.75 = 12/16, gain 16/16, threshold 16; products round half up
    layer = tr.LayerSpec("fc", (1,), (1,), (1,), dynamics=tr.NeuronDynamics(
        "lapicque", 0.75, reset="zero", reset_after_update=after))
    hw = HardwareConfig(membrane_bits=16, membrane_frac_bits=4)
    cur = np.array([[[20], [4], [4]]])
    # before: U0 20 (a spike); U1 = 0 (reset) * 0.75 + 4 = 4; U2 = (12*4 + 8) >> 4 + 4 = 7
    # after: U1 = (12*20 + 8) >> 4 + 4 = 19, set to 0 for U0's spike; U2 = 0 + 4 = 4
    assert fp.neuron_run(layer, cur, hw, membranes=True)[0, :, 0].tolist() == membranes
    assert fp.neuron_run(layer, cur, hw)[0, :, 0].tolist() == [1, 0, 0]


def test_build_layer_and_or_pool_refusals_name_the_shape():
    from spiketune.hardware.snn_dse.network_math import HwLayer, or_pool

    with pytest.raises(ConfigError) as e:
        HwLayer("conv", np.zeros((2, 1, 5, 5), np.int64), np.zeros(2, np.int64), 1.0, 1.0)
    assert str(e.value) == "the build's conv cores are 3x3, got a (5, 5) kernel"
    with pytest.raises(ConfigError) as e:
        HwLayer("fc", np.zeros((10, 4), np.int64), np.zeros(10, np.int64), 1.0, 1.0, cores=4)
    assert str(e.value) == "4 FC cores do not divide 10 neurons"
    HwLayer("fc", np.zeros((10, 4), np.int64), np.zeros(10, np.int64), 1.0, 1.0, cores=5)  # divides
    # the divisibility rule is the fc cores' only
    HwLayer("conv", np.zeros((4, 1, 3, 3), np.int64), np.zeros(4, np.int64), 1.0, 1.0, cores=3)
    with pytest.raises(ConfigError) as e:
        or_pool(np.zeros((2, 5, 5), np.uint8))
    assert str(e.value) == "the build pools even maps only, got width 5"
    # raster positions 4j..4j+3 OR together, per step
    x = np.zeros((2, 4, 4), np.uint8)
    x[0].flat[5] = 1
    x[1].flat[15] = 1
    got = or_pool(x)
    assert got.dtype == np.uint8 and got.tolist() == [[[0, 1], [0, 0]], [[0, 0], [0, 1]]]


def test_sparse_cores_refuse_a_neuron_model_they_do_not_run():
    from spiketune.hardware import HardwareConfig as HC
    from spiketune.hardware import simulate
    from spiketune.hardware.snn_dse.layers import MODELS

    layer = tr.LayerSpec("fc", (4,), (2,), (2,), dynamics=tr.NeuronDynamics("izhikevich", 0.5))
    t = tr.Traces(Path("."), 1, "rate", (4,), [layer], [np.ones((1, 1, 4)), np.ones((1, 1, 2))],
                  np.zeros(1), np.zeros(1))
    with pytest.raises(ConfigError) as e:
        simulate(t, HC())
    assert str(e.value) == (f"the snn_dse design's sparse cores cannot run layer L0's 'izhikevich' neurons "
                            f"(it runs {', '.join(MODELS)})")


def test_back_to_back_events_on_one_neuron_lose_the_earlier_by_hand():
    from spiketune.hardware.snn_dse.neuron_math import _accumulate

    # two cores' potentials; events to neurons 1, 1, 0, 1 with weights 1-4 (core 0) and 10-40 (core 1)
    pot = np.array([[5.0, 7.0, 0.0], [50.0, 70.0, 0.0]])
    wv = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    _accumulate(pot, np.array([1, 1, 0, 1]), wv)
    # the second event on neuron 1 reads 7 (before the first's write): 7 + 2 = 9; then 9 + 4 = 13
    assert pot.tolist() == [[8.0, 13.0, 0.0], [80.0, 130.0, 0.0]]
    # no back-to-back repeat: every event adds
    pot = np.array([[5.0, 7.0, 0.0], [50.0, 70.0, 0.0]])
    _accumulate(pot, np.array([1, 0, 1]), wv[:, :3])
    assert pot.tolist() == [[7.0, 11.0, 0.0], [70.0, 110.0, 0.0]]  # 7 + 1 + 3, 5 + 2


def test_build_run_needs_the_input_events_of_the_trace(tmp_path):
    from spiketune.errors import TraceError
    from spiketune.hardware import as_built

    layer = tr.LayerSpec("fc", (4,), (2,), (2,))
    t = tr.Traces(tmp_path, 1, "rate", (4,), [layer], [], np.zeros(1), np.zeros(1))
    with pytest.raises(TraceError) as e:
        as_built.run(t, 4, [2])
    assert str(e.value) == f"{tmp_path} keeps no input events (profile.trace_samples = 0)"


def test_fixed_point_chain_fires_before_max_pooling_and_reads_populations(tmp_path):
    from spiketune.hardware import fixed_point as fp

    # layer 0 (`S-MP2`): a 1x1 conv (3 x 0.25: current 12 per input spike, 4 fractional bits,
    # threshold 16, decay 0.5) whose neurons fire, then max-pool their spikes in two 2x2 blocks.
    # Block 1: pixel A spikes at t0, B at t1: A's membrane 12 then 6, B's 0 then 12: no spike
    # (pooling the currents first would give 12 then 6 + 12 = 18: a spike). Block 2: pixel C at
    # t0 and t1: 12, then 6 + 12 = 18 > 16: a spike at t1.
    conv = tr.LayerSpec("conv", (1, 2, 4), (1, 2, 4), (1, 1, 2), kernel=1, padding=0, pool=("max", 2),
                        pool_spikes=True)
    # layer 1: 2 -> 4 neurons (weight 2: current 32 per spike), 2 classes of 2 neurons: neuron 1
    # (class 0) fires at t1; class 0 by population, but neuron 1 alone would read as class 1
    fc = tr.LayerSpec("fc", (1, 1, 2), (4,), (4,))
    x = np.zeros((1, 2, 1, 2, 4), np.uint8)
    x[0, 0, 0, 0, 0] = x[0, 1, 0, 0, 1] = x[0, 0, 0, 0, 2] = x[0, 1, 0, 0, 2] = 1
    w1 = np.array([[2, 0], [0, 2], [2, 0], [0, 0]])
    weights = [{"weight": np.full((1, 1, 1, 1), 0.75, np.float32), "int_weight": np.full((1, 1, 1, 1), 3),
                "scale": np.float32(0.25), "bias": np.zeros(1, np.float32)},
               {"weight": w1.astype(np.float32), "int_weight": w1, "scale": np.float32(1.0),
                "bias": np.zeros(4, np.float32)}]
    t = tr.read(tr.write(tmp_path, num_steps=2, encoding="rate", input_shape=(1, 2, 4), layers=[conv, fc],
                         counts=[np.array([[[2], [2]]]), np.array([[[0], [1]]]),
                                 np.array([[[0, 0, 0, 0], [0, 1, 0, 0]]])],
                         bits=[x], weights=weights, labels=np.array([0]), predictions=np.array([0]),
                         meta={"num_classes": 2}))
    counts, pred = fp.run_chained(t, HardwareConfig(membrane_bits=16, membrane_frac_bits=4))
    assert counts[1].tolist() == [[[0], [1]]]
    assert counts[2].tolist() == [[[0, 0, 0, 0], [0, 1, 0, 0]]]
    assert pred.tolist() == [0]


def test_conv_weight_memory_and_small_event_control_by_hand():
    # 64 input channels, 3x3: 64 x 9 + 1 (bias) = 577 five-bit words per filter, one filter per core:
    # ceil(577 / 64) = 10 LUT-RAM words of 64 per bit, 5 bits, 4 cores
    conv = rs.LayerHardware("conv", cores=4, in_channels=64, out_channels=4, frame_in=16, frame_out=16,
                            spike_frame=4, num_steps=2)
    assert rs.weight_memory(conv) == rs.Resources(lut=4 * 10 * 5)
    # a 1x1 input: a one-entry address list of clog2(1) -> 1 bit, a one-bit encoder input
    one = rs.LayerHardware("conv", cores=1, in_channels=2, out_channels=4, frame_in=1, frame_out=1,
                           spike_frame=1, num_steps=8)
    (a, k, b), (fa, fk, fb, fc) = rs.COEFFICIENTS["conv_ec"]["lut"], rs.COEFFICIENTS["conv_ec"]["ff"]
    counters = 1 + 3 * 2 + 3 * 3  # clog2 2, 3 x clog2 4, 3 x clog2 8
    got = rs.event_control(one)
    assert got.lut == pytest.approx(a + k * counters + b * 1)
    assert got.ff == pytest.approx(fa + fk * counters + fb + fc)


def test_lut_ram_read_multiplexer_and_resource_refusals_by_hand():
    # LUTs per bit of the read mux: one LUT6 selects one of 4 banks; 8 banks two (and a MUXF7); 16 banks
    # four LUT6 and one more over them
    assert [rs._mux_luts(b) for b in (1, 2, 4, 5, 8, 9, 16, 64)] == [0, 1, 1, 2, 2, 3 + 1, 4 + 1, 16 + 5]
    # an fc layer's spike RAM: T rows of its neurons' bits (40 x 10: one bank of two RAM64M8, 16 LUTs;
    # as 80 rows it would be three RAM32M16 banks and a mux)
    fc = rs.LayerHardware("fc", cores=2, in_channels=1, out_channels=10, frame_in=8, frame_out=1,
                          spike_frame=1, num_steps=40)
    assert rs.resources([fc], 1, 8).layers[0].spike_ram == rs.Resources(lut=16, ff=10)
    # no layers: the input RAM of one step
    assert rs.resources([], 1, 8).input_ram == rs.Resources(lut=8, ff=8)
    with pytest.raises(ValueError) as e:
        rs.resources([replace(fc, cores=0)], 1, 8)
    assert str(e.value) == "a layer needs at least one neural core, got cores=0"
    from spiketune.network import arch

    with pytest.raises(ValueError) as e:
        rs.layers_from_specs(arch.parse("4-2", (8,)), [2, 2, 2], 1)
    assert str(e.value) == "3 core counts for 2 layers"
    # a conv input of 100x100: no synthesis at that width, the table's median
    wide = rs.LayerHardware("conv", cores=1, in_channels=1, out_channels=2, frame_in=10_000,
                            frame_out=10_000, spike_frame=10_000, num_steps=1)
    assert rs.resources([wide], 1, 10_000).estimates == [
        "layer 0 (100x100 input): event-control LUTs estimated from the median of the synthesized widths "
        "(none at this width); the probe missed whole units by -54% to +28%"]


def test_neuron_update_cost_per_model_by_hand():
    from spiketune.hardware.neuron_cost import UpdateCost, update_cost

    nd = tr.NeuronDynamics
    # the table of neuron_cost: lif 1/1/3/1, if 1/0/3/1, cuba_lif 2/2/4/2, li 1/1/1/1
    assert update_cost(nd("lif", 0.9)) == UpdateCost(1, 1, 3, 1)
    assert update_cost(nd("if", 1.0)) == UpdateCost(1, 0, 3, 1)
    assert update_cost(nd("cuba_lif", 0.9, synapse_decay=0.8)) == UpdateCost(2, 2, 4, 2)
    assert update_cost(nd("cuba_lif", 0.9, synapse_decay=1.0)) == UpdateCost(2, 1, 4, 2)
    assert update_cost(nd("li", 0.5, reset="none", spiking=False)) == UpdateCost(1, 1, 1, 1)
    # a zero reset is a select, not an add; per-channel decays of 1 need no multiply
    assert update_cost(nd("lif", 0.9, reset="zero")) == UpdateCost(1, 1, 2, 1)
    assert update_cost(nd("lif", [[1.0], [1.0]])) == UpdateCost(1, 0, 3, 1)
    assert update_cost(nd("lif", [[1.0], [0.5]])) == UpdateCost(1, 1, 3, 1)
