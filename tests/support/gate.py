"""``xpchaos gate`` run as CI runs it, in a process of its own, with a private history."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.paths import ROOT

SELECTION = "ci and aws"  # the AWS scenarios: the three faults, the in-use deletion, the outline's AWS rows
GATE_TIMEOUT = 400


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``xpchaos gate ARGS``; its history goes to ``cwd`` (a fresh temporary folder when that is the checkout)."""
    env = {**os.environ, "XPCHAOS_HISTORY": str(cwd / "history.sqlite") if cwd != ROOT else
           str(Path(tempfile.mkdtemp(prefix="xpchaos-history-")) / "history.sqlite")}
    return subprocess.run([sys.executable, "-m", "xpchaos", "gate", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=GATE_TIMEOUT, env=env)
