"""The undo log: append-only, fsync'd JSON lines, mode 0600, outstanding newest first, safe under concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from xpchaos.core.undo_log import ENV_VAR, RUN_ID, UndoLog, cluster_key, default_path, label_value


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
    assert set(outstanding) == {"id", "fault", "created", "run", "target", "undo", "done"}
    assert outstanding["run"] == RUN_ID
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


def test_default_path_is_per_user_and_per_cluster_and_env_overrides(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    key = cluster_key("https://127.0.0.1:6443", "prod-eu")
    assert default_path(key) == tmp_path / "home/.local/state/xpchaos" / f"undo-{key}.jsonl"
    assert key.startswith("127.0.0.1-6443-prod-eu-") and "/" not in key
    assert cluster_key("https://127.0.0.1:6443", "prod-us") != key  # another context, another log
    assert cluster_key("https://10.0.0.1:6443", "prod-eu") != key  # another API server, another log
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_path(key) == tmp_path / "state/xpchaos" / f"undo-{key}.jsonl"
    assert default_path() == tmp_path / "state/xpchaos/undo.jsonl"
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


def test_label_values_are_valid() -> None:
    assert label_value("production") == "production"
    assert label_value("My Target/2") == "My-Target-2"
    assert label_value("-" * 80) == "unnamed" and len(label_value("a" * 80)) == 63
