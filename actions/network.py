"""Fault: block a provider's cloud API with a NetworkPolicy (docs/crossplane.md, 'Provider pods'), and its rollback.

The policy lives in the provider pods' namespace and selects them by the target's selector. A provider family
serves one cloud from several Providers (``provider-aws-rds``, ``provider-aws-route53``, ``provider-family-aws``):
every pod that serves a kind the fault reaches (each kind of managed resource using the provider's ProviderConfig,
and the ProviderConfig's own kind), found from the CRDs' ProviderRevisions, is blocked too; those the target's
selector misses get a second policy of their own, with its own undo record. Two modes:

- ``deny-all-except-keep``: the pods may reach only the API server and cluster DNS, so the provider can still
  report the failure: by the API server's EndpointSlice addresses, the DNS pods' labels, NodeLocal DNS's address
  and the Services' ClusterIPs, so a CNI matching before or after Service translation keeps them (``keep_egress``;
  the target's ``egressKeep``, when written, instead);
- ``deny-cloud``: the pods may reach everything except the target's ``cloudEndpoints``.

Rollback removes exactly those policies (each matched by name and by the undo id it carries).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.actions import effects
from xpchaos.core import api_retry
from xpchaos.core import platform_graph as graph
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.target import ObjectRef
from xpchaos.core.undo_log import marks

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

__all__ = ["block_provider_api", "unblock_provider_api"]  # the Chaos Toolkit activities (discovery reads it)

FAULT = "block-provider-api"
MODES = ("deny-all-except-keep", "deny-cloud")
UNDO_ANNOTATION = "xpchaos.io/undo-id"
USAGE_LABEL = "crossplane.io/provider-config"  # on ProviderConfigUsages: the ProviderConfig's name
_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


def policy_name(provider: str) -> str:
    return f"xpchaos-block-{provider}-api"


def family_policy_name(provider: str) -> str:
    """The second policy: the pods serving the fault's kinds that the target's selector misses."""
    return f"xpchaos-block-{provider}-api-family"


def usages(api: client.ApiClient, pc: ObjectRef) -> list[dict[str, Any]]:
    """The ProviderConfigUsages naming ``pc`` (label ``crossplane.io/provider-config``; with v2, also its kind and
    namespace), as dicts; none when the family serves no usage kind."""
    custom: Any = client.CustomObjectsApi(api)
    try:
        found = custom.list_cluster_custom_object(pc.group, pc.version, "providerconfigusages",
                                                  label_selector=f"{USAGE_LABEL}={pc.name}")
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise api_error(exc, f"listing the ProviderConfigUsages of {pc.describe()}") from None
    out = []
    for usage in found.get("items") or []:
        ref = usage.get("providerConfigRef") or {}
        namespace = (usage.get("metadata") or {}).get("namespace")
        if ref.get("kind", pc.kind) == pc.kind and (pc.namespace is None or namespace == pc.namespace):
            out.append(usage)
    return out


def _crd_name(api: client.ApiClient, api_version: str, kind: str) -> str | None:
    plural = graph.kinds(api, api_version).get(kind)
    return f"{plural[0]}.{api_version.rpartition('/')[0]}" if plural else None


def serving_providers(api: client.ApiClient, pc: ObjectRef) -> list[str]:
    """The Providers serving a kind a fault on ``pc`` reaches: each kind of managed resource using it (its
    ProviderConfigUsages) and its own kind (a family's provider), from the CRDs' ProviderRevisions. A kind no
    ProviderRevision serves (a CRD installed by hand) adds none."""
    crds = {f"{pc.plural}.{pc.group}"}
    for usage in usages(api, pc):
        ref = usage.get("resourceRef") or {}
        name = _crd_name(api, str(ref.get("apiVersion", "")), str(ref.get("kind", ""))) if ref else None
        if name:
            crds.add(name)
    found = set()
    for crd in sorted(crds):
        try:
            found.add(graph.serving_provider(api, crd))
        except graph.WalkError:
            continue
        except ApiException as exc:
            raise api_error(exc, f"finding the Provider that serves {crd}") from None
    return sorted(found)


def unselected_pods(api: client.ApiClient, prov: Any) -> tuple[list[str], list[str]]:
    """(Providers, pod names) of the pods in the provider's namespace that serve a kind the fault reaches and that
    the target's selector does not select."""
    core, namespace = core_api(api), prov.pods_namespace
    providers = serving_providers(api, prov.provider_config)
    if not providers:
        return [], []
    try:
        selected = {p.metadata.name for p in core.list_namespaced_pod(namespace,
                                                                      label_selector=prov.pods_selector).items}
        serving = core.list_namespaced_pod(namespace, label_selector=graph.selector_for(providers)).items
    except ApiException as exc:
        raise api_error(exc, f"listing the pods of {', '.join(providers)} in namespace {namespace}") from None
    missed = [p for p in serving if p.metadata.name not in selected]
    names = sorted({(p.metadata.labels or {}).get(graph.PROVIDER_LABEL, "") for p in missed} - {""})
    return names, sorted(p.metadata.name for p in missed)


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


def _host(address: str) -> str:
    return f"{address}/{ipaddress.ip_address(address).max_prefixlen}"


def _ip_rule(address: str, ports: list[tuple[int, str]]) -> dict[str, Any]:
    return {"to": [{"ipBlock": {"cidr": _host(address)}}], "ports": [{"port": p, "protocol": r} for p, r in ports]}


def _service_ip(core: Any, namespace: str, name: str) -> tuple[str | None, list[tuple[int, str]]]:
    """The Service's ClusterIP (a CNI matching before Service translation sees it) and its ports; None when it has
    none (or there is no such Service)."""
    try:
        spec = core.read_namespaced_service(name, namespace).spec
    except ApiException as exc:
        if exc.status == 404:
            return None, []
        raise api_error(exc, f"reading Service {namespace}/{name}") from None
    ports = [(p.port, p.protocol or "TCP") for p in spec.ports or []]
    return (spec.cluster_ip, ports) if spec.cluster_ip and spec.cluster_ip != "None" else (None, [])


def _api_server_keep(api: client.ApiClient, keep: Any) -> tuple[list[dict[str, Any]], str]:
    """The API server by its EndpointSlices' addresses and ports (what a CNI matching after Service translation
    sees) and by its Service's ClusterIP (what one matching before it sees)."""
    namespace, service = keep.namespace, keep.service
    try:
        slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
            namespace, label_selector=f"kubernetes.io/service-name={service}").items
    except ApiException as exc:
        raise api_error(exc, f"listing the EndpointSlices of Service {namespace}/{service}") from None
    rules, shown = [], []
    for piece in slices:
        ports = [(p.port, p.protocol or "TCP") for p in piece.ports or [] if p.port]
        for address in sorted({a for e in piece.endpoints or [] for a in e.addresses or []}):
            rules.append(_ip_rule(address, ports))
            shown += [f"{address}:{p}" for p, _ in ports]
    if not rules:
        raise TargetObjectMissing(f"cannot find the API server's endpoints: no EndpointSlice labelled "
                                  f"kubernetes.io/service-name={service} in namespace {namespace} lists an address "
                                  "(write egressKeep, or egressKeepFrom.apiServer, in the target); nothing was "
                                  "changed")
    cluster_ip, service_ports = _service_ip(core_api(api), namespace, service)
    if cluster_ip:
        rules.append(_ip_rule(cluster_ip, service_ports))
        shown += [f"{cluster_ip}:{p} (ClusterIP)" for p, _ in service_ports]
    return rules, f"API server {', '.join(shown)} (Service {namespace}/{service})"


