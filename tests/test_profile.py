import numpy as np
import pytest
import torch

from spiketune import traces
from spiketune.data.datasets import TensorDataset
from spiketune.measure.fanout import out_degree
from spiketune.measure.profile import run_profile
from spiketune.network import models


def test_conv_out_degree_matches_brute_force():
    for k, s, p, h in [(3, 1, 0, 6), (3, 1, 1, 5), (3, 2, 1, 7), (5, 2, 2, 9)]:
        oh = (h + 2 * p - k) // s + 1
        deg = out_degree("conv", (2, h, h), 4, k, s, p, (4, oh, oh))
        brute = np.zeros((h, h), int)
        for oy in range(oh):
            for ox in range(oh):
                for dy in range(k):
                    for dx in range(k):
                        y, x = oy * s - p + dy, ox * s - p + dx
                        if 0 <= y < h and 0 <= x < h:
                            brute[y, x] += 1
        np.testing.assert_array_equal(deg[0], 4 * brute)
        np.testing.assert_array_equal(deg[1], 4 * brute)


def _hand_network():
    """4 inputs -> 3 LIF (beta 0.5, thr 1) -> 2 LIF; weights chosen for hand-countable spikes."""
    m = models.build("3-2", (4,), beta=0.5, threshold=1.0)
    w1 = torch.tensor([[2.0, 0, 0, 0], [0, 0.6, 0, 0], [0, 0, 0, 0]])
    w2 = torch.tensor([[1.5, 0, 0], [0, 0, 0]])
    with torch.no_grad():
        m.blocks[0].weight_layer.weight.copy_(w1)
        m.blocks[0].weight_layer.bias.zero_()
        m.blocks[1].weight_layer.weight.copy_(w2)
        m.blocks[1].weight_layer.bias.zero_()
    return m


def test_profile_counts_rates_and_synops_by_hand(tmp_path):
    m = _hand_network()
    x = torch.tensor([[1.0, 1.0, 0.0, 0.0]])  # direct input, T = 4
    ds = TensorDataset("hand", x, torch.tensor([0]), 2, "test")
    prof = run_profile(m, ds, num_steps=4, encoding="direct", trace_dir=tmp_path / "tr")
    # neuron 0: input 2 each step -> U = 2, fires every step (subtract reset keeps U > 1): 4 spikes
    #   t0: U=2 S; t1: 0.5*2+2-1 = 2 S; ... 4 spikes
    # neuron 1: input 0.6 -> U: 0.6, 0.9, 1.05 S, then 0.525+0.6-1 = 0.125, ... t3: 0.6625 -> 1 spike
    l0, l1 = prof.layers
    assert l0.spikes == 5 and l0.firing_rate == pytest.approx(5 / (3 * 4))
    assert l0.input_events == 8 and l0.synops == 8 * 3  # 2 non-zero inputs x 4 steps x fan-out 3
    # layer 1 input: neuron0 spikes every step (1.5 in) -> U=1.5 S, 0.75+1.5-1=1.25 S, 1.125 S, 1.0625 S
    assert l1.spikes == 4 and l1.input_events == 5 and l1.synops == 5 * 2
    assert prof.accuracy == 1.0
    t = traces.read(tmp_path / "tr")
    assert t.counts[1][0].sum(0).tolist() == [4, 1, 0]
    bits = t.bits(1)
    assert bits.shape == (1, 4, 3) and bits[0, :, 1].tolist() == [0, 0, 1, 0]
    np.testing.assert_array_equal(t.input_values(), x.numpy())
    assert t.layers[0].kind == "fc" and t.layers[1].in_shape == (3,)


def test_trace_reader_rejects_incomplete_folder(tmp_path):
    from spiketune.errors import TraceError

    with pytest.raises(TraceError, match="manifest"):
        traces.read(tmp_path)
