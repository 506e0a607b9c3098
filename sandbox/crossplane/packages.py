"""Provider packages as Crossplane's package manager leaves them: per package a Provider, its active
ProviderRevision (owning the package's CRDs through ownerReferences, listing them in ``status.objectRefs``), a
ServiceAccount, a Deployment and its pod; members of a family depend on the family provider, which serves the
ProviderConfig CRD.

What an identity webhook does is done here too, at pod creation: a pod whose ServiceAccount carries
``eks.amazonaws.com/role-arn`` gets ``AWS_ROLE_ARN`` and the projected web identity token (EKS Pod Identity
Webhook); one labelled ``azure.workload.identity/use`` whose ServiceAccount carries
``azure.workload.identity/client-id`` gets ``AZURE_CLIENT_ID`` and the federated token file (Azure Workload
Identity). So a changed annotation takes effect when the pod is replaced, as on a real cluster.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import secrets
from typing import Any

from ..cluster import Cluster
from ..lifecycle import now
from ..patching import MERGE_PATCH
from ..store import Watcher
from .clouds import AWS_TOKEN_FILE, AZURE_TOKEN_FILE
from .conditions import condition
from .kinds import rtype
from .layout import NAME_ALPHABET, Layout, Package

log = logging.getLogger("xpchaos.sandbox.crossplane.packages")
PKG = "pkg.crossplane.io"
VERSION = "v1.23.0"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
AZURE_CLIENT_ANNOTATION, AZURE_USE_LABEL = "azure.workload.identity/client-id", "azure.workload.identity/use"
PROVIDER_LABEL, REVISION_LABEL, PACKAGE_LABEL = f"{PKG}/provider", f"{PKG}/revision", f"{PKG}/package"


def revision_crd() -> dict[str, Any]:
    """``providerrevisions.pkg.crossplane.io``, with Crossplane's printer columns (derived: see crds/SOURCES.md)."""
    condition_column = ".status.conditions[?(@.type=='Healthy')].status"
    conditions = {"type": "array", "items": {"type": "object", "required": ["lastTransitionTime", "reason", "status",
                                                                             "type"],
                                             "properties": {k: {"type": "string"} for k in (
                                                 "lastTransitionTime", "message", "reason", "status", "type")}}}
    refs = {"type": "array", "items": {"type": "object", "required": ["apiVersion", "kind", "name"],
                                       "properties": {k: {"type": "string"} for k in ("apiVersion", "kind", "name",
                                                                                      "uid")}}}
    schema = {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "required": ["desiredState", "image", "revision"], "properties": {
            "desiredState": {"type": "string"}, "image": {"type": "string"}, "revision": {"type": "integer"},
            "packagePullPolicy": {"type": "string", "default": "IfNotPresent"},
            "ignoreCrossplaneConstraints": {"type": "boolean", "default": False},
            "skipDependencyResolution": {"type": "boolean", "default": False},
            "runtimeConfigRef": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "commonLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "status": {"type": "object", "properties": {
            "conditions": conditions, "objectRefs": refs, "foundDependencies": {"type": "integer"},
            "installedDependencies": {"type": "integer"}, "invalidDependencies": {"type": "integer"}}}}}
    columns = [("HEALTHY", condition_column, "string"), ("REVISION", ".spec.revision", "string"),
               ("IMAGE", ".spec.image", "string"), ("STATE", ".spec.desiredState", "string"),
               ("DEP-FOUND", ".status.foundDependencies", "string"),
               ("DEP-INSTALLED", ".status.installedDependencies", "string"),
               ("AGE", ".metadata.creationTimestamp", "date")]
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"providerrevisions.{PKG}"},
            "spec": {"group": PKG, "scope": "Cluster",
                     "names": {"plural": "providerrevisions", "singular": "providerrevision",
                               "kind": "ProviderRevision", "listKind": "ProviderRevisionList",
                               "categories": ["crossplane", "pkgrev"]},
                     "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": schema},
                                   "additionalPrinterColumns": [{"name": n, "jsonPath": p, "type": t}
                                                                for n, p, t in columns]}]}}


def image(package: Package) -> str:
    cloud = package.cloud
    repository = f"provider-family-{cloud}" if package.is_family else f"provider-{cloud}-{package.service}"
    return f"xpkg.upbound.io/upbound/{repository}:{VERSION}"


def owner_of_crd(layout: Layout, crd: dict[str, Any]) -> list[Package]:
    """The packages that ship a CRD: a member its service's kinds; the family (else every member of the cloud)
    the ProviderConfig kinds. [] for Crossplane's own."""
    group = crd["spec"]["group"]
    if not group.endswith(".upbound.io"):
        return []
    labels = group.split(".")
    cloud = "aws" if "aws" in labels else "azure"
    service = labels[0] if labels[0] not in ("aws", "azure") else ""
    cloud_packages = [p for p in layout.packages if p.cloud == cloud]
    if service:
        return [p for p in cloud_packages if p.service == service]
    family = [p for p in cloud_packages if p.is_family]
    return family or cloud_packages


