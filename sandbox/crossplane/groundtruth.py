"""``DIR/platform.json``: the ground truth of the platform as it started, for tests to compare the harness's
findings with (every XR with its managed resources and their ProviderConfigs, the providers with their revisions
and pods, the ProviderConfigs with their credential sources, the cluster's endpoints, the CNI mode, the noise).

It holds names, addresses and sources, never a credential's value. Pods replaced later (a deleted provider pod
comes back under a new name) are not followed: the file says what was there at the start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..cluster import Cluster
from . import dnsmodes, externaldns, packages, platform
from .layout import Composite, Layout
from .network import DNS_CLUSTER_IP, NODE_LOCAL_DNS
from .timings import Timings


def _ref(ref: Any, layout: Layout, cloud: str) -> dict[str, Any]:
    side = layout.sides[cloud]
    provider = next(name for name, refs in side.providers.items() if ref in refs)
    return {"apiVersion": ref.api_version, "kind": ref.kind, "plural": ref.plural, "name": ref.name,
            "namespace": ref.namespace or None, "cloud": cloud, "provider": provider, "resource": ref.resource,
            "providerConfig": {"apiVersion": f"{side.pc_group}/v1beta1", "kind": side.pc_kind,
                               "name": ref.provider_config}}


def _composite(cluster: Cluster, layout: Layout, composite: Composite) -> dict[str, Any]:
    stored = cluster.store.get((platform.XR_GROUP, platform.XR_PLURAL), composite.namespace, composite.name) or {}
    claim = None
    if composite.claim is not None:
        claim = {"apiVersion": f"{platform.XR_GROUP}/{platform.XR_VERSION}", "kind": platform.CLAIM_KIND,
                 "plural": platform.CLAIM_PLURAL, "name": composite.claim.name,
                 "namespace": composite.claim.namespace}
    return {"apiVersion": f"{platform.XR_GROUP}/{platform.XR_VERSION}", "kind": platform.XR_KIND,
            "plural": platform.XR_PLURAL, "name": composite.name, "namespace": composite.namespace or None,
            "uid": stored.get("metadata", {}).get("uid"), "primary": composite.primary,
            "secondary": composite.secondary, "claim": claim,
            "dns": {"name": composite.dns_name.rstrip("."), "primary": composite.addresses[composite.primary],
                    "secondary": composite.addresses[composite.secondary], **_dns_answers(layout, composite),
                    "objects": _dns_objects(composite)},
            "providerConfigs": dict(composite.configs),
            "managedResources": [_ref(ref, layout, cloud) for cloud, refs in composite.managed.items()
                                 for ref in refs]}


def _dns_answers(layout: Layout, composite: Composite) -> dict[str, Any]:
    """What the name answers: an A record, or (traffic-manager) a CNAME to each side's endpoint name."""
    if layout.dns_mode != "traffic-manager":
        return {"type": "A"}
    return {"type": "CNAME",
            "targets": {cloud: dnsmodes.endpoint_name(composite.dns_name, cloud).rstrip(".")
                        for cloud in (composite.primary, composite.secondary)}}


def _dns_objects(composite: Composite) -> list[dict[str, Any]]:
    """The objects the XR composes for its DNS (Records, HealthChecks, a DNSEndpoint, Traffic Manager's)."""
    refs = [r for refs in composite.managed.values() for r in refs if r.kind in dnsmodes.DNS_KINDS]
    if composite.dns_endpoint is not None:
        refs.append(composite.dns_endpoint)
    return [{"apiVersion": r.api_version, "kind": r.kind, "name": r.name, "namespace": r.namespace or None,
             "resource": r.resource} for r in refs]


def _dns(layout: Layout, timings: Timings | None) -> dict[str, Any]:
    """The DNS mode and the terms of its timing the platform runs with."""
    mode = layout.dns_mode
    out: dict[str, Any] = {"mode": mode, "zone": platform.DNS_ZONE.rstrip("."),
                           "ttl": timings.dns_ttl if timings else None}
    if timings is None:
        return out
    if mode == "route53-failover":
        out["healthCheck"] = {"requestInterval": timings.health_interval, "failureThreshold": timings.health_threshold}
    elif mode == "traffic-manager":
        out["monitor"] = {"intervalInSeconds": timings.health_interval,
                          "toleratedNumberOfFailures": timings.health_threshold}
    elif mode == "external-dns":
        out["externalDNS"] = {"namespace": externaldns.NAMESPACE, "deployment": externaldns.NAME,
                              "interval": timings.dns_interval}
    elif mode == "provider":
        out["providerPoll"] = timings.mr_poll
    return out


