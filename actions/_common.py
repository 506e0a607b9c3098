"""What the fault actions share: the Target from ``configuration``, the kube client, the undo log, waiting.

Chaos Toolkit passes ``configuration`` to every activity: ``xpchaos_target`` (path of the target file; default
``xpchaos.yaml``, or ``.xpchaos/sandbox/target.yaml`` when only that one exists) and optionally ``xpchaos_undo_log``
(default ``$XPCHAOS_UNDO_LOG``, else the per-user state directory's log for the target's cluster). Every undo record
is also written into the cluster (``xpchaos.core.undo_log.ClusterRecords``, the target's harness namespace).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from chaoslib.exceptions import ActivityFailed
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential_jitter

from xpchaos.core import api_retry, kube, platform_graph
from xpchaos.core import target as target_mod
from xpchaos.core.errors import XpchaosError
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.target import ObjectRef, Target, TargetError
from xpchaos.core.undo_log import ClusterRecords, UndoLog, cluster_key, default_path, marks

logger = logging.getLogger("xpchaos.actions")
T = TypeVar("T")

SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "generation", "managedFields", "finalizers", "selfLink")


class FaultError(XpchaosError, ActivityFailed):
    """The fault could not be made or undone; the message never holds credential bytes. An ``ActivityFailed``, so
    Chaos Toolkit records it as the activity's failure."""

    status: int | None = None  # the API's answer behind it, when there was one


class TargetObjectMissing(FaultError):
    """What the fault would change does not exist: nothing was touched. Names what is missing and what exists."""


def target_path(configuration: dict[str, Any] | None) -> Path:
    configured = (configuration or {}).get("xpchaos_target")
    if configured:
        return Path(str(configured))
    return target_mod.default_path()


def load_target(configuration: dict[str, Any] | None) -> Target:
    try:
        return target_mod.load(target_path(configuration))
    except TargetError as exc:
        raise FaultError(str(exc)) from None


def undo_log(configuration: dict[str, Any] | None, target: Target | None = None,
             api: client.ApiClient | None = None) -> UndoLog:
    """The undo log for ``target`` (default: the configuration's): the configured file, else the state directory's
    for its cluster, mirrored into the cluster's harness namespace."""
    target = target if target is not None else load_target(configuration)
    api = api if api is not None else api_for(target)
    configured = (configuration or {}).get("xpchaos_undo_log")
    return UndoLog(configured or local_log_path(target, api), cluster_records(target, api))


def local_log_path(target: Target, api: client.ApiClient) -> Path:
    """``$XPCHAOS_UNDO_LOG``, else the state directory's log for this API server and kube context."""
    try:
        context = kube.current_context(target)
    except Exception:  # an unreadable kubeconfig: the API server alone keys the log
        context = None
    return default_path(cluster_key(str(api.configuration.host), context))


def cluster_records(target: Target, api: client.ApiClient) -> ClusterRecords:
    """Where the target's undo records are kept in the cluster: its harness namespace (``safety.lease``'s)."""
    return ClusterRecords(api, target.safety.lease_namespace, target.name)


def api_for(target: Target) -> client.ApiClient:
    """The target's client; refused when the context is not one of the target's allowedContexts (or the target
    neither lists them nor says ``allowAnyContext: true``)."""
    try:
        return kube.client_for(target)
    except kube.ContextNotAllowed as exc:
        raise FaultError(str(exc)) from None
    except Exception as exc:  # config errors: name the file and context, nothing else
        raise FaultError(f"{target.path}: cannot make a Kubernetes client (kubeconfig {target.kubeconfig or '-'}, "
                         f"context {target.context or '-'}): {type(exc).__name__}") from None


def provider_of(target: Target, name: str) -> Any:
    try:
        return target.provider(name)
    except TargetError as exc:
        raise TargetObjectMissing(str(exc)) from None