def _dns_keep(api: client.ApiClient, keep: Any) -> tuple[list[dict[str, Any]], str]:
    """Cluster DNS by its pods' namespace and labels (matched after translation, whatever their addresses) and by
    its Service's ClusterIP."""
    ports = [(p, proto) for p in keep.ports for proto in ("UDP", "TCP")]
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": keep.namespace}},
            "podSelector": selector_to_label_selector(keep.pod_selector)}
    rules = [{"to": [peer], "ports": [{"port": p, "protocol": r} for p, r in ports]}]
    try:
        pods = core_api(api).list_namespaced_pod(keep.namespace, label_selector=keep.pod_selector).items
    except ApiException as exc:
        raise api_error(exc, f"listing pods {keep.pod_selector!r} in namespace {keep.namespace}") from None
    shown = f"cluster DNS pods {keep.pod_selector} in {keep.namespace} ({len(pods)} running)"
    cluster_ip, _ports = _service_ip(core_api(api), keep.namespace, keep.service)
    if cluster_ip:
        rules.append(_ip_rule(cluster_ip, ports))
        shown += f", {cluster_ip} (Service {keep.namespace}/{keep.service})"
    return rules, shown + f" on {', '.join(sorted({str(p) for p in keep.ports}))}/UDP+TCP"


