"""The ``S`` token: a block's neuron fires before pooling, or after dropout on its current."""

from pathlib import Path

import numpy as np
import pytest
import torch

from spiketune import traces
from spiketune.data.datasets import TensorDataset
from spiketune.errors import ArchError
from spiketune.hardware import HardwareConfig, as_built, simulate
from spiketune.hardware.fixed_point import check
from spiketune.interop.nir_io import NIRError, average_pooled, export
from spiketune.measure.profile import run_profile
from spiketune.network import arch, models
from spiketune.traces import LayerSpec


def test_shapes_by_hand():
    # 8x8 input, 3x3 conv -> 6x6; fire there (36 neurons per map), max-pool 2 -> 3x3 sent on
    b = arch.parse("4C3-BN-S-MP2-D0.1-16-D0.2-S-10", (2, 8, 8))
    assert b[0].conv_shape == b[0].neuron_shape == (4, 6, 6) and b[0].out_shape == (4, 3, 3)
    assert b[0].pool_spikes and b[0].batch_norm and not b[0].current_dropout and b[0].dropout == 0.1
    assert b[1].in_shape == (4, 3, 3) and b[1].neuron_shape == b[1].out_shape == (16,)
    assert b[1].current_dropout and b[1].dropout == 0.2 and b[1].tokens == ["16", "D0.2", "S"]
    # pooling before S, or no S at all: today's meaning, the neurons after the pooling
    for a in ("4C3-MP2-S-10", "4C3-MP2-10"):
        first = arch.parse(a, (2, 8, 8))[0]
        assert first.neuron_shape == first.out_shape == (4, 3, 3) and not first.pool_spikes
    assert not arch.parse("16-D0.2-10", (8,))[0].current_dropout


@pytest.mark.parametrize("bad,token,pos,why", [
    ("S-4C3-10", "S", 1, "S must follow a conv or linear layer"),
    ("4C3-S-S-10", "S", 3, "fires once per block"),
    ("4C3-S-BN-10", "BN", 3, "BN acts on the current"),
    ("4C3-D0.1-S-BN-10", "BN", 4, "BN acts on the current"),
    ("4C3-S-AP2-10", "AP2", 3, "average pooling after S"),
    ("4C3-MP2-S-MP2-10", "MP2", 4, "one pooling per block"),
    ("4C3-S-D0.1-MP2-10", "MP2", 4, "pooling must directly follow a conv layer"),
    ("16-S-MP2-10", "MP2", 3, "pooling must directly follow a conv layer"),
    ("16-D0.1-S-D0.2-10", "D0.2", 4, "dropout must follow a layer, once"),
    ("16-10-S", "S", 3, "the last token must be the linear output layer"),
])
def test_misplaced_s_names_token_and_position(bad, token, pos, why):
    with pytest.raises(ArchError) as e:
        arch.parse(bad, (2, 8, 8))
    assert f"'{token}' at position {pos}" in str(e.value) and why in str(e.value)


def _lif64(cur: np.ndarray, beta: float, thr: float) -> np.ndarray:
    """Float64 LIF with subtractive reset, step by step: cur [T, ...] -> spikes [T, ...]."""
    u, s, out = np.zeros(cur.shape[1:]), np.zeros(cur.shape[1:]), np.zeros(cur.shape)
    for t in range(len(cur)):
        u = beta * u + cur[t] - thr * s
        s = (u > thr).astype(np.float64)
        out[t] = s
    return out


