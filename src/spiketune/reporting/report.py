"""Self-contained HTML and Markdown reports of a run, sweep, search or reproduction.

``build(RESULTS_DIR)`` writes ``report.html`` (images embedded as data URIs, so the file
stands alone) and ``report.md`` (images linked from ``report_files/``).
"""

from __future__ import annotations

import base64
import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spiketune import schema
from spiketune.reporting import plots
from spiketune.results import write_text

SETTINGS = ("run", "model.surrogate", "model.slope", "model.neuron", "model.beta", "model.threshold")
SHOWN = (schema.TEST_ACCURACY, schema.FIRING_RATE, schema.CHI, schema.LATENCY_CYCLES, schema.FPS,
         schema.POWER_W, schema.FPS_PER_W)  # the metrics of the report's tables and run summary
COLUMNS = SETTINGS + tuple(m.name for m in SHOWN)


@dataclass
class Section:
    title: str
    text: str = ""
    images: list[tuple[str, Path]] = field(default_factory=list)
    tables: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return "" if v is None else str(v)


def _load(p: Path) -> Any:
    return json.loads(p.read_text()) if p.is_file() else None


def tuned_vs_best(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The tuned point (:func:`spiketune.schema.tuned_point`: lowest latency near the best
    accuracy) compared with the best-accuracy run; None with fewer than two costed runs."""
    lat, acc, eff = schema.LATENCY_CYCLES.name, schema.TEST_ACCURACY.name, schema.FPS_PER_W.name
    picked = schema.tuned_point(rows)
    if picked is None or sum(r.get(lat) is not None for r in rows) < 2:
        return None
    best, tuned = picked
    return {"best": best, "tuned": tuned,
            "latency_reduction": 1 - tuned[lat] / best[lat],
            "accuracy_cost": best[acc] - tuned[acc],
            "fps_per_w_gain": tuned[eff] / best[eff]}


def _layer_rates(row: dict[str, Any]) -> list[tuple[str, float]]:
    return [(k[len(schema.LAYER_RATE_PREFIX):], float(v)) for k, v in row.items()
            if k.startswith(schema.LAYER_RATE_PREFIX)]


def _sweep_sections(root: Path, rows: list[dict[str, Any]], files: Path) -> list[Section]:
    secs = []
    cmp = tuned_vs_best(rows)
    acc, eff, lat = schema.TEST_ACCURACY.name, schema.FPS_PER_W.name, schema.LATENCY_CYCLES
    best_acc = max(rows, key=lambda r: r[acc])
    best_eff = max(rows, key=lambda r: r[eff] or 0)
    summary = [{"": "best accuracy", **{k: best_acc.get(k) for k in COLUMNS}},
               {"": "best FPS/W", **{k: best_eff.get(k) for k in COLUMNS}}]
    text = f"{len(rows)} finished runs."
    if cmp:
        summary.append({"": f"tuned (lowest latency within {100 * schema.TUNED_MAX_DROP:g} pts)",
                        **{k: cmp["tuned"].get(k) for k in COLUMNS}})
        text += (f" The tuned point cuts latency by {100 * cmp['latency_reduction']:.1f}% "
                 f"({lat.show(cmp['best'][lat.name])} -> {lat.show(cmp['tuned'][lat.name])}) "
                 f"versus the best-accuracy point, for {100 * cmp['accuracy_cost']:.2f} points of accuracy "
                 f"and {cmp['fps_per_w_gain']:.2f}x its FPS/W.")
    secs.append(Section("Summary", text, tables=[("Best and tuned points", summary)]))
    figs = sorted((root / "figures").glob("*.png"))
    if figs:
        secs.append(Section("Sweep figures", "Accuracy, firing rate and hardware cost versus surrogate "
                            "slope (one line per surrogate); beta x threshold heatmaps with the "
                            "best-accuracy point (circle) and the tuned point (star).",
                            images=[(f.stem.replace("_", " "), f) for f in figs]))
    if cmp:
        rates = {"best accuracy": _layer_rates(cmp["best"]), "tuned": _layer_rates(cmp["tuned"])}
        neurons = sorted({r.get("model.neuron") for r in rows})
        if len(neurons) > 1:  # e.g. LIF vs Lapicque: the best run of each
            for value in neurons:
                sel = [r for r in rows if r.get("model.neuron") == value]
                rates[f"best neuron={value}"] = _layer_rates(max(sel, key=lambda r: r[acc]))
        if all(rates.values()):
            p = plots.firing_rates(rates, files / "layer_rates.png", "Per-layer firing rate of chosen runs")
            secs.append(Section("Per-layer firing rates", images=[("per-layer firing rate", p)],
                                tables=[("Per-layer firing rate (fraction)",
                                         [{"layer": n, **{k: dict(v)[n] for k, v in rates.items()}}
                                          for n, _ in rates["best accuracy"]])]))
        run_dir = root / "runs" / cmp["best"]["run"]
        if (run_dir / "training.png").is_file():
            secs.append(Section("Training of the best-accuracy run",
                                "Loss, accuracy, firing rate and chi per epoch.",
                                images=[("training curves", run_dir / "training.png")]))
        hw = _load(run_dir / "hardware.json")
        if hw:
            secs.append(Section("Hardware per layer (best-accuracy run)",
                                images=[("cycles per layer", run_dir / "hardware_cycles.png")],
                                tables=[("layers", [{k: layer[k] for k in ("name", "unit", "cores", "groups",
                                         "latency_cycles", "accumulate_cycles", "activate_cycles",
                                         "core_utilisation", "input_events", "dropped_fraction")
                                         if k in layer} for layer in hw["layers"]])]))
    from spiketune.network import surrogate as sg

    def width(r: dict[str, Any]) -> float:  # the run's width, or its family's default
        fam = sg.FAMILIES[r["model.surrogate"]]
        if r.get("model.slope") not in (None, ""):
            return float(r["model.slope"])
        return fam.defaults.get(fam.width_param, float("nan")) if fam.width_param else float("nan")

    curves = sorted({(r["model.surrogate"], width(r)) for r in rows})
    prof = [(n, {sg.FAMILIES[n].width_param: w} if sg.FAMILIES[n].width_param else {})
            for n, w in curves][:12]
    p = plots.surrogate_profiles(prof, files / "surrogate_profiles.png")
    secs.append(Section("Surrogate derivatives", "dS/dU versus U - threshold for the surrogates "
                        "and slopes of this study.", images=[("surrogate derivative profiles", p)]))
    secs.append(Section("All runs", tables=[("one row per run",
                                             [{k: r.get(k) for k in COLUMNS} for r in rows])]))
    return secs


def _run_sections(root: Path, m: dict[str, Any]) -> list[Section]:
    hw = m.get("hardware", {})
    summary = [{metric.axis_label: metric.show(metric.read(m)) for metric in SHOWN}]
    imgs = [(n, root / f) for n, f in (("training", "training.png"), ("firing rates", "firing_rates.png"),
                                       ("cycles per layer", "hardware_cycles.png")) if (root / f).is_file()]
    return [Section("Summary", tables=[("run", summary)]), Section("Figures", images=imgs),
            Section("Layers", tables=[("sparsity", m["profile"]["layers"]),
                                      ("hardware", [{k: v for k, v in layer.items() if k != "breakdown"}
                                                    for layer in hw.get("layers", [])])])]


def _search_sections(root: Path, trials: list[dict[str, Any]]) -> list[Section]:
    front = [t for t in trials if t.get("pareto")]
    imgs = [("Pareto front", root / "pareto.png")] if (root / "pareto.png").is_file() else []
    return [Section("Search", f"{len(trials)} completed trials, {len(front)} non-dominated.",
                    images=imgs, tables=[("Pareto-optimal trials", front), ("all trials", trials)])]


def build(results_dir: str | Path) -> tuple[Path, Path]:
    """Write report.html and report.md for a results folder; returns their paths."""
    from spiketune.errors import SpiketuneError

    root = Path(results_dir)
    files = root / "report_files"
    files.mkdir(parents=True, exist_ok=True)
    sections: list[Section] = []
    findings = _load(root / "findings.json")
    if findings:
        from spiketune.reporting.findings import findings_section

        sections.append(findings_section(findings, files))
    for name in ("preset.yaml", "sweep.yaml", "search.yaml", "config.yaml"):
        if (root / name).is_file():
            sections.append(Section("Configuration", "```\n" + (root / name).read_text() + "```"))
            break
    found = False
    if (rows := _load(root / "results.json")):
        sections += _sweep_sections(root, rows, files)
        if (summary := _load(root / "results_summary.json")) and any(s.get("n", 1) > 1 for s in summary):
            from spiketune.reporting.findings import replicates_section

            sections.append(replicates_section(summary))
        found = True
    if (trials := _load(root / "trials.json")):
        sections += _search_sections(root, trials)
        found = True
    if (m := _load(root / "metrics.json")):
        sections += _run_sections(root, m)
        found = True
    if not found:
        raise SpiketuneError(f"{root} holds no results (metrics.json, results.json or trials.json)")
    title = f"spiketune report: {root.resolve().name}"
    return (write_text(root / "report.html", _html(title, sections)),
            write_text(root / "report.md", _markdown(title, sections, root, files)))


def _table_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text_html(text: str) -> str:
    if text.startswith("```"):
        return (f"<details><summary>show</summary><pre>{html.escape(text.strip('`').strip())}"
                f"</pre></details>")
    return f"<p>{html.escape(text)}</p>" if text else ""


def _html(title: str, sections: list[Section]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;font-size:12px;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:3px 6px;text-align:right}th{background:#f0f0f0}img{max-width:100%;display:block;"
             "margin:.5em 0}figure{margin:1em 0}figcaption{font-size:12px;color:#555}"
             "pre{background:#f6f6f6;padding:.5em;font-size:12px}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for s in sections:
        parts.append(f"<section><h2>{html.escape(s.title)}</h2>{_text_html(s.text)}")
        for cap, path in s.images:
            data = base64.b64encode(Path(path).read_bytes()).decode()
            parts.append(f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(cap)}</figcaption></figure>")
        for cap, rows in s.tables:
            parts.append(f"<h3>{html.escape(cap)}</h3>{_table_html(rows)}")
        parts.append("</section>")
    # self-check for browsers and tests: how many images decoded, how many tables laid out
    parts.append("<script>window.addEventListener('load',()=>{const ok=[...document.images]"
                 ".filter(i=>i.complete&&i.naturalWidth>0).length;document.body.dataset.imagesLoaded=ok;"
                 "document.body.dataset.tables=document.querySelectorAll('table').length;});</script>")
    parts.append("</body></html>")
    return "".join(parts)


def _markdown(title: str, sections: list[Section], root: Path, files: Path) -> str:
    out = [f"# {title}\n"]
    for s in sections:
        out.append(f"## {s.title}\n\n{s.text}\n")
        for cap, path in s.images:
            path = Path(path)
            if files not in path.parents and path.parent != files:
                target = files / f"{path.parent.name}_{path.name}"
                shutil.copyfile(path, target)
                path = target
            out.append(f"![{cap}]({path.relative_to(root).as_posix()})\n")
        for cap, rows in s.tables:
            if not rows:
                continue
            cols = list(dict.fromkeys(k for r in rows for k in r))
            out.append(f"**{cap}**\n\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
            out += ["| " + " | ".join(_fmt(r.get(c)).replace("|", "/") for c in cols) + " |" for r in rows]
            out.append("")
    return "\n".join(out) + "\n"
