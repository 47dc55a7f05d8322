"""spiketune: which SNN training choices give a network that is both accurate and
cheap to run on a sparsity-aware accelerator."""

__version__ = "0.1.0"