def test_fire_then_pool_model_matches_float64_reference():
    torch.manual_seed(0)
    net = models.build("3C3-S-MP2-5-D0.5-S-2", (2, 6, 6), beta=0.5, threshold=1.0).eval()
    rng = np.random.default_rng(1)
    params = []
    with torch.no_grad():  # quarter-integer weights and 0/1 inputs: exact in float32 too
        for blk in net.spiking_blocks():
            w = rng.integers(-4, 7, blk.weight_layer.weight.shape) / 4
            b = rng.integers(-2, 3, blk.weight_layer.bias.shape) / 4
            blk.weight_layer.weight.copy_(torch.tensor(w))
            blk.weight_layer.bias.copy_(torch.tensor(b))
            params.append((w, b))
    x = (rng.random((6, 2, 2, 6, 6)) < 0.5).astype(np.float64)  # [T, B, C, H, W] spikes
    with torch.no_grad():
        out, layers = net.layer_spikes(torch.tensor(x, dtype=torch.float32))

    (w0, b0), (w1, b1), (w2, b2) = params
    conv = np.zeros((6, 2, 3, 4, 4))
    for o in range(3):
        for i in range(4):
            for j in range(4):
                conv[:, :, o, i, j] = (x[:, :, :, i:i + 3, j:j + 3] * w0[o]).sum((2, 3, 4)) + b0[o]
    fired0 = _lif64(conv, 0.5, 1.0)
    pooled = np.zeros((6, 2, 3, 2, 2))
    for i in range(2):
        for j in range(2):  # max of 0/1 spikes over the window = their OR
            pooled[..., i, j] = fired0[..., 2 * i:2 * i + 2, 2 * j:2 * j + 2].any((-1, -2))
    fired1 = _lif64(pooled.reshape(6, 2, -1) @ w1.T + b1, 0.5, 1.0)  # eval: no dropout
    fired2 = _lif64(fired1 @ w2.T + b2, 0.5, 1.0)

    assert fired0.sum() > 0 and pooled.sum() < fired0.sum()  # the case pools something away
    np.testing.assert_array_equal(layers[0][0].numpy(), fired0)
    np.testing.assert_array_equal(layers[0][1].numpy(), pooled)
    np.testing.assert_array_equal(layers[1][0].numpy(), fired1)
    np.testing.assert_array_equal(out.numpy(), fired2)


def _constant_current_net(arch_string: str) -> models.SpikingNetwork:
    """8 inputs -> 64 neurons, each fed 0.6 by an all-ones input: beta 0, no reset, threshold
    1, so a neuron fires exactly when dropout keeps its current (scaled to 1.2)."""
    net = models.build(arch_string, (8,), beta=0.0, threshold=1.0, reset="none")
    with torch.no_grad():
        layer = net.spiking_blocks()[0].weight_layer
        layer.weight.fill_(0.6 / 8)
        layer.bias.zero_()
    return net


def test_dropout_on_the_current_fresh_each_step_and_off_in_eval():
    net = _constant_current_net("64-D0.5-S-2")
    x = torch.ones(3, 8)
    torch.manual_seed(7)
    net.train()
    _, layers = net.layer_spikes(x, num_steps=5)
    fired, sent = layers[0]
    assert torch.equal(fired, sent)  # dropout before the neuron: the block sends its spikes
    assert set(fired.unique().tolist()) == {0.0, 1.0}
    kept = fired.mean().item()
    assert 0.35 < kept < 0.65  # Bernoulli(0.5) over 960 currents
    assert not torch.equal(fired[0], fired[1])  # a static input gets a fresh mask per step
    torch.manual_seed(7)
    again = net.layer_spikes(x, num_steps=5)[1][0][0]
    assert torch.equal(fired, again)  # the seed fixes the masks
    net.eval()
    assert net.layer_spikes(x, num_steps=5)[1][0][0].sum() == 0  # 0.6 < 1: silent without dropout


def test_dropout_on_the_spikes_scales_them_and_the_next_block_sees_no_bits():
    net = _constant_current_net("64-S-D0.5-2")
    with torch.no_grad():
        net.spiking_blocks()[0].weight_layer.weight.fill_(1.5 / 8)  # every neuron fires
    torch.manual_seed(3)
    net.train()
    fired, sent = net.layer_spikes(torch.ones(3, 8), num_steps=4)[1][0]
    assert fired.min() == 1 and set(sent.unique().tolist()) == {0.0, 2.0}
    assert not net.spiking_blocks()[1].spike_input
    assert _constant_current_net("64-D0.5-S-2").spiking_blocks()[1].spike_input


def _pool_net(arch_string: str) -> models.SpikingNetwork:
    """1x2x2 input -> 1x1 conv (weight 1) -> [fire, OR-pool | max-pool, fire] -> 1 unit (1.5)."""
    net = models.build(arch_string, (1, 2, 2), beta=0.5, threshold=1.0)
    with torch.no_grad():
        for blk, w in zip(net.spiking_blocks(), (1.0, 1.5), strict=True):
            blk.weight_layer.weight.fill_(w)
            blk.weight_layer.bias.zero_()
    return net


# sample 0: currents 0.6 and 0.9 -> the 0.6 neuron fires at t2, the 0.9 one at t1 and t3
#   (0.9, 1.35 S, 0.675+0.9-1 = 0.575, 1.1875 S): OR-pooled t1, t2, t3; max-pooled current 0.9: t1, t3
# sample 1: currents 2 and 2 -> both fire every step: 8 spikes, OR-pooled 4; max-pooled 2: 4
X = torch.tensor([[[[0.6, 0.9], [0.0, 0.0]]], [[[2.0, 2.0], [0.0, 0.0]]]])


