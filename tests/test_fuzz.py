"""Fuzzing (hypothesis) of what spiketune reads from outside: trace folders, hardware
configs and NIR graphs. Each either raises spiketune's own error, or is accepted with
values that are all valid (checked here against the formats' rules, not the readers)."""

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spiketune import traces
from spiketune.errors import SpiketuneError
from test_hostile import _trace_folder

hostile = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
                    st.lists(st.integers(-2, 40), max_size=4), st.dictionaries(st.text(max_size=4),
                                                                                st.integers(), max_size=2))


def _valid_folder(path: Path) -> Path:
    """A valid folder: conv 3x3 (2x4x4 -> 3x2x2), then fc 12 -> 5; 3 samples, T = 2."""
    return _trace_folder(path, n=3, t=2)


MANIFEST_KEYS = ["num_steps", "num_samples", "encoding", "input_shape", "layers", "meta", "files", "version"]
LAYER_KEYS = ["kind", "in_shape", "conv_shape", "out_shape", "kernel", "stride", "padding", "pool", "neuron",
              "beta", "threshold", "reset", "weight_bits", "extra"]
ARRAYS = ["counts_0.npy", "counts_1.npy", "counts_2.npy", "labels.npy", "predictions.npy", "bits_1.npy",
          "bits_4.npy", "input_values.npy"]
dtypes = st.sampled_from([np.uint8, np.int32, np.int64, np.uint32, np.float32, np.float64])
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)
fills = st.one_of(st.integers(-3, 300), st.floats(allow_nan=True, allow_infinity=True))

damage = st.one_of(
    st.tuples(st.just("manifest"), st.sampled_from(MANIFEST_KEYS), hostile),
    st.tuples(st.just("layer"), st.tuples(st.integers(0, 1), st.sampled_from(LAYER_KEYS)), hostile),
    st.tuples(st.just("array"), st.sampled_from(ARRAYS), st.tuples(dtypes, shapes, fills)),
)


def _apply(folder: Path, d) -> None:
    kind, where, value = d
    if kind == "array":
        dtype, shape, fill = value
        with np.errstate(invalid="ignore", over="ignore"):
            arr = np.full(shape, fill).astype(dtype) if np.isfinite(fill) or np.dtype(dtype).kind == "f" \
                else np.zeros(shape, dtype)
        np.save(folder / where, arr)
        return
    m = json.loads((folder / "manifest.json").read_text())
    if kind == "manifest":
        m[where] = value
    elif isinstance(m.get("layers"), list) and len(m["layers"]) > where[0] \
            and isinstance(m["layers"][where[0]], dict):
        m["layers"][where[0]][where[1]] = value
    (folder / "manifest.json").write_text(json.dumps(m))


def _check_valid(t: traces.Traces) -> None:
    """What a well-formed trace folder satisfies (the format in spiketune.traces' docstring)."""
    n, steps = t.num_samples, t.num_steps
    assert isinstance(steps, int) and steps >= 1 and n >= 1
    shapes = [t.input_shape, *(layer.out_shape for layer in t.layers)]
    assert len(t.counts) == len(shapes)
    for c, s in zip(t.counts, shapes, strict=True):
        assert c.dtype.kind in "iu" and c.shape == (n, steps, s[0])
        assert c.min() >= 0 and c.max() <= math.prod(s[1:])
    for layer in t.layers:
        assert layer.kind in ("conv", "fc") and layer.threshold > 0 and 0 <= layer.beta <= 1
        assert layer.reset in ("subtract", "zero", "none") and layer.neuron in ("lif", "lapicque")
    assert t.labels.shape == t.predictions.shape == (n,)
    for k in range(len(shapes)):
        b = t.bits(k)
        if b is not None:
            assert b.shape[1:] == (steps, *shapes[k]) and b.shape[0] <= n


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(damage, min_size=1, max_size=3))
def test_fuzz_trace_folders_are_read_valid_or_refused(damages):
    from spiketune.hardware.report import cost

    with tempfile.TemporaryDirectory() as tmp:
        folder = _valid_folder(Path(tmp) / "tr")
        for d in damages:
            _apply(folder, d)
        try:
            t = traces.read(folder)
            _check_valid(t)
            for i in range(len(t.layers)):
                t.weights(i)
            t.input_values()
            rep = cost(folder)
        except SpiketuneError:
            return
        _check_report(rep)


