import math

import pytest
import torch

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg
from spiketune.training.chi import ChiConfig, ChiTracker


def test_neuron_chi_equals_hand_computed_fraction():
    # fast sigmoid slope 4: dS/dx / peak = 1/(4|x|+1)^2 > 0.1  <=>  |x| < (sqrt(10) - 1)/4 = 0.5406
    s = sg.get("fast_sigmoid", slope=4)
    tracker = ChiTracker([s], [], ChiConfig(eps=0.1))
    x = torch.tensor([-2.0, -0.6, -0.5, -0.1, 0.0, 0.3, 0.54, 0.55, 1.0, 3.0], requires_grad=True)
    s(x).sum().backward()
    stats = tracker.epoch_end()
    inside = [abs(v) < (math.sqrt(10) - 1) / 4 for v in x.tolist()]
    assert sum(inside) == 5
    assert stats["chi"] == [pytest.approx(5 / 10)]


def test_parameter_chi_equals_hand_computed_fraction():
    # a linear layer whose input has 2 of 5 features non-zero: only those weight columns get gradient
    lin = torch.nn.Linear(5, 3, bias=False)
    tracker = ChiTracker([], [lin.weight], ChiConfig())
    x = torch.tensor([[1.0, 0.0, 2.0, 0.0, 0.0]])
    lin(x).sum().backward()
    tracker.after_backward()
    assert tracker.epoch_end()["param_chi"] == [pytest.approx(6 / 15)]


@pytest.mark.parametrize("name,param", [("fast_sigmoid", "slope"), ("atan", "alpha"),
                                        ("sigmoid", "slope"), ("spike_rate_escape", "beta")])
def test_adaptive_rule_moves_width_in_documented_direction(name, param):
    cfg = ChiConfig(adaptive=True, low=0.3, high=0.7, factor=2.0, interval=0)
    # sharp surrogate on spread-out membranes: chi far below target -> widen (smaller value)
    s = sg.get(name, width=50.0)
    tr = ChiTracker([s], [], cfg)
    x = (torch.randn(5000) * 3 + (1 if name == "spike_rate_escape" else 0)).requires_grad_(True)
    s(x).sum().backward()
    chi = tr.epoch_end()["chi"][0]
    assert chi < 0.3 and s.params[param] == pytest.approx(25.0)
    # wide surrogate: chi above target -> sharpen (larger value)
    w = sg.get(name, width=0.2)
    tr = ChiTracker([w], [], cfg)
    x = (torch.randn(5000) * 0.1 + (1 if name == "spike_rate_escape" else 0)).requires_grad_(True)
    w(x).sum().backward()
    chi = tr.epoch_end()["chi"][0]
    assert chi > 0.7 and w.params[param] == pytest.approx(0.4)


def test_width_stays_within_bounds():
    cfg = ChiConfig(adaptive=True, low=0.9, high=0.95, factor=10, min_width=1.0)
    s = sg.get("atan", alpha=2.0)
    tr = ChiTracker([s], [], cfg)
    tr.adapt([0.0])
    assert s.params["alpha"] == 1.0


def test_adaptive_needs_a_width_parameter():
    with pytest.raises(ConfigError, match="width"):
        ChiTracker([sg.get("sso")], [], ChiConfig(adaptive=True))


def test_training_logs_chi_per_epoch(tiny_cfg):
    from spiketune.training import config
    from spiketune.training.trainer import train

    cfg = config.with_overrides(tiny_cfg, {"chi.adaptive": True, "chi.low": 0.99, "chi.high": 1.0})
    r = train(cfg, progress=False)
    for h in r.history:
        assert 0 <= h.chi <= 1 and 0 <= h.param_chi <= 1 and len(h.layer_chi) == 4
    # chi below a target of 0.99 -> widths fall (widen) epoch after epoch
    assert r.history[1].layer_width[0] < r.history[0].layer_width[0]


def test_interval_updates_every_n_batches():
    s = sg.get("atan", alpha=50.0)
    tr = ChiTracker([s], [], ChiConfig(adaptive=True, interval=2, factor=2.0))
    for _ in range(4):  # chi of a sharp atan on spread membranes is far below 0.3
        x = (torch.randn(1000) * 3).requires_grad_(True)
        s(x).sum().backward()
        tr.after_backward()
    assert s.params["alpha"] == pytest.approx(50.0 / 2 / 2)  # two updates in four batches


def test_anneal_rule_goes_from_wide_to_the_set_width():
    s = sg.get("fast_sigmoid", slope=8.0)
    tr = ChiTracker([s], [], ChiConfig(adaptive=True, rule="anneal", anneal_from=0.5), epochs=5)
    widths = [s.params["slope"]]
    for _ in range(4):
        tr.epoch_end()
        widths.append(s.params["slope"])
    # geometric: 0.5 * 16 ** (e / 4)
    assert widths == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0])
