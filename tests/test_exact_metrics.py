"""NeuroBench metrics and the sparsity profile against NeuroBench itself and hand counts,
over several batches (per-sample normalisation), non-zero biases and layers of
different sizes and firing rates."""

import math

import numpy as np
import pytest
import torch

from spiketune import traces
from spiketune.data.datasets import TensorDataset
from spiketune.measure import neurobench as metrics
from spiketune.measure.profile import run_profile
from spiketune.network import models

nb_macs = pytest.importorskip("neurobench.metrics.utils.layers.macs")
nb_static = pytest.importorskip("neurobench.metrics.static")
from neurobench.models import TorchModel  # noqa: E402


def _net(arch, shape, seed):
    torch.manual_seed(seed)
    m = models.build(arch, shape, beta=0.6, threshold=0.4)
    with torch.no_grad():
        m.blocks[0].weight_layer.weight[1].zero_()
        m.blocks[-1].weight_layer.weight[:, :3] = 0
        for b in m.blocks:
            b.weight_layer.bias.uniform_(0.05, 0.3)  # non-zero biases: not synaptic operations
    return m


def _neurobench_ops(m, seq):
    """NeuroBench's per-layer operation counts summed over steps for a sequence [T, B, ...]."""
    out, rec = m(seq, record=True)
    acs = macs = dense = 0.0
    for block, inp in zip(m.blocks, [seq, *rec[:-1]], strict=True):
        for t in range(seq.shape[0]):
            x = inp[t] if block.spec.kind == "conv" else inp[t].flatten(1)
            ops, spiking = nb_macs.single_layer_MACs(x, block.weight_layer)
            total, _ = nb_macs.single_layer_MACs(x, block.weight_layer, total=True)
            acs += float(ops) if spiking else 0.0
            macs += 0.0 if spiking else float(ops)
            dense += float(total)
    return {"Effective_MACs": macs, "Effective_ACs": acs, "Dense": dense}, rec


def _check_against_neurobench(m, ds, num_steps, encoding, seq):
    got = metrics.compute(m, ds, num_steps, encoding, batch_size=2)  # 5 samples: batches 2, 2, 1
    want, rec = _neurobench_ops(m, seq)
    n = len(ds)
    for k, v in want.items():
        assert got.synaptic_operations[k] == pytest.approx(v / n, rel=1e-12), k
    # activation sparsity: zero outputs over every neuron, step and sample, all layers pooled
    zeros = sum(float((r == 0).sum()) for r in rec)
    assert got.activation_sparsity == pytest.approx(zeros / sum(r.numel() for r in rec), rel=1e-12)
    wrapped = TorchModel(m)
    assert got.footprint == nb_static.Footprint()(wrapped)
    assert got.parameter_count == nb_static.ParameterCount()(wrapped)
    assert round(got.connection_sparsity, 4) == nb_static.ConnectionSparsity()(wrapped)
    return got, want


def test_direct_input_operations_match_neurobench_over_several_batches():
    m = _net("6C3p1-MP2-5C3-20-4", (2, 6, 6), seed=1)
    x = torch.rand(5, 2, 6, 6)
    ds = TensorDataset("t", x, torch.arange(5) % 4, 4, "t")
    got, want = _check_against_neurobench(m, ds, 4, "direct", x.unsqueeze(0).expand(4, *x.shape))
    assert want["Effective_MACs"] > 0 and want["Effective_ACs"] > 0


def test_event_frame_operations_match_neurobench_over_several_batches():
    m = _net("4C3-12-3", (2, 5, 5), seed=2)
    g = torch.Generator().manual_seed(0)
    frames = (torch.rand(5, 3, 2, 5, 5, generator=g) < 0.3).float()  # binary: accumulates only
    ds = TensorDataset("t", frames, torch.arange(5) % 3, 3, "t")
    got, want = _check_against_neurobench(m, ds, 3, "events", frames.transpose(0, 1))
    assert want["Effective_MACs"] == 0 and got.synaptic_operations["Effective_MACs"] == 0
    assert want["Effective_ACs"] > 0


