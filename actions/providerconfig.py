"""Fault: delete a provider's ProviderConfig (docs/crossplane.md, 'Deleting a ProviderConfig in use'), and its
rollback.

Deleting a ProviderConfig that is in use is blocked by the ``in-use.crossplane.io`` finalizer: the object stays
Terminating (condition ``Terminating``/``InUse``, Warning ``UsageAccounting``) and nothing fails. That is the
outcome ``fault-not-applied``. With ``force=True`` the finalizer is stripped (recorded in the undo log too) and
the object is really gone. Rollback lets a Terminating object go, re-creates it from the snapshot taken before
the fault (without server-set fields) and waits until it exists and, when the target names the in-use finalizer,
until it is used again.
"""

from __future__ import annotations

import copy
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.actions import effects
from xpchaos.core import platform_graph as graph
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.undo_log import marks

from ._common import (
    Context,
    FaultError,
    TargetObjectMissing,
    api_error,
    condition,
    get_object,
    list_names,
    logger,
    marked,
    provider_name,
    provider_of,
    ref_dict,
    ref_from,
    roll_back,
    strip,
    unmarks,
    wait_object,
)

__all__ = ["delete_provider_config", "restore_provider_config"]

FAULT = "delete-provider-config"
IN_USE = "in-use.crossplane.io"


def _blocked_signals(ctx: Context) -> dict[str, Any]:
    signals = ctx.target.signals.get("pc_deletion_blocked") or {}
    cond = signals.get("condition") or {}
    return {"finalizer": signals.get("finalizer", IN_USE), "condition": cond.get("type", "Terminating"),
            "reason": cond.get("reason", "InUse"), "event": signals.get("event", "UsageAccounting")}


def _delete(api: client.ApiClient, ref: Any) -> None:
    custom = client.CustomObjectsApi(api)
    try:
        if ref.namespace:
            custom.delete_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural, ref.name)
        else:
            custom.delete_cluster_custom_object(ref.group, ref.version, ref.plural, ref.name)
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"deleting {ref.describe()}") from None


def _patch_if_there(api: client.ApiClient, ref: Any, body: dict[str, Any], doing: str) -> None:
    """Patch the object; gone already is fine (a deletion that completed)."""
    try:
        graph.patch(api, ref, body)
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"{doing} {ref.describe()}") from None


def _strip_finalizers(api: client.ApiClient, ref: Any) -> None:
    _patch_if_there(api, ref, {"metadata": {"finalizers": None}}, "removing the finalizers of")


def _mark(api: client.ApiClient, ref: Any, annotations: dict[str, str | None] | None) -> None:
    """Set (or, with ``unmarks``, remove) the fault's marks on the object: a blocked deletion leaves it in place,
    Terminating, and ``xpchaos restore`` then knows whose it is."""
    _patch_if_there(api, ref, {"metadata": {"annotations": annotations}}, "marking")


def _create(api: client.ApiClient, ref: Any, body: dict[str, Any]) -> None:
    custom = client.CustomObjectsApi(api)
    try:
        if ref.namespace:
            custom.create_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural, body)
        else:
            custom.create_cluster_custom_object(ref.group, ref.version, ref.plural, body)
    except ApiException as exc:
        if exc.status != 409:  # already there again: idempotent
            raise api_error(exc, f"re-creating {ref.describe()}") from None


def _usage_events(api: client.ApiClient, ref: Any, reason: str) -> int:
    """How many ``reason`` events name the object (cluster-scoped objects' events live in ``default``)."""
    try:
        listed = client.CoreV1Api(api).list_namespaced_event(
            ref.namespace or "default", field_selector=f"involvedObject.name={ref.name},reason={reason}")
    except ApiException:
        return 0
    return len(listed.items)


