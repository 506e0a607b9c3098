"""Sandboxes for the preflight tests, started the way a user does (``xpchaos sandbox up --detach -o json``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from xpchaos.cli.preflight import preflight

ROOT = Path(__file__).resolve().parents[2]


def _xpchaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpchaos", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def _start(state_dir: Path, profile: str, speed: str) -> Path:
    result = _xpchaos("sandbox", "up", "--detach", "--profile", profile, "--speed", speed, "--state-dir",
                      str(state_dir), "-o", "json")
    assert result.returncode == 0, result.stderr
    return Path(json.loads(result.stdout)["target"])


@pytest.fixture(scope="module")
def sandbox_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str], Path]]:
    """``start(profile, speed)``: the target.yaml of a sandbox started for this module (one per combination)."""
    started: dict[tuple[str, str], tuple[Path, Path]] = {}

    def start(profile: str, speed: str) -> Path:
        if (profile, speed) not in started:
            state_dir = tmp_path_factory.mktemp(f"sandbox-{profile}-{speed}")
            started[(profile, speed)] = (state_dir, _start(state_dir, profile, speed))
        return started[(profile, speed)][1]

    yield start
    for state_dir, _target in started.values():
        _xpchaos("sandbox", "down", "--state-dir", str(state_dir))


def run_preflight(target: Path | str, *args: str) -> Result:
    return CliRunner().invoke(preflight, ["--target", str(target), *args])


def findings(target: Path | str) -> tuple[int, list[dict[str, Any]]]:
    result = run_preflight(target, "-o", "json")
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.stderr)
    return result.exit_code, json.loads(result.stdout)


def edited(target: Path, out: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of ``target`` changed by ``edit`` (the sandbox's own file stays as it is)."""
    doc = yaml.safe_load(target.read_text())
    edit(doc)
    out.write_text(yaml.safe_dump(doc))
    return out
