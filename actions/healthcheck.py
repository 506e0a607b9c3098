"""Fault: the primary's health check fails, through its managed resource, as teams test DNS failover without taking
anything down; and its rollback.

For every composite the fault reaches (``xpchaos.actions.blast_radius``), the objects that route its DNS by health
are read through the API from what it composes (``xpchaos.core.dns_wiring.classify``):

- Route53 failover routing: ``spec.forProvider.invertHealthcheck: true`` on the enabled HealthCheck the PRIMARY
  failover Record routes by (Route53 then counts the healthy endpoint unhealthy and answers the SECONDARY);
- Azure Traffic Manager priority routing: ``spec.forProvider.enabled: false`` on the endpoint that serves now (the
  enabled endpoint with the lowest priority), so the profile answers the next one.

Each object's undo record keeps the field's prior value (absent and ``false`` kept apart) and the object as it
was, written before the change; the change carries the fault's marks. Rollback puts the field and the annotations
back exactly. Where no composite routes its DNS by health (the function, a simple Record, ExternalDNS), nothing is
changed and the answer is ``fault-not-applied``, naming the wiring found.

The first effect (``xpchaos.actions.effects.applied``) is the provider applying the change, read from the MR's
``status.atProvider`` as upjet reports it after a refresh; the action waits for it (due within the provider's poll
plus one backoff) and answers ``fault-not-applied`` with its own question when it never comes. Record values and
addresses never appear in results or logs.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.actions import blast_radius, effects
from xpchaos.core import dns_wiring
from xpchaos.core import platform_graph as graph
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.target import ObjectRef, Target
from xpchaos.core.undo_log import marks

from ._common import (
    Context,
    FaultError,
    api_error,
    get_object,
    logger,
    marked,
    provider_name,
    provider_of,
    ref_dict,
    ref_from,
    roll_back,
    unmarks,
    wait_object,
)

__all__ = ["fail_health_check", "restore_health_check"]

FAULT = "fail-health-check"
INVERT, ENABLED = "invertHealthcheck", "enabled"
HEALTH_KINDS = frozenset({dns_wiring.HEALTH_CHECK, *dns_wiring.TM_ENDPOINTS})  # the kinds the fault may change
CANNOT = ": failing a health check cannot move it; choose another fault"
UNSEEN = ("was the MR's ProviderConfig working (a provider that cannot reach its cloud applies nothing)? is the "
          "change reverted by GitOps (its forProvider put back)?")


@dataclass(frozen=True)
class Change:
    """One field of one health object to set: which composite, which object, which field and to what."""

    composite: str
    wiring: str
    ref: ObjectRef
    field: str
    value: bool
    before: dict[str, Any]  # the object as read before the change

    @property
    def had(self) -> bool:
        return self.field in dns_wiring.for_provider(self.before)

    def describe(self) -> str:
        return f"set spec.forProvider.{self.field}: {str(self.value).lower()} on {self.ref.describe()}"


def _composite_refs(api: client.ApiClient, target: Target, provider: str) -> list[ObjectRef]:
    """The XRs the fault reaches (the blast radius of the provider's managed resources), else the target's."""
    radius = blast_radius.compute(api, target, FAULT, provider_of(target, provider))
    found = []
    for xr in radius.composites:
        if xr.kind and xr.api_version:
            try:
                found.append(graph.ref_to(api, xr.api_version, xr.kind, xr.name, xr.namespace))
            except graph.WalkError:
                continue
    return found or list(target.composites)


def _composed(api: client.ApiClient, xr: ObjectRef) -> list[tuple[ObjectRef, dict[str, Any]]]:
    out = []
    for ref in graph.composed(api, xr):
        obj = get_object(api, ref)
        if obj is not None:
            out.append((ref, obj))
    return out


def _serving_endpoint(endpoints: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Traffic Manager priority routing: the enabled endpoint with the lowest priority serves now."""
    enabled = [e for e in endpoints if dns_wiring.for_provider(e).get(ENABLED, True) is not False]
    return min(enabled, key=lambda e: float(dns_wiring.for_provider(e).get("priority") or 1000), default=None)


def _sides(target: Target, lost: str, name: str) -> tuple[set[str], set[str]]:
    """(the lost side's addresses, the other side's) for the DNS name ``name``: from the target's DNS record of that
    name, else the providers' ``serviceAddress``."""
    other = target.other(lost)
    for record in target.dns:
        if record.name.rstrip(".") == name.rstrip("."):
            lost_is_primary = target.provider(lost).name == target.primary.name
            mine, theirs = (record.primary, record.secondary) if lost_is_primary else (record.secondary, record.primary)
            return set(mine), set(theirs)
    return {target.provider(lost).service_address} - {""}, {other.service_address} - {""}


def _serves_other(target: Target, lost: str, composed: list[dict[str, Any]]) -> str | None:
    """The provider a PRIMARY failover record serves when it is the other one, not ``lost``, else None: failing its
    check would move DNS towards ``lost``. Unknown addresses (a target naming neither) decide nothing."""
    try:
        other = target.other(lost).name
    except Exception:  # a target with one provider, or an unknown name: nothing to compare
        return None
    for record in composed:
        if record.get("kind") != dns_wiring.RECORD or dns_wiring.failover_type(record) != "PRIMARY":
            continue
        spec = dns_wiring.for_provider(record)
        served = {str(v) for v in spec.get("records") or []}
        mine, theirs = _sides(target, lost, str(spec.get("name") or ""))
        if served and served <= theirs and not served & mine:
            return other
    return None


def plan_changes(api: client.ApiClient, composites: list[ObjectRef], target: Target | None = None,
                 lost: str = "") -> tuple[list[Change], list[tuple[str, str]]]:
    """The changes the fault makes, and one line per composite it cannot move (the wiring found); ``target`` and
    ``lost``: refuse a Route53 PRIMARY record that serves the other provider (failing it would move DNS to ``lost``)."""
    changes: list[Change] = []
    refused: list[tuple[str, str]] = []  # (composite, why its DNS cannot be moved this way)
    for xr in composites:
        composed = _composed(api, xr)
        wiring = dns_wiring.classify(obj for _, obj in composed)
        by_name = {(obj.get("kind"), (obj.get("metadata") or {}).get("name")): ref for ref, obj in composed}
        left = [o for _, o in composed if o.get("kind") in HEALTH_KINDS and marked(o)]
        if left:  # another endpoint would be chosen now: refuse rather than fail a second side
            raise FaultError(f"{by_name[(left[0]['kind'], left[0]['metadata']['name'])].describe()} still carries a "
                             "fault's marks (an earlier fault not rolled back? run `xpchaos restore`); nothing was "
                             "changed")
        if not wiring.health_routed:
            refused.append((xr.name, f"is wired by {wiring.mode} ({wiring.why}){CANNOT}"))
            continue
        serving = _serves_other(target, lost, [o for _, o in composed]) if target is not None and lost else None
        if wiring.mode == dns_wiring.ROUTE53_FAILOVER and serving is not None:
            refused.append((xr.name, f"is served by {serving} already (its PRIMARY Route53 record), not by {lost}: "
                                     f"failing its health check would move it to {lost}; choose the provider it "
                                     "serves"))
            continue
        if wiring.mode == dns_wiring.TRAFFIC_MANAGER:
            chosen = _serving_endpoint(list(wiring.health))
            picked = [(chosen, ENABLED, False)] if chosen is not None else []
        else:
            picked = [(check, INVERT, True) for check in wiring.health]
        if not picked:
            refused.append((xr.name, f"is wired by {wiring.mode} ({wiring.why}), but no endpoint is enabled{CANNOT}"))
        for obj, field, value in picked:
            if dns_wiring.for_provider(obj).get(field) == value:
                raise FaultError(f"{by_name[(obj['kind'], obj['metadata']['name'])].describe()} already has "
                                 f"spec.forProvider.{field}: {str(value).lower()} (an earlier fault not rolled "
                                 "back? run `xpchaos restore`); nothing was changed")
            changes.append(Change(xr.name, wiring.mode, by_name[(obj["kind"], obj["metadata"]["name"])], field,
                                  value, obj))
    return changes, refused


def _refusal(refused: list[tuple[str, str]]) -> str:
    """One line: the composites grouped by why (a platform of many XRs wired alike reads as one sentence)."""
    by_why: dict[str, list[str]] = {}
    for name, why in refused:
        by_why.setdefault(why, []).append(name)
    parts = []
    for why, names in by_why.items():
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        parts.append(f"DNS of {shown} {why}")
    return "; ".join(parts)


def _patch(api: client.ApiClient, ref: ObjectRef, body: dict[str, Any], doing: str) -> None:
    try:
        graph.patch(api, ref, body)
    except ApiException as exc:
        raise api_error(exc, f"{doing} {ref.describe()}") from None


def _observed(change: Change) -> Any:
    """Whether the provider applied ``change``: ``status.atProvider`` shows the field at its new value."""
    def done(obj: dict[str, Any] | None) -> bool:
        at = ((obj or {}).get("status") or {}).get("atProvider") or {}
        return at.get(change.field) is change.value
    return done


def _effect(ctx: Context, changes: list[Change]) -> dict[str, Any]:
    """The first effect, stated for the provider whose cloud serves the changed objects."""
    clouds = {graph.cloud_of(c.ref.group) for c in changes}
    providers = [p for p in ctx.target.providers.values() if graph.cloud_of(p.provider_config.group) in clouds]
    pods = [pod for p in providers for pod in effects.provider_pods(ctx.api, p)]
    side = providers[0].name if providers else ",".join(sorted(clouds))
    return effects.applied(pods, side, [f"{c.ref.describe()} status.atProvider.{c.field} == "
                                        f"{str(c.value).lower()}" for c in changes], UNSEEN)


def fail_health_check(target: str | None = None, provider: str = "primary", dry_run: bool = False,
                      configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Fail the health check DNS is routed by, for every composite the fault on ``provider`` (a name or role)
    reaches: Route53 ``invertHealthcheck: true`` on the PRIMARY record's health check, or the serving Traffic
    Manager endpoint ``enabled: false``. ``target``: a target file instead of the configuration's.

    Returns ``{"outcome": "applied" | "fault-not-applied" | "dry-run", ...}``. Rollback: ``restore_health_check``.
    """
    if target:
        configuration = {**(configuration or {}), "xpchaos_target": target}
    ctx = Context.make(configuration)
    provider = provider_name(ctx.target, provider)
    composites = _composite_refs(ctx.api, ctx.target, provider)
    changes, refused = plan_changes(ctx.api, composites, ctx.target, provider)
    result: dict[str, Any] = {"fault": FAULT, "provider": provider,
                              "objects": [ref_dict(c.ref) for c in changes],
                              "wiring": {c.composite: c.wiring for c in changes}}
    if not changes:
        reason = _refusal(refused) if refused else "the fault reaches no composite: nothing routes DNS by health"
        return {**result, "outcome": ActionOutcome.NOT_APPLIED, "reason": reason}
    if refused:
        result["unmoved"] = _refusal(refused)  # some composites cannot be moved this way: their DNS stays
    if dry_run:
        return {**result, "outcome": ActionOutcome.DRY_RUN, "would": [c.describe() for c in changes]}
    result["effect"] = _effect(ctx, changes)
    undo_ids = []
    for change in changes:
        record_id = ctx.record(FAULT, {"action": "restore-field", "provider": provider, "ref": ref_dict(change.ref),
                                       "field": change.field, "had": change.had,
                                       "value": dns_wiring.for_provider(change.before).get(change.field),
                                       "annotations": (change.before.get("metadata") or {}).get("annotations")})
        undo_ids.append(record_id)
        logger.info("%s (undo record %s)", change.describe(), record_id)
        _patch(ctx.api, change.ref, {"metadata": {"annotations": dict(marks(record_id))},
                                     "spec": {"forProvider": {change.field: change.value}}}, "failing the health of")
    result["undo_ids"] = undo_ids
    deadline = time.monotonic() + float(result["effect"]["due_s"])  # one deadline for all: each is due by then
    unseen = [c.ref.describe() for c in changes
              if not wait_object(ctx.api, c.ref, _observed(c), max(0.1, deadline - time.monotonic()))[0]]
    if unseen:
        return {**result, "outcome": ActionOutcome.NOT_APPLIED,
                "reason": f"{', '.join(unseen)}: {result['effect']['unseen']}"}
    return {**result, "outcome": ActionOutcome.APPLIED}


def undo(api: client.ApiClient, undo_doc: dict[str, Any]) -> dict[str, Any]:
    """Put the field and the annotations back exactly as they were (idempotent)."""
    ref = ref_from(undo_doc["ref"])
    current = get_object(api, ref)
    if current is None:
        return {"action": "gone", "object": ref.describe(), "note": "the object no longer exists"}
    field = undo_doc["field"]
    spec = dns_wiring.for_provider(current)
    had, value = bool(undo_doc.get("had")), undo_doc.get("value")
    same = (field in spec) == had and (not had or spec.get(field) == value)
    if same and not marked(current):
        return {"action": "already-restored", "object": ref.describe()}
    before = {"metadata": {"annotations": copy.deepcopy(undo_doc.get("annotations"))}}
    _patch(api, ref, {"metadata": {"annotations": unmarks(before, current)},
                      "spec": {"forProvider": {field: value if had else None}}}, "restoring")
    return {"action": "restored-field", "object": ref.describe(), "field": field}


def restore_health_check(target: str | None = None, provider: str = "primary", configuration: Configuration = None,
                         secrets: Secrets = None) -> dict[str, Any]:
    """Rollback of ``fail_health_check``: replay its outstanding undo records for this target and provider."""
    if target:
        configuration = {**(configuration or {}), "xpchaos_target": target}
    return roll_back(configuration, FAULT, provider, lambda api, record: undo(api, record["undo"]))

