"""Replay outstanding undo records (newest first): what ``xpchaos restore`` runs after a crash.

Each record names its fault and the target it was made against; the cluster is reached with that target's
kubeconfig and context (or the one given). Replaying is idempotent: a record already undone in the cluster is
simply marked done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client

from xpchaos.core import target as target_mod
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.target import Target, TargetError
from xpchaos.core.undo_log import UndoLog

from . import credentials, network, providerconfig
from ._common import FaultError, api_for, load_target, same_target, undo_log

__all__ = ["restore_outstanding"]


@dataclass
class Replayed:
    record: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None = None

    def line(self) -> str:
        """One line for the user: which record, which fault, what was done (never a credential)."""
        head = f"{self.record['id'][:12]} {self.record['fault']}"
        if self.error:
            return f"{head}: FAILED: {self.error}"
        result = self.result or {}
        note = f" ({result['note']})" if result.get("note") else ""
        return f"{head}: {result.get('action', 'done')} {result.get('object', '')}{note}".rstrip()


def replay_one(api: client.ApiClient, record: dict[str, Any]) -> dict[str, Any]:
    undo = record["undo"]
    if record["fault"] == providerconfig.FAULT:
        return providerconfig.undo(api, undo)
    if record["fault"] == network.FAULT:
        return network.undo(api, undo, record["id"])
    if record["fault"] == credentials.FAULT:
        return credentials.undo(api, undo)
    raise FaultError(f"unknown fault {record['fault']!r} in the undo log")


def replay(log: UndoLog, target: Target | None = None, only: set[str] | None = None) -> Iterator[Replayed]:
    """Replay every outstanding record (or those whose id is in ``only``), newest first; a record that fails
    stays outstanding."""
    clients: dict[str, client.ApiClient] = {}
    targets: dict[str, Target] = {}

    def api_of(record: dict[str, Any]) -> client.ApiClient:
        chosen = target
        if chosen is None:
            path = str(record.get("target", {}).get("path") or target_mod.default_path())
            if path not in targets:
                targets[path] = target_mod.load(Path(path))
            chosen = targets[path]
        key = str(chosen.path)
        if key not in clients:
            clients[key] = api_for(chosen)
        return clients[key]

    for record in log.outstanding():
        if only is not None and record["id"] not in only:
            continue
        try:
            result = replay_one(api_of(record), record)
        except (FaultError, TargetError) as exc:
            yield Replayed(record, None, str(exc))
            continue
        except Exception as exc:  # an unexpected failure: name its type only (no bodies that could hold secrets)
            yield Replayed(record, None, f"{type(exc).__name__}")
            continue
        log.mark_done(record["id"])
        yield Replayed(record, result)


def restore_all(log: UndoLog, target: Target | None = None,
                on_record: Callable[[Replayed], None] | None = None) -> list[Replayed]:
    done = []
    for item in replay(log, target):
        if on_record:
            on_record(item)
        done.append(item)
    return done


def restore_outstanding(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Replay every outstanding undo record of this target (newest first), as ``xpchaos restore`` does: e.g. an
    experiment's first rollback, clearing whatever an earlier run that was killed left behind. Fails, naming the
    records, when one cannot be undone (it stays outstanding)."""
    target = load_target(configuration)
    log = undo_log(configuration)
    mine = {record["id"] for record in log.outstanding() if same_target(record, target)}
    done = list(replay(log, target, only=mine)) if mine else []
    failed = [item.line() for item in done if item.error]
    if failed:
        raise FaultError("; ".join(failed))
    return {"restored": [item.line() for item in done],
            "outcome": ActionOutcome.RESTORED if done else ActionOutcome.NOTHING_TO_DO}
