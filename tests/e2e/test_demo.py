"""``xpchaos demo`` as ``make demo`` runs it: starts the sandbox, shows it working, writes a transcript."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import sandbox_process as sp
from tests.conftest import ROOT


def test_demo_runs_twice_and_writes_its_transcript(tmp_path: Path) -> None:
    state, transcript = tmp_path / "sb", tmp_path / "out" / "demo.txt"
    command = [sys.executable, "-m", "harness", "demo", "--state-dir", str(state), "--transcript", str(transcript)]
    try:
        first = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert first.returncode == 0, first.stderr
        second = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert second.returncode == 0, second.stderr
    finally:
        sp.stop(state)
    assert "production-db created" in first.stdout and "Sandbox started" in first.stdout
    assert "production-db unchanged" in second.stdout and "reused" in second.stdout
    text = transcript.read_text()
    assert "Synced=True Ready=False" in text and "Synced=True Ready=True" in text
    assert text.index("Ready=False") < text.index("Ready=True")
    row = next(line for line in text.splitlines() if line.strip().startswith("production-db  True"))
    assert "global-database-aws-azure" in row
    assert f"Transcript written to {transcript}" in second.stdout
