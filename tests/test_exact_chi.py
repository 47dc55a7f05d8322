"""ChiTracker bookkeeping against hand-computed values (no training)."""

import math

import pytest
import torch

from spiketune.errors import ConfigError
from spiketune.network import surrogate as sg
from spiketune.training.chi import ChiConfig, ChiTracker


def _weight(grad):
    w = torch.zeros(len(grad), requires_grad=True)
    w.grad = torch.tensor(grad)
    return w


def test_parameter_chi_threshold_is_strict_and_averaged_over_batches():
    a, b = _weight([0.5, -0.5, 0.0, 0.25]), torch.zeros(3, requires_grad=True)  # b gets no gradient
    tr = ChiTracker([], [a, b], ChiConfig(param_eps=0.25))
    tr.after_backward()  # a: |g| > 0.25 for 2 of 4 (0.25 itself is not above)
    a.grad = torch.tensor([1.0, 1.0, 1.0, 0.0])
    tr.after_backward()  # 3 of 4
    assert tr.epoch_end()["param_chi"] == [pytest.approx((0.5 + 0.75) / 2), 0.0]
    assert tr.epoch_end()["param_chi"] == [0.0, 0.0]  # reset after each epoch


def test_neuron_chi_counter_takes_the_configured_eps():
    s = sg.get("fast_sigmoid", slope=1.0)
    tr = ChiTracker([s], [], ChiConfig(eps=0.2))
    assert s.chi.eps == 0.2
    # d = 1/(|x|+1)^2 = 1, 0.25, 1/9: two above 0.2
    x = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
    s(x).sum().backward()
    out = tr.epoch_end()
    assert out["chi"] == [pytest.approx(2 / 3)] and out["width"] == [1.0]
    assert math.isnan(tr.epoch_end()["chi"][0])  # nothing recorded since
    tr.detach()
    assert s.chi is None


def test_adapt_leaves_chi_on_the_band_edges_and_nan_alone():
    cfg = ChiConfig(adaptive=True, low=0.3, high=0.7, factor=2.0, interval=0)
    ss = [sg.get("atan", alpha=4.0) for _ in range(5)]
    tr = ChiTracker(ss, [], cfg)
    tr.adapt([0.3, 0.7, math.nan, 0.29, 0.71])
    assert [s.params["alpha"] for s in ss] == [4.0, 4.0, 4.0, 2.0, 8.0]


def test_adapt_clamps_to_min_and_max_width():
    cfg = ChiConfig(adaptive=True, factor=4.0, min_width=1.5, max_width=10.0, interval=0)
    lo, hi = sg.get("sigmoid", slope=4.0), sg.get("sigmoid", slope=4.0)
    tr = ChiTracker([lo, hi], [], cfg)
    tr.adapt([0.0, 1.0])
    assert (lo.params["slope"], hi.params["slope"]) == (1.5, 10.0)


def test_epoch_end_reports_widths_before_adapting():
    s = sg.get("fast_sigmoid", slope=8.0)
    tr = ChiTracker([s], [], ChiConfig(adaptive=True, interval=0, factor=2.0))
    x = torch.full((10,), 5.0, requires_grad=True)  # d = 1/41^2: chi 0 -> widen
    s(x).sum().backward()
    assert tr.epoch_end()["width"] == [8.0]
    assert s.params["slope"] == 4.0
    tr.epoch_end()  # nothing recorded: NaN chi, no change
    assert s.params["slope"] == 4.0


def test_interval_rule_does_not_adapt_at_epoch_end_and_fixed_widths_never_move():
    s = sg.get("fast_sigmoid", slope=8.0)
    tr = ChiTracker([s], [], ChiConfig(adaptive=True, interval=5, factor=2.0))
    x = torch.full((10,), 5.0, requires_grad=True)
    s(x).sum().backward()
    tr.after_backward()
    tr.epoch_end()
    assert s.params["slope"] == 8.0
    f = sg.get("fast_sigmoid", slope=8.0)
    tr = ChiTracker([f], [], ChiConfig(adaptive=False, interval=1))
    f(x).sum().backward()
    tr.after_backward()
    tr.epoch_end()
    assert f.params["slope"] == 8.0


def test_interval_of_one_adapts_after_every_batch():
    s = sg.get("atan", alpha=8.0)
    tr = ChiTracker([s], [], ChiConfig(adaptive=True, interval=1, factor=2.0))
    for want in (4.0, 2.0):
        x = torch.full((10,), 9.0, requires_grad=True)  # far outside the domain: chi 0
        s(x).sum().backward()
        tr.after_backward()
        assert s.params["alpha"] == want


def test_anneal_with_one_epoch_and_a_non_adaptive_anneal_rule():
    s = sg.get("atan", alpha=6.0)
    tr = ChiTracker([s], [], ChiConfig(adaptive=True, rule="anneal", anneal_from=0.5), epochs=1)
    assert s.params["alpha"] == 0.5
    tr.epoch_end()
    assert s.params["alpha"] == pytest.approx(6.0)
    f = sg.get("atan", alpha=6.0)
    tr = ChiTracker([f], [], ChiConfig(adaptive=False, rule="anneal", anneal_from=0.5), epochs=3)
    tr.epoch_end()
    assert f.params["alpha"] == 6.0


def test_anneal_three_epochs_geometric():
    s = sg.get("sigmoid", slope=2.0)
    tr = ChiTracker([s], [], ChiConfig(adaptive=True, rule="anneal", anneal_from=8.0), epochs=3)
    got = [s.params["slope"]]
    for _ in range(3):
        tr.epoch_end()
        got.append(s.params["slope"])
    assert got == pytest.approx([8.0, 4.0, 2.0, 2.0])  # 8 * (1/4) ** (e/2), then held


def test_width_of_a_surrogate_without_one_is_nan():
    assert math.isnan(ChiTracker.width(sg.get("straight_through")))
    assert ChiTracker.width(sg.get("atan", alpha=3.0)) == 3.0


def test_adaptive_error_names_the_surrogates():
    with pytest.raises(ConfigError) as e:
        ChiTracker([sg.get("sso"), sg.get("triangular"), sg.get("sso")], [], ChiConfig(adaptive=True))
    assert str(e.value) == ("chi.adaptive needs a surrogate with an adaptive width (fast_sigmoid, atan, "
                            "sigmoid, spike_rate_escape); got sso, triangular")


def test_interval_counts_batches_from_zero_and_param_chi_restarts_each_epoch():
    s = sg.get("atan", alpha=8.0)
    w = _weight([1.0, 0.0])
    tr = ChiTracker([s], [w], ChiConfig(adaptive=True, interval=3, factor=2.0))
    for _ in range(2):
        x = torch.full((4,), 9.0, requires_grad=True)
        s(x).sum().backward()
        tr.after_backward()
    assert s.params["alpha"] == 8.0  # 2 of 3 batches: no update yet
    tr.epoch_end()
    tr.after_backward()  # one batch in the new epoch: 1 of 2 gradients above param_eps
    assert tr.epoch_end()["param_chi"] == [0.5]


def test_a_detached_surrogate_has_no_chi_to_take_and_an_empty_counter_reads_nan():
    from spiketune.training.chi import _take

    s = sg.get("fast_sigmoid", slope=1.0)
    tr = ChiTracker([s], [], ChiConfig())
    counter = s.chi
    assert math.isnan(counter.take())  # nothing recorded yet
    tr.detach()
    with pytest.raises(RuntimeError) as e:
        _take(s)
    assert str(e.value) == "no chi counter is attached to the fast_sigmoid surrogate (tracker detached)"
