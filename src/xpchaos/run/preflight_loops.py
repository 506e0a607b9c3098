"""Preflight's dependency loops: what the failover itself needs from the cloud it fails over from, found before
any run, each a finding (``loop``) with its fix.

a. the DNS record that must move away from the lost provider is reconciled through that provider's ProviderConfig
   (or one with the same credential Secret): the fault that takes the provider away also freezes DNS;
b. the management cluster's own nodes run on the cloud under test (Node ``spec.providerID``): losing the cloud
   takes the controllers that run the failover with it;
c. a credential Secret of the other side is synced from the cloud under test (an External Secrets Operator
   ``ExternalSecret`` whose ``SecretStore``/``ClusterSecretStore`` provider is that cloud): the secondary cannot
   take over once that copy expires or rotates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import dns_wiring
from xpchaos.core import platform_graph as graph
from xpchaos.core.target import Provider, Target
from xpchaos.run import preflight as base
from xpchaos.run.preflight_budget import Composite, lost_side, read_composites

ESO_GROUP, ESO_VERSION = "external-secrets.io", "v1beta1"
# an External Secrets store's spec.provider key -> the cloud it reads from
STORE_CLOUDS = {"aws": "aws", "azurekv": "azure", "gcpsm": "gcp", "alibaba": "alibaba", "ibm": "ibm",
                "oracle": "oracle"}
# a Node's spec.providerID scheme -> the cloud it runs on
NODE_CLOUDS = {"aws": "aws", "azure": "azure", "gce": "gcp", "oci": "oracle", "ibm": "ibm", "alicloud": "alibaba"}


def cloud_of(provider: Provider) -> str:
    return graph.cloud_of(provider.provider_config.group)


# a. the DNS record reconciled through the lost side ------------------------------------------------------------------
def record_loops(api: client.ApiClient, target: Target, composites: list[Composite]) -> list[base.Finding]:
    lost = lost_side(target)
    provider_moved = [c for c in composites if c.wiring.mode == dns_wiring.PROVIDER]
    if not provider_moved:
        return []
    lost_secret = _secret_of(api, lost.provider_config)
    found = []
    for composite in provider_moved:
        for record in composite.wiring.movers:
            pc = graph.provider_config_of(record)
            same = pc.name == lost.provider_config.name and \
                graph.family_group(pc.group) == graph.family_group(lost.provider_config.group)
            shared = lost_secret is not None and _secret_of(api, pc) == lost_secret
            if same or shared:
                how = f"ProviderConfig {pc.name}" + ("" if same else f", which reads the same credential Secret "
                                                                      f"{lost_secret[0]}/{lost_secret[1]}"
                                                     if lost_secret else "")
                found.append(base.fail(
                    "loop", f"revoking {lost.name}'s credentials freezes DNS: Record "
                            f"{(record.get('metadata') or {}).get('name')} of {composite.name}, which must move away "
                            f"from {lost.name}, is reconciled through {how} (a run reads not resilient at "
                            "dns_secondary)",
                    "reconcile the Record through a ProviderConfig of another account/credential, or move DNS with "
                    "ExternalDNS/health checks"))
    return found or [base.ok("loop", f"no DNS record that must move away from {lost.name} is reconciled through "
                                     f"its ProviderConfig {lost.provider_config.name}")]


def _secret_of(api: client.ApiClient, ref: Any) -> tuple[str, str] | None:
    """(namespace, name) of the Secret a ProviderConfig's credentials read; None when not a Secret or unreadable."""
    try:
        pc = graph.read(api, ref)
    except ApiException:
        return None
    secret = (((pc or {}).get("spec") or {}).get("credentials") or {}).get("secretRef") or {}
    return (str(secret.get("namespace", "")), str(secret["name"])) if secret.get("name") else None


