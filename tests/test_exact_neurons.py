"""Neurons against hand-computed membranes (exact binary fractions, so a '>' vs '>=' or a
reset-order bug changes the result) and the fused backward against float64 autograd
through the documented per-step update written out here."""

import math

import pytest
import torch

from spiketune.errors import ConfigError
from spiketune.network import neurons
from spiketune.network import surrogate as sg


def _run(n, x, fused, **kw):
    n.fused = fused
    return n(x, **kw)


@pytest.mark.parametrize("fused", [True, False])
def test_lif_subtract_by_hand(fused):
    # beta 0.5, thr 1, X = 1 every step:
    # U: 1 (== thr: no spike), 1.5 S, 0.75+1-1 = 0.75, 1.375 S, 0.6875+1-1 = 0.6875
    n = neurons.LIF(beta=0.5, threshold=1.0).double()
    x = torch.ones(5, 1, dtype=torch.float64)
    assert _run(n, x, fused).flatten().tolist() == [0, 1, 0, 1, 0]
    static = _run(n, torch.ones(1, dtype=torch.float64), fused, num_steps=5)
    assert static.flatten().tolist() == [0, 1, 0, 1, 0]
    spk, mem = n(x, return_mem=True)
    assert mem.flatten().tolist() == [1.0, 1.5, 0.75, 1.375, 0.6875]


@pytest.mark.parametrize("fused", [True, False])
def test_lif_zero_reset_by_hand(fused):
    # beta 0.5, thr 1, X = 1.25: U 1.25 S, reset to 0 then 1.25 S, ... (zero before the update)
    n = neurons.LIF(beta=0.5, threshold=1.0, reset="zero").double()
    x = torch.tensor([1.25, 1.25, 0.5, 0.25], dtype=torch.float64).view(4, 1)
    assert _run(n, x, fused).flatten().tolist() == [1, 1, 0, 0]
    assert n(x, return_mem=True)[1].flatten().tolist() == [1.25, 1.25, 0.5, 0.5]


@pytest.mark.parametrize("fused", [True, False])
def test_lif_no_reset_by_hand(fused):
    n = neurons.LIF(beta=0.5, threshold=1.0, reset="none").double()
    x = torch.tensor([2.0, 0.0, 0.0, 0.0], dtype=torch.float64).view(4, 1)
    assert _run(n, x, fused).flatten().tolist() == [1, 0, 0, 0]  # 2, 1, 0.5, 0.25
    assert n(x, return_mem=True)[1].flatten().tolist() == [2.0, 1.0, 0.5, 0.25]


@pytest.mark.parametrize("fused", [True, False])
def test_lapicque_zero_after_update_by_hand(fused):
    # R = 1, C = 2, dt = 1: a = 1 - 1/2 = 0.5, b = 1/2; thr 1
    # X = 4: U0 = 2 S; U1 = 0.5*2 + 2 = 3, then zeroed (reset from step 0) -> 0; U2 = 2 S; U3 -> 0
    n = neurons.Lapicque(R=1.0, C=2.0, threshold=1.0, reset="zero").double()
    x = torch.full((4, 1), 4.0, dtype=torch.float64)
    assert _run(n, x, fused).flatten().tolist() == [1, 0, 1, 0]
    assert n(x, return_mem=True)[1].flatten().tolist() == [2.0, 0.0, 2.0, 0.0]


def test_lapicque_coefficients_from_each_parameter_pair():
    lb = math.log(1 / float(torch.tensor(0.8)))
    n = neurons.Lapicque(beta=0.8, C=2.0, time_step=0.5)  # R = dt / (C ln(1/beta))
    a, b = n.coefficients()
    assert float(a) == pytest.approx(1 - lb, rel=1e-6) and float(b) == pytest.approx(0.5 / 2.0, rel=1e-6)
    r, c = n.rc()
    assert float(r) == pytest.approx(0.5 / (2.0 * lb), rel=1e-6) and float(c) == 2.0
    n = neurons.Lapicque(beta=0.8, R=4.0, time_step=0.5)  # C = dt / (R ln(1/beta))
    a, b = n.coefficients()
    assert float(a) == pytest.approx(1 - lb, rel=1e-6) and float(b) == pytest.approx(4.0 * lb, rel=1e-6)
    n = neurons.Lapicque(beta=0.8)  # R = 1, C = 1/ln(1/beta)
    r, c = n.rc()
    assert float(r) == 1.0 and float(c) == pytest.approx(1 / lb, rel=1e-6)
    n = neurons.Lapicque(R=2.0, C=4.0, time_step=2.0)
    assert float(n.beta) == pytest.approx(math.exp(-0.25), rel=1e-6)
    assert [float(v) for v in n.rc()] == [2.0, 4.0]
    assert [float(v) for v in n.coefficients()] == [0.75, 0.5]


