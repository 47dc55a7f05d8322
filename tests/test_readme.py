"""Every `spiketune` command of README.md runs as written (slow: it trains the networks the
README trains). Commands that need what a test machine lacks (a dataset folder DIR, a
PostgreSQL server, a download) are named in NEEDS with the reason, so a new example cannot
slip through untested."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NEEDS = {  # a fragment of the command -> what it needs
    "DIR": "an event dataset folder",
    "--storage postgresql": "a PostgreSQL server",
    "--dataset svhn": "the SVHN download",
    "--dataset fashion-mnist": "the Fashion-MNIST files (Debian dataset-fashion-mnist)",
    "--dataset cifar10dvs": "the CIFAR10-DVS files",
    "sweep-nmnist-framing": "the N-MNIST files",
    "reproduce surrogates-neurons --dataset cifar10dvs": "the CIFAR10-DVS files",
}


def readme_commands() -> list[str]:
    """`spiketune ...` lines of the README's bash blocks, continuations joined, comments cut."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    cmds = []
    for line in text.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line.startswith("spiketune "):
            cmds.append(line)
    return cmds


def test_the_readme_names_its_commands():
    cmds = readme_commands()
    assert any(c.startswith("spiketune report") for c in cmds)
    assert any(c.startswith("spiketune show") for c in cmds)


@pytest.mark.slow
def test_every_readme_example_runs_as_written(tmp_path):
    pytest.importorskip("nir")  # the export example and the costing of its model
    env = {**os.environ, "PYTHONPATH": str(README.parent / "src"), "COLUMNS": "200"}
    (tmp_path / "examples").symlink_to(README.parent / "examples")
    run_folder = None
    for cmd in readme_commands():
        if any(frag in cmd for frag in NEEDS):
            continue
        if run_folder is not None:
            cmd = cmd.replace("results/digits-<hash>", run_folder)
        args = shlex.split(cmd.split(">")[0])
        r = subprocess.run([sys.executable, "-m", "spiketune", *args[1:]], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=3600)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        if ">" in cmd:
            (tmp_path / cmd.split(">")[1].strip()).write_text(r.stdout)
        if args[1:] == ["run"]:
            run_folder = re.search(r"results folder: (\S+)", r.stdout).group(1)


def test_the_readme_lists_every_config_key():
    from spiketune.training import config

    text = README.read_text()
    table = text[text.index("| section | keys |"):text.index("**chi** is")]
    rows = {line.split("|")[1].strip().strip("`"): line
            for line in table.splitlines()[2:] if line.startswith("|")}
    for section, keys in config.RunConfig().to_dict().items():
        missing = [k for k in keys if f"`{k}`" not in rows[section]]
        assert not missing, f"README's configuration table lacks {section}: {missing}"
