"""Every registered neuron model: fused multi-step path against its own float64
step-by-step autograd reference, and snnTorch semantics where snnTorch has the model."""

import numpy as np
import pytest
import snntorch as snn
import torch

from spiketune.errors import ConfigError
from spiketune.network import neurons
from spiketune.network import surrogate as sg
from spiketune.network.models import build

# constructor variants per registered model; the test below fails for a model without any
SURR = sg.get("atan", alpha=3.0)
VARIANTS = {
    "lif": [dict(beta=0.7, threshold=0.6, reset=r, surrogate=SURR, learn_beta=True,
                 learn_threshold=True) for r in ("subtract", "zero", "none")]
    + [dict(beta=[0.2, 0.5, 0.9, 1.0, 0.6], threshold=0.6, learn_beta=True)],  # per channel
    "lapicque": [dict(beta=0.7, threshold=0.6, reset=r, surrogate=SURR, learn_beta=True,
                      learn_threshold=True) for r in ("subtract", "zero", "none")],
    "if": [dict(threshold=1.5, reset=r, surrogate=SURR, learn_threshold=True)
           for r in ("subtract", "zero", "none")],
    "cuba_lif": [dict(alpha=0.6, beta=0.8, threshold=0.9, reset=r, surrogate=SURR, learn_alpha=True,
                      learn_beta=True, learn_threshold=True, zero_after_update=after)
                 for r in ("subtract", "zero", "none") for after in (True, False)]
    + [dict(alpha=[0.1, 0.5, 0.9, 0.3, 0.7], beta=[0.9, 0.8, 0.2, 1.0, 0.5], learn_alpha=True,
            learn_beta=True)],
    "li": [dict(beta=0.8, learn_beta=True), dict(beta=[0.1, 0.5, 0.9, 0.99, 1.0], learn_beta=True)],
}


def test_every_registered_model_has_variants():
    assert set(VARIANTS) == set(neurons.names())


def _params(n):
    return [p for p in n.parameters()]


def _run(n, x, fused, static, steps):
    n.fused = fused
    xi = x.clone().requires_grad_(True)
    out = n(xi, num_steps=steps) if static else n(xi)
    weight = torch.linspace(-1, 2, out.numel(), dtype=torch.float64).reshape(out.shape)
    (out * weight).sum().backward()
    grads = [xi.grad] + [p.grad.clone() for p in _params(n)]
    for p in _params(n):
        p.grad = None
    return out.detach(), grads


@pytest.mark.parametrize("kind", list(VARIANTS))
@pytest.mark.parametrize("static", [False, True])
def test_fused_path_equals_own_step_by_step_reference(kind, static):
    for i, kw in enumerate(VARIANTS[kind]):
        torch.manual_seed(i)
        n = neurons.NEURONS[kind](**kw).double()
        x = (torch.randn(3, 5, dtype=torch.float64) * 0.8 + 0.5 if static
             else torch.randn(25, 3, 5, dtype=torch.float64) * 0.8 + 0.4)
        fused, ref = _run(n, x, True, static, 25), _run(n, x, False, static, 25)
        assert torch.equal(fused[0], ref[0]), (kind, kw)
        if n.spiking:
            assert 0 < float(ref[0].mean()) < 1, (kind, kw)  # both spikes and silences occur
        assert len(fused[1]) == len(ref[1]) == 1 + len(_params(n))
        for gf, gr in zip(fused[1], ref[1], strict=True):
            assert gr.abs().sum() > 0
            torch.testing.assert_close(gf, gr, rtol=1e-10, atol=1e-10)


def _snn_run(layer, x, *state):
    """Step an snnTorch neuron (init_hidden=False) over x [T, ...]."""
    outs, mems = [], []
    for xt in x:
        *state_out, = layer(xt, *state) if state else layer(xt)
        spk, state = state_out[0], tuple(state_out[1:])
        outs.append(spk)
        mems.append(state[-1])
    return torch.stack(outs), torch.stack(mems)


def _x(seed=0, t=30):
    return torch.from_numpy(np.random.default_rng(seed).normal(0.3, 0.8, (t, 4, 20)))


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_cuba_lif_equals_snntorch_synaptic(reset):
    x = _x(1)
    ref = snn.Synaptic(alpha=0.6, beta=0.85, threshold=0.9, reset_mechanism=reset).double()
    zeros = torch.zeros(1, dtype=torch.float64)
    rs, rm = _snn_run(ref, x, zeros, zeros)
    spk, mem = neurons.CubaLIF(alpha=0.6, beta=0.85, threshold=0.9, reset=reset).double()(x, return_mem=True)
    assert rs.sum() > 0 and torch.equal(spk, rs)
    torch.testing.assert_close(mem, rm, rtol=1e-12, atol=1e-12)
    assert torch.equal(neurons.CubaLIF(alpha=0.6, beta=0.85, threshold=0.9, reset=reset).double()(x), rs)