def _node_local_keep(api: client.ApiClient, keep: Any) -> tuple[list[dict[str, Any]], str]:
    """NodeLocal DNS's link-local address (never translated), when its pods run (mode ``auto``)."""
    if keep.mode == "off":
        return [], ""
    if keep.mode == "auto":
        try:
            pods = core_api(api).list_namespaced_pod(keep.namespace, label_selector=keep.pod_selector).items
        except ApiException as exc:
            raise api_error(exc, f"listing pods {keep.pod_selector!r} in namespace {keep.namespace}") from None
        if not pods:
            return [], ""
    return [_ip_rule(keep.address, [(53, "UDP"), (53, "TCP")])], f"NodeLocal DNS {keep.address}:53"


def keep_egress(api: client.ApiClient, target: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The egress rules a blocked provider keeps, so it can still read and report (API server, cluster DNS,
    NodeLocal DNS), and what they keep in words. The target's ``egressKeep``, when written, is used as it is;
    else they are read from the cluster where ``egressKeepFrom`` says."""
    if target.egress_keep:
        return ([{"to": [{"ipBlock": {"cidr": r.cidr}}], "ports": [{"port": r.port, "protocol": r.protocol}]}
                 for r in target.egress_keep],
                [f"{r.cidr}:{r.port}/{r.protocol} (egressKeep)" for r in target.egress_keep])
    where = target.egress_keep_from
    rules: list[dict[str, Any]] = []
    shown: list[str] = []
    for part, keep in ((_api_server_keep, where.api_server), (_dns_keep, where.dns),
                       (_node_local_keep, where.node_local_dns)):
        found, words = part(api, keep)
        rules += found
        shown += [words] if words else []
    return rules, shown


def first_effect(pods: list[Any], provider: str, written_keep: bool = False) -> dict[str, Any]:
    """The network fault's first effect (``xpchaos.actions.effects``): not seen, is NetworkPolicy enforced?"""
    why = "is NetworkPolicy enforced on this cluster?"
    if written_keep:  # the other way a provider stays silent: cut off the API server by a keep the CNI ignores
        why += (" Or the target's egressKeep cut the provider off the API server too (a CNI matching after "
                "Service translation ignores ClusterIPs: remove egressKeep to keep what the cluster publishes)")
    return effects.first_effect(pods, provider, why)


def _egress(ctx: Context, provider: Any, mode: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The policy's egress rules and, in words, what they keep."""
    if mode == "deny-all-except-keep":
        return keep_egress(ctx.api, ctx.target)
    if not provider.cloud_endpoints:
        raise TargetObjectMissing(f"{ctx.target.path}: providers.{provider.name}.cloudEndpoints is empty: mode "
                                  "deny-cloud needs the cloud API's CIDRs; nothing was changed")
    rules = []
    for family, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        blocked = [c for c in provider.cloud_endpoints if ipaddress.ip_network(c, strict=False).version == family]
        rules.append({"to": [{"ipBlock": {"cidr": everything, **({"except": blocked} if blocked else {})}}]})
    return rules, [f"everything but {', '.join(provider.cloud_endpoints)}"]


def _absent(net: Any, namespace: str, name: str) -> None:
    try:
        net.read_namespaced_network_policy(name, namespace)
        raise FaultError(f"NetworkPolicy {namespace}/{name} already exists (an earlier fault not rolled back? run "
                         "`xpchaos restore`); nothing was changed")
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"reading NetworkPolicy {namespace}/{name}") from None


def _policy(namespace: str, name: str, pod_selector: dict[str, Any], egress: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "xpchaos", "xpchaos.io/fault": FAULT}},
            "spec": {"podSelector": pod_selector, "policyTypes": ["Egress"], "egress": egress}}


def _target_pods(core: Any, prov: Any) -> list[Any]:
    namespace = prov.pods_namespace
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
    return list(pods)