# b. the cluster's own nodes ------------------------------------------------------------------------------------------
def node_loops(api: client.ApiClient, target: Target) -> list[base.Finding]:
    lost = lost_side(target)
    cloud = cloud_of(lost)
    try:
        nodes = client.CoreV1Api(api).list_node(_request_timeout=base.TIMEOUT).items
    except ApiException as exc:
        return [base.warn("loop", f"cannot list the cluster's nodes ({base._why(exc)})",
                          "let the harness's identity list nodes")]
    ids = [str(getattr(n.spec, "provider_id", None) or "") for n in nodes]
    on_lost = [i for i in ids if NODE_CLOUDS.get(i.partition(":")[0]) == cloud]
    if not on_lost:
        where = ", ".join(sorted({i.partition(":")[0] or "none" for i in ids})) or "no nodes listed"
        return [base.ok("loop", f"the management cluster's nodes do not run on {cloud} (spec.providerID: {where})")]
    whose = "the cloud under test" if lost.name == cloud else f"the cloud of {lost.name}"
    return [base.warn("loop", f"the management cluster's own nodes run on {cloud}, {whose} "
                              f"({len(on_lost)} of {len(ids)} nodes, e.g. spec.providerID {on_lost[0]}): losing "
                              f"{cloud} takes the controllers that run the failover with it (the faults here "
                              "reach only the provider, so a run does not show it)",
                      f"run the management cluster outside {cloud} (another cloud or region), or keep a standby "
                      "management cluster there that can take over")]


# c. the secondary's credentials synced from the cloud under test -----------------------------------------------------
def secret_loops(api: client.ApiClient, target: Target) -> list[base.Finding]:
    lost = lost_side(target)
    cloud = cloud_of(lost)
    wanted = {(p.credentials.namespace, p.credentials.name): p for p in target.providers.values()
              if p is not lost and p.credentials is not None}
    try:
        externals = _list(api, "externalsecrets")
    except ApiException as exc:
        if exc.status == 404:
            return [base.ok("loop", "no ExternalSecret syncs a credential Secret (External Secrets Operator is not "
                                    "installed)")]
        return [base.warn("loop", f"cannot list ExternalSecrets ({base._why(exc)})",
                          "let the harness's identity list externalsecrets.external-secrets.io")]
    stores = {("ClusterSecretStore", "", _name(s)): s for s in _list_or_empty(api, "clustersecretstores")}
    stores |= {("SecretStore", _namespace(s), _name(s)): s for s in _list_or_empty(api, "secretstores")}
    found = []
    for external in externals:
        spec = external.get("spec") or {}
        namespace = _namespace(external)
        secret = str((spec.get("target") or {}).get("name") or _name(external))
        provider = wanted.get((namespace, secret))
        if provider is None:
            continue
        ref = spec.get("secretStoreRef") or {}
        kind = str(ref.get("kind") or "SecretStore")
        store = stores.get((kind, "" if kind == "ClusterSecretStore" else namespace, str(ref.get("name"))))
        keys = list(((store or {}).get("spec") or {}).get("provider") or {})
        if any(STORE_CLOUDS.get(k) == cloud for k in keys):
            found.append(base.warn(
                "loop", f"{provider.name}'s credential Secret {namespace}/{secret} is synced from {cloud}, the cloud "
                        f"under test (ExternalSecret {namespace}/{_name(external)}, {kind} {ref.get('name')}: "
                        f"spec.provider.{keys[0]}): losing {cloud} stops its refresh, so {provider.name} cannot take "
                        "over once that copy expires or rotates",
                f"keep {provider.name}'s credentials in a store outside {cloud} (its own cloud's vault, or one "
                "that survives either cloud), or hold a copy that does not depend on it"))
    return found or [base.ok("loop", f"no credential Secret of the other side is synced from {cloud} "
                                     f"({len(externals)} ExternalSecrets)")]


def _list(api: client.ApiClient, plural: str) -> list[dict[str, Any]]:
    custom: Any = client.CustomObjectsApi(api)
    return list(custom.list_cluster_custom_object(ESO_GROUP, ESO_VERSION, plural,
                                                  _request_timeout=base.TIMEOUT).get("items") or [])


def _list_or_empty(api: client.ApiClient, plural: str) -> Iterable[dict[str, Any]]:
    try:
        return _list(api, plural)
    except ApiException:
        return []


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _namespace(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


def check_loops(api: client.ApiClient, target: Target, composites: list[Composite] | None = None
                ) -> list[base.Finding]:
    """Every loop finding; ``composites``: as ``read_composites`` read them (read here when not given)."""
    if composites is None:
        composites = read_composites(api, target) if target.composites else []
    return [*record_loops(api, target, composites), *node_loops(api, target), *secret_loops(api, target)]