def provider_name(target: Target, name: str) -> str:
    """``name`` as the target's provider name (roles such as ``primary`` resolved); unknown names stay as given,
    so a rollback for a provider the target no longer has finds nothing to do rather than failing."""
    try:
        return target.provider(name).name
    except TargetError:
        return name


def target_summary(target: Target) -> dict[str, Any]:
    """What an undo record keeps about the target: enough for ``xpchaos restore`` to find the cluster again."""
    return {"path": str(Path(target.path).resolve()), "name": target.name, "context": target.context}


def same_target(record: dict[str, Any], target: Target) -> bool:
    return bool(record.get("target", {}).get("path") == str(Path(target.path).resolve()))


@dataclass
class Context:
    """One activity's world: the target, its client and the undo log."""

    target: Target
    api: client.ApiClient
    log: UndoLog

    @classmethod
    def make(cls, configuration: dict[str, Any] | None) -> Context:
        target = load_target(configuration)
        api = api_for(target)
        return cls(target, api, undo_log(configuration, target, api))

    def record(self, fault: str, undo: dict[str, Any]) -> str:
        """Write the undo record durably, locally and in the cluster; the caller changes the cluster only after
        this returns (a record that cannot be written raises ``UndoLogError``: nothing was changed)."""
        return self.log.record(fault, target_summary(self.target), undo)


