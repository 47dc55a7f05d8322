"""Optional accelerator kernels; every one has a pure-torch fallback."""
