"""Write a hardware report (JSON, CSV) for a trace folder."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from ..results import write_csv, write_json
from ..traces import read
from . import fixed_point as fp
from .config import HardwareConfig
from .simulate import HardwareReport, simulate


def cost(trace_dir: str | Path, hw: HardwareConfig | None = None,
         cores: list[int] | None = None, out_dir: str | Path | None = None,
         fixed_point: bool | None = None) -> HardwareReport:
    """Simulate ``trace_dir``; with ``out_dir`` write hardware.json and hardware_layers.csv there.

    ``fixed_point`` (default: when the network was trained with quantised weights) takes the
    event counts from the bit-exact fixed-point run and records its per-layer mismatch.
    """
    hw = hw or HardwareConfig()
    traces = read(trace_dir)
    if fixed_point is None:
        fixed_point = any(l.weight_bits for l in traces.layers) and traces.bits(0) is not None
    extra: dict = {}
    if fixed_point:
        mismatch = fp.check(traces, hw)
        counts, pred = fp.run_chained(traces, hw)
        traces = replace(traces, counts=counts, labels=traces.labels[: len(pred)],
                         predictions=pred)
        extra["fixed_point"] = {"accuracy": float((pred == traces.labels).mean()),
                                "layers": [asdict(m) for m in mismatch]}
    rep = simulate(traces, hw, cores)
    rep.fixed_point = extra.get("fixed_point")
    if out_dir is not None:
        out = Path(out_dir)
        write_json(out / "hardware.json", {**rep.to_dict(), "config": hw.model_dump()})
        rows = [asdict(l) for l in rep.layers]
        write_csv(out / "hardware_layers.csv", rows)
    return rep
