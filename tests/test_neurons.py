import math

import numpy as np
import pytest
import snntorch as snn
import torch

from spiketune.errors import ConfigError
from spiketune.network import neurons
from spiketune.network import surrogate as sg


def reference(x, a, b, thr, reset, zero_after):
    """Independent float64 step-by-step reference of the documented update."""
    mem = np.zeros(x.shape[1:])
    spikes, mems = [], []
    for xt in x:
        r = (mem - thr > 0).astype(float)
        if reset == "zero" and not zero_after:
            mem = (1 - r) * mem
        mem = a * mem + b * xt
        if reset == "subtract":
            mem = mem - r * thr
        elif reset == "zero" and zero_after:
            mem = (1 - r) * mem
        spikes.append((mem - thr > 0).astype(float))
        mems.append(mem.copy())
    return np.array(spikes), np.array(mems)


def _inputs(seed=0, t=30):
    rng = np.random.default_rng(seed)
    return rng.normal(0.4, 0.8, size=(t, 8, 50))


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("beta,thr", [(0.5, 1.0), (0.9, 0.7), (0.15, 0.5)])
def test_lif_matches_reference(reset, beta, thr):
    x = _inputs()
    n = neurons.LIF(beta=beta, threshold=thr, reset=reset).double()
    spk, mem = n(torch.from_numpy(x), return_mem=True)
    def f32(v: float) -> float:  # parameters are stored in float32
        return float(np.float32(v))

    rs, rm = reference(x, f32(beta), 1.0, f32(thr), reset, zero_after=False)
    assert spk.sum() > 0
    np.testing.assert_array_equal(spk.numpy(), rs)
    np.testing.assert_allclose(mem.numpy(), rm, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_lapicque_matches_reference(reset):
    x = _inputs(1)
    beta = 0.8
    n = neurons.Lapicque(beta=beta, threshold=0.4, reset=reset).double()
    spk, mem = n(torch.from_numpy(x), return_mem=True)
    c = 1.0 / math.log(1 / float(np.float32(beta)))  # R = 1, dt = 1
    rs, rm = reference(x, 1 - 1 / c, 1 / c, float(np.float32(0.4)), reset, zero_after=True)
    np.testing.assert_array_equal(spk.numpy(), rs)
    np.testing.assert_allclose(mem.numpy(), rm, rtol=1e-10, atol=1e-10)


def _snn_run(layer, x):
    mem = None
    spikes, mems = [], []
    for xt in x:
        spk, mem = layer(xt) if mem is None else layer(xt, mem)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_lif_equals_snntorch_leaky(reset):
    x = torch.from_numpy(_inputs(2)).double()
    ref = snn.Leaky(beta=0.7, threshold=0.8, reset_mechanism=reset).double()
    ref.mem = torch.zeros(1, dtype=torch.float64)
    rs, rm = _snn_run(ref, x)
    spk, mem = neurons.LIF(beta=0.7, threshold=0.8, reset=reset).double()(x, return_mem=True)
    assert torch.equal(spk, rs)
    torch.testing.assert_close(mem, rm)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_lapicque_equals_snntorch(reset):
    x = torch.from_numpy(_inputs(3)).double()
    ref = snn.Lapicque(beta=torch.tensor(0.6, dtype=torch.float64), threshold=0.5,
                       reset_mechanism=reset).double()
    rs, rm = _snn_run(ref, x)
    spk, mem = neurons.Lapicque(beta=0.6, threshold=0.5, reset=reset).double()(x, return_mem=True)
    assert torch.equal(spk, rs)
    torch.testing.assert_close(mem, rm)


def test_lapicque_from_r_and_c():
    n = neurons.Lapicque(R=2.0, C=3.0, time_step=0.5)
    a, b = n.coefficients()
    assert float(a) == pytest.approx(1 - 0.5 / 6)
    assert float(b) == pytest.approx(0.5 / 3)


def test_gradients_match_snntorch_with_fast_sigmoid():
    torch.manual_seed(0)
    x = torch.from_numpy(_inputs(4, t=20)).double()
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ref = snn.Leaky(beta=0.8, spike_grad=snn.surrogate.fast_sigmoid(slope=5)).double()
    rs, _ = _snn_run(ref, xa)
    (rs * torch.arange(20.0, dtype=torch.float64).view(-1, 1, 1)).sum().backward()
    ours = neurons.LIF(beta=0.8, surrogate=sg.get("fast_sigmoid", slope=5)).double()
    (ours(xb) * torch.arange(20.0, dtype=torch.float64).view(-1, 1, 1)).sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-10, atol=1e-12)


def test_learnable_beta_and_threshold_receive_gradients():
    n = neurons.LIF(beta=0.6, threshold=0.9, learn_beta=True, learn_threshold=True)
    n(torch.rand(10, 4, 6) * 2).sum().backward()
    assert n.beta.grad is not None and n.beta.grad != 0
    assert n.threshold.grad is not None and n.threshold.grad != 0


def test_single_step_equals_multi_step():
    n = neurons.LIF(beta=0.9, threshold=0.5)
    x = torch.rand(12, 3, 5)
    seq = n(x)
    mem = torch.zeros(3, 5)
    for t in range(12):
        spk, mem = n.step(x[t], mem)
        assert torch.equal(spk, seq[t])


@pytest.mark.parametrize("kwargs,match", [
    (dict(beta=-0.1), "beta"), (dict(beta=1.5), "beta"), (dict(threshold=-1), "threshold"),
    (dict(threshold=0), "threshold"), (dict(reset="soft"), "reset")])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        neurons.LIF(**kwargs)


def test_unknown_neuron_lists_valid():
    with pytest.raises(ConfigError, match="lif, lapicque"):
        neurons.make("izhikevich", 0.5, 1.0, "subtract", sg.get("atan"))


@pytest.mark.parametrize("kind", ["lif", "lapicque"])
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("static", [False, True])
def test_fused_multi_step_equals_autograd_through_the_steps(kind, reset, static):
    """The one-node forward/backward against autograd through the plain per-step update
    (float64): identical spikes, equal gradients for input, beta and threshold."""
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.normal(0.5, 0.9, size=(6, 40) if static else (15, 6, 40)))
    weights = torch.from_numpy(rng.normal(size=(15, 6, 40)))
    results = []
    for fused in (True, False):
        n = neurons.make(kind, 0.7, 0.6, reset, sg.get("atan", alpha=3.0), learn_beta=True,
                         learn_threshold=True).double()
        n.fused = fused
        xi = x.clone().requires_grad_(True)
        spk = n(xi, num_steps=15) if static else n(xi)
        (spk * weights).sum().backward()
        results.append((spk.detach(), xi.grad, n.beta.grad, n.threshold.grad))
    (s1, gx1, gb1, gt1), (s2, gx2, gb2, gt2) = results
    assert 0 < float(s1.sum()) < s1.numel()
    assert torch.equal(s1, s2)
    for got, want in ((gx1, gx2), (gb1, gb2), (gt1, gt2)):
        assert float(want.abs().sum()) > 0
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