@pytest.mark.parametrize("kwargs,message", [
    (dict(beta=0.5, time_step=0), "Lapicque time_step must be > 0, got 0"),
    (dict(beta=1.0), "Lapicque beta must be in (0, 1), got 1.0"),
    (dict(beta=0.0), "Lapicque beta must be in (0, 1), got 0.0"),
    (dict(beta=0.5, R=1.0, C=1.0), "give Lapicque either beta or two of beta, R, C"),
    (dict(R=1.0), "Lapicque needs beta, or both R and C"),
    (dict(C=1.0), "Lapicque needs beta, or both R and C"),
    (dict(R=0.0, C=1.0), "Lapicque R must be > 0, got 0.0"),
    (dict(beta=0.5, C=-1.0), "Lapicque C must be > 0, got -1.0")])
def test_lapicque_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError) as e:
        neurons.Lapicque(**kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize("kwargs,message", [
    (dict(beta=1.01), "LIF beta must be in [0, 1], got 1.01"),
    (dict(beta=math.nan), "LIF beta must be in [0, 1], got nan"),
    (dict(threshold=math.inf), "threshold must be a finite number > 0, got inf"),
    (dict(threshold=0.0), "threshold must be a finite number > 0, got 0.0"),
    (dict(reset="soft"), "unknown reset mode 'soft'; valid: subtract, zero, none")])
def test_lif_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError) as e:
        neurons.LIF(**kwargs)
    assert str(e.value) == message


def test_lif_beta_bounds_are_inclusive():
    assert float(neurons.LIF(beta=0.0).beta) == 0.0 and float(neurons.LIF(beta=1.0).beta) == 1.0


def test_make_and_parameter_kinds():
    n = neurons.make(" LIF ", 0.25, 0.5, "zero", sg.get("sigmoid"), learn_beta=True)
    assert isinstance(n, neurons.LIF) and n.reset_mode == "zero" and n.surrogate.name == "sigmoid"
    assert isinstance(n.beta, torch.nn.Parameter) and not isinstance(n.threshold, torch.nn.Parameter)
    assert float(n.beta.detach()) == 0.25 and float(n.threshold) == 0.5
    assert set(dict(n.named_buffers())) == {"threshold"}
    m = neurons.make("lapicque", 0.5, 1.0, "subtract", sg.get("atan"), learn_threshold=True)
    assert isinstance(m, neurons.Lapicque) and isinstance(m.threshold, torch.nn.Parameter)
    assert m.beta.dtype == torch.get_default_dtype()
    assert neurons.LIF().surrogate.name == "atan" and neurons.LIF().surrogate.params == {"alpha": 2.0}
    with pytest.raises(ConfigError) as e:
        neurons.make("izhikevich", 0.5, 1.0, "subtract", sg.get("atan"))
    assert str(e.value) == "unknown neuron 'izhikevich'; valid: lif, lapicque, if, cuba_lif, li"


def test_lif_clamps_a_learnt_beta_into_the_unit_interval():
    n = neurons.LIF(beta=0.5, learn_beta=True)
    with torch.no_grad():
        n.beta.fill_(1.5)
    assert float(n.coefficients()[0].detach()) == 1.0
    with torch.no_grad():
        n.beta.fill_(-0.5)
    assert float(n.coefficients()[0].detach()) == 0.0


def test_extra_repr():
    assert neurons.LIF(beta=0.5, threshold=0.75).extra_repr() == (
        "beta=0.5, threshold=0.75, reset=subtract, surrogate=atan{'alpha': 2.0}")
    assert neurons.Lapicque(beta=0.5, time_step=2.0, reset="zero").extra_repr() == (
        "beta=0.5, dt=2.0, threshold=1, reset=zero, surrogate=atan{'alpha': 2.0}")


# ---- fused backward against autograd through an independent float64 step function ----

def _reference(x, a, b, thr, reset, zero_after, surrogate, static_steps=None):
    """The documented update, written out with plain autograd ops (resets detached)."""
    mem = torch.zeros_like(x if static_steps else x[0])
    out = []
    for t in range(static_steps or len(x)):
        xt = x if static_steps else x[t]
        r = (mem > thr).to(mem.dtype).detach()
        if reset == "zero" and not zero_after:
            mem = mem * (1 - r)
        mem = a * mem + b * xt
        if reset == "subtract":
            mem = mem - r * thr
        elif reset == "zero" and zero_after:
            mem = mem * (1 - r)
        out.append(surrogate(mem - thr))
    return torch.stack(out)


def _lapicque_ab(beta):
    lb = torch.log(1 / beta)
    return 1 - lb, lb  # R = 1, dt = 1: C = 1/ln(1/beta)


