import math

import pytest
import snntorch.surrogate as sst
import torch

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg

torch.set_default_dtype(torch.float32)

FORMULAS = {
    "fast_sigmoid": (dict(slope=7.0), lambda x, p: 1 / (p["slope"] * x.abs() + 1) ** 2),
    "atan": (dict(alpha=3.0), lambda x, p: (p["alpha"] / 2) / (1 + (math.pi / 2 * p["alpha"] * x) ** 2)),
    "sigmoid": (dict(slope=4.0), lambda x, p: p["slope"] * torch.exp(-p["slope"] * x)
                / (torch.exp(-p["slope"] * x) + 1) ** 2),
    "spike_rate_escape": (dict(beta=0.7, slope=3.0),
                          lambda x, p: p["slope"] * torch.exp(-p["beta"] * (x - 1).abs())),
    "straight_through": ({}, lambda x, p: torch.ones_like(x)),
    "triangular": (dict(threshold=0.6), lambda x, p: p["threshold"] * (1 - 2 * (x >= 0).double())),
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


# Each family record's facts against an independent computation. Parameters other than
# snnTorch's defaults, so that a peak formula that ignores a parameter fails.
PARAMS = {"fast_sigmoid": dict(slope=7.0), "atan": dict(alpha=3.0), "sigmoid": dict(slope=4.0),
          "spike_rate_escape": dict(beta=0.7, slope=3.0), "straight_through": {},
          "triangular": dict(threshold=0.6), "sso": dict(mean=0.5, variance=4.0)}
GRID = torch.linspace(-6, 6, 1_200_001, dtype=torch.float64)  # step 1e-5, holds 0 and 1 exactly


def test_every_registered_family_is_covered():
    assert set(sg.FAMILIES) == set(PARAMS) and sg.names() == sorted(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_peak_is_the_maximum_of_the_backward_derivative(name):
    s = sg.get(name, **PARAMS[name])
    torch.manual_seed(0)
    x = GRID.clone().requires_grad_(True)
    s(x).backward(torch.ones_like(x))  # the derivative autograd actually applies
    grad = x.grad.abs()
    if name == "sso":  # random: the spiked states give 1, the noise approaches (0.5 + |mean|) * variance
        assert grad.max().item() <= s.peak() and grad.max().item() > s.peak() - 1e-3
        assert s.peak() == (0.5 + 0.5) * 4.0
    else:
        assert s.peak() == pytest.approx(grad.max().item(), rel=1e-9)


def _domain(name: str, width: float) -> float:
    """Measure of the x in [-6, 6] where |dS/dx| > 0.1 * max |dS/dx| (the chi domain)."""
    d = sg.get(name, width=width).derivative(GRID).abs()
    return float((d > 0.1 * d.max()).double().mean()) * 12


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_adaptive_families_narrow_as_their_width_parameter_grows(name):
    fam = sg.FAMILIES[name]
    if fam.width_param is None:
        assert not fam.adaptive
        return
    assert fam.width_param in fam.defaults and fam.width_param in fam.positive
    if name == "sso":  # its width scales random noise, not a domain: chi cannot steer it
        s = sg.get(name)
        assert not fam.adaptive and not torch.equal(s.derivative(GRID), s.derivative(GRID))
        return
    assert fam.adaptive
    assert _domain(name, 4.0) < _domain(name, 2.0) < _domain(name, 1.0)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_non_positive_values_are_rejected_naming_the_parameter(name):
    fam = sg.FAMILIES[name]
    for param in fam.defaults:
        if param in fam.positive:
            for bad in (0.0, -1.0):
                with pytest.raises(ConfigError, match=rf"parameter {param} must be > 0, got {bad}"):
                    sg.get(name, **{param: bad})
        else:  # a free parameter: any sign is a valid surrogate
            assert sg.get(name, **{param: -0.3}).params[param] == -0.3


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_aliases_and_snntorch_factory_name_the_same_family(name):
    fam = sg.FAMILIES[name]
    for alias in (*fam.aliases, name.upper()):
        assert sg.canonical_name(alias) == name
    factory = getattr(sst, fam.snntorch)  # snnTorch's factory takes the family's parameters by name
    import inspect

    assert list(inspect.signature(factory).parameters) == list(fam.defaults)
    assert {k: float(v.default) for k, v in inspect.signature(factory).parameters.items()} == fam.defaults


def test_kernel_ids_are_distinct_and_every_gpu_family_is_deterministic():
    ids = [f.kernel for f in sg.FAMILIES.values() if f.kernel is not None]
    assert len(ids) == len(set(ids)) and sorted(ids) == list(range(len(ids)))
    for f in sg.FAMILIES.values():  # the fused kernel recomputes nothing random
        if f.kernel is not None:
            s = sg.get(f.name)
            assert torch.equal(s.derivative(GRID), s.derivative(GRID))


def test_config_checks_surrogate_params_against_the_family_record():
    from spiketune.training import config

    with pytest.raises(ConfigError, match=r"surrogate_params.*alpha must be > 0, got -1"):
        config.from_dict({"model": {"surrogate": "arctan", "surrogate_params": {"alpha": -1}}})
    with pytest.raises(ConfigError, match=r"surrogate_params.*no parameter.*slope"):
        config.from_dict({"model": {"surrogate": "atan", "surrogate_params": {"slope": 3}}})
    ok = config.from_dict({"model": {"surrogate": "sso", "surrogate_params": {"mean": -0.2}}})
    assert ok.model.surrogate_params == {"mean": -0.2}