def test_profile_and_traces_count_neurons_and_what_the_next_layer_receives(tmp_path):
    ds = TensorDataset("hand", X, torch.tensor([0, 0]), 1, "test")
    prof = run_profile(_pool_net("1C1-S-MP2-1"), ds, num_steps=4, encoding="direct", trace_dir=tmp_path / "a")
    l0, l1 = prof.layers
    assert (l0.neurons, l0.spikes, l0.output_events) == (4, 3 + 8, 3 + 4)
    assert l0.firing_rate == pytest.approx(11 / (4 * 4 * 2))
    assert l0.input_events == 16 and l0.synops == 16  # 2 non-zero inputs x 4 steps x 2 samples, fan-out 1
    # layer 1 (1.5 per input spike): sample 0 gets t1..t3 -> 1.5 S, 1.25 S, 1.125 S; sample 1 fires 4
    assert (l1.input_events, l1.spikes, l1.output_events) == (7, 7, 7)
    t = traces.read(tmp_path / "a")
    assert t.layers[0].pool_spikes and t.layers[0].neuron_shape == (1, 2, 2)
    assert t.counts[1][:, :, 0].tolist() == [[0, 1, 1, 1], [1, 1, 1, 1]]
    assert t.bits(1).reshape(2, 4).tolist() == [[0, 1, 1, 1], [1, 1, 1, 1]]

    ref = run_profile(_pool_net("1C1-MP2-1"), ds, num_steps=4, encoding="direct", trace_dir=tmp_path / "b")
    assert (ref.layers[0].neurons, ref.layers[0].spikes, ref.layers[0].output_events) == (1, 2 + 4, 2 + 4)
    assert not traces.read(tmp_path / "b").layers[0].pool_spikes
    assert "pool_spikes" not in (tmp_path / "b" / "manifest.json").read_text()


def test_fixed_point_fires_then_pools(tmp_path):
    ds = TensorDataset("hand", X, torch.tensor([0, 0]), 1, "test")
    run_profile(_pool_net("1C1-S-MP2-1"), ds, num_steps=4, encoding="direct", trace_dir=tmp_path)
    t = traces.read(tmp_path)
    # pooling the currents first would fire sample 0 at t1, t3 only: 1 of its 4 bits differing
    assert [m.mismatch_rate for m in check(t)] == [0.0, 0.0]
    assert [m.spikes_fixed for m in check(t)] == [7, 7]


def test_trace_reader_refuses_pool_spikes_without_max_pooling(tmp_path):
    ds = TensorDataset("hand", X, torch.tensor([0, 0]), 1, "test")
    run_profile(_pool_net("1C1-S-MP2-1"), ds, num_steps=4, encoding="direct", trace_dir=tmp_path)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"max"', '"avg"'))
    with pytest.raises(traces.TraceError, match=r"layers\[0\]\.pool_spikes needs a max pooling"):
        traces.read(tmp_path)


@pytest.mark.parametrize("fire_first", [False, True])
def test_cycle_model_sweeps_the_conv_frame_and_reads_pooled_input(fire_first):
    # conv 1x4x4 -> 2x2x2 (3x3 kernel) -> max-pool 2 -> 2x1x1 -> fc 2; T = 1, 2 cores each.
    # conv (as the hand case in test_hardware): start 1 + compression (1 + 2*4 chunks + 2*2 spikes)
    #   + 1 hand-off + replay 9*2 + sweep of the 2x2 conv frame (4 - 1) = 36, in either order.
    # fc, reading the pooled spikes (1 event on channel 0): compression (IC + 2 + 2*1 chunk) + 2*1
    #   = 8, one group: (max(1, 1) + 1 + 1) + 1 = 4, control 4 -> 16.
    layers = [LayerSpec("conv", (1, 4, 4), (2, 2, 2), (2, 1, 1), kernel=3, pool=("max", 2),
                        pool_spikes=fire_first),
              LayerSpec("fc", (2, 1, 1), (2,), (2,))]
    counts = [np.array([[[2]]]), np.array([[[1, 0]]]), np.array([[[0, 0]]])]
    t = traces.Traces(Path("."), 1, "rate", (1, 4, 4), layers, counts, np.zeros(1), np.zeros(1))
    rep = simulate(t, HardwareConfig(cores=[2, 2]))
    assert [c.latency_cycles for c in rep.layers] == [36, 16]
    assert rep.layers[0].detail["activate_cycles"] == 3


