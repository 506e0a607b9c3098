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


def test_where_the_time_went_is_reported_part_by_part() -> None:
    parts = [{"name": "first_effect", "what": "waiting for aws's poll: the first aws MR error", "from_s": 0.0,
              "to_s": 0.9, "took_s": 0.9},
             {"name": "client", "what": "TTL: resolvers may still serve the old answer", "from_s": 4.0, "to_s": 6.0,
              "took_s": 2.0}]
    journal = {"status": "completed", "rollbacks": [], "extensions": []}
    found = verdict.Verdict(Outcome.PASSED, "every step within its deadline", parts=parts)
    lines = [line.strip() for line in
             run_cli.report_text(runner.RunResult(Path("x.json"), journal, found, None)).splitlines()]
    assert "Where the time went" in lines
    assert "waiting for aws's poll: the first aws MR error  0.00 s  0.90 s  0.90 s" in lines, lines
    assert "TTL: resolvers may still serve the old answer   4.00 s  6.00 s  2.00 s" in lines, lines
    assert "Where the time went" not in run_cli.report_text(_result([]))
