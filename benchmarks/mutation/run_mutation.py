"""Mutation testing of spiketune's core modules with mutmut (too slow for CI).

Each target (a group of source files and the test files that check them) runs in its own
scratch copy of the project, so nothing is written to the working tree:

    python benchmarks/mutation/run_mutation.py surrogate            # one target
    python benchmarks/mutation/run_mutation.py --all                # every target, one after another
    python benchmarks/mutation/run_mutation.py --list
    python benchmarks/mutation/run_mutation.py hardware --survivors  # re-judge the last survivors

``--resume`` goes on with the mutants a stopped run did not reach (same scratch copy, current
tests); ``--resume --sample N`` runs a seeded random sample of N of them, where a full run is
too slow (the score then estimates the whole target's). ``--survivors`` reuses the target's
scratch copy with the current tests and runs only the mutants that survived the last run (after
adding tests against them). ``--only GLOB ...`` runs only the mutants whose names match (e.g.
``'*_MultiStep*'`` for the fused neuron step); the score then covers those mutants only. Tests
marked slow are left out unless ``--slow`` is given (e.g. ``sweep --survivors --slow``: re-judge
the survivors with the interrupted-sweep test, which trains two networks).

mutmut runs with one worker (``--workers N`` for more) and one OpenMP thread (scikit-learn's gradient boosting is
ten times slower with threads on a loaded machine); start it under ``nice -n 10`` on a
shared machine. The
per-target score (killed / (killed + survived), mutants no test reaches count as
survived) and the surviving mutants' diffs are written to
``benchmarks/mutation/out/<target>.json`` and ``<target>.survivors.txt``.

mutmut mutates only code inside functions and methods (not module-level tables) and skips
decorated functions other than ``@staticmethod``/``@classmethod`` (e.g. ``@property``,
``@torch.no_grad()``): those lines need their own hand-computed tests (they have them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "out"
SCRATCH = Path("/tmp/spiketune-mutation")

# target: (files to mutate, test files (and pytest selection options) run against each mutant);
# end-to-end training tests are deselected: too slow to run per mutant
TARGETS: dict[str, tuple[list[str], list[str]]] = {
    "surrogate": (["src/spiketune/network/surrogate.py"],
                  ["tests/test_surrogate.py", "tests/test_exact_surrogate.py", "tests/test_surrogate_compat.py",
                   "tests/test_exact_chi.py"]),
    "neurons": (["src/spiketune/network/neurons.py"],
                ["tests/test_neurons.py", "tests/test_exact_neurons.py"]),
    "losses": (["src/spiketune/training/losses.py"], ["tests/test_losses.py", "tests/test_exact_losses.py"]),
    "chi": (["src/spiketune/training/chi.py"], ["tests/test_chi.py", "tests/test_exact_chi.py",
                                       "--deselect", "tests/test_chi.py::test_training_logs_chi_per_epoch"]),
    "metrics_profile": (["src/spiketune/measure/neurobench.py", "src/spiketune/measure/profile.py"],
                        ["tests/test_metrics.py", "tests/test_profile.py", "tests/test_exact_metrics.py"]),
    "explore": (["src/spiketune/explore/pareto.py", "src/spiketune/explore/predict.py",
                 "src/spiketune/explore/sweep.py"],
                ["tests/test_exact_explore.py", "tests/test_explore.py::test_pareto_matches_brute_force",
                 "tests/test_explore.py::test_pareto_ignores_nan",
                 "tests/test_explore.py::test_predictor_learns_a_known_relation",
                 "tests/test_explore.py::test_predictor_keeps_the_model_that_cross_validates_better"]),
    # the explore modules one by one (the whole "explore" target is too slow here in one run)
    "predict": (["src/spiketune/explore/predict.py"],
                ["tests/test_exact_explore.py",
                 "tests/test_explore.py::test_predictor_learns_a_known_relation",
                 "tests/test_explore.py::test_predictor_keeps_the_model_that_cross_validates_better"]),
    # the resume logic of a sweep on the exploration engine (the functions named in ONLY)
    "sweep": (["src/spiketune/explore/sweep.py", "src/spiketune/explore/engine.py"],
              ["tests/test_exact_explore.py", "tests/test_explore.py::test_sweep_points_union_and_dedup",
               "tests/test_explore.py::test_failed_point_is_recorded_and_retried",
               "tests/test_explore.py::test_a_trial_whose_end_was_lost_with_the_database_is_failed_and_rerun",
               "tests/test_sweep_workers.py",
               # the queue lock's own tests (the lock is not mutated here) and a subprocess `spiketune
               # search`, which imports the unmutated package
               "--deselect",
               "tests/test_sweep_workers.py::test_the_queue_lock_excludes_another_process_sqlite",
               "--deselect",
               "tests/test_sweep_workers.py::test_the_queue_lock_excludes_another_process_postgres",
               "--deselect",
               "tests/test_sweep_workers.py::test_search_progress_bar_counts_the_requested_trials"]),
    "hardware": ([f"src/spiketune/hardware/{f}.py" for f in (
        "__init__", "as_built", "base", "config", "fixed_point", "neuron_cost", "registry", "report",
        "resources", "snn_dse/__init__", "snn_dse/alloc", "snn_dse/config", "snn_dse/cycles",
        "snn_dse/layers", "snn_dse/network_math", "snn_dse/neuron_math", "snn_dse/power",
        "snn_dse/simulate", "hybrid/__init__", "hybrid/dense")],
                 ["tests/test_exact_hardware.py", "tests/test_hardware.py", "tests/test_hardware_plugins.py",
                  "tests/test_hardware_rtl.py", "tests/test_neuron_math.py", "tests/test_fixed_point.py",
                  "tests/test_resources.py", "tests/test_network_math.py",
                  "tests/test_exact_hardware_parts.py",
                  "tests/test_neuron_models.py::test_hardware_cost_per_model_and_designs_that_cannot_run_it",
                  # each trains a network (20-30 s per mutant); the exact tests cover the same code
                  "--deselect", "tests/test_hardware.py::test_allocation_beats_uniform_and_respects_budget",
                  "--deselect",
                  "tests/test_fixed_point.py::test_quantised_network_runs_bit_exact_within_tolerance",
                  "--deselect",
                  "tests/test_fixed_point.py::test_post_training_quantisation_is_reported_not_hidden",
                  # cost the digits default network and a VGG-9 (5-70 s); the by-hand device tests
                  # (test_allocator_takes_a_device_as_its_budget_by_hand, ...) cover the same paths
                  "--deselect",
                  "tests/test_resources.py::test_default_digits_network_and_vgg9_cost_reports_name_their_device",
                  "--deselect",
                  "tests/test_resources.py::test_device_in_the_config_allocates_and_is_checked"]),
}

# the mutants of a target when no --only is given: what decides which of a sweep's runs are
# finished, queued, retried or queued again (mutmut names: module.x_function, module.xǁClassǁmethod)
ONLY: dict[str, list[str]] = {
    "sweep": ["*sweep.x_finished_run__*", "*sweep.x_point_errors__*", "*sweep.x_run_sweep__*",
              "*sweep.x__run_sweep__*", "*sweep.x__run__*", "*sweep.xǁSweepWorkerǁ*",
              "*engine.xǁWorkerǁclaim__*", "*engine.xǁWorkerǁrequeue__*", "*engine.xǁWorkerǁretry_*",
              "*engine.x__alive__*"],
}

# files outside tests/ that tests read (copied into each scratch copy and its mutants/)
DATA = ["benchmarks/synth"]

PYPROJECT = """\
[tool.mutmut]
source_paths = ["src"]
also_copy = {data}
only_mutate = {only}
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider"]
process_isolation = "forkserver"
use_git_change_detection = false

