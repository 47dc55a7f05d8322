"""Accelerator plug-ins: registry, config kinds, CostReport, and the hybrid design."""

import json
from pathlib import Path

import numpy as np
import pytest

from spiketune import traces
from spiketune.errors import ConfigError
from spiketune.hardware import CostReport, HardwareConfig, build, from_dict, simulate
from spiketune.hardware.hybrid.dense import dense_cycles
from spiketune.traces import LayerSpec

DATA = Path(__file__).parent / "data"


def test_dense_core_matches_cycles_simulated_from_the_rtl():
    cases = json.loads((DATA / "rtl_dense_cycles.json").read_text())["cases"]
    assert len(cases) >= 40
    for c in cases:
        assert dense_cycles(c["T"], c["IC"], c["OC"], c["W"] ** 2, 3, c["R"]) == c["rtl"]["done"], c


def _net(encoding="direct"):
    layers = [LayerSpec("conv", (3, 8, 8), (4, 6, 6), (4, 3, 3), kernel=3, pool=("max", 2)),
              LayerSpec("fc", (4, 3, 3), (10,), (10,))]
    rng = np.random.default_rng(0)
    counts = [rng.integers(0, 64, (5, 3, 3)), rng.integers(0, 9, (5, 3, 4)), rng.integers(0, 3, (5, 3, 10))]
    return traces.Traces(Path("."), 3, encoding, (3, 8, 8), layers, counts, np.zeros(5), np.zeros(5))


def test_kind_picks_the_design_and_defaults_to_snn_dse():
    assert from_dict({}).kind == "snn_dse" and isinstance(from_dict({"mode": "rtl"}), HardwareConfig)
    assert type(build(from_dict({"kind": "hybrid"}))).__name__ == "Hybrid"
    with pytest.raises(ConfigError, match="unknown accelerator kind 'systolic'"):
        from_dict({"kind": "systolic"})
    with pytest.raises(ConfigError, match="dense_rows"):
        from_dict({"dense_rows": 2})  # a hybrid field is not an snn_dse field


def test_hybrid_costs_layer_zero_on_the_dense_core_and_the_rest_as_snn_dse():
    t = _net()
    sparse = simulate(t, HardwareConfig())
    hyb = build(from_dict({"kind": "hybrid"})).cost(t)
    assert isinstance(hyb, CostReport) and hyb.accelerator == "hybrid"
    # hand: 1 + 4 passes * 3 steps * (64 pixels + 27 + 2) = 1117
    assert hyb.layers[0].latency_cycles == 1117 and hyb.layers[0].unit == "dense conv"
    assert hyb.layers[1].latency_cycles == sparse.layers[1].latency_cycles
    assert hyb.latency_cycles == 1117 + sparse.layers[1].latency_cycles
    assert any("hybrid" in w for w in sparse.warnings)  # direct input on the sparse design
    assert not any("hybrid" in w for w in simulate(_net("rate"), HardwareConfig()).warnings)


def test_cost_report_keeps_the_earlier_hardware_json_keys():
    d = simulate(_net(), HardwareConfig()).to_dict()
    for k in ("latency_cycles", "fps", "power_w", "fps_per_w", "energy_per_inference_uj", "total_cores"):
        assert k in d
    for k in ("name", "cores", "groups", "latency_cycles", "accumulate_cycles", "activate_cycles",
              "core_utilisation", "input_events_per_inference", "dropped_events"):
        assert k in d["layers"][0]
    assert d["config"]["kind"] == "snn_dse"


def test_sweep_identity_of_a_config_without_new_fields_is_unchanged():
    # the field set of the original format, in its original defaults
    old = {"clock_mhz": 200.0, "mode": "ideal", "pipeline": "sequential", "cores": None,
           "conv_cores": "per_channel", "fc_cores": 50, "core_budget": None, "penc_chunks": 4,
           "kernel_cycles_per_tap": 1, "activation_cycles_per_neuron": {"lif": 1, "lapicque": 1},
           "weight_bits": 4, "membrane_bits": 32, "membrane_frac_bits": 16, "bram_kbits": 36,
           "bram_count": 1080, "power": {"static_w": 0.6, "core_static_mw": 0.4, "accumulate_pj": 2.0,
                                         "update_pj": {"lif": 3.0, "lapicque": 10.0}, "ecu_cycle_pj": 1.0}}
    assert HardwareConfig().identity() == old
    assert "kind" in from_dict({"kind": "hybrid"}).identity()


def test_default_fc_cores_divide_the_neurons():
    layers = [LayerSpec("fc", (64,), (256,), (256,)), LayerSpec("fc", (256,), (10,), (10,))]
    counts = [np.ones((1, 2, 64), int), np.ones((1, 2, 256), int), np.ones((1, 2, 10), int)]
    t = traces.Traces(Path("."), 2, "rate", (64,), layers, counts, np.zeros(1), np.zeros(1))
    assert [layer.cores for layer in simulate(t, HardwareConfig()).layers] == [32, 10]
    assert [layer.cores for layer in simulate(t, HardwareConfig(core_counts="ideal")).layers] == [50, 10]
