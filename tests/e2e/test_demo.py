"""``xpchaos demo`` as ``make demo`` runs it: starts the sandbox, shows the platform, writes a transcript."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import sandboxes
from tests.support.paths import ROOT


def test_demo_runs_twice_and_writes_its_transcript(tmp_path: Path) -> None:
    state, transcript = tmp_path / "sb", tmp_path / "out" / "demo.txt"
    command = [sys.executable, "-m", "xpchaos", "demo", "--state-dir", str(state), "--transcript", str(transcript),
               "--speed", "fast"]  # make demo runs at real speed; the same job, in seconds
    try:
        first = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert first.returncode == 0, first.stderr
        second = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert second.returncode == 0, second.stderr
    finally:
        sandboxes.stop(state)
    assert "Sandbox started" in first.stdout and "reused" in second.stdout
    text = transcript.read_text()
    row = next(line for line in text.splitlines() if line.strip().startswith("production-db  "))
    assert row.split()[1:4] == ["True", "True", "global-database-aws-azure"]  # SYNCED, READY, COMPOSITION
    aurora = next(line for line in text.splitlines() if line.strip().startswith("production-db-aurora"))
    assert aurora.split()[1:4] == ["True", "True", "production-db-aurora"]  # SYNCED, READY, EXTERNAL-NAME
    assert "serving aws" in text and "192.0.2.10" in text
    assert f"Transcript written to {transcript}" in second.stdout
    # the main job: the experiment ran, passed, and its journal and report sit beside the transcript
    assert "revoke-credentials against sandbox-blueprint" in first.stdout or "xpchaos run" in text
    assert "resilient: every step within its deadline" in text
    assert "injected" in text and "198.51.100.20" in text  # the fault marker and DNS answering Azure
    journal = json.loads((transcript.parent / "journal.json").read_text())
    verdict = next(e for e in journal["extensions"] if e["name"] == "xpchaos-verdict")
    assert verdict["outcome"] == "passed" and verdict["times"]["time_to_dns_convergence_s"] < 90
    assert "resilient" in (transcript.parent / "report.txt").read_text()
    assert "<svg" in (transcript.parent / "report.html").read_text()  # the timeline chart


def test_demo_refuses_a_sandbox_of_another_profile(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    with sandboxes.running(state, "--profile", "stock", "--speed", "fast"):
        result = subprocess.run([sys.executable, "-m", "xpchaos", "demo", "--state-dir", str(state), "--transcript",
                                 str(tmp_path / "t.txt")], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert "--profile stock" in result.stderr and "sandbox down" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "t.txt").exists()