[tool.pytest.ini_options]
markers = ["slow: long-running end-to-end tests (run with -m slow)"]
addopts = "{addopts}"
"""


def prepare(name: str, again: bool = False, slow: bool = False) -> Path:
    """A scratch copy of src/ and tests/ with a mutmut config for ``name``; ``again`` keeps
    the copy (and mutmut's results) and refreshes only the tests; ``slow`` also runs the
    tests marked slow."""
    files, tests = TARGETS[name]
    tests = [t for t in tests if not t.startswith("tests/") or (ROOT / t.split("::")[0]).is_file()]
    work = SCRATCH / name
    if not again:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        shutil.copytree(ROOT / "src", work / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for d in DATA:
        shutil.copytree(ROOT / d, work / d, dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"),
                    dirs_exist_ok=True)
    (work / "pyproject.toml").write_text(PYPROJECT.format(data=json.dumps(DATA), only=json.dumps(files),
                                                          tests=json.dumps(tests),
                                                          addopts="-q" if slow else "-m 'not slow' -q"))
    return work


SHOW = """
import sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
for name in sys.stdin.read().split():
    print(f"# {name}\\n{get_diff_for_mutant(name, path=find_mutant(name).path)}")
"""


def survivors(work: Path, names: list[str]) -> str:
    """The diffs of the surviving mutants (as ``mutmut show`` prints them, in one process)."""
    return subprocess.run([sys.executable, "-c", SHOW], cwd=work, input="\n".join(names), capture_output=True,
                          text=True, check=True).stdout


def statuses(work: Path, only: list[str] | None) -> dict[str, str]:
    """mutmut's status of each mutant of the scratch copy ``work`` (those matching ``only``)."""
    listing = subprocess.run(["mutmut", "results", "--all", "true"], cwd=work, capture_output=True,
                             text=True).stdout
    status: dict[str, str] = {}
    for line in listing.splitlines():
        m = re.match(r"\s*(\S+):\s*(.+)$", line)
        if m and "__mutmut_" in m.group(1) and (not only or any(fnmatch(m.group(1), g) for g in only)):
            status[m.group(1)] = m.group(2).strip()
    return status


# wall-clock seconds after which a mutant's test process is stopped and the mutant counted as
# killed ("segfault", exit -9): a hang the tests caught (a sweep waiting forever for a trial no
# worker will finish). mutmut's own limit counts CPU seconds, which a waiting process never spends.
HANG_S = 240


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(c) for c in out.split()]