def test_connection_sparsity_pools_all_weights():
    m = models.build("2-3", (4,))
    with torch.no_grad():
        m.blocks[0].weight_layer.weight.fill_(1.0)
        m.blocks[0].weight_layer.weight[0].zero_()  # 4 of 8 zero
        m.blocks[1].weight_layer.weight.fill_(1.0)  # 0 of 6 zero
    r = metrics.compute(m, TensorDataset("t", torch.rand(1, 4), torch.tensor([0]), 3, "t"), 2, "direct")
    assert r.connection_sparsity == 4 / 14  # not the mean of the layer ratios (0.25)
    assert r.parameter_count == 8 + 2 + 6 + 3
    assert r.footprint == 4 * (8 + 2 + 6 + 3) + 4 * 4  # float32 parameters, beta + threshold buffers


def _two_layer_hand_net():
    """2 inputs -> 4 LIF (beta 0.5, thr 1) -> 1 LIF; zero biases."""
    m = models.build("4-1", (2,), beta=0.5, threshold=1.0)
    with torch.no_grad():
        m.blocks[0].weight_layer.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
        m.blocks[0].weight_layer.bias.zero_()
        m.blocks[1].weight_layer.weight.copy_(torch.tensor([[2.0, 0.0, 0.0, 0.0]]))
        m.blocks[1].weight_layer.bias.zero_()
    return m


def test_profile_firing_rate_weights_layers_by_neurons_and_counts_every_batch():
    m = _two_layer_hand_net()
    # sample k has input (x_k, 0) with x in {1, 0, 1}: neuron 0 gets 2 each step -> fires every step
    # (U = 2, 0.5*2+2-1 = 2, ...); the output neuron gets 2 whenever it fires -> also every step
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    ds = TensorDataset("h", x, torch.tensor([0, 0, 0]), 1, "t")
    prof = run_profile(m, ds, num_steps=3, encoding="direct", batch_size=2)
    l0, l1 = prof.layers
    assert (l0.neurons, l0.spikes, l1.neurons, l1.spikes) == (4, 6, 1, 6)
    assert l0.firing_rate == 6 / (4 * 3 * 3) and l0.sparsity == 1 - 6 / 36
    assert l1.firing_rate == 6 / (1 * 3 * 3)
    assert prof.total_spikes == 12
    assert prof.firing_rate == 12 / (5 * 3 * 3)  # not the mean of the layer rates
    assert l0.input_events == 6 and l0.synops == 6 * 4  # events x fan-out (bias excluded)
    assert l1.input_events == 6 and l1.synops == 6 * 1
    assert prof.synops == 30 and prof.num_samples == 3 and prof.num_steps == 3
    d = prof.to_dict()
    assert (d["total_spikes"], d["firing_rate"], d["synops"]) == (12, prof.firing_rate, 30)
    assert d["layers"][1]["spikes"] == 6 and d["accuracy"] == 1.0
    assert (d["num_samples"], d["num_steps"]) == (3, 3) and set(d) == {
        "accuracy", "num_samples", "num_steps", "total_spikes", "firing_rate", "synops", "layers"}
    m_metrics = metrics.compute(m, ds, 3, "direct", batch_size=2)
    assert m_metrics.activation_sparsity == pytest.approx(1 - 12 / 45, rel=1e-12)
    # inputs are 0/1, so every layer accumulates: layer 0, 2 samples x 3 steps x 1 non-zero
    # input x 1 non-zero weight; layer 1, 6 spikes x 1 non-zero weight; per sample (3)
    assert m_metrics.synaptic_operations == {"Effective_MACs": 0.0, "Effective_ACs": 12 / 3,
                                             "Dense": 3 * (2 * 4 + 4 * 1) * 3 / 3}


