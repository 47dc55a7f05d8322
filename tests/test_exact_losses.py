"""Count losses and decoding against hand-computed values."""

import math

import pytest
import torch

from spiketune.network import models
from spiketune.training.losses import ce_count_loss, class_counts, mse_count_loss

# T = 3 steps, B = 2 samples, 2 classes x population 2 (units [c0, c0, c1, c1])
SPIKES = torch.tensor([
    [[1, 0, 0, 1], [0, 0, 1, 1]],
    [[1, 1, 0, 0], [0, 0, 1, 0]],
    [[0, 1, 0, 0], [1, 0, 0, 1]],
], dtype=torch.float64)
TARGETS = torch.tensor([0, 1])


def test_class_counts_sum_time_and_contiguous_population():
    # sample 0: units count [2, 2, 0, 1] -> classes [4, 1]; sample 1: [1, 0, 2, 2] -> [1, 4]
    assert class_counts(SPIKES, 2).tolist() == [[4.0, 1.0], [1.0, 4.0]]


def test_ce_count_loss_by_hand():
    # both samples: log-softmax of the right class = 4 - log(e^4 + e^1)
    want = -(4 - math.log(math.exp(4) + math.exp(1)))
    assert float(ce_count_loss(SPIKES, TARGETS, 2)) == pytest.approx(want, rel=1e-12)
    wrong = -(1 - math.log(math.exp(4) + math.exp(1)))
    assert float(ce_count_loss(SPIKES, 1 - TARGETS, 2)) == pytest.approx(wrong, rel=1e-12)


def test_mse_count_loss_by_hand():
    # correct 1.0, incorrect 0.0: targets on = int(3*1*2) = 6, off = 0
    # sample 0: (4-6)^2 + (1-0)^2 = 5; sample 1: (1-0)^2 + (4-6)^2 = 5; mean over 4 = 2.5; / T = 5/6
    assert float(mse_count_loss(SPIKES, TARGETS, 2)) == pytest.approx(2.5 / 3, rel=1e-12)


def test_mse_count_loss_truncates_target_counts():
    # on = int(3*0.7*2) = int(4.2) = 4, off = int(3*0.3*2) = int(1.8) = 1
    # sample 0: (4-4)^2 + (1-1)^2 = 0; sample 1: (1-1)^2 + (4-4)^2 = 0
    assert float(mse_count_loss(SPIKES, TARGETS, 2, 0.7, 0.3)) == 0.0
    # swapped targets: every class off by 3 -> 4 terms of 9, mean 9, / T = 3
    assert float(mse_count_loss(SPIKES, 1 - TARGETS, 2, 0.7, 0.3)) == pytest.approx(3.0, rel=1e-12)


def test_decode_sums_time_and_population():
    m = models.build("4", (3,), num_classes=2)
    assert m.pop_size == 2
    assert m.decode(SPIKES).tolist() == [[4.0, 1.0], [1.0, 4.0]]