def _check_report(rep) -> None:
    d = rep.to_dict()
    numbers = [v for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    numbers += [v for layer in d["layers"] for v in layer.values() if isinstance(v, (int, float))
                and not isinstance(v, bool)]
    assert all(math.isfinite(v) and v >= 0 for v in numbers), d


HW_FIELDS = ["kind", "clock_mhz", "mode", "pipeline", "cores", "fc_cores", "core_budget", "core_counts",
             "conv_penc_shift", "conv_sparse_shift", "fc_penc_size", "penc_chunks", "kernel_cycles_per_tap",
             "activation_cycles_per_neuron", "weight_bits", "membrane_bits", "membrane_frac_bits",
             "bram_kbits", "bram_count", "dense_rows", "dense_mac_pj", "power", "bogus"]
POWER_FIELDS = ["static_w", "core_static_mw", "accumulate_pj", "update_pj", "ecu_cycle_pj", "bogus"]
hw_value = st.one_of(hostile, st.sampled_from(["snn_dse", "hybrid", "ideal", "rtl", "layer_pipelined",
                                                "sequential", "divisors"]),
                     st.fixed_dictionaries({"lif": st.one_of(st.integers(-2, 5), st.floats()),
                                            "lapicque": st.one_of(st.integers(-2, 5), st.floats())}),
                     st.lists(st.integers(-1, 8), max_size=3))
power = st.dictionaries(st.sampled_from(POWER_FIELDS), hw_value, max_size=3)


def _leaves(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _leaves(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _leaves(v)
    else:
        yield x


@pytest.fixture(scope="module")
def trace_folder(tmp_path_factory):
    return _valid_folder(tmp_path_factory.mktemp("fuzz") / "tr")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(HW_FIELDS), st.one_of(hw_value, power), max_size=5))
def test_fuzz_hardware_configs_are_valid_or_refused(trace_folder, d):
    from spiketune.hardware.config import from_dict
    from spiketune.hardware.report import cost

    try:
        hw = from_dict(d)
    except SpiketuneError:
        return
    numbers = [v for v in _leaves(hw.model_dump()) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    assert all(math.isfinite(v) and v >= 0 for v in numbers), hw
    assert hw.clock_mhz > 0
    try:
        rep = cost(trace_folder, hw)
    except SpiketuneError:
        return
    _check_report(rep)


hostile_floats = st.one_of(st.floats(-3, 3), st.sampled_from([0.0, -1.0, float("nan"), float("inf"),
                                                              -float("inf"), 1e-5, 1e300]))
FIELDS = ["weight", "bias", "tau", "r", "v_leak", "v_threshold", "shape", "input", "meta"]


@st.composite
def nir_graphs(draw):
    """A chain Input -> (Affine -> LIF) x 1..2 -> Output, valid except (mostly) one field
    of one layer, which takes a hostile value."""
    import nir

    bad_layer, bad = draw(st.integers(0, 1)), draw(st.sampled_from([None, *FIELDS]))

    def val(field, i, valid):
        return draw(hostile_floats) if (bad == field and i == bad_layer) else draw(valid)

    n_in = draw(st.integers(1, 4))
    shape_in = draw(st.sampled_from([0, -1, 2**40])) if bad == "input" else n_in
    nodes = {"input": nir.Input({"input": np.array([shape_in])})}
    chain, width = ["input"], n_in
    for i in range(draw(st.integers(1, 2))):
        out = draw(st.integers(1, 4))
        w_shape = (out, width)
        if bad == "shape" and i == bad_layer:
            w_shape = draw(st.sampled_from([(out, width + 1), (out, width, 1)]))
        w = np.asarray([val("weight", i, st.floats(-1, 1)) for _ in range(math.prod(w_shape))],
                       np.float32).reshape(w_shape)
        bias = np.full(out, val("bias", i, st.floats(-1, 1)), np.float32)
        nodes[f"fc{i}"] = nir.Affine(weight=w, bias=bias)
        meta = draw(st.fixed_dictionaries({}, optional={
            "spiketune.reset": st.sampled_from(["subtract", "zero", "none"]),
            "spiketune.neuron": st.sampled_from(["lif", "lapicque"]), "spiketune.beta": st.floats(0, 1)}))
        if bad == "meta" and i == bad_layer:
            meta[draw(st.sampled_from(["spiketune.reset", "spiketune.beta", "spiketune.neuron"]))] = \
                draw(st.one_of(hostile_floats, st.sampled_from(["explode", "", "LIF"])))
        tau = val("tau", i, st.one_of(st.floats(1e-4, 1e-2), st.just(float("inf"))))
        nodes[f"lif{i}"] = nir.LIF(tau=np.full(out, tau), r=np.full(out, val("r", i, st.floats(0.1, 10))),
                                   v_leak=np.full(out, val("v_leak", i, st.just(0.0))),
                                   v_threshold=np.full(out, val("v_threshold", i, st.floats(0.1, 3))),
                                   metadata=meta)
        chain += [f"fc{i}", f"lif{i}"]
        width = out
    nodes["output"] = nir.Output({"output": np.array([width])})
    chain.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:], strict=True)), type_check=False)


@settings(max_examples=300, deadline=None)
@given(nir_graphs(), st.sampled_from([None, None, "subtract", "zero", "explode"]))
def test_fuzz_nir_graphs_are_imported_valid_or_refused(graph, reset):
    import torch

    from spiketune.interop.nir_io import import_graph

    try:
        net = import_graph(graph, num_classes=None, reset=reset)
    except SpiketuneError:
        return
    for block in net.blocks:
        neuron = block.neuron
        w = block.weight_layer
        assert torch.isfinite(w.weight).all() and torch.isfinite(w.bias).all()
        assert float(neuron.threshold) > 0 and 0 <= float(neuron.beta) <= 1
        assert neuron.reset_mode in ("subtract", "zero", "none")
    with torch.no_grad():
        out = net(torch.ones(3, 2, *net.input_shape), num_steps=3)
    assert torch.isfinite(out).all()


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_nir_files_are_read_or_refused(blob):
    from spiketune.interop import nir_io

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.nir"
        path.write_bytes(blob)
        with pytest.raises(SpiketuneError):
            nir_io.read(path)
