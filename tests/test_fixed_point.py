import numpy as np
import pytest

from spiketune import traces
from spiketune.explore.run import run
from spiketune.hardware import HardwareConfig
from spiketune.hardware import fixed_point as fp
from spiketune.traces import LayerSpec
from spiketune.training import config


def _float_lif(cur, beta, thr):
    mem = np.zeros(cur.shape[0])
    out = []
    for t in range(cur.shape[1]):
        r = mem > thr
        mem = beta * mem + cur[:, t] - r * thr
        out.append(mem > thr)
    return np.stack(out, 1)


@pytest.mark.parametrize("frac,tol", [(16, 1e-3), (24, 1e-5)])
def test_fixed_point_neuron_tracks_float64(frac, tol):
    rng = np.random.default_rng(0)
    cur = rng.normal(0.3, 0.6, size=(4000, 20))
    layer = LayerSpec("fc", (1,), (4000,), (4000,), beta=0.75, threshold=0.6)
    hw = HardwareConfig(membrane_frac_bits=frac, membrane_bits=48)
    got = fp.neuron_run(layer, fp._quant(cur, frac, 48)[:, :, None], hw)[:, :, 0]
    ref = _float_lif(np.round(cur * 2.0**frac) / 2.0**frac, 0.75, 0.6)
    assert ref.mean() > 0.1
    assert (got != ref).mean() <= tol


@pytest.fixture(scope="module")
def qat_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qat")
    cfg = config.from_dict({"model": {"weight_bits": 4}, "data": {"num_steps": 6},
                            "train": {"epochs": 4}})
    m = run(cfg, out, progress=False)
    return out, m


def test_quantised_network_runs_bit_exact_within_tolerance(qat_run):
    out, m = qat_run
    t = traces.read(out / "traces")
    mism = fp.check(t)
    assert len(mism) == 4
    for layer in mism:  # documented tolerance: 1e-3 of spike bits per layer
        assert layer.mismatch_rate <= 1e-3, layer
    counts, pred = fp.run_chained(t)
    assert (pred == t.predictions).mean() >= 0.99
    # the hardware figures of a quantised run come from the fixed-point events: its accuracy
    # is that of the fixed-point predictions, close to (not taken from) the float network's
    assert m["hardware"]["fixed_point"]["accuracy"] == (pred == t.labels).mean()
    assert m["hardware"]["fixed_point"]["accuracy"] == pytest.approx(m["test_accuracy"], abs=0.01)


def test_post_training_quantisation_is_reported_not_hidden(qat_run):
    out, _ = qat_run
    t = traces.read(out / "traces")
    coarse = fp.check(t, HardwareConfig(membrane_frac_bits=2))  # 2 fractional bits: visibly off
    assert max(m.mismatch_rate for m in coarse) > 1e-2
