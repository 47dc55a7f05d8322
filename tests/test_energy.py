"""Literature energy estimators: hand-computed layers and SpikingJelly 2.0's Lemaire model."""

from __future__ import annotations

import pytest

from spiketune.measure.energy import (
    LayerWork,
    LemaireCosts,
    compute_only_pj,
    estimate,
    layer_work,
    lemaire_ann,
    lemaire_snn,
)
from spiketune.traces import LayerSpec

# Two FC layers, T = 2 steps, LIF neurons; per inference: layer 0 sees 5 input events
# (15 synaptic operations into 3 neurons) and fires 2 spikes; layer 1 sees them (2 x 2 = 4
# synaptic operations) and fires 1 spike.
NET = [LayerWork("fc", 4, 4, 3, 3, 1, dense_synapses=12, params=15, input_events=5, synops=15, spikes=2),
       LayerWork("fc", 3, 3, 2, 2, 1, dense_synapses=6, params=8, input_events=2, synops=4, spikes=1)]


def test_compute_only_by_hand():
    assert f"{compute_only_pj(NET):.12g}" == "17.1"  # (15 + 4) ACs x 0.9 pJ
    analog = [LayerWork(**{**NET[0].__dict__, "analog_input": True}), NET[1]]
    assert f"{compute_only_pj(analog):.12g}" == "72.6"  # 15 MACs x 4.6 + 4 ACs x 0.9


def test_sram_word_energy_interpolates_horowitz_points():
    c = LemaireCosts()
    assert c.word_pj(8192) == 10.0 and c.word_pj(32768) == 20.0 and c.word_pj(2**20) == 100.0
    assert c.word_pj(60) == 600 / 8192 and c.word_pj(20480) == 15.0 and c.word_pj(2**30) == 100.0


def test_lemaire_snn_by_hand():
    # Word access energy (pJ) in a memory of m bytes <= 8 KiB: 10 * m / 8192.
    # Layer 0: params 15 words (60 B): 75/1024; potentials 3 words: 15/1024; FIFO 4000 B: 4.8828125.
    #  ops   = 0.1*(15 synops + 2*3 bias) + 3.2*(2*3 leaks) + 0.1*2 resets      = 21.5
    #  addr  = 0.1*15                                                           = 1.5
    #  mem   = 15*75/1024 (weights) + 6*75/1024 (biases) + 2*(15+6)*15/1024 (potentials)
    #          + (5 + 2)*4.8828125 (FIFO in/out)                                 = 36.3330078125
    # Layer 1: params 8 words: 0.0390625; potentials 2 words: 0.009765625.
    #  ops = 0.1*(4+4) + 3.2*4 + 0.1*1 = 13.7; addr = 0.4;
    #  mem = 4*0.0390625 + 4*0.0390625 + 2*8*0.009765625 + 3*4.8828125        = 15.1171875
    b = lemaire_snn(NET, num_steps=2)
    assert f"{b.ops:.12g}" == "35.2" and f"{b.addressing:.12g}" == "1.9"
    assert b.weights == 1125 / 1024 + 0.15625 and b.io == 10 * 4.8828125
    assert f"{b.total:.12g}" == "88.5501953125"


def test_lemaire_ann_by_hand():
    # Layer 0: 12 MACs x 3.2 + 3 bias adds x 0.1 = 38.7; addressing 4*3 x 0.1 = 1.2;
    #  weights 12*75/1024, biases 3*75/1024, inputs 4 x 10*16/8192, outputs 3 x 10*12/8192.
    # Layer 1: 6 x 3.2 + 2 x 0.1 = 19.4; addressing 0.6; weights 6*0.0390625,
    #  biases 2*0.0390625, inputs 3 x 10*12/8192, outputs 2 x 10*8/8192.
    b = lemaire_ann(NET)
    assert f"{b.ops:.12g}" == "58.1" and f"{b.addressing:.12g}" == "1.8"
    assert f"{b.total:.12g}" == "61.4966796875"


def test_estimate_reports_microjoules_and_sources():
    e = estimate(NET, 2)
    assert f"{e['compute_only_uj'] * 1e6:.12g}" == "17.1"
    assert f"{e['lemaire_snn_uj'] * 1e6:.12g}" == "88.5501953125"
    assert "Horowitz" in e["sources"]["compute_only"]["source"]


def test_layer_work_exact_dense_synapses_of_a_padded_conv():
    # 3x3 input, 3x3 kernel, padding 1: each axis position drives 2, 3, 2 taps -> 7 x 7 = 49
    # synapses per output channel (the paper's Cout*H*W*Cin*K^2 would say 81).
    spec = LayerSpec("conv", (1, 3, 3), (2, 3, 3), (2, 3, 3), kernel=3, padding=1, beta=1.0)
    prof = {"num_samples": 2, "layers": [{"input_events": 8, "synops": 60, "spikes": 6}]}
    (w,) = layer_work([spec], prof, analog_input=True)
    assert (w.dense_synapses, w.params, w.outputs, w.inputs) == (98, 2 * 10, 18, 9)
    assert (w.input_events, w.synops, w.spikes, w.analog_input, w.leak) == (4, 30, 3, True, False)


