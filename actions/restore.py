"""Replay outstanding undo records (newest first): what ``xpchaos restore`` runs after a crash.

Each record names its fault and the target it was made against; the cluster is reached with that target's
kubeconfig and context (or the one given). Replaying is idempotent: a record already undone in the cluster is
simply marked done. With a target, the records kept in its cluster are replayed too (those of a run on another
machine, or under another HOME), and the objects still marked by a fault that no record names are listed
(``unrecorded``): restore does not guess how to undo them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import platform_graph as graph
from xpchaos.core import target as target_mod
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.target import Target, TargetError
from xpchaos.core.undo_log import UNDO_ID, UndoLog

from . import credentials, healthcheck, network, providerconfig
from ._common import (
    FaultError,
    api_for,
    cluster_records,
    core,
    get_object,
    load_target,
    networking,
    plain,
    same_target,
    undo_again,
    undo_log,
)

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
    if record["fault"] == healthcheck.FAULT:
        return healthcheck.undo(api, undo)
    raise FaultError(f"unknown fault {record['fault']!r} in the undo log")


def replay(log: UndoLog, target: Target | None = None, only: set[str] | None = None,
           everywhere: bool = False) -> Iterator[Replayed]:
    """Replay every outstanding record (or those whose id is in ``only``), newest first; a record that fails
    stays outstanding. ``everywhere``: the records kept in the cluster too (``UndoLog.everywhere``)."""
    clients: dict[str, client.ApiClient] = {}
    targets: dict[str, Target] = {}

    def target_of(record: dict[str, Any]) -> Target:
        if target is not None:
            return target
        path = str(record.get("target", {}).get("path") or target_mod.default_path())
        if path not in targets:
            targets[path] = target_mod.load(Path(path))
        return targets[path]

    def api_of(chosen: Target) -> client.ApiClient:
        key = str(chosen.path)
        if key not in clients:
            clients[key] = api_for(chosen)
        return clients[key]

    for record in log.everywhere() if everywhere else log.outstanding():
        if only is not None and record["id"] not in only:
            continue
        try:  # a record only the cluster holds is the given target's (its Secret is labelled with it)
            chosen = target_of(record)
            result = undo_again(replay_one, api_of(chosen), record)
        except (FaultError, TargetError) as exc:
            yield Replayed(record, None, str(exc))
            continue
        except Exception as exc:  # an unexpected failure: name its type only (no bodies that could hold secrets)
            yield Replayed(record, None, f"{type(exc).__name__}")
            continue
        log.mark_done(record["id"])
        if log.mirror is None:  # a local log alone: the record's copy in its cluster goes too
            cluster_records(chosen, api_of(chosen)).remove(record["id"])
        yield Replayed(record, result)


def restore_all(log: UndoLog, target: Target | None = None,
                on_record: Callable[[Replayed], None] | None = None) -> list[Replayed]:
    done = []
    for item in replay(log, target, everywhere=log.mirror is not None):
        if on_record:
            on_record(item)
        done.append(item)
    return done


def restore_outstanding(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Replay every outstanding undo record of this target (newest first), as ``xpchaos restore`` does: e.g. an
    experiment's first rollback, clearing whatever an earlier run that was killed left behind. Fails, naming the
    records, when one cannot be undone (it stays outstanding)."""
    target = load_target(configuration)
    log = undo_log(configuration, target)
    mine = {r["id"] for r in log.everywhere() if r.get("in_cluster") or same_target(r, target)}
    done = list(replay(log, target, only=mine, everywhere=True)) if mine else []
    failed = [item.line() for item in done if item.error]
    if failed:
        raise FaultError("; ".join(failed))
    return {"restored": [item.line() for item in done],
            "outcome": ActionOutcome.RESTORED if done else ActionOutcome.NOTHING_TO_DO}


def unrecorded(api: client.ApiClient, target: Target, known: set[str]) -> list[str]:
    """The objects a fault marked (label or annotation ``xpchaos.io/undo-id``) whose id no outstanding record names:
    one line each, for the user to look at. What the harness may not list is left out."""
    found: list[str] = []
    namespaces = sorted({p.pods_namespace for p in target.providers.values()}
                        | {p.credentials.namespace for p in target.providers.values() if p.credentials is not None})
    for ns in namespaces:
        found += _marked(partial(networking(api).list_namespaced_network_policy, ns, label_selector=UNDO_ID),
                         api, "NetworkPolicy", known)
        found += _marked(partial(core(api).list_namespaced_secret, ns), api, "Secret", known)
        found += _marked(partial(core(api).list_namespaced_service_account, ns), api, "ServiceAccount", known)
    for provider in target.providers.values():
        try:
            pc = get_object(api, provider.provider_config)
        except FaultError:
            continue
        mark = ((pc or {}).get("metadata", {}).get("annotations") or {}).get(UNDO_ID)
        if mark and mark not in known:
            found.append(f"{provider.provider_config.describe()} (undo id {mark[:12]})")
    return found + _marked_health(api, target, known)


def _marked_health(api: client.ApiClient, target: Target, known: set[str]) -> list[str]:
    """The health objects (HealthChecks, Traffic Manager endpoints) the target's composites compose that the health
    check fault marked, with no record naming the mark."""
    found = []
    for composite in target.composites:
        try:
            refs = [r for r in graph.composed(api, composite) if r.kind in healthcheck.HEALTH_KINDS]
            objects = [(ref, get_object(api, ref)) for ref in refs]
        except (graph.WalkError, ApiException, FaultError):
            continue  # what the harness cannot read is left out, as above
        for ref, obj in objects:
            mark = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(UNDO_ID)
            if mark and mark not in known:
                found.append(f"{ref.describe()} (undo id {mark[:12]})")
    return found


def _marked(call: Callable[[], Any], api: client.ApiClient, kind: str, known: set[str]) -> list[str]:
    try:
        items = call().items
    except ApiException:
        return []
    out = []
    for item in items:
        meta = plain(api, item).get("metadata") or {}
        mark = (meta.get("labels") or {}).get(UNDO_ID) or (meta.get("annotations") or {}).get(UNDO_ID)
        if mark and mark not in known:
            out.append(f"{kind} {meta.get('namespace')}/{meta.get('name')} (undo id {str(mark)[:12]})")
    return out
