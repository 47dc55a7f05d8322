"""Surrogate registry, peaks and the chi counter against hand-computed values."""

import math

import pytest
import torch

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg


@pytest.mark.parametrize("name,params,at", [
    ("fast_sigmoid", dict(slope=3.0), 0.0), ("atan", dict(alpha=3.0), 0.0),
    ("sigmoid", dict(slope=6.0), 0.0), ("triangular", dict(threshold=0.7), 0.0),
    ("straight_through", {}, 0.0), ("spike_rate_escape", dict(beta=2.0, slope=5.0), 1.0)])
def test_peak_is_the_maximum_of_the_derivative(name, params, at):
    s = sg.get(name, **params)
    x = torch.linspace(-4, 4, 8001, dtype=torch.float64)  # contains 0 and 1 exactly
    grid_max = float(s.derivative(x).abs().max())
    assert s.peak() == pytest.approx(grid_max, rel=1e-7)  # triangular computes in float32
    assert float(s.derivative(torch.tensor([at], dtype=torch.float64)).abs()) == pytest.approx(s.peak())


@pytest.mark.parametrize("name,params,peak", [
    ("fast_sigmoid", dict(slope=3.0), 1.0), ("atan", dict(alpha=3.0), 1.5),
    ("sigmoid", dict(slope=6.0), 1.5), ("triangular", dict(threshold=0.7), 0.7),
    ("straight_through", {}, 1.0), ("spike_rate_escape", dict(beta=2.0, slope=5.0), 5.0),
    ("sso", dict(mean=0.0, variance=0.2), 1.0), ("sso", dict(mean=0.0, variance=4.0), 2.0),
    ("sso", dict(mean=-1.5, variance=1.0), 2.0)])
def test_peak_by_hand(name, params, peak):
    assert sg.get(name, **params).peak() == peak


def test_sso_derivative_is_one_where_spiking():
    s = sg.get("sso", mean=0.0, variance=0.2)
    d = s.derivative(torch.tensor([0.5, 2.0, 1e-6]))
    assert d.tolist() == [1.0, 1.0, 1.0]
    below = s.derivative(torch.zeros(4000))  # x = 0 does not spike: noise in [-0.1, 0.1]
    assert float(below.abs().max()) <= 0.1 and float(below.abs().max()) > 0.09


def test_sso_noise_uses_mean_and_variance():
    torch.manual_seed(0)
    s = sg.get("sso", mean=0.5, variance=2.0)
    d = s.derivative(-torch.ones(20000))  # (U(-0.5, 0.5) + 0.5) * 2: uniform on [0, 2]
    assert float(d.min()) >= 0.0 and float(d.max()) <= 2.0
    assert float(d.min()) < 0.01 and float(d.max()) > 1.99
    assert float(d.mean()) == pytest.approx(1.0, abs=0.03)


def test_forward_is_strict_heaviside():
    s = sg.get("atan")
    x = torch.tensor([-1.0, 0.0, 1e-7, 2.0])
    assert s(x).tolist() == [0.0, 0.0, 1.0, 1.0]


def test_backward_feeds_the_chi_counter_with_the_derivative():
    s = sg.get("fast_sigmoid", slope=1.0)
    s.chi = sg.ChiCounter(eps=0.25)
    # d = 1/(|x|+1)^2: 1, 0.25 (exactly eps * peak: not counted), 1/9, 0.25, 4/9
    x = torch.tensor([0.0, 1.0, 2.0, -1.0, -0.5], requires_grad=True)
    s(x).backward(torch.full((5,), 2.0))
    assert x.grad.tolist() == pytest.approx([2.0, 0.5, 2 / 9, 0.5, 8 / 9])
    assert (s.chi.active, s.chi.total) == (2, 5)
    assert s.chi.take() == 2 / 5
    assert (s.chi.active, s.chi.total) == (0, 0)
    assert math.isnan(s.chi.take())


