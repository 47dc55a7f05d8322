"""Figures of a sweep, chosen from the shape of each grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spiketune import schema
from spiketune.reporting import plots


def sweep_figures(grid_rows: list[tuple[dict[str, list], list[dict[str, Any]]]],
                  out_dir: str | Path) -> list[Path]:
    """For each (grid, its finished rows): slope curves when the grid varies the slope,
    beta x threshold heatmaps when it varies both."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i, (grid, rows) in enumerate(grid_rows):
        if not rows:
            continue
        if "model.slope" in grid and len(grid["model.slope"]) > 1:
            made.append(plots.slope_curves(rows, out / f"grid{i}_slope_fps_per_w.png", schema.FPS_PER_W))
            made.append(plots.slope_curves(rows, out / f"grid{i}_slope_latency.png", schema.LATENCY_CYCLES))
        if "model.beta" in grid and "model.threshold" in grid and (picked := schema.tuned_point(rows)):
            best, tuned = picked
            made.append(plots.beta_threshold_heatmaps(rows, out / f"grid{i}_beta_threshold.png",
                                                      chosen=tuned, best=best))
    return made
