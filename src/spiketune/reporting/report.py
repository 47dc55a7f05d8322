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

SETTINGS = ("run", "model.surrogate", "model.slope", "model.neuron", "model.beta", "model.threshold",
            "train.seed")
SHOWN = (schema.TEST_ACCURACY, schema.FIRING_RATE, schema.CHI, schema.LATENCY_CYCLES, schema.FPS,
         schema.POWER_W, schema.FPS_PER_W, schema.DEGENERATE)  # the metrics of the report's tables


@dataclass(frozen=True)
class Link:
    """A table cell linking to a file or folder relative to the report."""

    text: str
    href: str


def _display(rows: list[dict[str, Any]], run_dir: str | None = None) -> list[dict[str, Any]]:
    """Rows as a person reads them: schema metrics under their axis labels, fractions as
    percentages; the run column a link to ``run_dir/<run>/`` when given."""
    out = []
    for r in rows:
        d: dict[str, Any] = {}
        for k, v in r.items():
            m = schema.METRICS.get(k)
            if m is not None:
                d[m.axis_label] = m.show(v).removesuffix(f" {m.unit}") if v is not None else ""
            elif k == "run" and run_dir is not None and v:
                d[k] = Link(str(v), f"{run_dir}/{v}/")
            else:
                d[k] = v
        out.append(d)
    return out


def _percent(v: Any) -> str:
    return f"{100 * v:.2f}%" if isinstance(v, (int, float)) else ""


HARDWARE_COLUMNS = ("name", "unit", "cores", "groups", "latency_cycles", "accumulate_cycles",
                    "activate_cycles", "core_utilisation", "input_events_per_inference", "dropped_fraction")


def _hardware_row(layer: dict[str, Any]) -> dict[str, Any]:
    """One layer of hardware.json as a report row (a file written before the per-inference
    name holds the same value as ``input_events``)."""
    layer = {"input_events_per_inference": layer.get("input_events"), **layer}
    return {k: _percent(layer[k]) if k in ("core_utilisation", "dropped_fraction") else layer[k]
            for k in HARDWARE_COLUMNS if layer.get(k) is not None}


@dataclass
class Section:
    title: str
    text: str = ""
    images: list[tuple[str, Path]] = field(default_factory=list)
    tables: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)


def _fmt(v: Any) -> str:
    if isinstance(v, Link):
        return v.text
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return "" if v is None else str(v)


def _load(p: Path) -> Any:
    return json.loads(p.read_text()) if p.is_file() else None


def tuned_vs_best(rows: list[dict[str, Any]], include_degenerate: bool = False) -> dict[str, Any] | None:
    """The tuned point (:func:`spiketune.schema.tuned_point`: lowest latency near the best
    accuracy) compared with the best-accuracy run; None with fewer than two costed runs."""
    lat, acc, eff = schema.LATENCY_CYCLES.name, schema.TEST_ACCURACY.name, schema.FPS_PER_W.name
    picked = schema.tuned_point(rows, include_degenerate=include_degenerate)
    if picked is None or sum(r.get(lat) is not None for r in schema.ranked(rows, include_degenerate)) < 2:
        return None
    best, tuned = picked
    return {"best": best, "tuned": tuned,
            "latency_reduction": 1 - tuned[lat] / best[lat],
            "accuracy_cost": best[acc] - tuned[acc],
            "fps_per_w_gain": tuned[eff] / best[eff]}


def _layer_rates(row: dict[str, Any]) -> list[tuple[str, float]]:
    return [(k[len(schema.LAYER_RATE_PREFIX):], float(v)) for k, v in row.items()
            if k.startswith(schema.LAYER_RATE_PREFIX)]


def _varied_settings(rows: list[dict[str, Any]]) -> list[str]:
    """The settings (SETTINGS order, the run id aside) whose value differs between ``rows``."""
    return [k for k in SETTINGS if k != "run" and len({str(r.get(k)) for r in rows}) > 1]


