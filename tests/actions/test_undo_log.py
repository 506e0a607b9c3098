"""The undo log: append-only, fsync'd JSON lines, mode 0600, outstanding newest first, safe under concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from xpchaos.core.undo_log import ENV_VAR, UndoLog, default_path


def test_records_are_appended_and_marked_done_without_rewriting(tmp_path: Path) -> None:
    log = UndoLog(tmp_path / "deep" / "undo.jsonl")
    first = log.record("f1", {"path": "t"}, {"action": "a", "n": 1})
    size_after_first = log.path.stat().st_size
    second = log.record("f2", {"path": "t"}, {"action": "b", "n": 2})
    assert [r["id"] for r in log.outstanding()] == [second, first]  # newest first
    before = log.path.read_bytes()
    log.mark_done(second)
    after = log.path.read_bytes()
    assert after.startswith(before) and len(before) > size_after_first  # append-only
    done_line = json.loads(after.splitlines()[-1])
    assert done_line["id"] == second and done_line["done"] is True and set(done_line) == {"id", "done", "at"}
    (outstanding,) = log.outstanding()
    assert outstanding["id"] == first and outstanding["fault"] == "f1" and outstanding["done"] is False
    assert set(outstanding) == {"id", "fault", "created", "target", "undo", "done"}
    assert outstanding["undo"] == {"action": "a", "n": 1}
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_an_existing_loose_file_is_tightened_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "undo.jsonl"
    path.write_text('{"id": "x", "fault": "f", "target": {}, "undo": {}, "done": false}\n{"id": "y", "fau')
    path.chmod(0o644)
    log = UndoLog(path)
    assert [r["id"] for r in log.outstanding()] == ["x"]
    with path.open("a") as handle:
        handle.write("\n")
    log.mark_done("x")
    assert log.outstanding() == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_path_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_path() == Path(".xpchaos/undo.jsonl")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.jsonl"))
    assert UndoLog().path == tmp_path / "env.jsonl"
    assert UndoLog(tmp_path / "arg.jsonl").path == tmp_path / "arg.jsonl"


def test_a_missing_log_has_nothing_outstanding(tmp_path: Path) -> None:
    assert UndoLog(tmp_path / "none.jsonl").outstanding() == []


def test_unserialisable_record_fails_without_echoing_content(tmp_path: Path) -> None:
    log = UndoLog(tmp_path / "u.jsonl")
    with pytest.raises(Exception, match="not JSON-serialisable") as caught:
        log.record("f", {}, {"secret": b"TOPSECRET"})
    assert "TOPSECRET" not in str(caught.value)


def _writer(path: str, n: int) -> None:
    log = UndoLog(path)
    for i in range(n):
        log.record("f", {"path": "t"}, {"action": "x", "blob": "y" * 5000, "i": i, "pid": os.getpid()})


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), 40)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 160 and all(json.loads(line)["undo"]["blob"] == "y" * 5000 for line in lines)
    assert len(UndoLog(path).outstanding()) == 160
