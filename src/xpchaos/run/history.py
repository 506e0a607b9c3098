"""The history of recovery times: every gate and game-day run, with each scenario's figures, in SQLite.

One file (``--history PATH``, else ``$XPCHAOS_HISTORY``, else ``reports/history.sqlite``), two tables:

- ``runs``: one row per gate or game-day run (``kind`` 'gate' | 'gameday', name, started/finished, target, exit
  code, where its report is);
- ``results``: one row per scenario of a run (scenario, fault, provider, verdict, the times to detect, to fail over
  and to DNS convergence on both clocks, the SLO), taken from the scenario's ``xpchaos-verdict``.

plus ``schema_version``. A history written by an older xpchaos gains the columns added since when it is next
written (``MIGRATIONS``); read before that, the missing columns read as not measured. The database is in WAL mode
and each run is written in one ``BEGIN IMMEDIATE`` transaction, so two processes (a gate and a game day) can append
at the same time: one waits for the other.

``trend()`` reads the last runs of each scenario back and flags regressions (``regression_reasons``).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xpchaos.core import measures
from xpchaos.core.errors import InputError
from xpchaos.core.outcome import Outcome
from xpchaos.run import report_model as rm

ENV = "XPCHAOS_HISTORY"
DEFAULT_PATH = Path("reports/history.sqlite")
SCHEMA_VERSION = 2
KINDS = ("gate", "gameday")
# the regression rule (see regression_reasons)
REGRESSION_RATIO = 0.25  # worse than the median of the previous runs by more than 25 % ...
REGRESSION_MIN_S = 1.0  # ... and by more than 1 s
REGRESSION_MIN_PREVIOUS = 3  # a median of fewer previous values says nothing
BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another one

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('gate', 'gameday')),
  name TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  target TEXT,
  exit_code INTEGER,
  report_path TEXT
);
CREATE TABLE IF NOT EXISTS results (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  scenario TEXT NOT NULL,
  fault TEXT,
  provider TEXT,
  verdict TEXT NOT NULL,
  detect_s REAL,
  failover_s REAL,
  dns_s REAL,
  slo_s REAL,
  dns_client_s REAL
);
CREATE INDEX IF NOT EXISTS results_by_scenario ON results (scenario, run_id);
"""
# the columns each schema version added to results: (version, column, SQL type)
MIGRATIONS = ((2, "dns_client_s", "REAL"),)  # time to DNS convergence, client-visible
RESULT_COLUMNS = ("detect_s", "failover_s", "dns_s", "dns_client_s")  # the measures' columns, in measures.MEASURES


class HistoryError(InputError):
    """The history file is missing, or is not an xpchaos history (one line, for the user)."""


def resolve(path: str | Path | None = None) -> Path:
    """``path``, else ``$XPCHAOS_HISTORY``, else ``reports/history.sqlite``."""
    return Path(path) if path else Path(os.environ.get(ENV) or DEFAULT_PATH)


def _connect(path: Path) -> sqlite3.Connection:
    # autocommit (isolation_level=None): transactions are explicit, BEGIN IMMEDIATE for writers
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock between two writers
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _retry_locked(action: Any, attempts: int = 50) -> Any:
    """Switching to WAL needs a lock that the busy timeout does not always wait for; retry it briefly."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 + 0.01 * attempt)
    return None


def _check_version(conn: sqlite3.Connection, path: Path) -> None:
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    if row is None or row[0] is None:
        raise HistoryError(f"{path}: not an xpchaos history (its schema_version table is empty)")
    if row[0] > SCHEMA_VERSION:
        raise HistoryError(f"{path}: written by a newer xpchaos (schema {row[0]}; this one reads {SCHEMA_VERSION})")


@contextmanager
def _closed_on_error(conn: sqlite3.Connection, where: Path) -> Iterator[None]:
    """Close ``conn`` when opening fails; a database that is not SQLite reads as "not an xpchaos history"."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise HistoryError(f"{where}: not an xpchaos history ({exc})") from exc
    except BaseException:
        conn.close()
        raise