def _configuration_means(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replicate summary rows as rows the rankings read: the mean over seeds, the first seed's
    run as the link, degenerate when any seed is."""
    return [{**m, "run": str(m.get("runs", "")).split()[0] if m.get("runs") else None,
             schema.DEGENERATE.name: float(m.get(schema.DEGENERATE.name) or 0) > 0} for m in summary]


def _sweep_sections(root: Path, rows: list[dict[str, Any]], files: Path,
                    include_degenerate: bool = False,
                    replicates: list[dict[str, Any]] | None = None) -> list[Section]:
    """Summary, figures and per-layer rates of a sweep; with ``replicates`` (the results_summary
    rows), best and tuned points are chosen on each configuration's mean over its seeds."""
    secs = []
    basis = _configuration_means(replicates) if replicates else rows
    ranked = schema.ranked(basis, include_degenerate)
    cmp = tuned_vs_best(ranked, include_degenerate)
    varied = ["run", *_varied_settings(rows)]
    if replicates:
        varied = [k for k in varied if k != "train.seed"]
    columns = varied + [m.name for m in SHOWN]
    acc, eff, lat = schema.TEST_ACCURACY.name, schema.FPS_PER_W.name, schema.LATENCY_CYCLES
    n_bad = len(basis) - len(schema.ranked(basis))
    text = f"{len(rows)} finished runs."
    if replicates:
        seeds = max(int(m.get("n", 1)) for m in replicates)
        text = (f"{len(rows)} finished runs: {len(replicates)} configurations x up to {seeds} seeds. "
                f"The best and tuned points below are each configuration's mean over its seeds (the run "
                f"link opens its first seed's folder); degenerate means a seed of it is.")
    if n_bad:
        kind = "configurations" if replicates else "runs"
        text += (f" {n_bad} {kind} are degenerate (a layer that never fires, a loss at ln(classes) or an "
                 f"accuracy within noise of chance): " + ("ranked here on request." if include_degenerate else
                                                "left out of the best, tuned and Pareto points below "
                                                "(spiketune report --include-degenerate ranks them)."))
    summary = []
    if ranked:
        best_acc = max(ranked, key=lambda r: r[acc])
        best_eff = max(ranked, key=lambda r: r[eff] or 0)
        summary = [{"": "best accuracy", **{k: best_acc.get(k) for k in columns}},
                   {"": "best FPS/W", **{k: best_eff.get(k) for k in columns}}]
    if cmp:
        tuned = f"tuned (lowest latency within {100 * schema.TUNED_MAX_DROP:g} points of accuracy)"
        summary.append({"": tuned, **{k: cmp["tuned"].get(k) for k in columns}})
        text += (f" The tuned point cuts latency by {100 * cmp['latency_reduction']:.1f}% "
                 f"({lat.show(cmp['best'][lat.name])} -> {lat.show(cmp['tuned'][lat.name])}) "
                 f"versus the best-accuracy point, for {100 * cmp['accuracy_cost']:.2f} points of accuracy "
                 f"and {cmp['fps_per_w_gain']:.2f}x its FPS/W.")
    secs.append(Section("Summary", text, tables=[("Best and tuned points (the run links open its folder)",
                                                  _display(summary, "runs"))]))
    figs = sorted((root / "figures").glob("*.png"))
    if figs:
        secs.append(Section("Sweep figures", images=[(_figure_caption(f), f) for f in figs]))
    if cmp:
        rates = {"best accuracy": _layer_rates(cmp["best"]), "tuned": _layer_rates(cmp["tuned"])}
        neurons = sorted({r.get("model.neuron") for r in ranked}, key=str)
        if len(neurons) > 1:  # e.g. LIF vs Lapicque: the best run of each
            for value in neurons:
                sel = [r for r in ranked if r.get("model.neuron") == value]
                rates[f"best neuron={value}"] = _layer_rates(max(sel, key=lambda r: r[acc]))
        if all(rates.values()):
            p = plots.firing_rates(rates, files / "layer_rates.png", "Per-layer firing rate of chosen runs")
            table = [{"layer": n, **{k: _percent(dict(v)[n]) for k, v in rates.items()}}
                     for n, _ in rates["best accuracy"]]
            secs.append(Section("Per-layer firing rates", images=[(
                "Per-layer firing rate (% of neurons spiking per time step, test set) of the best-accuracy "
                "run, the tuned run and, where the sweep varies the neuron, the best run of each neuron.",
                p)], tables=[("Per-layer firing rate", table)]))
        run_dir = root / "runs" / cmp["best"]["run"]
        if (run_dir / "training.png").is_file():
            secs.append(Section("Training of the best-accuracy run", images=[(
                "Training loss, train and validation accuracy (dashed: chance), mean firing rate and "
                "chi (the fraction of neurons and weights the surrogate gradient reaches) per epoch.",
                run_dir / "training.png")]))
        hw = _load(run_dir / "hardware.json")
        if hw:
            secs.append(Section("Hardware per layer (best-accuracy run)",
                                images=[("Cycles per inference of each layer on the accelerator model, "
                                         "split by activity.", run_dir / "hardware_cycles.png")],
                                tables=[("Per layer (input events and cycles per inference)",
                                         [_hardware_row(layer) for layer in hw["layers"]])]))
            if hw.get("resources"):
                secs.append(_resources_section(hw, "FPGA resources (best-accuracy run)"))
        nb = (_load(run_dir / "metrics.json") or {}).get("neurobench")
        if nb:
            secs.append(Section("NeuroBench metrics (best-accuracy run)",
                                tables=[("NeuroBench", _neurobench(nb))]))
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
    secs.append(Section("Surrogate derivatives", images=[(
        "Surrogate derivative dS/dU versus U - threshold for the surrogates and slopes of this study "
        "(the stochastic SSO as its expected value).", p)]))
    by_accuracy = [{k: r.get(k) for k in columns} for r in sorted(rows, key=lambda r: -(r.get(acc) or 0))]
    caption = "One row per run, best accuracy first (the run links open its folder)"
    secs.append(Section("All runs", tables=[(caption, _display(by_accuracy, "runs"))]))
    return secs


def _figure_caption(path: Path) -> str:
    """A caption for a sweep figure from its file name (``grid<i>_<kind>``)."""
    grid, _, kind = path.stem.partition("_")
    captions = {
        "slope_fps_per_w": "Test accuracy (dashed: chance), firing rate and FPS/W versus surrogate slope, "
                           "one line per surrogate (the mean over seeds; red crosses: degenerate runs).",
        "slope_latency": "Test accuracy (dashed: chance), firing rate and latency versus surrogate slope, "
                         "one line per surrogate (the mean over seeds; red crosses: degenerate runs).",
        "beta_threshold": "Test accuracy, latency and firing rate over membrane decay (beta) and threshold; "
                          "circle: best accuracy, star: tuned point, hatched: degenerate; the red mark "
                          "on the accuracy colour bar is chance."}
    what = captions.get(kind, kind.replace("_", " "))
    return f"{what} ({grid.replace('grid', 'grid ')} of the sweep)"


def _neurobench(nb: dict[str, Any]) -> list[dict[str, Any]]:
    ops = nb.get("synaptic_operations", {})
    return [{"metric": "footprint", "value": f"{nb['footprint']:,} bytes"},
            {"metric": "parameters", "value": f"{nb['parameter_count']:,}"},
            {"metric": "connection sparsity", "value": _percent(nb["connection_sparsity"])},
            {"metric": "activation sparsity", "value": _percent(nb["activation_sparsity"])},
            *({"metric": f"synaptic operations per sample: {k.replace('_', ' ')}", "value": f"{v:,.0f}"}
              for k, v in ops.items())]


def _environment(env: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"": k.replace("_", " "), "value": v if v is not None else "(not in a git repository)"}
            for k, v in env.items()]


