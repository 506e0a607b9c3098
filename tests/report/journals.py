"""The three real journals the report tests read, and how a run that makes one is finished and checked."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.runs import RUN_TIMEOUT, Run, verdict_of


@dataclass
class Journals:
    passed: Path
    failed: Path
    not_applied: Path
    targets: dict[str, Path]  # journal name -> the target it ran against

    def load(self, name: str) -> dict[str, Any]:
        return dict(json.loads(Path(getattr(self, name)).read_text()))


def outcome(journal: Path) -> str:
    return str(verdict_of(json.loads(journal.read_text())).get("outcome"))


def finish(process: subprocess.Popen[str], run: Run, expected: str) -> Path:
    """Wait for a ``chaos run`` started with ``Popen``; its journal, once its verdict is ``expected``."""
    _out, err = process.communicate(timeout=RUN_TIMEOUT)
    assert run.journal_path.exists(), f"chaos run wrote no journal (exit {process.returncode}): {err[-2000:]}"
    found = outcome(run.journal_path)
    assert found == expected, f"{run.journal_path}: verdict {found!r}, expected {expected!r}; {run.log()[-3000:]}"
    return run.journal_path
