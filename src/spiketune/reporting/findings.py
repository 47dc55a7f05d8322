"""The report's findings section: the verdict table (with the seeds a conclusive verdict would
need) and the effects with their 95% confidence intervals as error bars."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from spiketune import schema
from spiketune.reporting.errorbars import finding_effects
from spiketune.reporting.report import Section

VERDICT_TABLE = "Verdicts"  # the table's caption
EFFECTS_FIGURE = "finding effects with 95% confidence intervals (error bars)"


def _effect(metric: str | None, value: Any) -> str:
    if not isinstance(value, (int, float)) or math.isnan(value):
        return ""
    m = schema.METRICS.get(metric or "")
    if m is None:
        return f"{value:+.3g}"
    if m.percent:
        return f"{100 * value:+.2f} pts"
    return f"{value:+,.0f} {m.unit}" if abs(value) >= 1000 else f"{value:+.4g} {m.unit}"


def _number(value: Any, fmt: str) -> str:
    return "" if not isinstance(value, (int, float)) or math.isnan(value) else f"{value:{fmt}}"


def verdict_rows(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One display row per finding; findings without a test (older reports) keep their fields."""
    rows = []
    for f in findings:
        if "verdict" not in f:
            rows.append(f)
            continue
        m = f.get("metric")
        needed = f.get("seeds_needed")
        rows.append({"study": f["study"], "finding": f["finding"], "verdict": f["verdict"],
                     "effect": _effect(m, f["effect"]),
                     "95% CI": (f"{_effect(m, f['ci_low'])} to {_effect(m, f['ci_high'])}"
                                if _effect(m, f["ci_low"]) else ""),
                     "effect size (d)": _number(f.get("effect_size"), "+.2f"),
                     "p": _number(f.get("p_value"), ".3g"), "n": f.get("n"), "test": f.get("test"),
                     "seeds needed (80% power)": "not settleable" if needed is None else needed,
                     "measured": f.get("measured", ""), "note": f.get("note", "")})
    return rows


def findings_section(findings: list[dict[str, Any]], files: Path) -> Section:
    """The section that opens a reproduction's report."""
    tested = [f for f in findings if "verdict" in f]
    text = ("Each finding is tested on the replicates: reproduced when the 95% confidence interval of "
            "the effect lies on the study's side of zero, contradicted when it lies on the other side, "
            "inconclusive otherwise (and whenever a compared run is degenerate: a silent layer or "
            "chance accuracy). 'Seeds needed' is the number of replicates at which the same test "
            "reaches 80% power if the observed effect and spread are the truth.")
    images = []
    if any(f.get("baseline") for f in tested):
        images.append((EFFECTS_FIGURE, finding_effects(tested, files / "finding_effects.png")))
    return Section("Study findings tested", text if tested else "", images=images,
                   tables=[(VERDICT_TABLE, verdict_rows(findings))])


def replicates_section(summary: list[dict[str, Any]]) -> Section:
    """Per configuration: the varied settings and each shown metric as mean +- sd with its 95% CI."""
    stats_suffix = (".sd", ".ci_low", ".ci_high")
    settings = [k for k in summary[0] if "." in k and not k.startswith(schema.LAYER_RATE_PREFIX)
                and not k.endswith(stats_suffix) and len({str(s.get(k)) for s in summary}) > 1]
    rows = []
    for s in summary:
        row: dict[str, Any] = {k: s.get(k) for k in settings}
        row["n"] = s.get("n")
        for m in (schema.TEST_ACCURACY, schema.FIRING_RATE, schema.LATENCY_CYCLES, schema.FPS_PER_W):
            if s.get(m.name) is None:
                continue
            mean, sd = m.scaled(s[m.name]), m.scaled(s.get(f"{m.name}.sd", math.nan))
            low = m.scaled(s.get(f"{m.name}.ci_low", math.nan))
            high = m.scaled(s.get(f"{m.name}.ci_high", math.nan))
            fmt = m.fmt
            row[m.axis_label] = (f"{mean:{fmt}} ± {sd:{fmt}} [{low:{fmt}}, {high:{fmt}}]"
                                 if not math.isnan(sd) else f"{mean:{fmt}}")
        rows.append(row)
    return Section("Replicates", "Mean ± standard deviation [95% confidence interval] over the seeds of "
                   "each configuration (results_summary.csv); the per-seed rows are in results.csv.",
                   tables=[("replicate summary", rows)])
