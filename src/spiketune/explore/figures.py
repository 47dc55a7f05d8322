"""Figures of a sweep, chosen from the shape of each grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spiketune import schema
from spiketune.reporting import plots


def hardware_caption(hardware: Any, rows: list[dict[str, Any]]) -> str:
    """'snn_dse ideal, sequential, 120 cores' from a hardware config and the rows' core counts."""
    cores = sorted({int(r[schema.TOTAL_CORES.name]) for r in rows
                    if r.get(schema.TOTAL_CORES.name) not in (None, "")})
    text = " ".join(str(getattr(hardware, k, "")) for k in ("kind", "mode")) + \
        f", {getattr(hardware, 'pipeline', '')}"
    return text + (f", {'/'.join(map(str, cores))} cores" if cores else "")


def sweep_figures(grid_rows: list[tuple[dict[str, list], list[dict[str, Any]]]],
                  out_dir: str | Path, hardware: Any = None,
                  include_degenerate: bool = False) -> list[Path]:
    """For each (grid, its finished rows): slope curves when the grid varies the slope,
    beta x threshold heatmaps when it varies both. A grid that also varies the seed draws
    the mean of its seeds; the tuned point leaves degenerate runs out unless
    ``include_degenerate``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i, (grid, rows) in enumerate(grid_rows):
        if not rows:
            continue
        caption = plots.run_caption(rows, hardware_caption(hardware, rows) if hardware is not None else "")
        if "model.slope" in grid and len(grid["model.slope"]) > 1:
            made.append(plots.slope_curves(rows, out / f"grid{i}_slope_fps_per_w.png", schema.FPS_PER_W,
                                           caption))
            made.append(plots.slope_curves(rows, out / f"grid{i}_slope_latency.png", schema.LATENCY_CYCLES,
                                           caption))
        if "model.beta" in grid and "model.threshold" in grid:
            picked = schema.tuned_point(rows, include_degenerate=include_degenerate)
            best, tuned = picked if picked else (None, None)
            made.append(plots.beta_threshold_heatmaps(rows, out / f"grid{i}_beta_threshold.png",
                                                      chosen=tuned, best=best, caption=caption))
    return made
