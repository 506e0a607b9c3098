"""``xpchaos init [DIR]``: scaffolds a platform team's repository from the copies shipped with xpchaos, prints the next
three commands, and never overwrites a file without ``--force``."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

from xpchaos.cli.init import NEXT_COMMANDS, TEMPLATE, plan
from xpchaos.core import target as targets
from xpchaos.run import sources


def init(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpchaos", "init", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_it_writes_the_shipped_files_and_prints_the_next_three_commands(tmp_path: Path) -> None:
    done = init("platform", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    repo = tmp_path / "platform"
    expected = {str(relative): source.read_bytes() for _part, source, relative in plan()}
    assert _tree(repo) == expected
    for wanted in ("features/test_scenarios.py", "features/failover.feature", "experiments/revoke-credentials.json",
                   ".github/workflows/resilience-gate.yml", "deploy/kubernetes/cronjob.yaml", "deploy/Dockerfile",
                   TEMPLATE):
        assert wanted in expected, wanted
    assert (repo / "experiments" / "revoke-credentials.json").read_bytes() == \
        (sources.shipped_dir("experiments") / "revoke-credentials.json").read_bytes()
    assert done.stdout.rstrip().splitlines()[-3:] == [f"  {c}" for c in NEXT_COMMANDS]
    assert "Next, in platform:" in done.stdout and ".xpchaos/sandbox/target.yaml" in done.stdout


def test_the_target_template_parses_and_allows_only_its_own_context(tmp_path: Path) -> None:
    assert init(cwd=tmp_path).returncode == 0
    assert not (tmp_path / "xpchaos.yaml").exists()  # the commands keep the sandbox's target until it exists
    target = targets.load(tmp_path / TEMPLATE)
    assert target.allowed_contexts == (target.context,) and {p.role for p in target.providers.values()} == \
        {"primary", "secondary"}
    # each section is described: a comment above it, on its line or in its block
    lines = (tmp_path / TEMPLATE).read_text().splitlines()
    described = {}
    for i, line in enumerate(lines):
        key = re.match(r"([a-zA-Z]+):", line)
        if key:
            block = list(itertools.takewhile(lambda s: s.startswith((" ", "#")) or not s, lines[i + 1:]))
            described[key.group(1)] = "#" in line or lines[i - 1].startswith("#") or \
                any("#" in s for s in block if s.startswith(" "))
    assert {"allowedContexts", "composites", "providers", "egressKeep", "dns", "slos", "safety"} <= set(described)
    assert [key for key, yes in described.items() if not yes and key not in ("apiVersion", "kind")] == []


def test_it_refuses_to_overwrite_anything_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    assert init(cwd=tmp_path).returncode == 0
    mine = tmp_path / "features" / "failover.feature"
    mine.write_text("Feature: our own\n")
    (tmp_path / "experiments" / "revoke-credentials.json").unlink()
    before = _tree(tmp_path)
    again = init(cwd=tmp_path)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr and "--force" in again.stderr
    assert _tree(tmp_path) == before  # not even the missing file was written back


def test_force_overwrites(tmp_path: Path) -> None:
    assert init(cwd=tmp_path).returncode == 0
    mine = tmp_path / "features" / "failover.feature"
    mine.write_text("Feature: our own\n")
    assert init("--force", cwd=tmp_path).returncode == 0
    assert mine.read_bytes() == (sources.shipped_dir("features") / "failover.feature").read_bytes()


def test_a_file_for_dir_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "repo").write_text("")
    done = init("repo", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not a directory" in done.stderr


def test_help_says_what_it_writes_and_which_target(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "xpchaos", "init", "--help"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0
    for words in (TEMPLATE, "features/", "experiments/", ".github/workflows/resilience-gate.yml",
                  "deploy/kubernetes/", ".xpchaos/sandbox/target.yaml", "--force"):
        assert words in done.stdout, words
    assert list(tmp_path.iterdir()) == []