def delete_provider_config(provider: str, force: bool = False, dry_run: bool = False, timeout: float = 10.0,
                           configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Delete the ProviderConfig of ``provider``; verify it is gone or report that in-use protection blocked it.

    Returns ``{"outcome": "applied" | "fault-not-applied" | "dry-run", ...}``. Rollback:
    ``restore_provider_config``.
    """
    ctx = Context.make(configuration)
    provider = provider_name(ctx.target, provider)
    ref = provider_of(ctx.target, provider).provider_config
    snapshot = get_object(ctx.api, ref)
    if snapshot is None:
        existing = list_names(ctx.api, ref)
        raise TargetObjectMissing(f"{ref.describe()} does not exist (existing {ref.plural}.{ref.group}: "
                                  f"{', '.join(existing) or 'none'}); nothing was changed")
    result: dict[str, Any] = {"fault": FAULT, "provider": provider, "object": ref.describe(), "force": force}
    if dry_run:
        would = [f"delete {ref.describe()}"] + ([f"remove its finalizers if blocked: "
                                                 f"{snapshot['metadata'].get('finalizers') or []}"] if force else [])
        return {**result, "outcome": ActionOutcome.DRY_RUN, "would": would}
    if snapshot["metadata"].get("deletionTimestamp"):
        raise FaultError(f"{ref.describe()} is already Terminating (an earlier fault not rolled back? run "
                         "`xpchaos restore`); nothing was changed")
    result["effect"] = effects.first_effect(
        effects.provider_pods(ctx.api, provider_of(ctx.target, provider)), provider,
        "was the ProviderConfig re-created at once (a GitOps controller re-applying it), or do its managed "
        "resources use another?")
    signals = _blocked_signals(ctx)
    record_id = ctx.record(FAULT, {"action": "recreate-provider-config", "provider": provider, "ref": ref_dict(ref),
                                   "snapshot": snapshot, "used_finalizer": signals["finalizer"]})
    result["undo_id"] = record_id
    logger.info("deleting %s (undo record %s)", ref.describe(), record_id)
    _mark(ctx.api, ref, dict(marks(record_id)))
    _delete(ctx.api, ref)

    def settled(obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return True
        cond = condition(obj, signals["condition"])
        return bool(obj["metadata"].get("deletionTimestamp") and cond and cond.get("status") == "True"
                    and cond.get("reason") == signals["reason"])

    _, obj = wait_object(ctx.api, ref, settled, timeout)
    if obj is None:
        return {**result, "outcome": ActionOutcome.APPLIED, "state": "gone"}
    finalizers = list(obj["metadata"].get("finalizers") or [])
    users = (obj.get("status") or {}).get("users")
    blocked = {"state": "terminating", "finalizers": finalizers, "users": users,
               "events": _usage_events(ctx.api, ref, signals["event"])}
    if signals["finalizer"] in finalizers:
        blocked["reason"] = f"blocked by {signals['finalizer']}"
    else:
        blocked["reason"] = f"still terminating with finalizers {finalizers}"
    if not force:
        return {**result, "outcome": ActionOutcome.NOT_APPLIED, **blocked}
    ctx.record(FAULT, {"action": "finalizers-removed", "provider": provider, "ref": ref_dict(ref),
                       "finalizers": finalizers, "parent": record_id})
    logger.info("forcing: removing the finalizers %s of %s", finalizers, ref.describe())
    _strip_finalizers(ctx.api, ref)
    gone, _ = wait_object(ctx.api, ref, lambda o: o is None, timeout)
    if not gone:
        return {**result, "outcome": ActionOutcome.NOT_APPLIED, **blocked,
                "reason": "still present after removing finalizers"}
    return {**result, "outcome": ActionOutcome.APPLIED, "state": "gone", "forced": True, "was": blocked}


def undo(api: client.ApiClient, undo_doc: dict[str, Any], timeout: float = 10.0,
         used_timeout: float = 10.0) -> dict[str, Any]:
    """Replay one undo record of this fault (idempotent)."""
    ref = ref_from(undo_doc["ref"])
    if undo_doc["action"] == "finalizers-removed":
        return {"action": "finalizers-removed", "object": ref.describe(),
                "note": "covered by re-creating the object from its snapshot"}
    current = get_object(api, ref)
    if current is not None and current["metadata"].get("deletionTimestamp"):
        _strip_finalizers(api, ref)  # a Terminating object cannot be un-deleted: let it go
        gone, _ = wait_object(api, ref, lambda o: o is None, timeout)
        if not gone:
            raise FaultError(f"{ref.describe()} is still Terminating after removing its finalizers")
        current = None
    recreated = current is None
    if current is not None and marked(current):  # marked, then the run stopped before deleting it
        _mark(api, ref, unmarks(undo_doc["snapshot"], current))
    if recreated:
        _create(api, ref, strip(copy.deepcopy(undo_doc["snapshot"])))
    exists, _ = wait_object(api, ref, lambda o: o is not None, timeout)
    if not exists:
        raise FaultError(f"{ref.describe()} did not appear after re-creating it")
    wanted = undo_doc.get("used_finalizer")
    had = wanted in (undo_doc["snapshot"]["metadata"].get("finalizers") or [])
    used = None
    if wanted and had:
        used, _ = wait_object(api, ref, lambda o: o is not None and wanted in (o["metadata"].get("finalizers") or []),
                              used_timeout)
    return {"action": "recreated" if recreated else "already-present", "object": ref.describe(), "used_again": used}


def restore_provider_config(provider: str, timeout: float = 10.0, used_timeout: float = 10.0,
                            configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Rollback of ``delete_provider_config``: replay its outstanding undo records for this target and provider."""
    return roll_back(configuration, FAULT, provider,
                     lambda api, record: undo(api, record["undo"], timeout, used_timeout))