@pytest.mark.parametrize("kind", ["lif", "lapicque"])
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("learn", [True, False])
def test_fused_backward_equals_float64_reference(kind, reset, static, learn):
    gen = torch.Generator().manual_seed(3)
    steps = 9
    x0 = torch.randn((5, 7) if static else (steps, 5, 7), generator=gen, dtype=torch.float64) * 0.9 + 0.5
    w = torch.randn(steps, 5, 7, generator=gen, dtype=torch.float64)
    surrogate = sg.get("fast_sigmoid", slope=2.0)
    n = neurons.make(kind, 0.7, 0.6, reset, surrogate, learn_beta=learn, learn_threshold=learn).double()
    x = x0.clone().requires_grad_(True)
    spk = n(x, num_steps=steps) if static else n(x)
    (spk * w).sum().backward()

    beta = torch.tensor(float(n.beta.detach()), dtype=torch.float64, requires_grad=True)
    thr = torch.tensor(float(n.threshold.detach()), dtype=torch.float64, requires_grad=True)
    xr = x0.clone().requires_grad_(True)
    a, b = (beta, torch.tensor(1.0, dtype=torch.float64)) if kind == "lif" else _lapicque_ab(beta)
    ref = _reference(xr, a, b, thr, reset, kind == "lapicque", sg.get("fast_sigmoid", slope=2.0),
                     steps if static else None)
    (ref * w).sum().backward()
    assert 0 < float(spk.sum()) < spk.numel()
    assert torch.equal(spk.detach(), ref.detach())
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-10, atol=1e-12)
    if learn:
        torch.testing.assert_close(n.beta.grad, beta.grad, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(n.threshold.grad, thr.grad, rtol=1e-10, atol=1e-12)
        assert float(beta.grad) != 0 and float(thr.grad) != 0
    else:
        assert n.beta.grad is None and n.threshold.grad is None


def test_fused_backward_of_one_step_gives_a_zero_beta_gradient():
    n = neurons.LIF(beta=0.5, learn_beta=True).double()
    x = torch.tensor([[0.5, 1.5]], dtype=torch.float64, requires_grad=True)
    n(x).sum().backward()
    assert float(n.beta.grad) == 0.0  # U_0 does not depend on beta
    # atan(2) derivative at x - thr = -0.5 and 0.5: 1 / (1 + (pi/2)^2)
    want = 1 / (1 + (math.pi / 2) ** 2)
    assert x.grad[0].tolist() == pytest.approx([want, want], rel=1e-12)


def test_fused_backward_records_chi_like_the_surrogate():
    s = sg.get("fast_sigmoid", slope=1.0)
    s.chi = sg.ChiCounter(eps=0.25)
    n = neurons.LIF(beta=0.5, threshold=1.0, surrogate=s).double()
    # U = 1, 1.5 (S), 0.75: U - thr = 0, 0.5, -0.25 -> d = 1, 4/9, 0.64: all above 0.25
    # second sample X = 3: U = 3, 3.5, 3.75: d = 1/9, 1/12.25, 1/14.06: none
    x = torch.tensor([[1.0, 3.0]] * 3, dtype=torch.float64, requires_grad=True)
    n(x).sum().backward()
    assert (s.chi.active, s.chi.total) == (3, 6)


def test_fused_backward_of_a_static_input_over_one_step():
    n = neurons.LIF(beta=0.5).double()
    x = torch.tensor([[0.5, 1.5]], dtype=torch.float64, requires_grad=True)
    n(x, num_steps=1).sum().backward()  # U_0 = X: the same closed form as a one-step sequence
    want = 1 / (1 + (math.pi / 2) ** 2)  # atan(2) derivative at U - thr = -0.5 and 0.5
    assert x.grad[0].tolist() == pytest.approx([want, want], rel=1e-12)


def test_fused_backward_passes_the_spikes_to_the_surrogate():
    # sso: derivative 1 where the neuron spiked, else noise in [-variance/2, variance/2]
    n = neurons.LIF(beta=0.5, surrogate=sg.get("sso", variance=1e-6)).double()
    x = torch.tensor([[0.5, 1.5]], dtype=torch.float64, requires_grad=True)
    n(x).sum().backward()  # U = 0.5 (no spike), 1.5 (spike)
    assert abs(float(x.grad[0, 0])) <= 0.5e-6 and float(x.grad[0, 1]) == 1.0


def test_lapicque_keeps_given_r_and_c_in_the_module_dtype():
    # 0.3 and 0.7 are not float32 numbers: a float64 module must keep them exactly
    n = neurons.Lapicque(R=0.3, C=0.7).double()
    assert [float(v) for v in n.rc()] == [0.3, 0.7] and n.rc()[0].dtype == torch.float64
    n = neurons.Lapicque(beta=0.8, C=0.7).double()
    assert float(n.rc()[1]) == 0.7 and n.rc()[0].dtype == torch.float64
    n = neurons.Lapicque(beta=0.8, R=0.3).double()
    assert float(n.rc()[0]) == 0.3 and n.rc()[1].dtype == torch.float64
    n = neurons.Lapicque(beta=0.8).double()
    assert n.rc()[0].dtype == torch.float64 and float(n.rc()[0]) == 1.0


def test_make_learns_nothing_by_default():
    n = neurons.make("lif", 0.5, 1.0, "subtract", sg.get("atan"))
    assert list(n.parameters()) == [] and set(dict(n.named_buffers())) == {"beta", "threshold"}


def test_unfused_path_over_one_step():
    n = neurons.LIF(beta=0.5)
    spk, mem = n(torch.tensor([[0.5, 1.5]]), return_mem=True)  # T = 1: U_0 = X
    assert spk.tolist() == [[0.0, 1.0]] and mem.tolist() == [[0.5, 1.5]]
