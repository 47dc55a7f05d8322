import pytest
import snntorch.functional as SF
import torch

from spiketune.training.losses import ce_count_loss, mse_count_loss


def _spikes(seed, units):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(12, 6, units, generator=g) > 0.6).float(), torch.randint(0, 5, (6,), generator=g)


def test_ce_count_equals_snntorch():
    s, y = _spikes(0, 5)
    torch.testing.assert_close(ce_count_loss(s, y, 5), SF.ce_count_loss()(s, y))


@pytest.mark.parametrize("rates", [(1.0, 0.0), (0.8, 0.2)])
def test_mse_count_equals_snntorch(rates):
    s, y = _spikes(1, 5)
    torch.testing.assert_close(mse_count_loss(s, y, 5, *rates), SF.mse_count_loss(*rates)(s, y))


def test_mse_count_population_equals_snntorch():
    s, y = _spikes(2, 20)
    ref = SF.mse_count_loss(1.0, 0.0, population_code=True, num_classes=5)(s, y)
    torch.testing.assert_close(mse_count_loss(s, y, 5, 1.0, 0.0), ref)