def test_cuba_lif_gradients_equal_snntorch():
    x = _x(2, 20)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ref = snn.Synaptic(alpha=0.7, beta=0.8, spike_grad=snn.surrogate.fast_sigmoid(slope=5)).double()
    zeros = torch.zeros(1, dtype=torch.float64)
    rs, _ = _snn_run(ref, xa, zeros, zeros)
    w = torch.arange(20.0, dtype=torch.float64).view(-1, 1, 1)
    (rs * w).sum().backward()
    ours = neurons.CubaLIF(alpha=0.7, beta=0.8, surrogate=sg.get("fast_sigmoid", slope=5)).double()
    (ours(xb) * w).sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_if_equals_snntorch_leaky_with_beta_one(reset):
    x = _x(3)
    ref = snn.Leaky(beta=1.0, threshold=1.2, reset_mechanism=reset).double()
    rs, rm = _snn_run(ref, x, torch.zeros(1, dtype=torch.float64))
    spk, mem = neurons.IF(threshold=1.2, reset=reset).double()(x, return_mem=True)
    assert rs.sum() > 0 and torch.equal(spk, rs)
    torch.testing.assert_close(mem, rm, rtol=1e-12, atol=1e-12)


def test_li_equals_snntorch_leaky_membrane_without_reset():
    x = _x(4)
    ref = snn.Leaky(beta=0.8, reset_mechanism="none").double()
    _, rm = _snn_run(ref, x, torch.zeros(1, dtype=torch.float64))
    torch.testing.assert_close(neurons.LI(beta=0.8).double()(x), rm, rtol=1e-12, atol=1e-12)


def test_per_channel_lif_equals_snntorch_leaky_with_beta_vector():
    x = _x(5)
    beta = torch.linspace(0.1, 1.0, 20, dtype=torch.float64)
    ref = snn.Leaky(beta=beta, threshold=0.7, learn_beta=True).double()
    rs, _ = _snn_run(ref, x, torch.zeros(1, dtype=torch.float64))
    ours = neurons.LIF(beta=beta, threshold=0.7, learn_beta=True).double()
    assert rs.sum() > 0 and torch.equal(ours(x), rs.detach())


def test_hand_computed_cuba_lif_and_li():
    # I: 1, 1.5, 0.75 ; U: 1, 2 -> spike (thr 1.5), then 0.5*2 + 0.75 - 1.5 = 0.25
    x = torch.tensor([[1.0], [1.0], [0.0]], dtype=torch.float64)
    spk, mem = neurons.CubaLIF(alpha=0.5, beta=0.5, threshold=1.5).double()(x, return_mem=True)
    assert spk.flatten().tolist() == [0.0, 1.0, 0.0]
    assert mem.flatten().tolist() == [1.0, 2.0, 0.25]
    assert neurons.LI(beta=0.5).double()(x).flatten().tolist() == [1.0, 1.5, 0.75]


def test_li_readout_network_trains_on_membranes():
    torch.manual_seed(0)
    net = build("8C3-10", (1, 6, 6), neuron="cuba_lif", readout="li")
    assert [n.kind for n in net.neurons()] == ["cuba_lif", "li"]
    out = net(torch.rand(4, 1, 6, 6), num_steps=5)
    scores = net.decode(out)
    assert out.shape == (5, 4, 10) and scores.shape == (4, 10)
    torch.nn.functional.cross_entropy(scores, torch.arange(4)).backward()
    assert net.blocks[0].weight_layer.weight.grad.abs().sum() > 0


def test_bad_neuron_parameters_are_named():
    with pytest.raises(ConfigError, match="CubaLIF alpha"):
        neurons.CubaLIF(alpha=1.5)
    with pytest.raises(ConfigError, match="LI beta"):
        neurons.LI(beta=[0.5, -0.1])
    with pytest.raises(ConfigError, match="no parameter"):
        neurons.make("lif", gamma=0.3)
    with pytest.raises(ConfigError, match="cuba_lif"):
        neurons.make("izhikevich")