def _spikingjelly_run(analog: bool):
    """A 2-layer FC LIF network in SpikingJelly, stepped T times in single-step mode; returns
    SpikingJelly's Lemaire report and the event counts its hooks saw."""
    sj = pytest.importorskip("spikingjelly.activation_based.op_counter.analytical_energy")
    import torch
    from spikingjelly.activation_based import neuron
    from torch import nn

    torch.manual_seed(0)
    t, nin = 6, 20
    fc1, fc2 = nn.Linear(nin, 8), nn.Linear(8, 5)
    lif1, lif2 = neuron.LIFNode(tau=2.0), neuron.LIFNode(tau=2.0)
    with torch.no_grad():
        fc1.weight.uniform_(0.0, 0.4)
        fc2.weight.uniform_(0.0, 0.8)
    x = torch.rand(t, 1, nin) if analog else (torch.rand(t, 1, nin) < 0.3).float()

    class Stepped(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.lif1, self.fc2, self.lif2 = fc1, lif1, fc2, lif2

        def forward(self, seq):
            return torch.stack([self.lif2(self.fc2(self.lif1(self.fc1(xt)))) for xt in seq])

    model = Stepped()
    seen: dict[str, float] = {"in0": 0, "s1": 0, "s2": 0}
    hooks = [lif1.register_forward_hook(lambda m, i, o: seen.__setitem__("s1", seen["s1"] + float(o.sum()))),
             lif2.register_forward_hook(lambda m, i, o: seen.__setitem__("s2", seen["s2"] + float(o.sum())))]
    report = sj.estimate_lemaire_energy(model, (x,))
    for h in hooks:
        h.remove()
    seen["in0"] = float((x != 0).sum())
    return report, seen, t, nin


@pytest.mark.parametrize("analog", [False, True])
def test_lemaire_snn_matches_spikingjelly(analog):
    report, seen, t, nin = _spikingjelly_run(analog)
    ours = lemaire_snn([
        LayerWork("fc", nin, nin, 8, 8, 1, dense_synapses=nin * 8, params=8 * (nin + 1),
                  input_events=seen["in0"], synops=seen["in0"] * 8, spikes=seen["s1"], analog_input=analog),
        LayerWork("fc", 8, 8, 5, 5, 1, dense_synapses=40, params=5 * 9,
                  input_events=seen["s1"], synops=seen["s1"] * 5, spikes=seen["s2"])], num_steps=t)
    assert seen["s1"] > 0 and seen["s2"] > 0  # both layers are exercised
    # The one difference: an analog-fed FC layer's dense addressing. SpikingJelly counts
    # Nin + Nout address additions per pass; the authors' code (Eq. 17.1) counts Nin * Nout.
    extra = t * (nin * 8 - nin - 8) * LemaireCosts().add_pj if analog else 0.0
    assert ours.total == pytest.approx(report.total_pj + extra, rel=1e-12)
    assert ours.potentials == pytest.approx(report.breakdown_pj["potential_pj"], rel=1e-12)
    assert ours.weights + ours.biases == pytest.approx(report.breakdown_pj["params_pj"], rel=1e-12)
    assert ours.io == pytest.approx(report.breakdown_pj["inout_pj"], rel=1e-12)


def _fake_run(folder, synops, snn_uj, accel_uj, latency):
    """A run folder whose metrics.json holds given estimates (as run.py writes them)."""
    import json

    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({
        "test_accuracy": 0.9, "profile": {"synops": synops * 10, "num_samples": 10},
        "hardware": {"latency_cycles": latency, "power_w": 1.0, "latency_us": accel_uj},
        "energy": {"compute_only_uj": synops * 0.9e-6, "lemaire_snn_uj": snn_uj, "lemaire_ann_uj": 5.0,
                   "accelerator_modelled_uj": accel_uj}}))


def test_energy_table_ranks_and_misordered_pairs(tmp_path):
    from spiketune.explore.energy_table import build

    # accelerator energy order: a < b < c < d; synops order: a < c < b < d (b, c swapped)
    for name, syn, snn, acc, lat in [("a", 10, 1.0, 1.0, 100), ("b", 30, 2.0, 2.0, 200),
                                     ("c", 20, 3.0, 3.0, 300), ("d", 40, 4.0, 4.0, 400)]:
        _fake_run(tmp_path / "runs" / name, syn, snn, acc, lat)
    t = build([tmp_path])
    assert [r["run"] for r in t.rows] == ["a", "b", "c", "d"]
    # rank differences d = (0, 1, -1, 0): rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert t.spearman["synops"]["accelerator_modelled_uj"] == pytest.approx(0.8)
    assert t.misordered["synops"] == [("b", "c")] and t.misordered["lemaire_snn_uj"] == []
    assert t.spearman["lemaire_snn_uj"]["latency_cycles"] == pytest.approx(1.0)
    ann_rho = t.spearman["lemaire_ann_uj"]["latency_cycles"]
    assert ann_rho != ann_rho  # NaN


def test_energy_table_needs_two_runs(tmp_path):
    from spiketune.errors import SpiketuneError
    from spiketune.explore.energy_table import build

    _fake_run(tmp_path / "runs" / "a", 10, 1.0, 1.0, 100)
    with pytest.raises(SpiketuneError, match="at least 2 finished runs"):
        build([tmp_path])


def test_energy_command(tmp_path):
    from typer.testing import CliRunner

    from spiketune.cli import app

    for name, syn, acc in [("a", 10, 1.0), ("b", 20, 2.0)]:
        _fake_run(tmp_path / "runs" / name, syn, acc, acc, 100 * acc)
    r = CliRunner().invoke(app, ["energy", str(tmp_path), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "Spearman" in r.output and (tmp_path / "energy.csv").is_file()
    r = CliRunner().invoke(app, ["energy", str(tmp_path / "runs" / "a")])
    assert r.exit_code == 2 and "at least 2 finished runs" in r.output