def _run_sections(root: Path, m: dict[str, Any]) -> list[Section]:
    hw = m.get("hardware", {})
    summary = [{metric.axis_label: metric.show(metric.read(m)).removesuffix(f" {metric.unit}")
                for metric in (*SHOWN, schema.CHANCE_ACCURACY)}]
    text = ""
    if m.get("degenerate_reasons"):
        text = "This network is degenerate: " + "; ".join(m["degenerate_reasons"]) + "."
    caps = {"training.png": "Training loss, accuracy (dashed: chance), mean firing rate and chi per epoch.",
            "firing_rates.png": "Firing rate of each spiking layer on the test set "
                                "(% of neurons per time step).",
            "hardware_cycles.png": "Cycles per inference of each layer on the accelerator model, "
                                   "by activity."}
    imgs = [(cap, root / f) for f, cap in caps.items() if (root / f).is_file()]
    secs = [Section("Summary", text, tables=[("run", summary)]), Section("Figures", images=imgs),
            Section("Layers", tables=[
                ("Sparsity per layer (test set: spikes, input events and synaptic operations in total)",
                 [{**layer, "firing_rate": _percent(layer["firing_rate"]),
                   "sparsity": _percent(layer["sparsity"])} for layer in m["profile"]["layers"]]),
                ("Hardware per layer (input events and cycles per inference)",
                 [_hardware_row(layer) for layer in hw.get("layers", [])])])]
    if hw.get("resources"):
        secs.append(_resources_section(hw))
    if m.get("neurobench"):
        secs.append(Section("NeuroBench metrics", tables=[("NeuroBench", _neurobench(m["neurobench"]))]))
    return secs