def owner_reference(obj: dict[str, Any], controller: bool = True) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def provider(package: Package) -> dict[str, Any]:
    return {"apiVersion": f"{PKG}/v1", "kind": "Provider", "metadata": {"name": package.name},
            "spec": {"package": image(package)}}


def revision(package: Package, owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{PKG}/v1", "kind": "ProviderRevision",
            "metadata": {"name": package.revision,
                         "labels": {PACKAGE_LABEL: package.name, PROVIDER_LABEL: package.name},
                         "ownerReferences": [owner_reference(owner)]},
            "spec": {"desiredState": "Active", "image": image(package), "revision": 1,
                     "runtimeConfigRef": {"apiVersion": f"{PKG}/v1beta1", "kind": "DeploymentRuntimeConfig",
                                          "name": "default"}}}


def service_account(layout: Layout, package: Package) -> dict[str, Any]:
    side = layout.sides[package.cloud]
    annotations = {}
    if package.cloud == "aws" and side.service_account_role_arn:
        annotations[IRSA_ANNOTATION] = side.service_account_role_arn
    if package.cloud == "azure" and side.workload_client_id:
        annotations[AZURE_CLIENT_ANNOTATION] = side.workload_client_id
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": package.revision, "namespace": layout.namespace,
                         "labels": {PROVIDER_LABEL: package.name},
                         **({"annotations": annotations} if annotations else {})}}


def deployment(layout: Layout, package: Package, args: list[str]) -> dict[str, Any]:
    """The package runtime's Deployment, named after the revision; its container args carry the poll."""
    labels = {PROVIDER_LABEL: package.name, REVISION_LABEL: package.revision}
    if package.cloud == "azure" and layout.sides["azure"].workload_client_id:
        labels[AZURE_USE_LABEL] = "true"
    pod_spec = {"containers": [{"name": "package-runtime", "image": image(package), "args": list(args)}],
                "serviceAccountName": package.revision}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": package.revision, "namespace": layout.namespace,
                         "labels": {PROVIDER_LABEL: package.name, REVISION_LABEL: package.revision}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {REVISION_LABEL: package.revision}},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}


def template_hash(name: str) -> str:
    """The ReplicaSet's pod-template-hash: stable per Deployment (its template never changes here)."""
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:10])


def pod_from(template_of: dict[str, Any], account: dict[str, Any] | None, hash_: str) -> dict[str, Any]:
    """A pod of the Deployment, as its ReplicaSet creates it and an identity webhook mutates it."""
    template = copy.deepcopy(template_of["spec"]["template"])
    name = f"{template_of['metadata']['name']}-{hash_}-{''.join(secrets.choice(NAME_ALPHABET) for _ in range(5))}"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name[:63].rstrip("-"), "namespace": template_of["metadata"]["namespace"],
                        "labels": {**template["metadata"]["labels"], "pod-template-hash": hash_}},
           "spec": template["spec"]}
    _inject_identity(pod, (account or {}).get("metadata", {}).get("annotations") or {})
    return pod


def _inject_identity(pod: dict[str, Any], annotations: dict[str, str]) -> None:
    container = pod["spec"]["containers"][0]
    env, mounts, volumes = [], [], []
    role = annotations.get(IRSA_ANNOTATION)
    if role:
        env += [{"name": "AWS_ROLE_ARN", "value": role},
                {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": AWS_TOKEN_FILE},
                {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}]
        mounts.append({"name": "aws-iam-token", "mountPath": AWS_TOKEN_FILE.rsplit("/", 1)[0], "readOnly": True})
        volumes.append({"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}})
    client_id = annotations.get(AZURE_CLIENT_ANNOTATION)
    if client_id and pod["metadata"]["labels"].get(AZURE_USE_LABEL) == "true":
        env += [{"name": "AZURE_CLIENT_ID", "value": client_id},
                {"name": "AZURE_FEDERATED_TOKEN_FILE", "value": AZURE_TOKEN_FILE},
                {"name": "AZURE_AUTHORITY_HOST", "value": "https://login.microsoftonline.com/"}]
        mounts.append({"name": "azure-identity-token", "mountPath": AZURE_TOKEN_FILE.rsplit("/", 1)[0],
                       "readOnly": True})
        volumes.append({"name": "azure-identity-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": "api://AzureADTokenExchange", "expirationSeconds": 3600, "path": "azure-identity-token"}}]}})
    if env:
        container["env"] = [*container.get("env", []), *env]
        container["volumeMounts"] = [*container.get("volumeMounts", []), *mounts]
        pod["spec"]["volumes"] = [*pod["spec"].get("volumes", []), *volumes]


