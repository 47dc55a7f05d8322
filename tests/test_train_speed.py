"""The fast training paths: bf16 synapses, the batch loop's device-side totals, the device
and CUDA-graph settings (refused where they cannot run)."""

import math
import subprocess
import sys

import pytest
import torch

from spiketune.errors import ConfigError
from spiketune.network import models
from spiketune.network import surrogate as sg
from spiketune.training import config
from spiketune.training import trainer as train_mod
from spiketune.training.trainer import EpochTotals, StepStats, TrainingDiverged, train

BF16_HALF_ULP = 2.0 ** -8  # bfloat16 keeps 8 significant bits


def _lif64(cur: torch.Tensor, beta: float, thr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 LIF (reset by subtraction) over [T, ...]: (spikes, membranes)."""
    mem = torch.zeros_like(cur[0], dtype=torch.float64)
    spikes, mems = [], []
    for x in cur.double():
        reset = (mem > thr).double()
        mem = beta * mem + x - reset * thr
        spikes.append((mem > thr).double())
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


def test_bf16_synapse_is_bfloat16_arithmetic_and_neuron_state_float32():
    torch.manual_seed(0)
    net = models.build("8C3-MP2-10", (2, 10, 10), beta=0.5, precision="bf16")
    block = net.blocks[0]
    conv = block.weight_layer
    x = torch.rand(5, 2, 10, 10) * 2
    seen = {}
    block.neuron.register_forward_hook(lambda m, inp, out: seen.update(cur=inp[0], out=out))
    with torch.no_grad():
        spikes = block.forward_static(x, 6)
    cur = seen["cur"]
    # float64 reference of the same synapse on bfloat16-rounded inputs, weights and bias
    r = lambda t: t.detach().bfloat16().double()  # noqa: E731
    ref = torch.nn.functional.max_pool2d(
        torch.nn.functional.conv2d(r(x), r(conv.weight), r(conv.bias)), 2)
    assert cur.dtype == torch.float32  # the neuron's input and state
    assert torch.equal(cur.bfloat16().float(), cur)  # the synapse rounded to bfloat16
    assert ((cur.double() - ref).abs() <= BF16_HALF_ULP * ref.abs() + 1e-6).all()
    # spikes: exact 0/1 in float32, those of a float64 LIF on the same input current
    assert spikes.dtype == torch.float32 and set(spikes.unique().tolist()) <= {0.0, 1.0}
    ref_spikes, ref_mem = _lif64(cur.unsqueeze(0).expand(6, *cur.shape), 0.5, 1.0)
    differ = spikes.double() != ref_spikes
    assert ((ref_mem[differ] - 1.0).abs() < 1e-6).all()  # only at the threshold itself
    assert 0 < spikes.sum() < spikes.numel()


def test_fp32_default_keeps_float32_synapse():
    torch.manual_seed(0)
    net = models.build("8C3-MP2-10", (2, 10, 10))
    x = torch.rand(5, 2, 10, 10)
    cur = net.blocks[0]._synapse(x)
    conv = net.blocks[0].weight_layer
    ref = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(
        x.double(), conv.weight.double(), conv.bias.double()), 2)
    assert torch.allclose(cur.double(), ref, rtol=1e-6, atol=1e-6)
    assert not torch.equal(cur.bfloat16().float(), cur)


def test_bf16_training_learns_with_float32_parameters(tiny_cfg):
    cfg = config.with_overrides(tiny_cfg, {"train.precision": "bf16", "data.num_steps": 8,
                                           "data.batch_size": 64})
    r = train(cfg, progress=False)
    first, last = r.history
    assert last.loss < first.loss and r.best_val_accuracy > 0.15  # ten classes: chance is 0.1
    assert all(p.dtype == torch.float32 for p in r.model.parameters())
    assert r.samples_per_s and r.samples_per_s > 0
    x = torch.rand(3, 1, 8, 8)
    out, rec = r.model(x, num_steps=4, record=True)
    assert all(set(s.unique().tolist()) <= {0.0, 1.0} and s.dtype == torch.float32 for s in rec)


def test_epoch_totals_sum_like_the_host_and_name_the_first_bad_batch():
    tot = EpochTotals(torch.device("cpu"), 3)
    ok = torch.tensor([True, True, True])
    batches = [(0.7, 40, 12.5, ok, 64), (0.25, 50, 3.0, ok, 64), (1.5, 7, 9.0, ok, 10)]
    for b, (loss, correct, spikes, fin, n) in enumerate(batches):
        tot.add(b, StepStats(torch.tensor(loss), torch.tensor(correct), torch.tensor(spikes), fin), n)
    host = 0.0
    for loss, *_, n in batches:
        host += float(torch.tensor(loss)) * n  # the float32 loss, summed in float64
    assert tot.read() == (host, 97, 24.5)
    assert tot.check(1, torch.nn.ModuleList()) == host / 138
    # batch 3: layer 1 non-finite; batch 4: the loss too; the first one is named
    net = models.build("8C3-MP2-10", (2, 10, 10))
    nan = torch.tensor(float("nan"))
    tot.add(3, StepStats(torch.tensor(1.0), torch.tensor(0), nan, torch.tensor([True, False, True])), 8)
    tot.add(4, StepStats(nan, torch.tensor(0), nan, torch.tensor([False, False, False])), 8)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, batch 3: non-finite membrane input in "
                                               r"layer L1:10$"):
        tot.check(2, net.blocks)
    loss_only = EpochTotals(torch.device("cpu"), 3)
    loss_only.add(0, StepStats(nan, torch.tensor(0), torch.tensor(0.0),
                               torch.tensor([True, True, False])), 8)
    with pytest.raises(TrainingDiverged, match="batch 0: loss became nan"):
        loss_only.check(1, net.blocks)


def test_divergence_names_the_batch_it_starts_in(tiny_cfg, monkeypatch):
    real, calls = train_mod.encode, []

    def poison_from_batch_2(x, *a):
        calls.append(1)
        return real(x * float("nan") if len(calls) > 2 else x, *a)

    monkeypatch.setattr(train_mod, "encode", poison_from_batch_2)
    with pytest.raises(TrainingDiverged, match="epoch 1, batch 2: non-finite membrane input in layer L0"):
        train(tiny_cfg, progress=False)


def test_device_totals_match_a_loop_reading_every_batch(tiny_cfg):
    """One epoch through the trainer vs the same steps with a host read after each batch."""
    cfg = config.with_overrides(tiny_cfg, {"train.epochs": 1}).resolved()
    r = train(cfg, progress=False)
    torch.manual_seed(cfg.train.seed)
    train_ds, _, _ = train_mod.load_splits(cfg)
    model = train_mod.build_model(cfg, train_ds.input_shape, train_ds.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    for s in model.neurons():
        s.surrogate.chi = None
    order = torch.randperm(len(train_ds), generator=torch.Generator().manual_seed(
        cfg.train.seed * 100_003 + 1))
    loss_sum, correct, spikes, slots, bs, T = 0.0, 0, 0.0, 0, cfg.data.batch_size, cfg.data.num_steps
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=math.ceil(len(train_ds) / bs))
    for b in range(0, len(train_ds), bs):
        x, y = train_ds.x[order[b:b + bs]], train_ds.y[order[b:b + bs]]
        out, rec = model(x, num_steps=T, record=True)
        loss = torch.nn.functional.cross_entropy(model.decode(out), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        loss_sum += loss.item() * len(y)
        correct += int((model.decode(out).argmax(1) == y).sum())
        spikes += sum(float(s.sum()) for s in rec)
        slots += sum(s[0].numel() for s in rec) * T
    h = r.history[0]
    assert h.loss == loss_sum / len(train_ds)  # float64 sums in batch order: exact
    assert h.train_accuracy == correct / len(train_ds)
    assert h.firing_rate == spikes / slots  # integer spike counts: exact


def test_cuda_graphs_and_devices_are_refused_with_a_clear_error():
    with pytest.raises(ConfigError, match="cuda_graphs needs device 'cuda'.*trains on 'cpu'"):
        config.from_dict({"train": {"cuda_graphs": True}})
    with pytest.raises(ConfigError, match="train.device: .*'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        config.from_dict({"train": {"device": "gpu"}})
    with pytest.raises(ConfigError, match="cuda_graphs cannot be combined with chi.adaptive"):
        config.from_dict({"train": {"device": "cuda", "cuda_graphs": True}, "chi": {"adaptive": True}})
    if not torch.cuda.is_available():
        cfg = config.from_dict({"train": {"device": "cuda", "cuda_graphs": True}}).resolved()
        with pytest.raises(ConfigError, match="train.device is 'cuda' but this torch .* has no CUDA"):
            train_mod.build_model(cfg, (1, 8, 8), 10)


def test_cli_refuses_cuda_graphs_on_cpu_before_writing(tmp_path):
    out = tmp_path / "o"
    r = subprocess.run([sys.executable, "-m", "spiketune", "run", "--out", str(out),
                        "--set", "train.cuda_graphs=true"], capture_output=True, text=True)
    assert r.returncode == 2 and "cuda_graphs needs device 'cuda'" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


@pytest.mark.parametrize("shape,channels_last,dtype", [
    ((3, 5, 7, 2), True, torch.float32), ((13,), False, torch.float32),
    ((4, 33), False, torch.bfloat16), ((2, 3, 4, 5), False, torch.float32)])
def test_packed_spikes_rebuild_values_layout_and_dtype(shape, channels_last, dtype):
    from spiketune.network.spike_bits import PackedSpikes

    t = (torch.rand(shape) > 0.6).to(dtype)
    if channels_last:
        t = t.contiguous(memory_format=torch.channels_last)
    p = PackedSpikes.pack(t)
    assert p.bits.dtype == torch.uint8 and p.bits.numel() == math.ceil(t.numel() / 8)
    # one bit per spike, LSB first in memory order: the first byte by hand
    order = t.permute(0, 2, 3, 1).reshape(-1) if channels_last else t.reshape(-1)
    assert int(p.bits[0]) == sum(int(v) << i for i, v in enumerate(order[:8].tolist()))
    u = p.unpack()
    assert torch.equal(u, t) and u.dtype == dtype and u.stride() == t.stride()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_spikes_saved_as_bits_give_identical_gradients(precision, monkeypatch):
    from spiketune.network.spike_bits import PackedSpikes

    packed = []
    real_pack = PackedSpikes.pack.__func__
    monkeypatch.setattr(PackedSpikes, "pack", classmethod(
        lambda cls, t: packed.append((tuple(t.shape), t.dtype)) or real_pack(cls, t)))
    grads = {}
    for bits in (False, True):
        torch.manual_seed(1)
        net = models.build("8C3-MP2-12C3-MP2-20-10", (2, 14, 14), beta=0.5,
                           surrogate=sg.get("atan"), precision=precision)
        for blk in net.blocks:
            blk.spike_bits = bits
        x = torch.rand(6, 2, 14, 14) * 3
        out = net(x, num_steps=5)
        (out.sum(0) * torch.arange(10.0)).sum().backward()
        grads[bits] = [p.grad.clone() for p in net.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(grads[False], grads[True], strict=True))
    assert any(g.abs().sum() > 0 for g in grads[True][2:])  # the packed layers got gradient
    dt = torch.bfloat16 if precision == "bf16" else torch.float32
    # the spike inputs of blocks 1-3 (T*B = 30 samples), nothing else
    assert packed == [((30, 8, 6, 6), dt), ((30, 12 * 2 * 2), dt), ((30, 20), dt)]


TRITON_CHECK = """
import itertools, torch
from spiketune.network import neurons, surrogate as sg
from spiketune.network.kernels import triton_neuron as tn
from spiketune.network.neurons.single_state import _MultiStep
torch.manual_seed(0)
for kind, reset, sur, static in itertools.product(
        ["lif", "lapicque"], ["subtract", "zero", "none"],
        ["atan", "fast_sigmoid", "sigmoid", "spike_rate_escape", "straight_through", "triangular"],
        [False, True]):
    res = []
    x0 = (torch.rand(3, 4, 5, 5) if static else torch.rand(6, 3, 4, 5, 5)) * 1.5
    x0 = x0.contiguous(memory_format=torch.channels_last) if static else x0
    for fused in (True, False):
        n = neurons.make(kind, 0.7, 1.0, reset, sg.get(sur), False, False)
        n.surrogate.chi = sg.ChiCounter(0.1)
        a, b = n.coefficients()
        x = x0.clone().requires_grad_()
        seq = x.unsqueeze(0).expand(6, *x.shape) if static else x
        s = (tn.FusedMultiStep.apply(seq, a, b, n.threshold, n) if fused
             else _MultiStep.apply(x, a, b, n.threshold, n, 6 if static else None))
        s.backward(torch.linspace(-1, 1, s.numel()).view_as(s))
        res.append((s, x.grad, n.surrogate.chi.take()))
    (s1, g1, c1), (s2, g2, c2) = res
    assert torch.equal(s1, s2), (kind, reset, sur, static)
    # float32 rounding only (the interpreter's numpy exp is not torch's)
    assert (g1 - g2).abs().max() <= 1e-6 * g2.abs().max() + 1e-6, (kind, reset, sur, static)
    assert c1 == c2, (kind, reset, sur, static, c1, c2)
print("ok")
"""


def test_triton_kernels_match_the_torch_path_in_the_interpreter():
    """The GPU kernels, run by Triton's CPU interpreter: spikes, input gradients and chi
    counts equal to the torch path's (which the float64 tests check)."""
    pytest.importorskip("triton")
    import os

    env = {**os.environ, "TRITON_INTERPRET": "1"}
    r = subprocess.run([sys.executable, "-c", TRITON_CHECK], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


@pytest.mark.parametrize("bits", [False, True])
def test_hidden_float_spikes_are_freed_after_forward_when_kept_as_bits(bits):
    import gc
    import weakref

    net = models.build("8C3-MP2-12C3-MP2-20-10", (2, 14, 14), beta=0.5)
    refs = []
    for blk in net.blocks:
        blk.spike_bits = bits
        blk.neuron.register_forward_hook(lambda m, i, o: refs.append(weakref.ref(o)))
    out = net(torch.rand(3, 2, 14, 14), num_steps=4)
    gc.collect()
    alive = [r() is not None for r in refs]
    # block 1's spikes reach the linear through a channels-last flatten (a copy) either way
    assert alive == ([False, False, False, True] if bits else [True, False, True, True])
    out.sum().backward()