def _resources_section(hw: dict[str, Any], title: str = "FPGA resources") -> Section:
    """The allocation's FPGA resources per layer and the device it fits, and its power terms."""
    res, pm = hw["resources"], hw.get("power_model", {})
    cols = ("lut", "ff", "bram", "dsp")
    rows = [{"block": layer["name"], "cores": layer["cores"], **{k: r[k] for k in cols}}
            for layer, r in zip(hw["layers"], res["layers"], strict=True)]
    rows.append({"block": "input spike RAM", "cores": "", **{k: res["input_ram"][k] for k in cols}})
    rows.append({"block": "total", "cores": hw["total_cores"], **{k: res[k] for k in cols}})
    static = f", static power of the {pm['device']}" if "device" in pm else ""
    text = (f"Resources from the fitted Yosys formulas (benchmarks/synth): {res['fit']}. Power "
            f"({pm.get('model', '?')} model{static}): " + ", ".join(f"{k.removesuffix('_w')} {pm[k]:.4g} W"
                                for k in ("static_w", "clock_w", "dynamic_w") if k in pm) + ".")
    text += "".join(f" Estimated, not synthesized: {note}." for note in res.get("estimates", []))
    return Section(title, text, tables=[("Resources per layer (LUT, FF, 36 Kb BRAM, DSP)", rows)])


ESTIMATOR_NAMES = {"synops": "synaptic operations", "compute_only_uj": "compute-only (uJ)",
                   "lemaire_snn_uj": "Lemaire et al., SNN (uJ)",
                   "lemaire_ann_uj": "Lemaire et al., formal network (uJ)",
                   "accelerator_modelled_uj": "accelerator, modelled (uJ)"}


def _run_labels(rows: list[dict[str, Any]]) -> dict[str, str]:
    """run id -> the settings that tell it apart from the other runs (``surrogate=atan, slope=4``)."""
    varied = _varied_settings(rows)
    return {str(r["run"]): ", ".join(f"{k.rpartition('.')[2]}={_fmt(r.get(k))}" for k in varied)
            or str(r["run"]) for r in rows if r.get("run")}


