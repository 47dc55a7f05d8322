import math

import pytest
import torch
import snntorch.surrogate as sst

from spiketune.network import surrogate as sg
from spiketune.errors import ConfigError

torch.set_default_dtype(torch.float32)

FORMULAS = {
    "fast_sigmoid": (dict(slope=7.0), lambda x, p: 1 / (p["slope"] * x.abs() + 1) ** 2),
    "atan": (dict(alpha=3.0), lambda x, p: (p["alpha"] / 2) / (1 + (math.pi / 2 * p["alpha"] * x) ** 2)),
    "sigmoid": (dict(slope=4.0), lambda x, p: p["slope"] * torch.exp(-p["slope"] * x)
                / (torch.exp(-p["slope"] * x) + 1) ** 2),
    "spike_rate_escape": (dict(beta=0.7, slope=3.0),
                          lambda x, p: p["slope"] * torch.exp(-p["beta"] * (x - 1).abs())),
    "straight_through": ({}, lambda x, p: torch.ones_like(x)),
    "triangular": (dict(threshold=0.6), lambda x, p: torch.where(x >= 0, -p["threshold"], p["threshold"])),
}


def _grad(fn, x, upstream):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    out.backward(upstream)
    return out.detach(), x.grad


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_backward_matches_formula_float64(name):
    params, formula = FORMULAS[name]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1000, dtype=torch.float64, generator=g) * 2
    up = torch.randn(1000, dtype=torch.float64, generator=g)
    out, grad = _grad(sg.get(name, **params), x, up)
    assert torch.equal(out, (x > 0).double())
    torch.testing.assert_close(grad, up * formula(x, params), rtol=1e-12, atol=1e-12)


SNN = {"fast_sigmoid": lambda: sst.fast_sigmoid(), "atan": lambda: sst.atan(),
       "sigmoid": lambda: sst.sigmoid(), "spike_rate_escape": lambda: sst.spike_rate_escape(),
       "straight_through": lambda: sst.straight_through_estimator(),
       "triangular": lambda: sst.triangular()}


@pytest.mark.parametrize("name", sorted(SNN))
def test_defaults_equal_snntorch(name):
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    up = torch.ones_like(x)
    ours = _grad(sg.get(name), x, up)
    theirs = _grad(SNN[name](), x, up)
    torch.testing.assert_close(ours[0], theirs[0], check_dtype=False)  # snnTorch returns float32
    torch.testing.assert_close(ours[1], theirs[1])


def test_sso_gradient_one_where_spiked_and_bounded_noise_elsewhere():
    s = sg.get("sso", mean=0.1, variance=0.4)
    x = torch.randn(20000, dtype=torch.float64)
    out, grad = _grad(s, x, torch.ones_like(x))
    assert torch.all(grad[x > 0] == 1)
    sub = grad[x <= 0]
    lo, hi = (-0.5 + 0.1) * 0.4, (0.5 + 0.1) * 0.4
    assert sub.min() >= lo and sub.max() <= hi
    assert abs(sub.mean().item() - 0.1 * 0.4) < 0.01  # uniform: mean = mean*variance
    assert sub.std().item() > 0.05  # really random


def test_generic_slope_maps_to_each_family_width():
    assert sg.get("fast_sigmoid", width=3).params["slope"] == 3
    assert sg.get("atan", width=3).params["alpha"] == 3
    assert sg.get("sre", width=3).params == {"beta": 3, "slope": 25.0}
    assert sg.get("sso", width=0.5).params["variance"] == 0.5
    assert sg.get("atan", width=3, alpha=5).params["alpha"] == 5  # explicit wins


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as e:
        sg.get("gaussian")
    for n in sg.names():
        assert n in str(e.value)


def test_bad_parameters_are_named():
    with pytest.raises(ConfigError, match="alpha"):
        sg.get("atan", alpha=-1)
    with pytest.raises(ConfigError, match="no parameter"):
        sg.get("atan", slope_x=1)
    with pytest.raises(ConfigError, match="no width"):
        sg.get("straight_through", width=2)