def _pods(cluster: Cluster, namespace: str, selector: tuple[str, str]) -> list[dict[str, Any]]:
    key, value = selector
    return [{"name": p["metadata"]["name"], "namespace": namespace, "ip": (p.get("status") or {}).get("podIP"),
             "node": (p.get("spec") or {}).get("nodeName")}
            for p in cluster.store.items(("", "pods"), namespace)
            if (p["metadata"].get("labels") or {}).get(key) == value]


def _providers(cluster: Cluster, layout: Layout) -> list[dict[str, Any]]:
    out = []
    for package in layout.packages:
        revision = cluster.store.get(("pkg.crossplane.io", "providerrevisions"), "", package.revision) or {}
        crds = [r["name"] for r in (revision.get("status") or {}).get("objectRefs") or []]
        out.append({"name": package.name, "cloud": package.cloud, "family": package.is_family,
                    "familyProvider": package.family or None, "package": packages.image(package),
                    "revision": package.revision, "serviceAccount": package.revision, "crds": crds,
                    "pods": _pods(cluster, layout.namespace, (packages.PROVIDER_LABEL, package.name))})
    return out


def _configs(layout: Layout) -> list[dict[str, Any]]:
    out = []
    for cloud, side in layout.sides.items():
        members = [p.revision for p in layout.packages if p.cloud == cloud and not p.is_family]
        for config in side.configs:
            credentials: dict[str, Any] = {"source": config.source}
            if config.source == "Secret":
                credentials["secret"] = {"namespace": side.namespace, "name": config.secret, "key": "credentials"}
            if config.source in ("IRSA", "WebIdentity"):
                credentials["roleArn"] = config.role_arn or side.service_account_role_arn
                credentials["serviceAccounts"] = [f"{side.namespace}/{name}" for name in members]
            if config.assume_role_arn:
                credentials["assumeRoleArn"] = config.assume_role_arn
            if config.source == "OIDCWorkloadIdentity":
                credentials.update(clientId=config.client_id, tenantId=side.cloud.tenant_id,
                                   serviceAccounts=[f"{side.namespace}/{name}" for name in members])
            out.append({"apiVersion": f"{side.pc_group}/v1beta1", "kind": side.pc_kind, "plural": side.pc_plural,
                        "name": config.name, "cloud": cloud, "credentials": credentials})
    return out


def _endpoints(layout: Layout, published: dict[str, Any]) -> dict[str, Any]:
    network = layout.network
    dns_pods = [{"name": p["metadata"]["name"], "namespace": "kube-system", "ip": p["status"]["podIP"],
                 "node": p["spec"]["nodeName"]} for p in published.get("dns_pods", [])]
    return {
        "published": layout.spec.spec.cluster.endpoints,
        "apiServer": {"service": "default/kubernetes", "clusterIP": network.api.cluster_ip, "port": network.api.port,
                      "endpoints": [{"ip": e.address, "port": e.port} for e in network.api.endpoints]},
        "dns": {"service": "kube-system/kube-dns", "clusterIP": DNS_CLUSTER_IP, "port": 53,
                "nameserver": network.nameserver, "nodeLocal": NODE_LOCAL_DNS if network.node_local_dns else None,
                "pods": dns_pods, "endpoints": [{"ip": p["ip"], "port": 53} for p in dns_pods]},
    }


def document(cluster: Cluster, layout: Layout, published: dict[str, Any], dns_server: str,
             noise: dict[str, Any] | None, timings: Timings | None = None) -> dict[str, Any]:
    nodes = [{"name": n["metadata"]["name"], "providerID": n["spec"]["providerID"],
              "internalIP": next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")}
             for n in published.get("nodes", [])]
    return {
        "apiVersion": "xpchaos.io/v1alpha1", "kind": "SandboxPlatformState", "platform": layout.name,
        "crossplane": {"version": layout.crossplane, "namespace": layout.namespace},
        "cni": layout.network.cni,
        "composites": [_composite(cluster, layout, c) for c in layout.composites],
        "providers": _providers(cluster, layout),
        "providerConfigs": _configs(layout),
        "endpoints": _endpoints(layout, published),
        "nodes": nodes,
        "clouds": {cloud: {"endpoint": side.cloud.endpoint, "host": side.cloud.host}
                   for cloud, side in layout.sides.items()},
        "dnsServer": dns_server,
        "dns": _dns(layout, timings),
        "noise": noise or {"eventsPerSecond": 0, "namespaces": []},
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(doc, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
