"""Put the platform of ``platform.py`` into a cluster, as Helm, the package manager and a first composition
would have left it: CRDs established, providers healthy, pods running, the XR composed."""

from __future__ import annotations

from typing import Any

from ..cluster import Cluster
from ..patching import MERGE_PATCH
from . import platform
from .conditions import condition
from .kinds import rtype
from .platform import Side


def _create(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    plural = {"Namespace": "namespaces", "Secret": "secrets", "Pod": "pods",
              "CustomResourceDefinition": "customresourcedefinitions"}.get(obj["kind"])
    if plural is None:
        types = [t for t in cluster.registry.types.values()
                 if t.group == group and t.version == version and t.kind == obj["kind"]]
        plural = types[0].plural
    target = rtype(cluster, group, version, plural)
    return cluster.create(target, obj["metadata"].get("namespace", ""), obj)


def _set_status(cluster: Cluster, obj: dict[str, Any], status: dict[str, Any]) -> None:
    group, _, version = obj["apiVersion"].rpartition("/")
    target = next(t for t in cluster.registry.types.values()
                  if t.group == group and t.version == version and t.kind == obj["kind"])
    cluster.patch(target, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], MERGE_PATCH,
                  {"status": status}, subresource="status")


def install_crds(cluster: Cluster, crossplane: str) -> None:
    for filename in platform.UPSTREAM_CRDS:
        _create(cluster, platform.load_crd(filename))
    _create(cluster, platform.azure_usage_crd())
    if crossplane == "v2":
        for crd in platform.v2_crds():
            _create(cluster, crd)
    _create(cluster, platform.xr_crd(crossplane))


def install(cluster: Cluster, profile: str, sides: dict[str, Side], crossplane: str = "v1",
            primary: str = "aws", provider_args: list[str] | None = None) -> dict[str, Any]:
    """Provision everything (``primary``: the cloud that serves first; ``provider_args``: the provider containers'
    args, which carry the simulated ``--poll``); returns the XR."""
    install_crds(cluster, crossplane)
    _create(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": platform.NAMESPACE}})
    if crossplane == "v2":
        _create(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": platform.V2_NAMESPACE}})
    xrd = _create(cluster, platform.xrd(crossplane))
    _set_status(cluster, xrd, {"conditions": [condition("Established", "True", "WatchingCompositeResource"),
                                              condition("Offered", "True", "OfferedClaimAbsent")]})
    _create(cluster, platform.composition(profile))
    for side in sides.values():
        _create(cluster, platform.credential_secret(side))
        for name in side.providers:
            provider, deployment, pod = platform.provider_objects(name, provider_args or ["--poll=10m"])
            created = _create(cluster, provider)
            _set_status(cluster, created, {"conditions": [condition("Healthy", "True", "HealthyPackageRevision"),
                                                          condition("Installed", "True", "ActivePackageRevision")],
                                           "currentRevision": pod["metadata"]["labels"]["pkg.crossplane.io/revision"]})
            created_deployment = _create(cluster, deployment)
            _set_status(cluster, created_deployment, {
                "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                "availableReplicas": 1, "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": f'ReplicaSet "{deployment["metadata"]["name"]}" has successfully progressed.'}]})
            running = _create(cluster, pod)
            _set_status(cluster, running, {"phase": "Running", "podIP": "10.244.0.10", "conditions": [
                {"type": "Ready", "status": "True"}], "containerStatuses": [
                {"name": "package-runtime", "ready": True, "restartCount": 0, "started": True,
                 "image": pod["spec"]["containers"][0]["image"],
                 "imageID": pod["spec"]["containers"][0]["image"] + "@sha256:" + "0" * 64,
                 "containerID": "containerd://" + pod["metadata"]["labels"]["pkg.crossplane.io/revision"],
                 "state": {"running": {"startedAt": running["metadata"]["creationTimestamp"]}}}]})
        _create(cluster, platform.provider_config(side))
    xr = _create(cluster, platform.xr(crossplane, primary))
    refs = []
    for side in sides.values():
        for ref in side.managed:
            side.cloud.resources.add(ref.name)
            _create(cluster, platform.managed_resource(ref, side, xr))
            refs.append({"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name})
    xr_type = rtype(cluster, platform.XR_GROUP, platform.XR_VERSION, platform.XR_PLURAL)
    patch = {"resourceRefs": refs} if crossplane == "v1" else {"crossplane": {"resourceRefs": refs}}
    return cluster.patch(xr_type, xr["metadata"].get("namespace", ""), platform.XR_NAME, MERGE_PATCH,
                         {"spec": patch})
