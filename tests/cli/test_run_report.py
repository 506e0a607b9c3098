"""The text report of ``xpchaos run`` says when the cluster made the harness retry."""

from __future__ import annotations

from pathlib import Path

from xpchaos import verdict
from xpchaos.cli import run as run_cli
from xpchaos.core.outcome import Outcome
from xpchaos.run import runner


def _result(extensions: list[dict[str, object]]) -> runner.RunResult:
    journal = {"status": "completed", "rollbacks": [], "extensions": extensions}
    return runner.RunResult(Path("x.json"), journal, verdict.Verdict(Outcome.PASSED, "every step within its deadline"),
                            None)


def test_retries_are_reported_when_there_were_any() -> None:
    text = run_cli.report_text(_result([{"name": "xpchaos-api", "retries": {"total": 3, "503": 2,
                                                                             "watch reconnect": 1}}]))
    assert "API requests retried: 503 x2, watch reconnect x1" in text
    quiet = run_cli.report_text(_result([{"name": "xpchaos-api", "retries": {"total": 0}}]))
    assert "retried" not in quiet
