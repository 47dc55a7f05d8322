"""The results schema and the tuned-point rule, against hand-written values."""

import optuna
import pytest

from spiketune import schema
from spiketune.errors import ConfigError
from spiketune.explore import search
from spiketune.reporting.report import tuned_vs_best

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

# accuracies are binary fractions, so "within max_drop" is exact at the boundary
ROWS = [
    {"run": "r0", "test_accuracy": 0.5, "latency_cycles": 100, "fps_per_w": 900.0},
    {"run": "r1", "test_accuracy": 0.875, "latency_cycles": 1200, "fps_per_w": 40.0},
    {"run": "r2", "test_accuracy": 0.875, "latency_cycles": 1100, "fps_per_w": 45.0},
    {"run": "r3", "test_accuracy": 0.625, "latency_cycles": 800, "fps_per_w": 70.0},
    {"run": "r4", "test_accuracy": 0.75, "latency_cycles": 800, "fps_per_w": 90.0},
    {"run": "r5", "test_accuracy": 0.75, "latency_cycles": None, "fps_per_w": 999.0},
]


def _runs(pair):
    return None if pair is None else tuple(r["run"] for r in pair)


def test_tuned_point_follows_the_hand_computed_table():
    # best: r1 (first of the two at 0.875); within 0.25: r1..r5 (r3 on the boundary), r0 out
    assert _runs(schema.tuned_point(ROWS, schema.LATENCY_CYCLES, 0.25)) == ("r1", "r3")  # 800 tie: r3 first
    assert _runs(schema.tuned_point(ROWS, schema.FPS_PER_W, 0.25)) == ("r1", "r5")  # maximised; r0 too far
    assert _runs(schema.tuned_point(ROWS)) == ("r1", "r2")  # 3 points: only r1, r2 qualify
    assert _runs(schema.tuned_point(ROWS[:1], schema.LATENCY_CYCLES, 0.0)) == ("r0", "r0")
    assert schema.tuned_point([]) is None
    assert schema.tuned_point(ROWS[5:]) is None  # no row has a latency


def test_report_compares_the_tuned_point_with_the_best():
    cmp = tuned_vs_best(ROWS)
    assert (cmp["best"]["run"], cmp["tuned"]["run"]) == ("r1", "r2")
    assert cmp["latency_reduction"] == pytest.approx(1 - 1100 / 1200, rel=1e-15)
    assert cmp["accuracy_cost"] == 0.0 and cmp["fps_per_w_gain"] == 45.0 / 40.0
    assert tuned_vs_best(ROWS[:1] + ROWS[5:]) is None  # fewer than two costed runs


def test_metrics_show_their_units():
    assert schema.TEST_ACCURACY.show(0.9731) == "97.31%"
    assert schema.TEST_ACCURACY.axis_label == "test accuracy (%)"
    assert schema.LATENCY_CYCLES.show(10372.4) == "10,372 cycles/inference"
    assert schema.LATENCY_CYCLES.axis_label == "latency (cycles/inference)"
    assert schema.FPS_PER_W.show(29916.64) == "29,916.6 FPS/W"
    assert schema.ENERGY_UJ.axis_label == "energy per inference (uJ)"
    m = {"test_accuracy": 0.5, "hardware": {"latency_cycles": 7.0}}
    assert schema.TEST_ACCURACY.read(m) == 0.5 and schema.LATENCY_CYCLES.read(m) == 7.0
    assert schema.FPS.read(m) is None and schema.FIRING_RATE.read(m) is None
    with pytest.raises(ConfigError, match="unknown metric 'latency'.*latency_cycles"):
        schema.metric("latency")


def test_search_objectives_take_their_directions_from_the_schema(tmp_path):
    expected = {"accuracy": "max", "latency": "min", "fps_per_w": "max", "firing_rate": "min",
                "energy": "min"}
    assert {k: m.direction for k, m in search.OBJECTIVES.items()} == expected
    assert all(m is schema.METRICS[m.name] for m in search.OBJECTIVES.values())
    base = {"train": {"epochs": 1}}
    for name, direction in expected.items():
        sc = search.SearchConfig.from_dict({"base": base, "space": {"model.beta": {"low": 0.2, "high": 0.9}},
                                            "objectives": [name]})
        study = search.open_study(sc, tmp_path / name, name)
        assert study.direction == (optuna.study.StudyDirection.MAXIMIZE if direction == "max"
                                   else optuna.study.StudyDirection.MINIMIZE)


def test_pareto_rows_use_the_schema_directions(tmp_path):
    """Accuracy (max) vs latency (min) over five hand-placed trials; the study's own
    directions are left at maximise for both, so only the schema can say latency is minimised."""
    study = optuna.create_study(directions=["maximize", "maximize"])
    study.set_metric_names(["accuracy", "latency"])
    points = [(0.9, 500.0), (0.8, 300.0), (0.85, 600.0), (0.9, 400.0), (0.7, 300.0)]
    for acc, lat in points:
        study.add_trial(optuna.trial.create_trial(
            params={}, distributions={}, values=[acc, lat],
            user_attrs={"metrics": {"latency_cycles": lat, "test_accuracy": acc}}))
    front = search.write_pareto(study, tmp_path)
    # (0.9, 400) dominates (0.9, 500) and (0.85, 600); (0.8, 300) dominates (0.7, 300)
    assert [r["trial"] for r in front] == [1, 3]
    assert (tmp_path / "pareto.png").is_file() and (tmp_path / "trials.csv").is_file()
