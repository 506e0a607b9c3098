"""The experiments as users run them: ``chaos run`` in a process of its own with a private HOME, undo log and
journal, and what the journal says afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.commands import CHAOS
from tests.support.paths import EXPERIMENTS
from tests.support.sandboxes import UNANSWERED, Sandbox
from tests.support.waiting import wait_for
from xpchaos.core.undo_log import UndoLog
from xpchaos.run import snapshot

NAMES = ("delete-providerconfig", "block-provider-api", "revoke-credentials")
# the environment a run must not inherit from whoever runs the tests
KNOBS = ("XPCHAOS_TARGET", "XPCHAOS_PROVIDER", "XPCHAOS_SLO", "XPCHAOS_UNDO_LOG", "XPCHAOS_FORCE_DELETE",
         "XPCHAOS_BLOCK_MODE", "XPCHAOS_REVOKE_MODE", "KUBECONFIG")
RUN_TIMEOUT = 150
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


@dataclass
class Run:
    """One run's private world: cwd and HOME, its undo log, its journal."""

    directory: Path

    @property
    def undo_log(self) -> Path:
        return self.directory / "undo.jsonl"

    @property
    def journal_path(self) -> Path:
        return self.directory / "journal.json"

    def journal(self) -> dict[str, Any]:
        return dict(json.loads(self.journal_path.read_text()))

    def outstanding(self) -> list[dict[str, Any]]:
        return UndoLog(self.undo_log).outstanding()

    def env(self, target: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in KNOBS}
        env.update(HOME=str(self.directory), XPCHAOS_TARGET=str(target), XPCHAOS_UNDO_LOG=str(self.undo_log),
                   **extra)
        return env

    def chaos_command(self, name: str) -> list[str]:
        return [CHAOS, "--no-version-check", "run", "--journal-path", str(self.journal_path),
                str(EXPERIMENTS / f"{name}.json")]

    def chaos(self, name: str, target: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.chaos_command(name), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              cwd=self.directory, env=self.env(target, **extra))

    def log(self) -> str:
        path = self.directory / "chaostoolkit.log"
        return path.read_text(errors="replace") if path.exists() else ""


def extension(journal: dict[str, Any], name: str) -> dict[str, Any]:
    found = next((e for e in journal.get("extensions") or [] if e.get("name") == name), None)
    assert found is not None, f"no {name} extension in the journal (status {journal.get('status')})"
    return found


def verdict_of(journal: dict[str, Any]) -> dict[str, Any]:
    return extension(journal, "xpchaos-verdict")


def signal_when_faulted(process: subprocess.Popen[str], box: Sandbox, run: Run, before: snapshot.Snapshot,
                        signum: int, ready: Callable[[], bool] = lambda: True) -> None:
    """Wait until the fault is in place (an outstanding undo record and the cluster changed), and ``ready``, then
    send ``signum``."""
    def faulted() -> bool:
        assert process.poll() is None, f"the run ended before the fault was in place: {process.returncode}"
        return bool(run.outstanding() and snapshot.diff(before, box.snapshot()) and ready())

    wait_for(faulted, 60, what="the fault in place", retry_on=UNANSWERED)
    process.send_signal(signum)
