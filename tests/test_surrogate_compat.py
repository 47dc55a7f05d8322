"""``compat="snntorch-0.7"``: the surrogates as snnTorch 0.7.0 computed them.

snnTorch 0.7.0 cannot be installed beside the 1.0 the tests use, so its formulas are
computed here by hand from ``snntorch/surrogate.py`` at tag v0.7.0, and its spike-rate-escape
call is replayed on snnTorch 1.0's ``SpikeRateEscape`` with the arguments 0.7.0 passed:
the factory called ``SpikeRateEscape.apply(x, slope)`` and ``forward(ctx, input_, beta=1,
slope=25)`` took that ``slope`` as ``beta`` and kept its own ``slope`` at 25."""

import math

import pytest
import snntorch.surrogate as sst
import torch

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg
from spiketune.training.config import ModelConfig, RunConfig, from_dict, identity

X = [-1.5, -0.3, 0.0, 0.2, 0.9, 1.0, 1.4, 3.0]


def _grad(s: sg.Surrogate, xs: list[float]) -> list[float]:
    x = torch.tensor(xs, requires_grad=True)
    s(x).sum().backward()
    assert x.grad is not None
    return x.grad.tolist()


def _sre_070(x: float, slope: float = 25.0) -> float:
    """0.7.0's spike_rate_escape(beta=..., slope=slope): 25 * e^(-slope*|x - 1|), beta unused."""
    return 25.0 * math.exp(-slope * abs(x - 1))


@pytest.mark.parametrize("width", [0.5, 4.0, 30.0])
def test_spike_rate_escape_ignores_its_beta_as_0_7_did(width):
    # the scripts' call spike_rate_escape(beta=slope): the slope knob lands on beta, unused
    got = _grad(sg.make("sre", width, compat="snntorch-0.7"), X)
    assert got == pytest.approx([_sre_070(x) for x in X], rel=1e-6, abs=1e-30)
    # an explicit slope sets the exponent's rate (the multiplier stays 25)
    got = _grad(sg.make("sre", width, {"slope": 2.0}, "snntorch-0.7"), X)
    assert got == pytest.approx([_sre_070(x, 2.0) for x in X], rel=1e-6)


def test_spike_rate_escape_0_7_call_replayed_on_snntorch():
    for slope in (0.5, 3.0):
        x = torch.tensor(X, requires_grad=True)
        sst.SpikeRateEscape.apply(x, slope, 25).sum().backward()  # 0.7.0: apply(x, slope), slope=25
        assert x.grad is not None
        got = _grad(sg.make("spike_rate_escape", None, {"beta": 7.0, "slope": slope}, "snntorch-0.7"), X)
        assert got == pytest.approx(x.grad.tolist(), rel=1e-6)


def test_the_slope_knob_moves_spike_rate_escape_only_under_current():
    xs = [0.5, 1.5]
    old = [_grad(sg.make("sre", w, compat="snntorch-0.7"), xs) for w in (1.0, 10.0)]
    assert old[0] == old[1]
    now = [_grad(sg.get("sre", width=w), xs) for w in (1.0, 10.0)]
    assert now[0] != now[1]
    # current: snnTorch 1.0's spike_rate_escape(beta=w, slope=25)
    assert now[0] == pytest.approx([25 * math.exp(-1.0 * 0.5)] * 2, rel=1e-6)
    assert now[1] == pytest.approx([25 * math.exp(-10.0 * 0.5)] * 2, rel=1e-6)


def test_triangular_of_0_7_takes_no_threshold():
    got = _grad(sg.make("triangular", compat="snntorch-0.7"), X)
    assert got == [1.0 if x < 0 else -1.0 for x in X]  # threshold 1: +1 below, -1 from 0 on
    with pytest.raises(ConfigError, match=r"no parameter\(s\) \['threshold'\].*'snntorch-0.7'"):
        sg.make("triangular", None, {"threshold": 2.0}, "snntorch-0.7")
    assert _grad(sg.get("triangular", threshold=2.0), [-1.0]) == [2.0]


@pytest.mark.parametrize("name,width", [("fast_sigmoid", 3.0), ("atan", 3.0), ("sigmoid", 3.0),
                                        ("straight_through", None), ("sso", 0.4)])
def test_the_other_families_compute_as_today(name, width):
    # fast sigmoid 1/(k|x|+1)^2, atan (a/2)/(1+(pi/2 a x)^2), sigmoid k e^-kx/(e^-kx+1)^2 in 0.7.0 too
    grads = []
    for compat in sg.COMPATS:
        torch.manual_seed(0)  # SSO's noise
        grads.append(_grad(sg.make(name, width, compat=compat), X))
    assert grads[0] == grads[1]
    if name == "atan":
        assert grads[0] == pytest.approx([1.5 / (1 + (math.pi / 2 * 3 * x) ** 2) for x in X], rel=1e-6)


def test_unknown_compat_is_named():
    with pytest.raises(ConfigError, match="unknown surrogate compatibility 'snntorch-0.6'"):
        sg.make("atan", compat="snntorch-0.6")


def test_config_key_checks_params_and_keeps_run_ids():
    m = ModelConfig(surrogate="sre", slope=4.0, surrogate_compat="snntorch-0.7")
    assert m.surrogate_compat == "snntorch-0.7"
    with pytest.raises(ConfigError, match="model.surrogate_compat"):
        from_dict({"model": {"surrogate_compat": "0.7"}})
    with pytest.raises(ConfigError, match="snntorch-0.7"):
        from_dict({"model": {"surrogate": "triangular", "surrogate_params": {"threshold": 2.0},
                             "surrogate_compat": "snntorch-0.7"}})
    assert "surrogate_compat" not in identity(RunConfig())["model"]
    assert identity(from_dict({"model": {"surrogate_compat": "snntorch-0.7"}}))["model"][
        "surrogate_compat"] == "snntorch-0.7"