def _energy_section(energy: dict[str, Any], files: Path, labels: dict[str, str]) -> Section:
    """Each estimator's energy per inference over the runs, its rank agreement with the
    accelerator, and the pairs of runs it orders the other way (largest accelerator gap first),
    each run named by ``labels`` (its settings) where known."""
    rows, rho, wrong = energy["rows"], energy["spearman"], energy["misordered_vs_accelerator"]
    by_run = {r["run"]: r for r in rows}
    acc = "accelerator_modelled_uj"
    pairs = len(rows) * (len(rows) - 1) // 2
    table = []
    for key, name in ESTIMATOR_NAMES.items():
        values = [r[key] for r in rows]
        ranks = len(set(values)) > 1  # a constant estimator (the formal network) ranks nothing
        table.append({"estimator (per inference)": name, "min": min(values), "max": max(values),
                      "Spearman vs latency": rho[key]["latency_cycles"] if ranks else "-",
                      "vs modelled energy": rho[key][acc] if ranks else "-",
                      "pairs ordered the other way":
                          f"{len(wrong[key]):,} of {pairs:,}" if ranks and key != acc else "-"})

    def gap(a: str, b: str) -> float:
        x, y = by_run[a][acc], by_run[b][acc]
        return abs(x - y) / min(x, y)

    worst = [{"estimator": ESTIMATOR_NAMES[key], "run a": labels.get(a, a), "run b": labels.get(b, b),
              "estimator a / b": f"{by_run[a][key]:.4g} / {by_run[b][key]:.4g}",
              "accelerator a / b (uJ)": f"{by_run[a][acc]:.4g} / {by_run[b][acc]:.4g}",
              "accelerator gap": _percent(gap(a, b))}
             for key in ("synops", "lemaire_snn_uj")
             for a, b in sorted(wrong[key], key=lambda ab: -gap(*ab))[:3]]
    fig = plots.energy_estimators(rows, rho, wrong, files / "energy_estimators.png")
    text = ("Energy per inference of every run under the literature's estimators (computed from the "
            "profile: synaptic operations, compute-only 45 nm energy, Lemaire et al. 2022) beside the "
            "accelerator's modelled energy (power x latency of its cost report). A proxy orders a pair "
            "of runs the other way when it ranks them opposite to the accelerator's energy.")
    return Section("Energy estimators beside the accelerator", text,
                   images=[("Each proxy against the accelerator's modelled energy per inference, one point "
                            "per run, with Spearman's rho and the pairs ordered the other way.", fig)],
                   tables=[("Estimators over the runs", table),
                           ("Pairs ordered the other way with the largest accelerator gap", worst)])


def _search_sections(root: Path, trials: list[dict[str, Any]]) -> list[Section]:
    front = [t for t in trials if t.get("pareto")]
    imgs = [("Trials by their two objectives: the Pareto front (red), dominated trials (grey), "
             "degenerate trials (crosses, never on the front).", root / "pareto.png")] \
        if (root / "pareto.png").is_file() else []
    return [Section("Search", f"{len(trials)} completed trials, {len(front)} non-dominated.", images=imgs,
                    tables=[("Pareto-optimal trials", _display(front)), ("All trials", _display(trials))])]


def build(results_dir: str | Path, include_degenerate: bool = False) -> tuple[Path, Path]:
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
    found = False
    if (rows := _load(root / "results.json")):
        summary = _load(root / "results_summary.json")
        replicated = bool(summary) and any(s.get("n", 1) > 1 for s in summary)
        sections += _sweep_sections(root, rows, files, include_degenerate, summary if replicated else None)
        if replicated:
            from spiketune.reporting.findings import replicates_section

            sections.append(replicates_section(summary))
        found = True
    if (trials := _load(root / "trials.json")):
        sections += _search_sections(root, trials)
        found = True
    if found and (energy := _load(root / "energy.json")):
        sections.append(_energy_section(energy, files, _run_labels(rows or trials or [])))
    if (m := _load(root / "metrics.json")):
        sections += _run_sections(root, m)
        found = True
    if not found:
        raise SpiketuneError(f"{root} holds no results (metrics.json, results.json or trials.json)")
    env = (m or {}).get("environment") or _first_environment(root)
    if env:
        sections.append(Section("Environment",
                                tables=[("libraries, machine and git revision", _environment(env))]))
    for name in ("preset.yaml", "sweep.yaml", "search.yaml", "config.yaml"):
        if (root / name).is_file():
            sections.append(Section("Configuration", "```\n" + (root / name).read_text() + "```"))
            break
    title = f"spiketune report: {root.resolve().name}"
    return (write_text(root / "report.html", _html(title, sections)),
            write_text(root / "report.md", _markdown(title, sections, root, files)))


def _first_environment(root: Path) -> dict[str, Any] | None:
    """The environment of the first finished run under a sweep, search or reproduction folder."""
    for pattern in ("runs/*/metrics.json", "trials/*/metrics.json", "studies/*/trials/*/metrics.json"):
        for p in sorted(root.glob(pattern)):
            try:
                return json.loads(p.read_text()).get("environment")
            except (OSError, ValueError):
                continue
    return None


