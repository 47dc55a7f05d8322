import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def tiny_cfg():
    """A fast digits config for end-to-end tests."""
    from spiketune.training import config

    return config.from_dict({"data": {"num_steps": 4, "batch_size": 128},
                             "train": {"epochs": 2}})