def open_for_writing(path: str | Path | None = None) -> sqlite3.Connection:
    """The history at ``path`` (see ``resolve``), created with its schema when missing."""
    where = resolve(path)
    where.parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(where)
    with _closed_on_error(conn, where):
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())

        def create() -> None:
            with _transaction(conn):
                for statement in filter(str.strip, SCHEMA.split(";")):
                    conn.execute(statement)
                if conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

        _retry_locked(create)
        _check_version(conn, where)
        _retry_locked(lambda: _migrate(conn))
    return conn


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {str(row[1]) for row in conn.execute("PRAGMA table_info(results)")}


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a history written by an older xpchaos lacks, and record the version it now has."""
    with _transaction(conn):
        have = _columns(conn)
        for _version, column, kind in MIGRATIONS:
            if column not in have:
                conn.execute(f"ALTER TABLE results ADD COLUMN {column} {kind}")
        if conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] < SCHEMA_VERSION:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))


def open_for_reading(path: str | Path | None = None) -> sqlite3.Connection:
    """The existing history at ``path``; ``HistoryError`` when it is missing or not an xpchaos history."""
    where = resolve(path)
    if not where.exists():
        raise HistoryError(f"{where}: no such history (a gate or game-day run writes it; --history or "
                           f"${ENV} names another)")
    if not where.is_file():
        raise HistoryError(f"{where}: not a file")
    conn = _connect(where)
    with _closed_on_error(conn, where):
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = {"schema_version", "runs", "results"} - tables
        if missing:
            raise HistoryError(f"{where}: not an xpchaos history (no table {', '.join(sorted(missing))})")
        _check_version(conn, where)
    return conn


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def result_row(scenario: rm.ScenarioReport) -> dict[str, Any]:
    """One scenario's figures. The verdict column is the scenario's outcome (the gate's classification: for a
    plain run it is the journal's verdict; it also covers a failed rollback check or a scenario without journal)."""
    found = scenario.verdict
    times = found.times if found else {}
    row: dict[str, Any] = {"scenario": scenario.name, "fault": found.fault if found else None,
                           "provider": found.provider if found else None, "verdict": scenario.outcome,
                           "slo_s": measures.number(found.slo_s) if found else None}
    for what in measures.MEASURES:
        row[what.column] = what.of(times)
    return row


def record(path: str | Path | None, kind: str, name: str, started_at: Any, finished_at: Any, target: str | None,
           exit_code: int | None, report_path: str | Path | None, scenarios: Iterable[rm.ScenarioReport]) -> int:
    """Append one run and its scenarios' figures (skipped scenarios are left out) in one transaction; returns the
    run's id. ``started_at`` / ``finished_at``: ISO 8601 text (or datetimes)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    rows = [result_row(s) for s in scenarios if s.outcome != Outcome.SKIPPED]
    with closing(open_for_writing(path)) as conn:

        def write() -> int:
            with _transaction(conn):
                cursor = conn.execute(
                    "INSERT INTO runs (kind, name, started_at, finished_at, target, exit_code, report_path) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, name, _text(started_at), _text(finished_at), target, exit_code,
                     str(report_path) if report_path is not None else None))
                run_id = int(cursor.lastrowid or 0)
                conn.executemany(
                    "INSERT INTO results (run_id, scenario, fault, provider, verdict, detect_s, failover_s, dns_s, "
                    "dns_client_s, slo_s) VALUES (:run_id, :scenario, :fault, :provider, :verdict, :detect_s, "
                    ":failover_s, :dns_s, :dns_client_s, :slo_s)", [{**row, "run_id": run_id} for row in rows])
            return run_id

        return int(_retry_locked(write))


# trends ----------------------------------------------------------------------------------------------------------
@dataclass
class Point:
    """One scenario's result in one run."""
    run_id: int
    kind: str
    run_name: str
    started_at: str
    verdict: Outcome
    values: dict[str, float | None]  # a measure's column (detect_s, failover_s, dns_s, dns_client_s) -> seconds
    slo_s: float | None = None
    fault: str | None = None
    provider: str | None = None
    report_path: str | None = None


@dataclass
class Regression:
    figure: str  # a measure's column, or "verdict"
    reason: str


@dataclass
class Trend:
    """The last runs of one scenario, oldest first, and what regressed in the latest."""
    scenario: str
    points: list[Point]
    regressions: list[Regression] = field(default_factory=list)

    @property
    def latest(self) -> Point:
        return self.points[-1]

    def series(self, column: str) -> list[float | None]:
        return [p.values.get(column) for p in self.points]

    def baseline(self, column: str) -> float | None:
        """The median of the figure over the runs before the latest (None without any value)."""
        previous = [v for v in self.series(column)[:-1] if v is not None]
        return statistics.median(previous) if previous else None


def regression_reasons(latest: Point, previous: list[Point]) -> list[Regression]:
    """The regression rule. A figure regressed when the latest value is worse (larger) than the median of the
    previous runs' values — at least ``REGRESSION_MIN_PREVIOUS`` of them — by more than ``REGRESSION_RATIO`` of
    that median AND by more than ``REGRESSION_MIN_S`` seconds. The verdict regressed when the run before was
    ``passed`` and the latest is anything else. ``previous``: oldest first."""
    found = []
    if previous and previous[-1].verdict == Outcome.PASSED and latest.verdict != Outcome.PASSED:
        found.append(Regression("verdict", f"verdict went from passed to {latest.verdict}"))
    for what in measures.MEASURES:
        value = latest.values.get(what.column)
        before = [v for p in previous if (v := p.values.get(what.column)) is not None]
        if value is None or len(before) < REGRESSION_MIN_PREVIOUS:
            continue
        median = statistics.median(before)
        if value - median > REGRESSION_MIN_S and value > median * (1 + REGRESSION_RATIO):
            worse = f"+{(value / median - 1) * 100:.0f} %" if median > 0 else f"+{value - median:.1f} s"
            found.append(Regression(what.column, f"{what.label} {measures.seconds(value)} vs median "
                                                 f"{measures.seconds(median)} of the previous {len(before)} runs "
                                                 f"({worse})"))
    return found


def trend(path: str | Path | None = None, limit_runs: int = 20) -> list[Trend]:
    """Each scenario's last ``limit_runs`` results (oldest first, in the order they were recorded) and the
    regressions of its latest one, scenarios by name. ``HistoryError`` when the history is missing or invalid."""
    if limit_runs < 1:
        raise ValueError("limit_runs must be at least 1")
    with closing(open_for_reading(path)) as conn:
        have = _columns(conn)  # a history not yet migrated lacks the newer columns: not measured then
        figures = ", ".join(c if c in have else f"NULL AS {c}" for c in RESULT_COLUMNS)
        rows = conn.execute(
            f"SELECT scenario, run_id, kind, name, started_at, verdict, {figures}, slo_s, fault, "
            "provider, report_path FROM ("
            "  SELECT r.*, runs.kind, runs.name, runs.started_at, runs.report_path, row_number() OVER ("
            "    PARTITION BY r.scenario ORDER BY r.run_id DESC, r.rowid DESC) AS age"
            "  FROM results AS r JOIN runs ON runs.id = r.run_id"
            ") WHERE age <= ? ORDER BY scenario, run_id, age DESC", (limit_runs,)).fetchall()
    by_scenario: dict[str, list[Point]] = {}
    for (scenario, run_id, kind, name, started_at, verdict, *values, slo_s, fault, provider, report_path) in rows:
        by_scenario.setdefault(scenario, []).append(Point(
            run_id, kind, name, started_at, Outcome.parse(verdict), dict(zip(RESULT_COLUMNS, values, strict=True)),
            slo_s, fault, provider, report_path))
    return [Trend(scenario, points, regression_reasons(points[-1], points[:-1]))
            for scenario, points in by_scenario.items()]
