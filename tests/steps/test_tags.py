"""Feature tags select suites: each tag is registered (pytest runs with --strict-markers) and selects what it says;
@slow scenarios are skipped unless selected."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.paths import ROOT


def _collect(*args: str) -> list[str]:
    run = subprocess.run([sys.executable, "-m", "pytest", "features", "--collect-only", "-q", "-p",
                          "no:cacheprovider", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if "::" in line]


@pytest.mark.parametrize(("tag", "must", "must_not"), [
    ("azure", "azure-aws", "aws-azure"),
    ("aws", "aws-azure", "azure-aws"),
    ("gameday", "real_speed", "stock"),
    ("ci", "stock_crossplane", "real_speed"),
])
def test_a_tag_selects_its_scenarios(tag: str, must: str, must_not: str) -> None:
    selected = _collect("-m", tag)
    assert any(must in item for item in selected), selected
    assert not any(must_not in item for item in selected), selected


def test_slow_scenarios_run_only_when_selected() -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "features", "-m", "gameday and not ci", "-p",
                          "no:cacheprovider", "-rs"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stdout
    assert "1 skipped" in run.stdout and "@slow: select it with -m slow" in run.stdout, run.stdout
