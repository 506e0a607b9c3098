"""The durable undo log: JSON lines, one record per fault, written and fsync'd BEFORE the fault changes anything.

A record is ``{id, fault, created, target, undo: {...}, done: false}``; marking it done appends ``{id, done: true}``
(the file is append-only, never rewritten). ``outstanding()`` lists the records not done, newest first, which is
the order rollback and ``xpchaos restore`` replay them in.

Undo records may hold credential bytes (restoring a Secret needs its exact bytes), so the file is created with
mode 0600 and its content never goes into logs, exceptions, journals or reports.

Where: ``$XPCHAOS_UNDO_LOG`` (or ``--undo-log``), else a per-user state directory keyed by the cluster
(``$XDG_STATE_HOME/xpchaos/`` else ``~/.local/state/xpchaos/``, one file per API server and context), so a restore
from any working directory finds it. Each record is also written into the cluster before the change
(``ClusterRecords``: one Secret per record in the target's harness namespace, removed once undone), so a restore
from another machine or a fresh HOME finds it too.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core.errors import XpchaosError

ENV_VAR = "XPCHAOS_UNDO_LOG"
RUN_ID = uuid.uuid4().hex[:16]  # this process's run: marks every object its faults create or change
MANAGED_BY = ("app.kubernetes.io/managed-by", "xpchaos")
TARGET_LABEL = "xpchaos.io/target"
UNDO_ID = "xpchaos.io/undo-id"  # label or annotation on what a fault created or changed
RUN_LABEL = "xpchaos.io/run-id"
RECORD_KEY = "record"
logger = logging.getLogger("xpchaos.undo")


class UndoLogError(XpchaosError, RuntimeError):
    """The undo log cannot be written or read (the message never contains record content)."""


def state_dir() -> Path:
    """The per-user state directory (XDG Base Directory): ``$XDG_STATE_HOME/xpchaos``, else
    ``~/.local/state/xpchaos``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "xpchaos"


def cluster_key(host: str, context: str | None) -> str:
    """A file-name-safe key for one cluster as reached: its API server and kube context (readable, plus a digest
    so that two that read alike stay apart)."""
    raw = f"{host}#{context or ''}"
    readable = re.sub(r"[^A-Za-z0-9.]+", "-", re.sub(r"^[a-z]+://", "", raw)).strip("-")[:60]
    return f"{readable}-{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def default_path(cluster: str | None = None) -> Path:
    """``$XPCHAOS_UNDO_LOG``, else the state directory's log for ``cluster`` (``cluster_key``)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    return state_dir() / (f"undo-{cluster}.jsonl" if cluster else "undo.jsonl")


def marks(record_id: str) -> dict[str, str]:
    """The label or annotation values that mark an object a fault created or changed."""
    return {UNDO_ID: record_id, RUN_LABEL: RUN_ID}


def label_value(text: str) -> str:
    """``text`` as a valid label value (63 characters of ``[A-Za-z0-9._-]``, alphanumeric at both ends)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63].strip("-._") or "unnamed"


class ClusterRecords:
    """The undo records kept in the cluster: one Secret per record in the target's harness namespace, labelled
    with the target and the record's id, holding the record's JSON (credential bytes included, as the local log).
    Read by ``xpchaos restore --target`` from anywhere; removed once the record is undone."""

    def __init__(self, api: client.ApiClient, namespace: str, target: str) -> None:
        self.api, self.namespace, self.target = api, namespace, label_value(target)

    @staticmethod
    def name(record_id: str) -> str:
        return f"xpchaos-undo-{record_id}"

    def selector(self) -> str:
        return f"{MANAGED_BY[0]}={MANAGED_BY[1]},{TARGET_LABEL}={self.target}"

    def write(self, record: dict[str, Any]) -> None:
        payload = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": self.name(record["id"]), "namespace": self.namespace,
                             "labels": {MANAGED_BY[0]: MANAGED_BY[1], TARGET_LABEL: self.target,
                                        UNDO_ID: record["id"], RUN_LABEL: RUN_ID,
                                        "xpchaos.io/fault": label_value(record["fault"])}},
                "data": {RECORD_KEY: base64.b64encode(payload).decode()}}
        try:
            core: Any = client.CoreV1Api(self.api)
            core.create_namespaced_secret(self.namespace, body)
        except ApiException as exc:  # the status only: the body could echo the record
            raise UndoLogError(f"cannot write the undo record into Secret {self.namespace}/{self.name(record['id'])}"
                               f": the API answered {exc.status} {exc.reason}") from None

    def remove(self, record_id: str) -> None:
        """Delete the record's Secret (gone already is fine). A failure is logged, not raised: the change is
        undone, and replaying the record again is harmless."""
        try:
            client.CoreV1Api(self.api).delete_namespaced_secret(self.name(record_id), self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                logger.warning("the undo record Secret %s/%s was not removed: %s %s", self.namespace,
                               self.name(record_id), exc.status, exc.reason)

    def records(self) -> list[dict[str, Any]]:
        """Every record of this target kept in the cluster (the unreadable ones skipped)."""
        try:
            listed = client.CoreV1Api(self.api).list_namespaced_secret(self.namespace, label_selector=self.selector())
        except ApiException as exc:
            raise UndoLogError(f"cannot list the undo records in namespace {self.namespace}: the API answered "
                               f"{exc.status} {exc.reason}") from None
        found = []
        for secret in listed.items:
            with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                record = json.loads(base64.b64decode((secret.data or {})[RECORD_KEY]))
                if isinstance(record, dict) and isinstance(record.get("id"), str) and "fault" in record:
                    found.append(dict(record, done=False))
        return found


class UndoLog:
    def __init__(self, path: str | Path | None = None, mirror: ClusterRecords | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.mirror = mirror

    # writing ----------------------------------------------------------------------------------------------
    def record(self, fault: str, target: dict[str, Any], undo: dict[str, Any]) -> str:
        """Append a new outstanding record durably (locally, then in the cluster); returns its id. Call BEFORE
        making the change: when either write fails, nothing may be changed."""
        record_id = uuid.uuid4().hex
        entry = {"id": record_id, "fault": fault, "created": time.time(), "run": RUN_ID, "target": target,
                 "undo": undo, "done": False}
        self._append(entry)
        if self.mirror is not None:
            try:
                self.mirror.write(entry)
            except UndoLogError:
                self._append({"id": record_id, "done": True, "at": time.time()})  # nothing was changed
                raise
        return record_id

    def mark_done(self, record_id: str) -> None:
        # the cluster's copy goes first: interrupted in between, the local record stays outstanding and is
        # replayed (harmless: the change is undone already), never a done record with its Secret left behind
        if self.mirror is not None:
            self.mirror.remove(record_id)
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
        """Records of the local log not done yet, newest first."""
        return [r for r in reversed(self.records()) if not r["done"]]

    def everywhere(self) -> list[dict[str, Any]]:
        """Outstanding records of the local log and of the cluster (``in_cluster: True`` for those only the
        cluster has), newest first. A cluster record the local log has marked done is not replayed (the object
        may have changed since): its Secret is removed."""
        local = self.records()
        known = {r["id"]: r for r in local}
        found = [r for r in local if not r["done"]]
        for record in self.mirror.records() if self.mirror is not None else []:
            mine = known.get(record["id"])
            if mine is None:
                found.append(dict(record, in_cluster=True))
            elif mine["done"] and self.mirror is not None:
                self.mirror.remove(record["id"])
        return sorted(found, key=lambda r: float(r.get("created") or 0), reverse=True)

    def get(self, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records() if r["id"] == record_id), None)
