"""The simulated ExternalDNS (``--dns external-dns``): the controller that syncs DNSEndpoint objects into the zone.

It runs as ExternalDNS runs with ``--source=crd --provider=rfc2136``: every ``--interval`` (default 1m) it lists
the DNSEndpoints of every namespace and makes the zone answer their endpoints, signing its updates with its own
TSIG key (its Secret, not any Crossplane ProviderConfig), and records ``status.observedGeneration``. Its
Deployment carries the flags, so a check can read the interval as on a real cluster. Approximated: no TXT
ownership registry, no deletions (as ``--policy=upsert-only``), no pod (the Deployment reports itself available).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

from ..cluster import Cluster
from ..patching import MERGE_PATCH
from . import dnsmodes
from .conditions import condition
from .dnsservices import ZoneWriter
from .kinds import rtype
from .timings import go_duration

log = logging.getLogger("xpchaos.sandbox.crossplane.externaldns")
NAMESPACE, NAME = "external-dns", "external-dns"
IMAGE = "registry.k8s.io/external-dns/external-dns:v0.15.1"
SECRET = "external-dns-rfc2136"


def objects(interval: float, server: tuple[str, int], zone: str, key_name: str, key_secret: bytes,
            algorithm: str) -> list[dict[str, Any]]:
    """ExternalDNS as its Helm chart leaves it: namespace, ServiceAccount, the TSIG Secret, the Deployment."""
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
    args = ["--source=crd", f"--crd-source-apiversion={dnsmodes.EXTERNALDNS_GROUP}/{dnsmodes.EXTERNALDNS_VERSION}",
            f"--crd-source-kind={dnsmodes.DNSENDPOINT_KIND}", "--provider=rfc2136",
            f"--rfc2136-host={server[0]}", f"--rfc2136-port={server[1]}", f"--rfc2136-zone={zone.rstrip('.')}",
            f"--rfc2136-tsig-keyname={key_name}", f"--rfc2136-tsig-secret-alg={algorithm}", "--rfc2136-tsig-axfr",
            f"--interval={go_duration(interval)}", "--policy=upsert-only", "--registry=noop"]
    container = {"name": NAME, "image": IMAGE, "args": args,
                 "env": [{"name": "EXTERNAL_DNS_RFC2136_TSIG_SECRET",
                          "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "tsig-secret"}}}]}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": NAMESPACE,
                                                                     "labels": labels}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": labels},
         "data": {"tsig-secret": base64.b64encode(base64.b64encode(key_secret)).decode()}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "strategy": {"type": "Recreate"},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"serviceAccountName": NAME, "containers": [container]}}}},
    ]


def install(cluster: Cluster, interval: float, server: tuple[str, int], zone: str, key: Any) -> None:
    """Create ExternalDNS's objects (``key``: its dns.tsig.Key), the Deployment reported available."""
    algorithm = key.algorithm.to_text(omit_final_dot=True).lower()
    for obj in objects(interval, server, zone, key.name.to_text(omit_final_dot=True), key.secret, algorithm):
        group, _, version = obj["apiVersion"].rpartition("/")
        plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "Secret": "secrets",
                  "Deployment": "deployments"}[obj["kind"]]
        kind = rtype(cluster, group, version, plural)
        namespace = obj["metadata"].get("namespace", "")
        if cluster.store.get((group, plural), namespace, obj["metadata"]["name"]) is None:
            cluster.create(kind, namespace, obj)
        if obj["kind"] == "Deployment":
            cluster.patch(kind, namespace, NAME, MERGE_PATCH, {"status": available()}, subresource="status")


def available() -> dict[str, Any]:
    return {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1, "observedGeneration": 1,
            "conditions": [condition("Available", "True", "MinimumReplicasAvailable",
                                     "Deployment has minimum availability.")]}


class ExternalDns:
    def __init__(self, cluster: Cluster, writer: ZoneWriter, interval: float) -> None:
        self.cluster, self.writer, self.interval = cluster, writer, interval

    def sync(self) -> None:
        """One pass: every DNSEndpoint's endpoints into the zone; their observedGeneration recorded."""
        kind = rtype(self.cluster, dnsmodes.EXTERNALDNS_GROUP, dnsmodes.EXTERNALDNS_VERSION,
                     dnsmodes.DNSENDPOINT_PLURAL)
        for obj in list(self.cluster.store.items((dnsmodes.EXTERNALDNS_GROUP, dnsmodes.DNSENDPOINT_PLURAL))):
            for endpoint in (obj.get("spec") or {}).get("endpoints") or []:
                if endpoint.get("dnsName") and endpoint.get("targets"):
                    self.writer.want(str(endpoint["dnsName"]).rstrip(".") + ".",
                                     str(endpoint.get("recordType") or "A"),
                                     [str(t) for t in endpoint["targets"]], int(endpoint.get("recordTTL") or 300))
            generation = obj["metadata"].get("generation", 1)
            if (obj.get("status") or {}).get("observedGeneration") != generation:
                self.cluster.patch(kind, obj["metadata"]["namespace"], obj["metadata"]["name"], MERGE_PATCH,
                                   {"status": {"observedGeneration": generation}}, subresource="status")

    async def run(self) -> None:
        while True:
            try:
                self.sync()
            except Exception:  # ExternalDNS logs a failed pass and tries again at the next interval
                log.exception("ExternalDNS sync failed")
            await asyncio.sleep(self.interval)  # ExternalDNS's own --interval loop
