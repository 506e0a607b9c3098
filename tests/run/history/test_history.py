"""xpchaos.run.history: runs recorded in SQLite, trends read back in order, regressions flagged by the rule."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.run.history.helpers import OTHER, SCENARIO, record_run, scenario
from tests.support.paths import ROOT
from tests.support.waiting import wait_for
from xpchaos.core.outcome import Outcome
from xpchaos.run import history


def _three_runs(db: Path) -> None:
    for n, (detect, failover, dns) in enumerate(((4.0, 20.0, 30.0), (5.0, 22.0, 31.0), (4.5, 21.0, 29.0)), 1):
        record_run(db, scenario(detect=detect, failover=failover, dns=dns),
                   scenario(name=OTHER, outcome=Outcome.SKIPPED), n=n)


def test_record_creates_the_schema_in_wal_mode_and_leaves_skipped_scenarios_out(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "history.sqlite"
    run_id = record_run(db, scenario(), scenario(name=OTHER, outcome=Outcome.SKIPPED), n=1)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(history.SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT id, kind, name, exit_code, report_path FROM runs").fetchall() == [
            (run_id, "gate", "run 1", 0, "reports/run-1/index.html")]
        assert conn.execute("SELECT scenario, fault, provider, verdict, detect_s, failover_s, dns_s, slo_s "
                            "FROM results").fetchall() == [
            (SCENARIO, "revoke_credentials", "aws", "passed", 4.0, 20.0, 30.0, 90.0)]


def test_trend_shows_each_figure_in_run_order(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    _three_runs(db)
    [found] = history.trend(db)
    assert found.scenario == SCENARIO
    assert found.series("detect_s") == [4.0, 5.0, 4.5]
    assert found.series("failover_s") == [20.0, 22.0, 21.0]
    assert found.series("dns_s") == [30.0, 31.0, 29.0]
    assert [p.verdict for p in found.points] == ["passed"] * 3
    assert [p.slo_s for p in found.points] == [90.0] * 3
    assert found.baseline("failover_s") == 21.0  # median of 20, 22
    assert found.regressions == []
    assert [p.started_at for p in history.trend(db, limit_runs=2)[0].points] == ["2025-01-02T10:00:00Z",
                                                                                 "2025-01-03T10:00:00Z"]


def test_a_slower_fourth_run_is_flagged_with_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    _three_runs(db)
    record_run(db, scenario(detect=4.8, failover=40.0, dns=30.5), n=4)
    [found] = history.trend(db)
    assert found.series("failover_s") == [20.0, 22.0, 21.0, 40.0]
    assert [r.figure for r in found.regressions] == ["failover_s"]
    reason = found.regressions[0].reason
    assert "time to fail over 40.0 s vs median 21.0 s of the previous 3 runs" in reason
    assert "+90 %" in reason


@pytest.mark.parametrize(("previous", "latest", "flagged"), [
    ([20.0, 22.0, 21.0], 26.0, False),  # +5 s but only +24 %
    ([2.0, 2.0, 2.0], 2.9, False),  # +45 % but only 0.9 s
    ([2.0, 2.0, 2.0], 3.1, True),  # +55 % and 1.1 s
    ([20.0, 22.0], 60.0, False),  # fewer than 3 previous runs: no median worth comparing
    ([20.0, 22.0, 21.0], 10.0, False),  # faster is never a regression
])
def test_the_rule_needs_25_percent_and_1_s_over_at_least_3_previous_runs(
        previous: list[float], latest: float, flagged: bool) -> None:
    def point(value: float) -> history.Point:
        return history.Point(1, "gate", "r", "", "passed", {"detect_s": value})

    found = history.regression_reasons(point(latest), [point(v) for v in previous])
    assert bool(found) is flagged


def test_a_verdict_going_from_passed_to_failed_is_flagged(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    _three_runs(db)
    record_run(db, scenario(outcome=Outcome.FAILED, detect=4.0, failover=21.0, dns=None), n=4)
    [found] = history.trend(db)
    assert [(r.figure, r.reason) for r in found.regressions] == [("verdict", "verdict went from passed to failed")]
    record_run(db, scenario(outcome=Outcome.FAILED, detect=4.0, failover=21.0, dns=None), n=5)
    assert history.trend(db)[0].regressions == []  # failed after failed: nothing new


def test_two_processes_appending_at_once_both_land(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"  # does not exist yet: both also race to create it
    go = tmp_path / "go"
    per_process = 30
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tests.run.history.helpers import record_run, scenario
        open(os.path.join({str(tmp_path)!r}, "ready-" + sys.argv[2]), "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists({str(go)!r}):  # the start line: released for both at once
            assert time.monotonic() < deadline, "never released from the start line"
            time.sleep(0.001)
        for n in range({per_process}):
            record_run({str(db)!r}, scenario(name=sys.argv[1], failover=float(n)), kind=sys.argv[2], n=n % 9 + 1)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, name, kind], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True) for name, kind in ((SCENARIO, "gate"), (OTHER, "gameday"))]

    def both_at_the_line() -> bool:
        for proc in procs:
            assert proc.poll() is None, proc.communicate()[1]
        return all((tmp_path / f"ready-{kind}").exists() for kind in ("gate", "gameday"))

    try:
        wait_for(both_at_the_line, 60, what="both processes waiting at the start line")
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:  # the test failed before they finished: leave no process behind
                proc.kill()
                proc.communicate()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT kind, count(*) FROM runs GROUP BY kind ORDER BY kind").fetchall() == [
            ("gameday", per_process), ("gate", per_process)]
        assert conn.execute("SELECT count(*) FROM results").fetchone() == (2 * per_process,)
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)
    trends = {t.scenario: t for t in history.trend(db, limit_runs=100)}
    assert trends[SCENARIO].series("failover_s") == [float(n) for n in range(per_process)]
    assert trends[OTHER].series("failover_s") == [float(n) for n in range(per_process)]


def test_reading_a_missing_or_foreign_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(history.HistoryError, match="no such history"):
        history.trend(tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all " * 100)
    with pytest.raises(history.HistoryError, match="not an xpchaos history"):
        history.trend(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    with pytest.raises(history.HistoryError, match="not an xpchaos history"):
        history.trend(other)


def test_the_path_comes_from_the_environment_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(history.ENV, str(tmp_path / "env.sqlite"))
    record_run(None, scenario(), n=1)
    assert (tmp_path / "env.sqlite").exists()
    assert history.trend()[0].series("failover_s") == [20.0]
    monkeypatch.delenv(history.ENV)
    assert history.resolve() == history.DEFAULT_PATH


V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, name TEXT NOT NULL,
  started_at TEXT NOT NULL, finished_at TEXT NOT NULL, target TEXT, exit_code INTEGER, report_path TEXT);
CREATE TABLE results (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, scenario TEXT NOT NULL,
  fault TEXT, provider TEXT, verdict TEXT NOT NULL, detect_s REAL, failover_s REAL, dns_s REAL, slo_s REAL);
INSERT INTO runs VALUES (1, 'gate', 'run 1', '2025-01-01T10:00:00Z', '2025-01-01T10:05:00Z', NULL, 0, NULL);
INSERT INTO results VALUES (1, 'Revoking AWS credentials fails over to Azure', 'revoke_credentials', 'aws',
  'passed', 4.0, 20.0, 30.0, 90.0);
"""


def test_both_dns_clocks_are_recorded_and_a_version_1_history_gains_the_client_visible_column(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    with sqlite3.connect(db) as conn:  # as xpchaos wrote it before there were two DNS clocks
        conn.executescript(V1_SCHEMA)
    [old] = history.trend(db)  # read before any write: the missing column is not measured
    assert old.series("dns_s") == [30.0] and old.series("dns_client_s") == [None]
    record_run(db, scenario(dns=30.5, dns_client=32.5), n=2)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (history.SCHEMA_VERSION,)
        assert conn.execute("SELECT dns_s, dns_client_s FROM results ORDER BY run_id").fetchall() == [
            (30.0, None), (30.5, 32.5)]
    [found] = history.trend(db)
    assert found.series("dns_s") == [30.0, 30.5] and found.series("dns_client_s") == [None, 32.5]
    record_run(db, scenario(dns=31.0, dns_client=33.0), n=3)  # migrated once: the next write changes nothing more
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")] == [1, 2]
