"""NIR import/export of every neuron model: graphs built with the ``nir`` package against
a direct float64 reading of the specification's equations, round trips, a graph written by
sinabs against sinabs' own forward pass, and ``spiketune hw --model`` on such graphs."""

import subprocess
import sys

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")

from spiketune.interop import nir_io  # noqa: E402
from spiketune.network import neurons  # noqa: E402
from spiketune.network.models import build  # noqa: E402

DT = 1e-3
RNG = np.random.default_rng(0)
W = RNG.normal(0.3, 0.6, (6, 12))
BIAS = RNG.normal(0.1, 0.1, 6)
X = RNG.uniform(0, 1, (40, 3, 12))  # [T, B, inputs]


def _graph(*nodes):
    names = ["input", "fc"] + [f"n{i}" for i in range(len(nodes))] + ["output"]
    all_nodes = dict(zip(names, [nir.Input({"input": np.array([12])}), nir.Affine(weight=W, bias=BIAS),
                                 *nodes, nir.Output({"output": np.array([6])})], strict=True))
    edges = list(zip(names[:-1], names[1:], strict=True))
    return nir.NIRGraph(nodes=all_nodes, edges=edges, type_check=False)


def _spec(kind, p, scale=1.0):
    """The NIR equations, Euler step DT (current before membrane), reset to v_reset at once;
    with ``subtract`` (not in NIR) snnTorch's: the threshold subtracted, undecayed, in the
    step after the spike."""
    v, i_syn, z, out = np.zeros((3, 6)), np.zeros((3, 6)), np.zeros((3, 6)), []
    for x in X:
        cur = scale * (x @ W.T + BIAS)
        if kind == "IF":
            v = v + p["r"] * cur  # one step of dv/dt = r I with the per-step gain r
        elif kind == "CubaLIF":
            i_syn = i_syn + DT / p["tau_syn"] * (-i_syn + p["w_in"] * cur)
            v = v + DT / p["tau_mem"] * (-v + p["r"] * i_syn)
        else:  # LIF, LI
            v = v + DT / p["tau"] * (-v + p["r"] * cur)
        if kind == "LI":
            out.append(v.copy())
            continue
        if p.get("subtract"):
            v = v - z * p["v_threshold"]
        z = (v > p["v_threshold"]).astype(float)
        if not p.get("subtract"):
            v = np.where(z > 0, 0.0, v)
        out.append(z)
    return np.array(out)


def _ours(graph, **kw):
    net = nir_io.import_graph(graph, dt=DT, **kw).double()
    return net(torch.from_numpy(X)).detach().numpy()


def _check_spikes(got, ref):
    assert 0 < ref.mean() < 1
    np.testing.assert_array_equal(got, ref)


ones = np.ones(6)
CASES = {
    "LIF": (dict(tau=4e-3 * ones, r=3 * ones, v_leak=0 * ones, v_threshold=1.2 * ones), nir.LIF),
    "IF": (dict(r=0.7 * ones, v_threshold=2.0 * ones), nir.IF),
    "CubaLIF": (dict(tau_syn=5e-3 * ones, tau_mem=4e-3 * ones, r=3 * ones, w_in=2 * ones,
                     v_leak=0 * ones, v_threshold=0.8 * ones), nir.CubaLIF),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_neuron_node_follows_the_spec(kind):
    p, cls = CASES[kind]
    _check_spikes(_ours(_graph(cls(**p))), _spec(kind, p))
    # per-neuron time constants (r, w_in scaled along: the input gain stays one per layer)
    if kind in ("LIF", "CubaLIF"):
        f = np.linspace(0.7, 1.6, 6)
        q = {**p, **{k: p[k] * f for k in ("tau", "r", "tau_mem") if k in p}}
        if kind == "CubaLIF":
            q.update(tau_syn=p["tau_syn"] * f[::-1], w_in=p["w_in"] * f[::-1])
        _check_spikes(_ours(_graph(cls(**q))), _spec(kind, q))
    # subtraction, which NIR cannot say, named on import
    _check_spikes(_ours(_graph(cls(**p)), reset="subtract"), _spec(kind, {**p, "subtract": True}))


def test_li_readout_scale_and_threshold_follow_the_spec():
    li = dict(tau=5e-3 * ones, r=2 * ones, v_leak=0 * ones)
    mem = _ours(_graph(nir.LI(**li)))
    np.testing.assert_allclose(mem, _spec("LI", li), rtol=1e-6)  # float32 weights
    # LI -> Threshold: a leaky neuron without reset; Threshold alone: no memory
    ref = (_spec("LI", li) > 1.5).astype(float)
    _check_spikes(_ours(_graph(nir.LI(**li), nir.Threshold(1.5 * ones))), ref)
    ref = (X @ W.T + BIAS > 1.0).astype(float)
    _check_spikes(_ours(_graph(nir.Threshold(ones))), ref)
    # Scale between the weights and the neurons
    p = CASES["IF"][0]
    _check_spikes(_ours(_graph(nir.Scale(0.5 * ones), nir.IF(**p))), _spec("IF", p, scale=0.5))


def test_sum_pooling_equals_k_squared_average():
    rng = np.random.default_rng(1)
    w = rng.normal(0.2, 0.5, (3, 1, 3, 3)).astype(np.float32)
    nodes = {"input": nir.Input({"input": np.array([1, 6, 6])}),
             "conv": nir.Conv2d(input_shape=(6, 6), weight=w, stride=(1, 1), padding=(1, 1),
                                dilation=(1, 1), groups=1, bias=np.zeros(3, np.float32)),
             "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                   padding=np.array([0, 0])),
             "if": nir.IF(r=np.ones((3, 3, 3)), v_threshold=np.full((3, 3, 3), 2.0)),
             "flat": nir.Flatten({"input": np.array([3, 3, 3])}, start_dim=0),
             "fc": nir.Affine(weight=np.ones((4, 27)), bias=np.zeros(4)),
             "if2": nir.IF(r=np.ones(4), v_threshold=np.ones(4)),
             "output": nir.Output({"output": np.array([4])})}
    names = list(nodes)
    net = nir_io.import_graph(nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:], strict=True)),
                                           type_check=False)).double()
    x = rng.uniform(0, 1, (10, 2, 1, 6, 6))
    cur = torch.nn.functional.conv2d(torch.from_numpy(x).reshape(20, 1, 6, 6), torch.from_numpy(w).double(),
                                     padding=1)
    cur = cur.reshape(20, 3, 3, 2, 3, 2).sum((3, 5)).reshape(10, 2, 3, 3, 3).numpy()
    v, ref = np.zeros_like(cur[0]), []
    for c in cur:
        v = v + c
        z = (v > 2.0).astype(float)
        v = np.where(z > 0, 0.0, v)
        ref.append(z)
    _, (first, _) = net(torch.from_numpy(x), record=True)
    _check_spikes(first.detach().numpy(), np.array(ref))