def test_nir_exports_current_dropout_and_refuses_pooled_spikes_with_a_valid_twin():
    pytest.importorskip("nir")
    graph = export(models.build("16-D0.2-S-10", (8,)))
    assert graph.nodes["lif0"].tau.shape == (16,)
    net = models.build("4C3-S-MP2-D0.1-10", (1, 8, 8))
    with pytest.raises(NIRError, match="max pooling") as e:
        export(net)
    twin = average_pooled(net.arch)
    assert twin == "4C3-AP2-S-D0.1-10" and twin in str(e.value)
    assert arch.parse(twin, (1, 8, 8))[0].neuron_shape == (4, 3, 3)
    assert average_pooled("32C3-P2-32C3-MP2-256-10") == "32C3-AP2-32C3-AP2-256-10"


def test_the_builds_arithmetic_runs_a_fire_then_pool_trace(tmp_path):
    # the build fires and then ORs the spikes whatever order the network was trained in: traces
    # of the two orders with the same weights give the same hardware spikes, of the traced shapes
    torch.manual_seed(0)
    x = (torch.rand(3, 1, 4, 4) < 0.5).float()
    ds = TensorDataset("hand", x, torch.tensor([0, 1, 0]), 2, "test")
    fire_first = models.build("2C3p1-S-MP2-4", (1, 4, 4), num_classes=2)
    pool_first = models.build("2C3p1-MP2-4", (1, 4, 4), num_classes=2)
    pool_first.load_state_dict(fire_first.state_dict())
    spikes = []
    for name, net in (("s", fire_first), ("p", pool_first)):
        run_profile(net, ds, num_steps=3, encoding="direct", trace_dir=tmp_path / name)
        t = traces.read(tmp_path / name)
        got, _ = as_built.run(t, weight_bits=4, cores=[2, 2])
        assert [s.shape[2:] for s in got[1:]] == [(2, 2, 2), (4,)]
        assert len(as_built.divergence(t, got)) == 2
        spikes.append(got)
    for a, b in zip(*spikes, strict=True):
        np.testing.assert_array_equal(a, b)


def test_snntorch_sequential_that_fires_before_pooling_converts_with_equal_spikes():
    snn = pytest.importorskip("snntorch")
    from snntorch import utils as snn_utils
    from torch import nn

    from spiketune.interop.snntorch_io import convert

    torch.manual_seed(0)

    def leaky(out=False):
        return snn.Leaky(beta=0.7, threshold=0.6, init_hidden=True, output=out)

    # the VGG-9 pattern of the studies' scripts: max_pool2d of spikes, dropout on FC1's current
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), leaky(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(8 * 4 * 4, 16), nn.Dropout(0.2), leaky(), nn.Linear(16, 10), leaky(True))
    with torch.no_grad():
        net[4].weight.mul_(4)
        net[7].weight.mul_(6)
    ours = convert(net, (1, 8, 8)).eval()
    net.eval()
    assert ours.arch == "8C3p1-S-MP2-16-D0.2-S-10"
    x = torch.rand(4, 1, 8, 8) * 3
    snn_utils.reset(net)
    with torch.no_grad():
        ref = torch.stack([net(x)[0] for _ in range(10)])
        out = ours(x, num_steps=10)
    assert ref.sum() > 0 and torch.equal(ref, out)


def test_scripts_vgg9_order_has_todays_weights_and_conv_sized_neurons():
    today = "64C3p1-28C3p1-BN-MP2-48C3p1-54C3p1-BN-MP2-120C3p1-126C3p1-140C3p1-BN-MP2-1064-D0.1-100"
    scripts = ("64C3p1-28C3p1-BN-S-MP2-48C3p1-54C3p1-BN-S-MP2-120C3p1-126C3p1-140C3p1-BN-S-MP2"
               "-1064-D0.1-S-100")
    a, b = arch.parse(today, (2, 32, 32)), arch.parse(scripts, (2, 32, 32))
    assert [x.out_shape for x in a] == [x.out_shape for x in b]
    assert [x.neuron_shape for x in b if x.pool_spikes] == [(28, 32, 32), (54, 16, 16), (140, 8, 8)]
    assert [x.neuron_shape for x in a if x.pool] == [(28, 16, 16), (54, 8, 8), (140, 4, 4)]
    assert b[7].current_dropout and not a[7].current_dropout
    assert (models.count_parameters(models.build(today, (2, 32, 32), 10))
            == models.count_parameters(models.build(scripts, (2, 32, 32), 10)))