def _age_s(pid: int) -> int:
    out = subprocess.run(["ps", "-o", "etimes=", "-p", str(pid)], capture_output=True, text=True).stdout
    return int(out.strip() or 0)


def mutmut(work: Path, names: list[str], workers: int = 1) -> None:
    """``mutmut run`` on ``names`` (all when empty) with ``workers`` test processes at a time,
    stopping test processes that hang."""
    proc = subprocess.Popen(["mutmut", "run", "--max-children", str(workers), *names], cwd=work,
                            stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    while proc.poll() is None:
        time.sleep(5)
        for worker in _children(proc.pid):  # mutmut's worker, and under it one test process per mutant
            for test in _children(worker):
                if _age_s(test) > HANG_S:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(test, signal.SIGKILL)


def run(name: str, again: bool = False, only: list[str] | None = None, slow: bool = False,
        resume: bool = False, sample: int | None = None, workers: int = 1) -> dict:
    previous: list[str] = []
    if again:
        last = json.loads((OUT / f"{name}.json").read_text())
        previous, only = last["survivors"], last.get("only")
    if (again or resume) and not (SCRATCH / name / "mutants").is_dir():
        sys.exit(f"{name}: no earlier run in {SCRATCH / name} to re-judge or resume")
    only = only or ONLY.get(name)
    work = prepare(name, again or resume, slow)
    t0 = time.time()
    if resume:  # the mutants a stopped run did not reach
        todo = sorted(n for n, s in statuses(work, only).items() if s == "not checked")
        if sample is not None and sample < len(todo):  # a seeded random sample of them
            todo = sorted(random.Random(0).sample(todo, sample))
        if todo:
            mutmut(work, todo, workers)
    elif not again or previous:
        mutmut(work, previous or only or [], workers)
    status = statuses(work, only)
    counts: dict[str, int] = {}
    for s in status.values():
        counts[s] = counts.get(s, 0) + 1
    alive = sorted(n for n, s in status.items() if s in ("survived", "no tests"))
    killed = sum(c for s, c in counts.items() if s in ("killed", "timeout", "segfault"))
    judged = killed + len(alive)
    result = {"target": name, "files": TARGETS[name][0], "tests": TARGETS[name][1], "only": only,
              "counts": counts,
              "score": killed / judged if judged else float("nan"), "survivors": alive,
              "seconds": round(time.time() - t0)}
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (OUT / f"{name}.survivors.txt").write_text(survivors(work, alive))
    print(f"{name}: score {result['score']:.1%} ({killed}/{judged}), {counts}, {result['seconds']} s")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", choices=[[], *TARGETS], metavar="TARGET")
    ap.add_argument("--all", action="store_true", help="run every target")
    ap.add_argument("--list", action="store_true", help="list the targets")
    ap.add_argument("--survivors", action="store_true", help="re-run only the last run's survivors")
    ap.add_argument("--only", nargs="+", metavar="GLOB", help="run only the mutants matching these names")
    ap.add_argument("--slow", action="store_true", help="also run the tests marked slow")
    ap.add_argument("--resume", action="store_true",
                    help="go on with the mutants a stopped run did not reach")
    ap.add_argument("--sample", type=int, metavar="N",
                    help="with --resume: only N of them, a seeded random sample")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="test processes at a time (default 1: a wall-clock hang limit needs a free core)")
    a = ap.parse_args()
    if a.list:
        for n, (files, tests) in TARGETS.items():
            print(f"{n}: {' '.join(files)}{' (' + ' '.join(ONLY[n]) + ')' if n in ONLY else ''}  <-  "
                  f"{' '.join(tests)}")
        return
    names = list(TARGETS) if a.all else a.targets
    if not names:
        ap.error("name a target or pass --all")
    if shutil.which("mutmut") is None:
        sys.exit("mutmut is not installed: pip install mutmut")
    for n in names:
        run(n, a.survivors, a.only, a.slow, a.resume, a.sample, a.workers)


if __name__ == "__main__":
    main()
