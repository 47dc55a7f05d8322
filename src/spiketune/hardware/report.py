"""Write a hardware report (JSON, CSV, plot) for a trace folder."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..results import write_csv, write_json
from ..traces import read
from .config import HardwareConfig
from .simulate import HardwareReport, simulate


def cost(trace_dir: str | Path, hw: HardwareConfig | None = None,
         cores: list[int] | None = None, out_dir: str | Path | None = None) -> HardwareReport:
    """Simulate ``trace_dir``; with ``out_dir`` write hardware.json, hardware_layers.csv and
    hardware_cycles.png there."""
    hw = hw or HardwareConfig()
    rep = simulate(read(trace_dir), hw, cores)
    if out_dir is not None:
        from ..plots import hardware_cycles

        out = Path(out_dir)
        write_json(out / "hardware.json", {**rep.to_dict(), "config": hw.model_dump()})
        rows = [asdict(l) for l in rep.layers]
        write_csv(out / "hardware_layers.csv", rows)
        hardware_cycles(rows, out / "hardware_cycles.png",
                        title=f"Cycles per layer ({hw.mode} mode, {rep.latency_cycles:.0f} cycles/inference)")
    return rep
