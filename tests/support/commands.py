"""The project's command lines as a user runs them: each in a process of its own, from the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

BIN = Path(sys.executable).parent
CHAOS = str(BIN / "chaos") if (BIN / "chaos").exists() else (shutil.which("chaos") or "chaos")


def xpchaos(*args: str, cwd: Path | None = None, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``xpchaos ARGS`` (``python -m xpchaos``), its output captured as text."""
    return subprocess.run([sys.executable, "-m", "xpchaos", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or ROOT, env=env)
