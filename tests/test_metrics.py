import pytest
import torch

from spiketune.data.datasets import TensorDataset
from spiketune.measure import neurobench as metrics
from spiketune.network import models


def _net():
    torch.manual_seed(0)
    m = models.build("4C3p1-AP2-6-3", (1, 4, 4), beta=0.6, threshold=0.5)
    with torch.no_grad():
        m.blocks[0].weight_layer.weight[0].zero_()  # 9 zero weights
    return m


def test_hand_computed_static_metrics():
    m = _net()
    ds = TensorDataset("t", torch.rand(2, 1, 4, 4), torch.tensor([0, 1]), 3, "t")
    r = metrics.compute(m, ds, 3, "direct")
    n_w = 4 * 9 + 6 * 16 + 3 * 6
    assert r.connection_sparsity == pytest.approx(9 / n_w)
    params = n_w + 4 + 6 + 3
    assert r.parameter_count == params
    buffers = 3 * 2  # beta and threshold per layer (float32)
    assert r.footprint == 4 * (params + buffers)


def test_synaptic_operations_by_hand():
    m = models.build("2-1", (3,), beta=0.5, threshold=1.0)
    with torch.no_grad():
        m.blocks[0].weight_layer.weight.copy_(torch.tensor([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]]))
        m.blocks[0].weight_layer.bias.zero_()
        m.blocks[1].weight_layer.weight.copy_(torch.tensor([[1.0, 1.0]]))
        m.blocks[1].weight_layer.bias.zero_()
    x = torch.tensor([[0.7, 0.3, 0.0]])  # analog input, 2 non-zero values
    r = metrics.compute(m, TensorDataset("t", x, torch.tensor([0]), 1, "t"), 2, "direct")
    # layer 0 (MACs): per step, non-zero inputs x non-zero weights: input 0 -> 1 weight, input 1 -> 0
    assert r.synaptic_operations["Effective_MACs"] == 2 * 1
    # neuron 0 gets 1.4 each step: U = 1.4 (spike), 0.7 + 1.4 - 1 = 1.1 (spike): 2 spikes x 1 weight
    assert r.synaptic_operations["Effective_ACs"] == 2
    assert r.synaptic_operations["Dense"] == 2 * (3 * 2 + 2 * 1)
    # layer 1 gets 1.0 per step: U = 1.0 (no spike, not > 1), 0.5 + 1 = 1.5 (spike)
    assert r.activation_sparsity == pytest.approx(1 - (2 + 1) / (2 * 2 + 2 * 1))


def test_matches_neurobench_layer_operations():
    nb = pytest.importorskip("neurobench.metrics.utils.layers.macs")
    m = _net()
    x = torch.rand(5, 1, 4, 4)
    r = metrics.compute(m, TensorDataset("t", x, torch.zeros(5, dtype=torch.long), 3, "t"), 4, "direct")
    out, rec = m(x, num_steps=4, record=True)
    acs = macs = dense = 0
    inputs = [x.unsqueeze(0).expand(4, *x.shape)] + rec[:-1]
    for block, inp in zip(m.blocks, inputs, strict=True):
        for t in range(4):
            layer_in = inp[t] if block.spec.kind == "conv" else inp[t].flatten(1)
            ops, spiking = nb.single_layer_MACs(layer_in, block.weight_layer)
            total, _ = nb.single_layer_MACs(layer_in, block.weight_layer, total=True)
            acs += ops if spiking else 0
            macs += 0 if spiking else ops
            dense += total
    assert r.synaptic_operations["Effective_ACs"] == pytest.approx(acs / 5)
    assert r.synaptic_operations["Effective_MACs"] == pytest.approx(macs / 5)
    assert r.synaptic_operations["Dense"] == pytest.approx(dense / 5)
