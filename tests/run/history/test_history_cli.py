"""``xpchaos history`` through the ``xpchaos`` command group, on histories written by xpchaos.run.history."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xpchaos.cli.main import main
from xpchaos.core.outcome import Outcome
from xpchaos.run import history

from .helpers import OTHER, SCENARIO, record_run, scenario


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite"
    for n, failover in enumerate((20.0, 22.0, 21.0), 1):
        record_run(path, scenario(failover=failover), scenario(name=OTHER, failover=30.0 + n), n=n)
    return path


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["history", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_no_regression_prints_the_table_writes_the_page_and_exits_0(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "page" / "history.html"
    code, stdout, stderr = _run("--history", str(db), "-o", str(out))
    assert code == 0, stdout + stderr
    assert SCENARIO in stdout and OTHER in stdout
    assert "21.0 s (median 21.0 s)" in stdout  # latest fail over vs the median of the runs before
    assert "REGRESSION" not in stdout
    assert str(out) in stdout
    page = out.read_text()
    assert page.count("<svg") == 2 and "SLO 90 s" in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_regression_is_flagged_with_its_reason_and_exits_1(db: Path, tmp_path: Path) -> None:
    record_run(db, scenario(failover=45.0), scenario(name=OTHER, outcome=Outcome.FAILED, failover=33.0), n=4)
    out = tmp_path / "history.html"
    code, stdout, _ = _run("--history", str(db), "-o", str(out))
    assert code == 1
    assert "REGRESSION" in stdout
    assert "time to fail over 45.0 s vs median 21.0 s of the previous 3 runs" in stdout
    assert "verdict went from passed to failed" in stdout
    page = out.read_text()
    assert "<svg" in page and 'class="regression"' in page and "verdict went from passed to failed" in page


def test_the_page_escapes_what_the_history_holds(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    evil = 'Fail <script>alert("x")</script> & over'
    record_run(path, scenario(name=evil), n=1)
    out = tmp_path / "history.html"
    code, _, _ = _run("--history", str(path), "-o", str(out), "--limit", "5")
    assert code == 0
    page = out.read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; over" in page


def test_a_missing_history_exits_2_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "history.html"
    code, _, stderr = _run("--history", str(tmp_path / "none.sqlite"), "-o", str(out))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and "no such history" in stderr
    assert not out.exists() and not (tmp_path / "none.sqlite").exists()


def test_a_file_that_is_not_a_history_exits_2(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_text("hello")
    code, _, stderr = _run("--history", str(bogus), "-o", str(tmp_path / "h.html"))
    assert code == 2 and "not an xpchaos history" in stderr


def test_the_history_comes_from_the_environment(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(history.ENV, str(db))
    code, stdout, _ = _run("-o", str(tmp_path / "h.html"))
    assert code == 0 and SCENARIO in stdout


def test_help_names_the_exit_codes() -> None:
    code, stdout, _ = _run("--help")
    assert code == 0 and "1  the latest run of a scenario regressed" in stdout