def test_binary_direct_input_counts_as_accumulates():
    m = _two_layer_hand_net()
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # 0/1 values: the layer sees spikes
    r = metrics.compute(m, TensorDataset("h", x, torch.tensor([0, 0]), 1, "t"), 2, "direct")
    # layer 0: (1 + 1) non-zero inputs reaching non-zero weight row 0 only: 2 ops per step per
    # sample pair -> 2 * 2 = 4; layer 1: neuron 0 fires every step in both samples: 4
    assert r.synaptic_operations["Effective_MACs"] == 0
    assert r.synaptic_operations["Effective_ACs"] == (4 + 4) / 2


def test_profile_traces_over_several_batches(tmp_path):
    m = _two_layer_hand_net()
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    ds = TensorDataset("h", x, torch.tensor([0, 1, 0]), 2, "t")
    prof = run_profile(m, ds, num_steps=3, encoding="direct", batch_size=2, trace_dir=tmp_path,
                       trace_samples=2)
    assert prof.accuracy == pytest.approx(2 / 3)
    t = traces.read(tmp_path)
    assert [c.shape for c in t.counts] == [(3, 3, 2), (3, 3, 4), (3, 3, 1)]
    assert t.counts[1][:, :, 0].tolist() == [[1, 1, 1], [0, 0, 0], [1, 1, 1]]
    assert t.bits(2).shape == (2, 3, 1) and t.bits(2)[:, :, 0].tolist() == [[1, 1, 1], [0, 0, 0]]
    np.testing.assert_array_equal(t.input_values(), x[:2].numpy())
    np.testing.assert_array_equal(t.labels, [0, 1, 0])
    np.testing.assert_array_equal(t.predictions, [0, 0, 0])
    assert t.meta["num_classes"] == 1 and t.meta["accuracy"] == pytest.approx(2 / 3)
    assert t.layers[0].beta == 0.5 and t.layers[0].threshold == 1.0 and t.layers[0].neuron == "lif"


def test_profile_of_event_counts_keeps_their_values(tmp_path):
    m = models.build("2-1", (1, 2, 2), beta=0.5, threshold=1.0)
    frames = torch.zeros(2, 2, 1, 2, 2)
    frames[0, 0, 0, 0, 0] = 3.0  # a count above 1: the trace keeps the values
    frames[1, 1, 0, 1, 1] = 1.0
    ds = TensorDataset("e", frames, torch.tensor([0, 0]), 1, "t")
    run_profile(m, ds, num_steps=2, encoding="events", batch_size=1, trace_dir=tmp_path)
    t = traces.read(tmp_path)
    assert t.meta["input_max_count"] == 3
    assert t.counts[0][:, :, 0].tolist() == [[1, 0], [0, 1]]
    np.testing.assert_array_equal(t.input_values(), frames.numpy())


def test_layer_weights_export_quantised_weights_and_batch_norm_maps():
    from spiketune.measure.profile import layer_weights

    m = models.build("2C3-BN-MP2-3", (1, 6, 6), weight_bits=4)
    conv, bn, fc = m.blocks[0].weight_layer, m.blocks[0].synapse[1], m.blocks[1].weight_layer
    w = torch.tensor([0.7, -0.31, 0.12, 0.44, -0.66, 0.0, 0.29, -0.08, 0.52] * 2).reshape(2, 1, 3, 3)
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.copy_(torch.tensor([0.25, -0.5]))
        bn.weight.copy_(torch.tensor([3.0, 1.0]))
        bn.bias.copy_(torch.tensor([0.5, -1.0]))
        bn.running_mean.copy_(torch.tensor([1.0, 0.25]))
        bn.running_var.copy_(torch.tensor([3.75, 0.0]))
    bn.eps = 0.25  # var + eps = 4, 0.25
    fc.bias = None  # a layer without bias exports zeros
    w0, w1 = layer_weights(m)
    assert set(w0) == {"weight", "bias", "int_weight", "scale", "bn_scale", "bn_shift"}
    assert w0["weight"].dtype == w0["bias"].dtype == np.float32 and w0["bias"].tolist() == [0.25, -0.5]
    np.testing.assert_array_equal(w0["weight"], w.numpy())
    # 4 bits: scale = max |w| / 7 = 0.1; w / 0.1 rounds to 7, -3, 1, 4, -7, 0, 3, -1, 5
    assert w0["scale"] == np.float32(np.float32(0.7) / 7) and w0["scale"].dtype == np.float32
    assert w0["int_weight"].reshape(2, 9)[0].tolist() == [7, -3, 1, 4, -7, 0, 3, -1, 5]
    # eval-mode batch norm: scale = gamma / sqrt(var + eps) = 3/2, 1/0.5; shift = beta - mean*scale
    assert w0["bn_scale"].tolist() == [1.5, 2.0] and w0["bn_shift"].tolist() == [-1.0, -1.5]
    assert w0["bn_scale"].dtype == np.float32 and w0["bn_shift"].dtype == np.float32
    assert w1["bias"].tolist() == [0.0, 0.0, 0.0] and w1["bias"].dtype == np.float32 and "bn_scale" not in w1
    plain = layer_weights(models.build("2C3-3", (1, 4, 4)))
    assert [set(x) for x in plain] == [{"weight", "bias"}] * 2


