"""The SNN-DSE neural cores' arithmetic against recorded Icarus runs of the RTL cores
(tests/data/rtl_nc_cases.json, written by benchmarks/rtl_nc_crosscheck.py) and hand cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spiketune.hardware.snn_dse import neuron_math as nm

CASES = json.loads((Path(__file__).parent / "data" / "rtl_nc_cases.json").read_text())["cases"]


def _core(c: dict) -> nm.CoreParams:
    return nm.CoreParams(lapicque=bool(c["NEURON_TYPE"]), beta=c["BETA"], threshold=c["THR"],
                         w_scale=c["WS"], b_scale=c["BS"])


@pytest.mark.parametrize("i", [i for i, c in enumerate(CASES) if c["kind"] == "conv"])
def test_conv_core_matches_rtl(i: int) -> None:
    c = CASES[i]
    out = nm.conv_core(np.array(c["spikes_in"], bool), np.array(c["weights"]), c["bias"], _core(c))
    assert out.reshape(c["T"], -1).tolist() == c["rtl"]


@pytest.mark.parametrize("i", [i for i, c in enumerate(CASES) if c["kind"] == "fc"])
def test_fc_core_matches_rtl(i: int) -> None:
    c = CASES[i]
    out = nm.fc_core(np.array(c["spikes_in"], bool), np.array(c["memory"]), c["N"], _core(c))
    assert out.ravel().tolist() == c["rtl"]


def test_recorded_cases_spike() -> None:
    assert sum(np.sum(c["rtl"]) for c in CASES) > 100  # the cases exercise firing neurons


def test_conv_core_by_hand() -> None:
    # centre spike on a 3x3 map: tap k hits neuron 8-k; tap 0's event only wakes the core;
    # event k is written with tap k+1's weight (k+1), the last with tap 0's (0): P[8-k] = k+1
    core = nm.CoreParams(lapicque=True, beta=0.25, threshold=1.5, w_scale=1.0, b_scale=1.0)
    spikes = np.zeros((1, 1, 3, 3), bool)
    spikes[0, 0, 1, 1] = True
    out = nm.conv_core(spikes, np.arange(9).reshape(1, 3, 3), 0, core)
    # U = 0.25 * P: neuron 1 -> 2.0, neuron 2 -> 1.75, neuron 3 -> 1.5 (not above)
    assert np.flatnonzero(out).tolist() == [1, 2]
    assert (core.gain, core.decay) == (0.25, 0.75)


def test_fc_needs_two_spikes_to_wake() -> None:
    core = nm.CoreParams(lapicque=False, beta=0.5, threshold=0.5, w_scale=1.0, b_scale=1.0)
    mem = np.array([5, 5, 5, 5, 1, 1, 1, 1])  # group 0 weights, then the word read as its bias
    one = np.array([[1, 0, 0, 0]], bool)
    two = np.array([[1, 1, 0, 0]], bool)
    assert nm.fc_core(one, mem, 1, core).tolist() == [[0]]  # never activated: holds 0
    assert nm.fc_core(two, mem, 1, core).tolist() == [[1]]  # bias word 1 > 0.5, no weight added
