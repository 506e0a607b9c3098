"""The durable undo log: JSON lines, one record per fault, written and fsync'd BEFORE the fault changes anything.

A record is ``{id, fault, created, target, undo: {...}, done: false}``; marking it done appends ``{id, done: true}``
(the file is append-only, never rewritten). ``outstanding()`` lists the records not done, newest first, which is
the order rollback and ``xpchaos restore`` replay them in.

Undo records may hold credential bytes (restoring a Secret needs its exact bytes), so the file is created with
mode 0600 and its content never goes into logs, exceptions, journals or reports.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xpchaos.core.errors import XpchaosError

DEFAULT_PATH = Path(".xpchaos/undo.jsonl")
ENV_VAR = "XPCHAOS_UNDO_LOG"


class UndoLogError(XpchaosError, RuntimeError):
    """The undo log cannot be written or read (the message never contains record content)."""


def default_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


class UndoLog:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()

    # writing ----------------------------------------------------------------------------------------------
    def record(self, fault: str, target: dict[str, Any], undo: dict[str, Any]) -> str:
        """Append a new outstanding record durably; returns its id. Call BEFORE making the change."""
        record_id = uuid.uuid4().hex
        self._append({"id": record_id, "fault": fault, "created": time.time(), "target": target, "undo": undo,
                      "done": False})
        return record_id

    def mark_done(self, record_id: str) -> None:
        self._append({"id": record_id, "done": True, "at": time.time()})

    def _append(self, entry: dict[str, Any]) -> None:
        try:
            line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
        except (TypeError, ValueError):
            raise UndoLogError(f"{self.path}: an undo record is not JSON-serialisable") from None
        directory = self.path.parent
        try:
            created_dir = not directory.exists()
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise UndoLogError(f"{self.path}: cannot open the undo log: {exc.strerror}") from None
        try:
            os.fchmod(fd, 0o600)  # it may hold credentials: readable by its owner only, whoever created it
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                view = memoryview(line)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:
            raise UndoLogError(f"{self.path}: cannot write the undo log: {exc.strerror}") from None
        finally:
            os.close(fd)
        self._fsync_dir(directory)
        if created_dir and directory.parent != directory:
            self._fsync_dir(directory.parent)

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        try:
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)

    # reading ----------------------------------------------------------------------------------------------
    def entries(self) -> Iterator[dict[str, Any]]:
        """Every parseable line in file order (a torn last line, from a crash mid-write, is skipped)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise UndoLogError(f"{self.path}: cannot read the undo log: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            data = handle.read()
        for raw in data.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(raw)
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    yield entry

    def records(self) -> list[dict[str, Any]]:
        """All records with their current ``done`` state, oldest first."""
        found: dict[str, dict[str, Any]] = {}
        done: set[str] = set()
        for entry in self.entries():
            if "fault" in entry:
                found.setdefault(entry["id"], entry)
            elif entry.get("done") is True:
                done.add(entry["id"])
        return [dict(r, done=r["id"] in done) for r in found.values()]

    def outstanding(self) -> list[dict[str, Any]]:
        """Records not done yet, newest first."""
        return [r for r in reversed(self.records()) if not r["done"]]

    def get(self, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records() if r["id"] == record_id), None)