@pytest.mark.parametrize("kind", ["synaptic", "leaky_per_neuron"])
def test_snntorch_converter_keeps_synaptic_and_learnable_per_neuron_beta(kind):
    from snntorch import utils as snn_utils

    from spiketune.interop.snntorch_io import convert

    torch.manual_seed(0)
    grad = snn.surrogate.fast_sigmoid(slope=10)

    def neuron(width, out=False):
        if kind == "synaptic":
            return snn.Synaptic(alpha=0.6, beta=0.8, threshold=0.7, spike_grad=grad, init_hidden=True,
                                output=out, learn_alpha=True, learn_beta=True)
        return snn.Leaky(beta=torch.linspace(0.3, 0.95, width), threshold=0.7, spike_grad=grad,
                         init_hidden=True, output=out, learn_beta=True)

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 16), neuron(16),
                              torch.nn.Linear(16, 10), neuron(10, True))
    with torch.no_grad():
        net[3].weight.mul_(4)
    ours = convert(net, (20,))
    assert [n.kind for n in ours.neurons()] == (["cuba_lif"] * 2 if kind == "synaptic" else ["lif"] * 2)
    x = torch.rand(6, 20) * 2
    snn_utils.reset(net)
    ref = torch.stack([net(x)[0] for _ in range(15)])
    out = ours(x, num_steps=15)
    assert ref.sum() > 0 and torch.equal(ref, out)
    ref.sum().backward()
    out.sum().backward()
    for ours_n, theirs_n in zip(ours.neurons(), [net[2], net[4]], strict=True):
        for p in ("alpha", "beta") if kind == "synaptic" else ("beta",):
            ga, gb = getattr(ours_n, p).grad, getattr(theirs_n, p).grad
            assert ga.shape == gb.shape and gb.abs().sum() > 0
            torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5 * gb.abs().max())


def test_hardware_cost_per_model_and_designs_that_cannot_run_it():
    from dataclasses import astuple

    from spiketune.hardware.hybrid import Hybrid, HybridConfig
    from spiketune.hardware.neuron_cost import update_cost
    from spiketune.hardware.snn_dse.config import HardwareConfig
    from spiketune.hardware.snn_dse.layers import layer_cycles
    from spiketune.traces import LayerSpec, NeuronDynamics, Traces

    def fc(model, **kw):
        d = NeuronDynamics(model, **kw)
        return LayerSpec("fc", (40,), (10,), (10,), neuron=model, dynamics=d)

    lif, cuba = fc("lif", decay=0.5), fc("cuba_lif", decay=0.5, synapse_decay=0.7)
    assert astuple(update_cost(lif.dynamics)) == (1, 1, 3, 1)  # states, multiplies, adds, cycles
    assert astuple(update_cost(cuba.dynamics)) == (2, 2, 4, 2)
    assert update_cost(fc("if", decay=1.0).dynamics).multiplies == 0
    counts = np.random.default_rng(0).integers(0, 5, (3, 4, 1))
    hw = HardwareConfig(fc_cores=5)
    a, b = layer_cycles(lif, counts, 5, hw), layer_cycles(cuba, counts, 5, hw)
    # one extra cycle per (group, step) activation: 2 groups x 4 steps
    np.testing.assert_array_equal(b.latency - a.latency, 2 * 4)
    conv = LayerSpec("conv", (1, 6, 6), (4, 6, 6), (4, 6, 6), kernel=3, padding=1, neuron="cuba_lif",
                     dynamics=NeuronDynamics("cuba_lif", 0.5, synapse_decay=0.5))
    tr = Traces(None, 4, "events", (1, 6, 6), [conv, lif], [counts.repeat(1, 2)[..., :1], counts],
                np.zeros(3), np.zeros(3))
    with pytest.raises(ConfigError, match="hybrid design's dense core .* L0's 'cuba_lif'"):
        Hybrid(HybridConfig()).cost(tr)
    li_first = LayerSpec("fc", (40,), (10,), (10,), neuron="li",
                         dynamics=NeuronDynamics("li", 0.5, reset="none", spiking=False))
    from spiketune.hardware.snn_dse.simulate import simulate
    with pytest.raises(ConfigError, match="L0's 'li' neurons send no spikes"):
        simulate(Traces(None, 4, "events", (40,), [li_first, lif], [counts, counts], np.zeros(3),
                        np.zeros(3)), hw)


def test_version_1_layers_get_their_dynamics_derived():
    from spiketune.traces import LayerSpec

    d = LayerSpec.from_json({"kind": "fc", "in_shape": [4], "conv_shape": [2], "out_shape": [2],
                             "neuron": "lapicque", "beta": 0.6, "reset": "zero"}).dynamics
    a, b = neurons.Lapicque(beta=0.6).double().coefficients()
    assert (d.decay, d.gain, d.reset_after_update, d.states) == pytest.approx((float(a), float(b), True, 1))