def test_chi_counter_counts_negative_derivatives_by_magnitude():
    # triangular: d = -thr for x >= 0 and +thr below; |d| = peak everywhere
    s = sg.get("triangular", threshold=0.5)
    s.chi = sg.ChiCounter(eps=0.9)
    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    s(x).sum().backward()
    assert x.grad.tolist() == [0.5, -0.5, -0.5]
    assert s.chi.take() == 1.0


def test_chi_counter_accumulates_over_calls():
    c = sg.ChiCounter(eps=0.5)
    c.record(torch.tensor([1.0, 0.1]), 1.0)
    c.record(torch.tensor([0.6, 0.6, 0.4]), 1.0)
    assert (c.active, c.total) == (3, 5)
    c.record(torch.tensor([0.6]), 2.0)  # 0.6 < 0.5 * 2
    assert c.take() == 3 / 6


def test_names_and_aliases():
    assert sg.names() == ["atan", "fast_sigmoid", "sigmoid", "spike_rate_escape", "sso",
                          "straight_through", "triangular"]
    assert sg.canonical_name(" ArcTan ") == "atan"
    assert sg.canonical_name("SRE") == "spike_rate_escape"
    assert sg.canonical_name("fast-sigmoid") == "fast_sigmoid"
    assert sg.get("STE").name == "straight_through"


def test_defaults_and_width_parameters():
    assert sg.get("sigmoid").params == {"slope": 25.0}
    assert sg.get("sigmoid", width=4).params == {"slope": 4.0}
    assert sg.get("spike_rate_escape", width=2).params == {"beta": 2.0, "slope": 25.0}
    assert sg.get("sso").params == {"mean": 0.0, "variance": 0.2}
    assert sg.get("triangular").params == {"threshold": 1.0}
    assert sg.get("straight_through").params == {}
    assert [sg.get(n).width_param for n in sg.names()] == [
        "alpha", "slope", "slope", "beta", "variance", None, None]
    s = sg.get("atan", alpha=4)
    assert isinstance(s.params["alpha"], float)


def test_error_messages():
    with pytest.raises(ConfigError) as e:
        sg.get("gaussian")
    assert str(e.value) == ("unknown surrogate 'gaussian'; valid names: atan, fast_sigmoid, sigmoid, "
                            "spike_rate_escape, sso, straight_through, triangular")
    with pytest.raises(ConfigError) as e:
        sg.get("atan", slope=1, beta=2)
    assert str(e.value) == "surrogate 'atan' has no parameter(s) ['beta', 'slope']; it takes ['alpha']"
    with pytest.raises(ConfigError) as e:
        sg.get("straight_through", slope=1)
    assert str(e.value) == "surrogate 'straight_through' has no parameter(s) ['slope']; it takes none"
    with pytest.raises(ConfigError) as e:
        sg.get("triangular", width=2)
    assert str(e.value) == "surrogate 'triangular' has no width parameter (generic slope)"
    with pytest.raises(ConfigError) as e:
        sg.get("atan", alpha=math.inf)
    assert str(e.value) == "surrogate 'atan' parameter alpha=inf is not finite"
    with pytest.raises(ConfigError) as e:
        sg.get("atan", width=0)
    assert str(e.value) == "surrogate 'atan' parameter alpha must be > 0, got 0.0"


@pytest.mark.parametrize("name,param", [("fast_sigmoid", "slope"), ("atan", "alpha"), ("sso", "variance"),
                                        ("spike_rate_escape", "beta"), ("triangular", "threshold")])
def test_zero_width_parameters_are_rejected(name, param):
    with pytest.raises(ConfigError, match=f"{param} must be > 0"):
        sg.get(name, **{param: 0.0})


def test_sso_mean_may_be_zero_or_negative():
    assert sg.get("sso", mean=-0.3).params["mean"] == -0.3


def test_triangular_at_zero_and_dtype_of_every_derivative():
    s = sg.get("triangular", threshold=0.5)
    assert s.derivative(torch.tensor([-1e-9, 0.0, 1e-9])).tolist() == [0.5, -0.5, -0.5]
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    for name in sg.names():
        assert sg.get(name).derivative(x).dtype == torch.float64, name
