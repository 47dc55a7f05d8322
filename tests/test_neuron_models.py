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
        for gf, gr in zip(fused[1], ref[1]):
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