def _create(ctx: Context, net: Any, provider: str, policy: dict[str, Any]) -> str:
    """Record the undo, then create the policy; the record's id."""
    namespace, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
    record_id = ctx.record(FAULT, {"action": "delete-network-policy", "provider": provider, "namespace": namespace,
                                   "name": name})
    policy["metadata"]["annotations"] = {UNDO_ANNOTATION: record_id}
    policy["metadata"]["labels"].update(marks(record_id))  # restore finds it by label, with or without a record
    logger.info("creating NetworkPolicy %s/%s (undo record %s)", namespace, name, record_id)
    try:  # an answer lost after the create was applied (504): created again, the 409 finds our undo id there
        api_retry.create_or_adopt(
            lambda: net.create_namespaced_network_policy(namespace, policy),
            lambda: net.read_namespaced_network_policy(name, namespace),
            lambda found: (found.metadata.annotations or {}).get(UNDO_ANNOTATION) == record_id,
            f"creating NetworkPolicy {namespace}/{name}")
    except ApiException as exc:
        raise api_error(exc, f"creating NetworkPolicy {namespace}/{name}") from None
    return record_id


def _in_place(core: Any, net: Any, policy: dict[str, Any], record_id: str, selector: str) -> bool:
    """The policy is there, carries its undo id, and selects pods."""
    namespace, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
    try:
        created = net.read_namespaced_network_policy(name, namespace)
    except ApiException:
        return False
    selected = core.list_namespaced_pod(namespace, label_selector=selector).items
    return (created.metadata.annotations or {}).get(UNDO_ANNOTATION) == record_id and bool(selected)


def block_provider_api(provider: str, mode: str = "deny-all-except-keep", dry_run: bool = False,
                       configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Create a NetworkPolicy that cuts ``provider``'s pods off their cloud API, and a second one for the pods of
    its family the target's selector misses. Rollback: ``unblock_provider_api``."""
    if mode not in MODES:
        raise FaultError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    ctx = Context.make(configuration)
    provider = provider_name(ctx.target, provider)
    prov = provider_of(ctx.target, provider)
    core, net = core_api(ctx.api), networking(ctx.api)
    namespace, (egress, kept) = prov.pods_namespace, _egress(ctx, prov, mode)  # refused here before any change
    pods = _target_pods(core, prov)
    family, missed = unselected_pods(ctx.api, prov)
    policies = [(_policy(namespace, policy_name(provider), selector_to_label_selector(prov.pods_selector), egress),
                 prov.pods_selector)]
    if family:
        policies.append((_policy(namespace, family_policy_name(provider), {"matchExpressions": [
            {"key": graph.PROVIDER_LABEL, "operator": "In", "values": family}]}, egress),
            graph.selector_for(family)))
    for policy, _selector in policies:
        _absent(net, namespace, policy["metadata"]["name"])
    result: dict[str, Any] = {"fault": FAULT, "provider": provider, "mode": mode,
                              "policy": f"{namespace}/{policy_name(provider)}",
                              "pods": sorted({p.metadata.name for p in pods} | set(missed)), "keep": kept}
    if family:
        result.update(policies=[f"{namespace}/{p['metadata']['name']}" for p, _ in policies], family=family,
                      family_pods=missed)
    if dry_run:
        would = [f"create NetworkPolicy {namespace}/{policy_name(provider)}"]
        if family:
            would.append(f"create NetworkPolicy {namespace}/{family_policy_name(provider)} for the pods of "
                         f"{', '.join(family)} (they serve kinds the fault reaches; the target's selector misses them)")
        return {**result, "outcome": ActionOutcome.DRY_RUN, "would": would, "spec": policies[0][0]["spec"]}
    result["effect"] = first_effect(pods, provider, bool(ctx.target.egress_keep) and mode == MODES[0])
    ids = [_create(ctx, net, provider, policy) for policy, _selector in policies]
    result["undo_id"] = ids[0]
    if family:
        result["undo_ids"] = ids
    for (policy, selector), record_id in zip(policies, ids, strict=True):
        if not _in_place(core, net, policy, record_id, selector):
            return {**result, "outcome": ActionOutcome.NOT_APPLIED,
                    "reason": f"the NetworkPolicy {namespace}/{policy['metadata']['name']} is not in place or does "
                              "not select the provider pods"}
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