def _table_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_cell_html(r.get(c))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell_html(v: Any) -> str:
    if isinstance(v, Link):
        return f"<a href='{html.escape(v.href)}'>{html.escape(v.text)}</a>"
    return html.escape(_fmt(v))


def _text_html(text: str) -> str:
    if text.startswith("```"):
        return (f"<details><summary>show the configuration</summary>"
                f"<pre>{html.escape(text.strip('`').strip())}</pre></details>")
    return f"<p>{html.escape(text)}</p>" if text else ""


CSS = ("body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;margin:2em auto;"
       "padding:0 1.5em;color:#1d1d1f;background:#fff}h1{font-size:1.6em;margin-bottom:.2em}"
       "h2{font-size:1.25em;border-bottom:2px solid #e5e5e5;padding-bottom:.2em;margin-top:2em}"
       "h3{font-size:1em;color:#444;margin:1.2em 0 .3em}nav{font-size:.9em;color:#666;margin-bottom:1em}"
       "nav a,td a{color:#0b63c5;text-decoration:none}nav a:hover,td a:hover{text-decoration:underline}"
       ".scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px;margin:.3em 0 1em}"
       "td,th{padding:4px 10px;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap}"
       "th{background:#f5f5f7;font-weight:600;position:sticky;top:0}td:first-child,th:first-child{text-align:left}"
       "tbody tr:nth-child(even){background:#fafafa}tbody tr:hover{background:#eef5ff}"
       "img{max-width:100%;height:auto;display:block;margin:.5em auto}figure{margin:1.2em 0}"
       "figcaption{font-size:13px;color:#555;max-width:60em;margin:.3em auto 0}"
       "pre{background:#f5f5f7;padding:.8em;font-size:12px;overflow-x:auto}"
       "details summary{cursor:pointer;color:#0b63c5}p{max-width:60em}")


def _css_width(png: bytes) -> int:
    """A figure's width in CSS pixels (96 per inch): its PNG width at the figures' dpi, so every
    figure shows at its drawn size, whatever its pixel count."""
    return round(int.from_bytes(png[16:20], "big") * 96 / plots.STYLE["savefig.dpi"])


def _html(title: str, sections: list[Section]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             "<nav>" + " · ".join(f"<a href='#s{i}'>{html.escape(s.title)}</a>"
                                  for i, s in enumerate(sections)) + "</nav>"]
    for i, s in enumerate(sections):
        parts.append(f"<section id='s{i}'><h2>{html.escape(s.title)}</h2>{_text_html(s.text)}")
        for cap, path in s.images:
            png = Path(path).read_bytes()
            data = base64.b64encode(png).decode()
            parts.append(f"<figure><img alt='{html.escape(cap)}' width='{_css_width(png)}' "
                         f"src='data:image/png;base64,{data}'>"
                         f"<figcaption>Figure. {html.escape(cap)}</figcaption></figure>")
        for cap, rows in s.tables:
            parts.append(f"<h3>{html.escape(cap)}</h3><div class='scroll'>{_table_html(rows)}</div>")
        parts.append("</section>")
    # self-check for browsers and tests: how many images decoded, how many tables laid out
    parts.append("<script>window.addEventListener('load',()=>{const ok=[...document.images]"
                 ".filter(i=>i.complete&&i.naturalWidth>0).length;document.body.dataset.imagesLoaded=ok;"
                 "document.body.dataset.tables=document.querySelectorAll('table').length;});</script>")
    parts.append("</body></html>")
    return "".join(parts)


def _cell_md(v: Any) -> str:
    text = _fmt(v).replace("|", "/")
    return f"[{text}]({v.href})" if isinstance(v, Link) else text


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
            out.append(f"![{cap}]({path.relative_to(root).as_posix()})\n\n*{cap}*\n")
        for cap, rows in s.tables:
            if not rows:
                continue
            cols = list(dict.fromkeys(k for r in rows for k in r))
            out.append(f"**{cap}**\n\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
            out += ["| " + " | ".join(_cell_md(r.get(c)) for c in cols) + " |" for r in rows]
            out.append("")
    return "\n".join(out) + "\n"