def _model(kind):
    """A network whose spiking layers are ``kind`` (an LI read-out when ``kind`` is li)."""
    torch.manual_seed(0)
    spiking = "cuba_lif" if kind == "li" else kind
    net = build("6C3p1-AP2-12-10", (1, 8, 8), neuron=spiking, beta=0.8,
                threshold=0.1 if kind == "lapicque" else 0.6,  # Lapicque: input gain ln(1/beta)
                readout="li" if kind == "li" else None,
                neuron_params={"alpha": 0.7} if spiking == "cuba_lif" else None)
    if kind == "lif":  # per-channel decays
        net.blocks[1].neuron = neurons.LIF(beta=torch.linspace(0.2, 0.95, 12), threshold=0.6, reset="zero")
    return net


@pytest.mark.parametrize("kind", neurons.names())
def test_round_trip_of_every_model_gives_identical_outputs(tmp_path, kind):
    net = _model(kind)
    back = nir_io.read(nir_io.write(net, tmp_path / "m.nir"))
    assert [n.kind for n in back.neurons()] == [n.kind for n in net.neurons()]
    x = torch.rand(7, 4, 1, 8, 8) * 3
    (_, a), (_, b) = net(x, record=True), back(x, record=True)
    assert all(float(s.detach().abs().sum()) > 0 for s in a)
    assert all(torch.equal(sa, sb) for sa, sb in zip(a, b, strict=True))


def _sinabs_net(batch, reset_fn):
    sl = pytest.importorskip("sinabs.layers")
    from sinabs.activation import SingleSpike

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), sl.SumPool2d(2),
        sl.IAFSqueeze(batch_size=batch, spike_fn=SingleSpike, reset_fn=reset_fn, spike_threshold=1.0),
        torch.nn.Flatten(), torch.nn.Linear(64, 10),
        sl.IAFSqueeze(batch_size=batch, spike_fn=SingleSpike, reset_fn=reset_fn, spike_threshold=1.0))


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_sinabs_graph_imports_with_sinabs_spikes(reset):
    sinabs = pytest.importorskip("sinabs")
    from sinabs.activation import MembraneReset, MembraneSubtract

    b, t = 3, 12
    net = _sinabs_net(b, MembraneReset() if reset == "zero" else MembraneSubtract())
    graph = sinabs.to_nir(net, torch.rand(b * t, 1, 8, 8))
    # sinabs writes v_reset = 0 whatever its reset: a subtracting network is named on import
    ours = nir_io.import_graph(graph, reset=None if reset == "zero" else "subtract")
    x = torch.rand(b, t, 1, 8, 8) * 2  # sinabs: batch-major [B*T, ...]
    for m in net.modules():  # tracing left sinabs' neurons charged
        if hasattr(m, "reset_states"):
            m.reset_states()
    with torch.no_grad():
        ref = net(x.reshape(b * t, 1, 8, 8)).reshape(b, t, 10).transpose(0, 1)
        got = ours(x.transpose(0, 1))
    assert ref.sum() > 0 and torch.equal(got, ref)


def _hw(tmp_path, graph_file):
    out = tmp_path / "hw"
    r = subprocess.run([sys.executable, "-m", "spiketune", "hw", str(out), "--model", str(graph_file),
                        "--dataset", "digits", "--num-steps", "4"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return out, r.stdout


def test_cli_costs_an_if_sum_pool_network_written_by_sinabs(tmp_path):
    sinabs = pytest.importorskip("sinabs")
    from sinabs.activation import MembraneReset

    graph = sinabs.to_nir(_sinabs_net(2, MembraneReset()), torch.rand(8, 1, 8, 8))
    # sinabs 3.1 targets nir <= 1.0.4 and leaves the conv's input shape unset; nir 1.0.8 writes types
    graph.nodes["0"].input_shape = np.array([8, 8])
    graph.infer_types()
    nir.write(str(tmp_path / "sinabs.nir"), graph)
    out, stdout = _hw(tmp_path, tmp_path / "sinabs.nir")
    assert (out / "hardware.json").is_file() and "FPS/W" in stdout


def test_cli_costs_a_cuba_lif_network(tmp_path):
    import json

    path = nir_io.write(_model("cuba_lif"), tmp_path / "cuba.nir")
    out, stdout = _hw(tmp_path, path)
    assert "second state RAM" in stdout
    manifest = json.loads((out / "traces" / "manifest.json").read_text())
    assert manifest["version"] == 2
    assert [layer["dynamics"]["states"] for layer in manifest["layers"]] == [2, 2, 2]
