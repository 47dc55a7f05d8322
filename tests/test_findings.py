"""Findings with verdicts: known effects injected into stored results get the right verdict
through the reproduction's code path (stored run folders -> findings.json -> report), a null
effect is inconclusive at the stated 95% rate, degenerate runs never carry a verdict."""

import json
import zlib

import numpy as np
import pytest
import yaml
from scipy import stats as st

from spiketune.explore import findings as fd
from spiketune.explore import reproduce as rp
from spiketune.explore.degenerate import at_chance, degenerate
from spiketune.explore.sweep import SweepConfig, run_id
from spiketune.results import mark_finished, write_json, write_text
from spiketune.training import config as cfgmod

SEEDS = [0, 1, 2, 3, 4]
SLOPES = [1, 4, 16]
GRID1 = {"model.surrogate": ["fast_sigmoid", "atan"], "model.slope": SLOPES}
GRID2 = {"model.surrogate": ["fast_sigmoid"], "model.slope": [4], "model.beta": [0.25, 0.9],
         "model.threshold": [0.5, 1.0]}
BASE = {"data": {"num_steps": 3}, "train": {"epochs": 1}, "model": {"beta": 0.25, "threshold": 1.0}}


def metrics(acc: float, rate: float, eff: float, lat: float, silent: bool = False) -> dict:
    layers = [{"name": "L0", "firing_rate": rate}, {"name": "L1", "firing_rate": 0.0 if silent else rate}]
    return {"test_accuracy": acc, "profile": {"firing_rate": rate, "num_samples": 1000, "layers": layers},
            "hardware": {"latency_cycles": lat, "fps_per_w": eff}}


def store(folder, cfg, m) -> None:
    folder.mkdir(parents=True)
    write_text(folder / "config.yaml", cfgmod.dump(cfg))
    write_json(folder / "metrics.json", m)
    mark_finished(folder)


def study_a_folder(out, value, seeds=SEEDS):
    """A surrogate-slope folder whose runs hold ``value(cfg) -> metrics``, as the preset writes it."""
    sc = SweepConfig.from_dict({"base": BASE, "grids": [GRID1, GRID2], "seeds": seeds})
    for cfg in sc.points():
        store(out / "runs" / run_id(cfg, sc.hardware), cfg, value(cfg))
    write_text(out / "preset.yaml", yaml.safe_dump(
        {"preset": "surrogate-slope", "dataset": "digits", "quick": True, "base": BASE, "seeds": seeds,
         "slope_grid": GRID1, "chosen_slope": 4, "beta_threshold_grid": GRID2}))


def noise(cfg, scale):
    """Per-run noise, reproducible from the run's settings and seed."""
    m = cfg.model
    key = (m.surrogate, m.slope, m.beta, m.threshold, cfg.train.seed)
    return np.random.default_rng(zlib.crc32(str(key).encode())).normal(0, scale)


def injected(cfg):
    """Fast sigmoid fires 1 pt less (noise sd 0.2 pts) and is 5,000 FPS/W more efficient at the
    same accuracy; beta 0.9 cuts latency by 20,000 cycles (noise sd 1,000) for 1 pt of accuracy."""
    m, fs = cfg.model, cfg.model.surrogate == "fast_sigmoid"
    rate = 0.10 - 0.01 * fs + 0.002 * m.slope / 16 + noise(cfg, 0.002)
    eff = 100_000 + 5_000 * fs + noise(cfg, 1_000)
    lat = 200_000 - 20_000 * (m.beta == 0.9) + noise(cfg, 1_000)
    return metrics(0.90 + 0.01 * (m.beta == 0.25) + noise(cfg, 0.003), rate, eff, lat)


