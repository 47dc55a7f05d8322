"""Cost a trace folder on the configured accelerator; write hardware.json and the per-layer CSV."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from pydantic import BaseModel

from ..errors import ConfigError
from ..results import write_csv, write_json
from ..traces import Traces, read
from . import as_built
from . import fixed_point as fp
from .base import CostReport
from .config import HardwareConfig
from .registry import design


def cost(trace_dir: str | Path, hw: BaseModel | None = None,
         cores: list[int] | None = None, out_dir: str | Path | None = None,
         fixed_point: bool | None = None, neuron_math: str = "trained",
         wiring: str = "as_built") -> CostReport:
    """Cost ``trace_dir`` on the design ``hw.kind``; with ``out_dir`` write hardware.json and
    hardware_layers.csv there (the figure is drawn by :func:`spiketune.plots.hardware_cycles`).

    ``fixed_point`` (default: when the network was trained with quantised weights) takes the
    event counts from the bit-exact fixed-point run and records its per-layer mismatch.
    ``neuron_math="hardware"`` costs the spikes of the ISPASS build's own neuron arithmetic
    instead (:mod:`.as_built`; ``wiring``: weight layout and spike index as built or as
    intended) and records their accuracy, per-layer divergence from the trained spikes and
    the latency with the trained spikes.
    """
    if neuron_math not in ("trained", "hardware"):
        raise ConfigError(f"neuron_math must be 'trained' or 'hardware', got {neuron_math!r}")
    hw = hw or HardwareConfig()
    traces = read(trace_dir)
    if fixed_point is None:
        fixed_point = any(layer.weight_bits for layer in traces.layers) and traces.bits(0) is not None
    extra = None
    if fixed_point:
        if not isinstance(hw, HardwareConfig):
            raise ConfigError(f"the fixed-point run reads the SNN-DSE membrane format, which a "
                              f"{type(hw).__name__} does not define")
        mismatch = fp.check(traces, hw)
        counts, pred = fp.run_chained(traces, hw)
        traces = replace(traces, counts=counts, labels=traces.labels[: len(pred)],
                         predictions=pred)
        extra = {"accuracy": float((pred == traces.labels).mean()),
                 "layers": [asdict(m) for m in mismatch]}
    kind = getattr(hw, "kind", None)  # every design's Config names its design (registry.py)
    if not isinstance(kind, str):
        raise ConfigError(f"a {type(hw).__name__} has no 'kind' naming its accelerator design")
    rep = design(kind)(hw).cost(traces, cores)
    rep.fixed_point = extra
    if neuron_math == "hardware":
        rep = _on_hardware_math(traces, hw, rep, wiring)
    if out_dir is not None:
        out = Path(out_dir)
        write_json(out / "hardware.json", rep.to_dict())
        write_csv(out / "hardware_layers.csv",
                  [{k: v for k, v in layer.to_dict().items() if k != "breakdown"} for layer in rep.layers])
    return rep


def _on_hardware_math(traces: Traces, hw: BaseModel, trained: CostReport, wiring: str) -> CostReport:
    """Re-cost with the spikes the build's neuron arithmetic produces (same cores)."""
    if not isinstance(hw, HardwareConfig):
        raise ConfigError(f"the hardware neuron arithmetic is the SNN-DSE build's; a {type(hw).__name__} "
                          f"does not define it")
    cores = [layer.cores for layer in trained.layers]
    spikes, pred = as_built.run(traces, hw.weight_bits, cores, wiring)  # type: ignore[arg-type]
    n = len(pred)
    if n < traces.num_samples:  # the trained latency over the same samples
        trained = design(hw.kind)(hw).cost(replace(traces, counts=[c[:n] for c in traces.counts],
                                                   labels=traces.labels[:n],
                                                   predictions=traces.predictions[:n]), cores)
    diverge = as_built.divergence(traces, spikes)
    labels = traces.labels[:n]
    hw_traces = replace(traces, counts=as_built.counts(spikes), labels=labels, predictions=pred)
    rep = design(hw.kind)(hw).cost(hw_traces, cores)
    rep.fixed_point = trained.fixed_point
    rep.neuron_math = {
        "arithmetic": "hardware", "build": "SNN-DSE 1d52c17 ispass_sim", "wiring": wiring,
        "accuracy": float((pred == labels).mean()),
        "accuracy_trained": float((traces.predictions[:n] == labels).mean()),
        "latency_cycles_trained": trained.latency_cycles, "latency_us_trained": trained.latency_us,
        "layers": diverge}
    return rep