def test_layer_specs_describe_each_block():
    from spiketune.measure.profile import layer_specs

    m = models.build("4C3p1s2-BN-AP2-3", (1, 8, 8), neuron="lapicque", beta=0.7, threshold=0.4,
                     reset="zero", weight_bits=4)
    conv, fc = layer_specs(m)
    # (8 + 2*1 - 3) // 2 + 1 = 4 -> conv 4x4x4, average-pooled 2 -> 4x2x2
    f32 = lambda v: float(np.float32(v))  # noqa: E731 - the neuron keeps float32 scalars
    # snnTorch's Lapicque from beta: R = 1, C = 1/ln(1/beta): gain 1/C, decay 1 - 1/C (float32)
    g = math.log(1 / f32(0.7))
    lapicque = traces.NeuronDynamics("lapicque", f32(1 - g), f32(g), None, "zero", True)
    assert conv == traces.LayerSpec("conv", (1, 8, 8), (4, 4, 4), (4, 2, 2), kernel=3, stride=2, padding=1,
                                    pool=("avg", 2), neuron="lapicque", beta=f32(0.7), threshold=f32(0.4),
                                    reset="zero", weight_bits=4, dynamics=lapicque)
    assert (fc.kind, fc.in_shape, fc.conv_shape, fc.out_shape, fc.pool, fc.weight_bits) == (
        "fc", (4, 2, 2), (3,), (3,), None, 4)
    assert layer_specs(models.build("3", (5,)))[0].weight_bits is None
    # neurons that fire before a max pooling (`S`): the spec says so, its neurons are the conv output
    fire_first = layer_specs(models.build("4C3-S-MP2-3", (1, 6, 6)))[0]
    assert fire_first.pool_spikes and fire_first.pool == ("max", 2)
    assert fire_first.neuron_shape == (4, 4, 4) and fire_first.out_shape == (4, 2, 2)
    assert not conv.pool_spikes


def test_metrics_take_accuracy_and_the_encoding_seed_from_the_profile_pass():
    m = _two_layer_hand_net()
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    ds = TensorDataset("h", x, torch.tensor([0, 1, 0]), 2, "t")
    assert metrics.compute(m, ds, 3, "direct").accuracy == pytest.approx(2 / 3)  # as run_profile's
    # rate coding draws the input spikes from the seed: the default is seed 0, and another seed
    # draws other spikes
    xr = torch.full((6, 2), 0.5)
    dr = TensorDataset("r", xr, torch.zeros(6, dtype=torch.long), 2, "t")
    s0 = metrics.compute(m, dr, 8, "rate").synaptic_operations
    assert metrics.compute(m, dr, 8, "rate", seed=0).synaptic_operations == s0
    assert metrics.compute(m, dr, 8, "rate", seed=1).synaptic_operations != s0