def test_injected_effects_are_reproduced_through_the_report(tmp_path):
    study_a_folder(tmp_path, injected)
    html, found = rp.restate(tmp_path)
    by = {f["finding"]: f for f in found}
    rate = by["fast sigmoid fires less than arctangent"]
    assert rate["verdict"] == "reproduced" and rate["n"] == 5 and rate["test"] == "paired t-test"
    # independent reference: per seed, the fast-sigmoid minus arctangent rate averaged over slopes
    rows = [json.loads(p.read_text()) | {"cfg": yaml.safe_load((p.parent / "config.yaml").read_text())}
            for p in tmp_path.glob("runs/*/metrics.json")]

    def per_seed(name):
        return [np.mean([r["profile"]["firing_rate"] for r in rows if r["cfg"]["model"]["surrogate"] == name
                         and r["cfg"]["train"]["seed"] == s and r["cfg"]["model"]["beta"] == 0.25
                         and r["cfg"]["model"]["threshold"] == 1.0 and r["cfg"]["model"]["slope"] in SLOPES])
                for s in SEEDS]

    ref = st.ttest_rel(per_seed("fast_sigmoid"), per_seed("atan"))
    ci = ref.confidence_interval(0.95)
    assert (rate["ci_low"], rate["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert rate["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert by["fast sigmoid is more efficient on the accelerator (FPS/W)"]["verdict"] == "reproduced"
    similar = next(f for f in found if f["finding"].startswith("... at similar accuracy"))
    assert similar["verdict"] == "reproduced"  # 0.3-pt noise, 3-pt margin
    tuned = next(f for f in found if f["finding"].startswith("a tuned (beta, threshold)"))
    assert tuned["verdict"] == "reproduced" and tuned["effect"] == pytest.approx(-20_000, abs=2_000)
    page = html.read_text()
    assert "<h3>Verdicts</h3>" in page and "seeds needed (80% power)" in page and "reproduced" in page
    assert "error bars" in page and (tmp_path / "report_files" / "finding_effects.png").is_file()
    assert (tmp_path / "results_summary.csv").is_file()


def test_opposite_effect_is_contradicted(tmp_path):
    def reversed_(cfg):
        m = injected(cfg)
        fs = cfg.model.surrogate == "fast_sigmoid"
        m["profile"]["firing_rate"] += 0.02 * fs  # now fast sigmoid fires 1 pt more
        m["profile"]["layers"][0]["firing_rate"] = m["profile"]["firing_rate"]
        return m

    study_a_folder(tmp_path, reversed_)
    _, found = rp.restate(tmp_path)
    assert found[0]["finding"] == "fast sigmoid fires less than arctangent"
    assert found[0]["verdict"] == "contradicted" and found[0]["ci_low"] > 0


def test_a_silent_layer_leaves_its_slope_out_and_all_silent_is_inconclusive(tmp_path):
    def silent_at_16(cfg):
        m = injected(cfg)
        return metrics(m["test_accuracy"], m["profile"]["firing_rate"], m["hardware"]["fps_per_w"],
                       m["hardware"]["latency_cycles"], silent=cfg.model.slope == 16 and cfg.train.seed == 3)

    study_a_folder(tmp_path / "one", silent_at_16)
    _, found = rp.restate(tmp_path / "one")
    assert found[0]["verdict"] == "reproduced" and "slopes 16 left out" in found[0]["note"]

    def all_silent(cfg):
        m = injected(cfg)
        return metrics(m["test_accuracy"], m["profile"]["firing_rate"], m["hardware"]["fps_per_w"],
                       m["hardware"]["latency_cycles"], silent=cfg.train.seed == 0)

    study_a_folder(tmp_path / "all", all_silent)
    _, found = rp.restate(tmp_path / "all")
    assert all(f["verdict"] == "inconclusive" for f in found)
    assert "degenerate" in found[0]["note"]


def test_a_null_effect_is_inconclusive_at_the_stated_rate():
    """400 simulated Study A slope sweeps with no surrogate effect (5 seeds, 3 slopes, seed and
    run noise): 'fires less' must be inconclusive 95% of the time (two-sided 95% interval)."""
    rng = np.random.default_rng(7)
    sims, inconclusive, reproduced = 400, 0, 0
    flags = {}
    for i in range(sims):
        rows = []
        seed_effect = rng.normal(0, 0.01, len(SEEDS))  # a seed moves both surrogates alike
        for name in ("fast_sigmoid", "atan"):
            for slope in SLOPES:
                for s in SEEDS:
                    run = f"{i}-{name}-{slope}-{s}"
                    flags[run] = False
                    rows.append({"run": run, "model.surrogate": name, "model.slope": slope, "train.seed": s,
                                 "firing_rate": 0.1 + seed_effect[s] + rng.normal(0, 0.003),
                                 "fps_per_w": 1e5 + rng.normal(0, 1e3), "test_accuracy": 0.9})
        f = fd.study_a(rows, [], flags)[0]
        inconclusive += f["verdict"] == "inconclusive"
        reproduced += f["verdict"] == "reproduced"
    lo, hi = st.binom.ppf([0.0005, 0.9995], sims, 0.95)  # 99.9% range of the count at a true 95%
    assert lo <= inconclusive <= hi
    assert reproduced <= st.binom.ppf(0.9995, sims, 0.025)  # one tail of the 5%


def study_b_trials(effect: float, seeds=(0, 1, 2, 3, 4), trials=4, rng=None):
    """(surrogate, neuron, seed) -> trial rows; Lapicque's latency is ``effect`` x LIF's."""
    rng = rng or np.random.default_rng(0)
    out = {}
    for s in seeds:
        shift = rng.normal(0, 5_000)  # a study seed moves every configuration alike
        for sg in fd.SURROGATES:
            for n in fd.NEURONS:
                rows = []
                for t in range(trials):
                    lat = (200_000 + shift) * (effect if n == "lapicque" else 1.0) + rng.normal(0, 2_000)
                    rows.append({"run": f"{sg}-{n}-{s}-{t}", "test_accuracy": 0.8 + rng.normal(0, 0.02),
                                 "latency_cycles": lat, "fps_per_w": 1e10 / lat + rng.normal(0, 1e3)})
                out[(sg, n, s)] = rows
    return out


def test_study_b_compares_best_k_trials_over_study_seeds():
    trials = study_b_trials(0.8)
    flags = {r["run"]: False for rows in trials.values() for r in rows}
    found = {f["finding"]: f for f in fd.study_b(trials, 2, flags)}
    lap = found["LIF -> Lapicque lowers latency (paper: up to -28%)"]
    # independent reference: per study seed, the mean latency of the 2 most accurate trials of
    # each configuration, averaged over surrogates, Lapicque minus LIF
    def side(neuron, s):
        return np.mean([np.mean([r["latency_cycles"] for r in
                                 sorted(trials[(sg, neuron, s)], key=lambda r: -r["test_accuracy"])[:2]])
                        for sg in fd.SURROGATES])

    d = [side("lapicque", s) - side("lif", s) for s in range(5)]
    assert lap["verdict"] == "reproduced" and lap["n"] == 5
    assert lap["effect"] == pytest.approx(np.mean(d), rel=1e-12)
    ci = st.ttest_1samp(d, 0).confidence_interval(0.95)
    assert (lap["ci_low"], lap["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    sre = found["SRE lowers latency (paper: up to -12.2% on DVS128 Gesture)"]
    assert sre["verdict"] == "inconclusive"  # no SRE effect injected
    # one degenerate run among the compared best trials: no verdict
    best = sorted(trials[("sso", "lif", 2)], key=lambda r: -r["test_accuracy"])[0]
    flags[best["run"]] = True
    found = {f["finding"]: f for f in fd.study_b(trials, 2, flags)}
    assert found["LIF -> Lapicque lowers latency (paper: up to -28%)"]["verdict"] == "inconclusive"


def test_degenerate_from_metrics_by_hand():
    # 10 classes, 100 samples: P(X >= 15 | p = 0.1) = 0.073 > 5%, P(X >= 16) = 0.040
    assert st.binom.sf(14, 100, 0.1) > 0.05 > st.binom.sf(15, 100, 0.1)
    assert at_chance(0.15, 100, 10) and not at_chance(0.16, 100, 10)
    healthy = metrics(0.9, 0.1, 1.0, 1.0)
    assert not degenerate(healthy, 10)
    assert degenerate(metrics(0.9, 0.1, 1.0, 1.0, silent=True), 10)
    assert degenerate({**healthy, "test_accuracy": 0.11}, 10)
    assert degenerate({**healthy, "degenerate": True}, 10)  # the run's own flag wins