def roll_back(configuration: dict[str, Any] | None, fault: str, provider: str,
              undo_one: Callable[[client.ApiClient, dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """A fault's rollback: replay its outstanding undo records for this target and provider (newest first), each
    with ``undo_one(api, record)``, marking each done once undone."""
    ctx = Context.make(configuration)
    provider = provider_name(ctx.target, provider)
    done = []
    for record in ctx.log.outstanding():
        if record["fault"] == fault and record["undo"].get("provider") == provider and same_target(record,
                                                                                                    ctx.target):
            done.append(undo_again(undo_one, ctx.api, record))
            ctx.log.mark_done(record["id"])
    return {"fault": fault, "provider": provider, "restored": done,
            "outcome": ActionOutcome.RESTORED if done else ActionOutcome.NOTHING_TO_DO}


def core(api: client.ApiClient) -> Any:
    """CoreV1Api, typed loosely: we read its answers as plain dicts (``plain``)."""
    return client.CoreV1Api(api)


def networking(api: client.ApiClient) -> Any:
    return client.NetworkingV1Api(api)


def plain(api: client.ApiClient, obj: Any) -> dict[str, Any]:
    """A typed client object as the plain JSON dict the API sent."""
    return dict(api.sanitize_for_serialization(obj))


def api_error(exc: ApiException, doing: str) -> FaultError:
    """An ApiException as one line without the response body (it may echo a Secret)."""
    error = FaultError(f"{doing}: the API answered {exc.status} {exc.reason}")
    error.status = exc.status
    return error


# an undo answered so may or may not have been applied (500, 502, 504), or was refused for now (429, 503)
UNDO_AGAIN_STATUSES = frozenset({429, 500, 502, 503, 504})
UNDO_ATTEMPTS, UNDO_BUDGET = 6, 15.0


def undo_again(undo: Callable[..., T], *args: Any) -> T:
    """``undo(*args)``, tried again while the API answers one of ``UNDO_AGAIN_STATUSES``. Safe where the client's own
    retries are not (a write answered 500 is never re-sent blindly): every undo reads the object first and writes
    only what is not yet as it was, so a replay after a write that was applied finds it restored."""
    def again(exc: BaseException) -> bool:
        return isinstance(exc, FaultError) and exc.status in UNDO_AGAIN_STATUSES

    retrying = Retrying(retry=retry_if_exception(again), reraise=True,
                        stop=stop_after_attempt(UNDO_ATTEMPTS) | stop_after_delay(UNDO_BUDGET),
                        wait=wait_exponential_jitter(multiplier=0.2, max=3.0),
                        before_sleep=lambda state: api_retry.count("undo replayed"))
    return retrying(undo, *args)


# custom objects by reference ------------------------------------------------------------------------------
def ref_dict(ref: ObjectRef) -> dict[str, Any]:
    return {"apiVersion": ref.api_version, "kind": ref.kind, "plural": ref.plural, "name": ref.name,
            "namespace": ref.namespace}


def ref_from(doc: dict[str, Any]) -> ObjectRef:
    return ObjectRef(doc["apiVersion"], doc["kind"], doc["plural"], doc["name"], doc.get("namespace"))


def get_object(api: client.ApiClient, ref: ObjectRef) -> dict[str, Any] | None:
    try:
        return platform_graph.read(api, ref)
    except ApiException as exc:
        raise api_error(exc, f"reading {ref.describe()}") from None


def list_names(api: client.ApiClient, ref: ObjectRef) -> list[str]:
    custom: Any = client.CustomObjectsApi(api)
    try:
        if ref.namespace:
            listed = custom.list_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural)
        else:
            listed = custom.list_cluster_custom_object(ref.group, ref.version, ref.plural)
    except ApiException:
        return []
    return sorted(item["metadata"]["name"] for item in listed.get("items", []))


def _list_call(api: client.ApiClient, ref: ObjectRef) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    custom = client.CustomObjectsApi(api)
    if ref.namespace:
        return custom.list_namespaced_custom_object, (ref.group, ref.version, ref.namespace, ref.plural)
    return custom.list_cluster_custom_object, (ref.group, ref.version, ref.plural)


def wait_object(api: client.ApiClient, ref: ObjectRef, done: Callable[[dict[str, Any] | None], bool],
                timeout: float) -> tuple[bool, dict[str, Any] | None]:
    """Wait (a watch, with a deadline) until ``done(obj)`` holds; ``obj`` is None when the object is gone.

    Returns (held, last state seen).
    """
    deadline = time.monotonic() + timeout
    current = get_object(api, ref)
    if done(current):
        return True, current
    call, args = _list_call(api, ref)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        rv = (current or {}).get("metadata", {}).get("resourceVersion")
        stream = watch.Watch()
        try:
            for event in stream.stream(call, *args, field_selector=f"metadata.name={ref.name}",
                                       resource_version=rv, timeout_seconds=max(1, int(remaining + 0.999)),
                                       _request_timeout=remaining + 5):
                kind, obj = event.get("type"), event.get("object")
                if kind == "ERROR" or not isinstance(obj, dict):
                    break  # e.g. 410 Gone: read again below and re-watch
                current = None if kind == "DELETED" else obj
                if done(current):
                    return True, current
                if time.monotonic() >= deadline:
                    break
        except (ApiException, OSError, ValueError) as exc:
            logger.debug("watch on %s ended: %s", ref.describe(), type(exc).__name__)
            time.sleep(0.1)
        finally:
            stream.stop()
        current = get_object(api, ref)
        if done(current):
            return True, current
    return False, current


def unmarks(before: dict[str, Any] | None, current: dict[str, Any] | None) -> dict[str, str | None] | None:
    """The merge patch value of ``metadata.annotations`` that takes the fault's marks off ``current`` again
    (``None`` removes a key), keeping what the object had ``before`` the fault: when it had no annotations and
    has none besides the marks, the map itself goes (``None``), so that it ends exactly as it was."""
    had = ((before or {}).get("metadata") or {}).get("annotations")
    others = set(((current or {}).get("metadata") or {}).get("annotations") or {}) - set(marks(""))
    if had is None and not others:
        return None
    return {key: (had or {}).get(key) for key in marks("")}


def marked(obj: dict[str, Any] | None) -> bool:
    """The object still carries a fault's marks."""
    return bool(set(marks("")) & set(((obj or {}).get("metadata") or {}).get("annotations") or {}))


def strip(obj: dict[str, Any], extra: Iterable[str] = ()) -> dict[str, Any]:
    """A copy without server-set fields and status: what to create it again from."""
    body = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS and k not in extra}
    body["metadata"] = meta
    return body


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None
