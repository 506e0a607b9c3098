"""Fault: block a provider's cloud API with a NetworkPolicy (docs/crossplane.md, 'Provider pods'), and its rollback.

The policy lives in the provider pods' namespace and selects them by the target's selector. Two modes:

- ``deny-all-except-keep``: the pods may reach only the target's ``egressKeep`` rules (API server and DNS), so
  the provider can still report the failure;
- ``deny-cloud``: the pods may reach everything except the target's ``cloudEndpoints``.

Rollback removes exactly that policy (matched by name and by the undo id it carries).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core.outcome import ActionOutcome

from ._common import (
    Context,
    FaultError,
    TargetObjectMissing,
    api_error,
    logger,
    networking,
    provider_name,
    provider_of,
    roll_back,
)
from ._common import (
    core as core_api,
)

__all__ = ["block_provider_api", "unblock_provider_api"]

FAULT = "block-provider-api"
MODES = ("deny-all-except-keep", "deny-cloud")
UNDO_ANNOTATION = "xpchaos.io/undo-id"
_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


def policy_name(provider: str) -> str:
    return f"xpchaos-block-{provider}-api"


def _split(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def selector_to_label_selector(selector: str) -> dict[str, Any]:
    """``a=b,c in (x,y),!d`` → ``{matchLabels: {a: b}, matchExpressions: [...]}`` (a NetworkPolicy podSelector)."""
    labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for part in _split(selector):
        match = _SET.match(part)
        if not match:
            raise FaultError(f"cannot read the label selector {selector!r} (at {part.strip()!r})")
        negated, key, set_op, values, eq_op, value = match.groups()
        if negated and (set_op or eq_op):
            raise FaultError(f"cannot read the label selector {selector!r} (at {part.strip()!r})")
        if set_op:
            expressions.append({"key": key, "operator": "In" if set_op == "in" else "NotIn",
                                "values": sorted({v.strip() for v in values.split(",") if v.strip()})})
        elif eq_op in ("=", "=="):
            labels[key] = value
        elif eq_op == "!=":
            expressions.append({"key": key, "operator": "NotIn", "values": [value]})
        else:
            expressions.append({"key": key, "operator": "DoesNotExist" if negated else "Exists"})
    out: dict[str, Any] = {}
    if labels:
        out["matchLabels"] = labels
    if expressions:
        out["matchExpressions"] = expressions
    return out


def _egress(ctx: Context, provider: Any, mode: str) -> list[dict[str, Any]]:
    if mode == "deny-all-except-keep":
        return [{"to": [{"ipBlock": {"cidr": rule.cidr}}], "ports": [{"port": rule.port, "protocol": rule.protocol}]}
                for rule in ctx.target.egress_keep]
    if not provider.cloud_endpoints:
        raise TargetObjectMissing(f"{ctx.target.path}: providers.{provider.name}.cloudEndpoints is empty: mode "
                                  "deny-cloud needs the cloud API's CIDRs; nothing was changed")
    rules = []
    for family, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        blocked = [c for c in provider.cloud_endpoints if ipaddress.ip_network(c, strict=False).version == family]
        rules.append({"to": [{"ipBlock": {"cidr": everything, **({"except": blocked} if blocked else {})}}]})
    return rules


def block_provider_api(provider: str, mode: str = "deny-all-except-keep", dry_run: bool = False,
                       configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Create a NetworkPolicy that cuts ``provider``'s pods off their cloud API. Rollback: ``unblock_provider_api``."""
    if mode not in MODES:
        raise FaultError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    ctx = Context.make(configuration)
    provider = provider_name(ctx.target, provider)
    prov = provider_of(ctx.target, provider)
    core, net = core_api(ctx.api), networking(ctx.api)
    namespace, name = prov.pods_namespace, policy_name(provider)
    try:
        pods = core.list_namespaced_pod(namespace, label_selector=prov.pods_selector).items
    except ApiException as exc:
        raise api_error(exc, f"listing pods {prov.pods_selector!r} in namespace {namespace}") from None
    if not pods:
        try:
            others = sorted({p.metadata.labels.get("pkg.crossplane.io/provider", p.metadata.name)
                             for p in core.list_namespaced_pod(namespace).items})
        except ApiException:
            others = []
        raise TargetObjectMissing(f"no pods match {prov.pods_selector!r} in namespace {namespace} (pods there: "
                                  f"{', '.join(others) or 'none'}); nothing was changed")
    try:
        net.read_namespaced_network_policy(name, namespace)
        raise FaultError(f"NetworkPolicy {namespace}/{name} already exists (an earlier fault not rolled back? run "
                         "`xpchaos restore`); nothing was changed")
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"reading NetworkPolicy {namespace}/{name}") from None
    pod_names = sorted(p.metadata.name for p in pods)
    policy: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "xpchaos", "xpchaos.io/fault": FAULT}},
        "spec": {"podSelector": selector_to_label_selector(prov.pods_selector), "policyTypes": ["Egress"],
                 "egress": _egress(ctx, prov, mode)}}
    result: dict[str, Any] = {"fault": FAULT, "provider": provider, "mode": mode, "policy": f"{namespace}/{name}",
                              "pods": pod_names}
    if dry_run:
        return {**result, "outcome": ActionOutcome.DRY_RUN, "would": [f"create NetworkPolicy {namespace}/{name}"],
                "spec": policy["spec"]}
    record_id = ctx.record(FAULT, {"action": "delete-network-policy", "provider": provider, "namespace": namespace,
                                   "name": name})
    policy["metadata"]["annotations"] = {UNDO_ANNOTATION: record_id}
    logger.info("creating NetworkPolicy %s/%s (undo record %s)", namespace, name, record_id)
    try:
        net.create_namespaced_network_policy(namespace, policy)
    except ApiException as exc:
        raise api_error(exc, f"creating NetworkPolicy {namespace}/{name}") from None
    result["undo_id"] = record_id
    try:
        created = net.read_namespaced_network_policy(name, namespace)
    except ApiException:
        return {**result, "outcome": ActionOutcome.NOT_APPLIED,
                "reason": "the NetworkPolicy is not there after creating it"}
    selected = core.list_namespaced_pod(namespace, label_selector=prov.pods_selector).items
    if (created.metadata.annotations or {}).get(UNDO_ANNOTATION) != record_id or not selected:
        return {**result, "outcome": ActionOutcome.NOT_APPLIED,
                "reason": "the NetworkPolicy does not select the provider pods"}
    return {**result, "outcome": ActionOutcome.APPLIED}


def undo(api: client.ApiClient, undo_doc: dict[str, Any], record_id: str) -> dict[str, Any]:
    """Delete exactly the policy this record created (idempotent)."""
    net = networking(api)
    namespace, name = undo_doc["namespace"], undo_doc["name"]
    where = f"NetworkPolicy {namespace}/{name}"
    try:
        current = net.read_namespaced_network_policy(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return {"action": "already-absent", "object": where}
        raise api_error(exc, f"reading {where}") from None
    if (current.metadata.annotations or {}).get(UNDO_ANNOTATION) != record_id:
        return {"action": "left-alone", "object": where, "note": "not created by this undo record"}
    try:
        net.delete_namespaced_network_policy(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"deleting {where}") from None
    return {"action": "deleted", "object": where}


def unblock_provider_api(provider: str, configuration: Configuration = None,
                         secrets: Secrets = None) -> dict[str, Any]:
    """Rollback of ``block_provider_api``: remove exactly the policies its outstanding undo records name."""
    return roll_back(configuration, FAULT, provider, lambda api, record: undo(api, record["undo"], record["id"]))