def env_of(pod: dict[str, Any]) -> dict[str, str]:
    container = ((pod.get("spec") or {}).get("containers") or [{}])[0]
    return {e.get("name", ""): str(e.get("value", "")) for e in container.get("env") or []}


def running_status(pod: dict[str, Any], ip: str, node: str) -> dict[str, Any]:
    container = pod["spec"]["containers"][0]
    return {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": node, "startTime": now(),
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": container["name"], "ready": True, "restartCount": 0, "started": True,
                                   "image": container["image"], "imageID": container["image"] + "@sha256:" + "0" * 64,
                                   "containerID": "containerd://" + secrets.token_hex(32),
                                   "state": {"running": {"startedAt": pod["metadata"]["creationTimestamp"]}}}]}


class PodAddresses:
    """Pod IPs and nodes, handed out as a cluster's IPAM and scheduler would (10.244.<node>.<n>)."""

    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        self.nodes = nodes
        self.next = 10

    def assign(self) -> tuple[str, str, str]:
        """(pod IP, node name or "", node IP or "")."""
        index = self.next
        self.next += 1
        if not self.nodes:
            return f"10.244.0.{index % 250 + 2}", "", ""
        slot = index % len(self.nodes)
        node = self.nodes[slot]
        address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        return f"10.244.{slot}.{index // len(self.nodes) % 250 + 2}", node["metadata"]["name"], address


def start_pod(cluster: Cluster, deployment_obj: dict[str, Any], addresses: PodAddresses) -> dict[str, Any]:
    """Create one pod of ``deployment_obj`` and report it Running (no kubelet: its status is set at once)."""
    namespace = deployment_obj["metadata"]["namespace"]
    account_name = deployment_obj["spec"]["template"]["spec"].get("serviceAccountName", "")
    account = cluster.store.get(("", "serviceaccounts"), namespace, account_name)
    body = pod_from(deployment_obj, account, template_hash(deployment_obj["metadata"]["name"]))
    ip, node, host = addresses.assign()
    if node:
        body["spec"]["nodeName"] = node
    pods = rtype(cluster, "", "v1", "pods")
    created = cluster.create(pods, namespace, body)
    status = running_status(created, ip, host or "172.18.0.2")
    return cluster.patch(pods, namespace, created["metadata"]["name"], MERGE_PATCH, {"status": status},
                         subresource="status")


def deployment_available(deployment_obj: dict[str, Any]) -> dict[str, Any]:
    return {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                            "message": "Deployment has minimum availability."},
                           {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                            "message": f'ReplicaSet "{deployment_obj["metadata"]["name"]}" has successfully '
                                       "progressed."}]}


def healthy(installed: bool = True) -> list[dict[str, str]]:
    """A healthy package's conditions: a Provider's (Healthy and Installed) or a revision's (Healthy)."""
    conditions = [condition("Healthy", "True", "HealthyPackageRevision")]
    return [*conditions, condition("Installed", "True", "ActivePackageRevision")] if installed else conditions


class PodReplacer:
    """The provider Deployments' ReplicaSets: a deleted provider pod is replaced by a new one (new name, new IP,
    the identity webhook applied again), as the ReplicaSet controller does. Nothing else about Deployments runs."""

    def __init__(self, cluster: Cluster, namespace: str, addresses: PodAddresses) -> None:
        self.cluster, self.namespace, self.addresses = cluster, namespace, addresses

    async def run(self) -> None:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=10_000)
        watcher = Watcher(("", "pods"), lambda obj: obj["metadata"].get("namespace") == self.namespace, queue)
        self.cluster.store.subscribe(watcher, None)
        try:
            while True:
                change = await queue.get()
                revision = (change.obj["metadata"].get("labels") or {}).get(REVISION_LABEL)
                if change.type == "DELETED" and revision:
                    self._replace(revision)
        finally:
            self.cluster.store.unsubscribe(watcher)

    def _replace(self, revision: str) -> None:
        deployment_obj = self.cluster.store.get(("apps", "deployments"), self.namespace, revision)
        if deployment_obj is None or int((deployment_obj.get("spec") or {}).get("replicas", 1)) < 1:
            return
        alive = [p for p in self.cluster.store.items(("", "pods"), self.namespace)
                 if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision
                 and not p["metadata"].get("deletionTimestamp")]
        if not alive:
            pod = start_pod(self.cluster, deployment_obj, self.addresses)
            log.info("replaced provider pod: %s", pod["metadata"]["name"])
