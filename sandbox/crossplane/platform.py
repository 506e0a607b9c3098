"""What ``sandbox up --profile stock|blueprint`` provisions: Crossplane's and the providers' CRDs (the real
upstream files), the XGlobalDatabase API, two providers with ProviderConfigs, credential Secrets and pods, the
managed resources of both clouds, and the XR ``production-db`` that composes them.

Crossplane v1 (``--crossplane v1``): cluster-scoped XR and MRs in ``*.upbound.io``, ProviderConfig. v2: the XR
and its MRs in namespace ``production``, MRs in the ``*.m.upbound.io`` groups pointing at a
ClusterProviderConfig, Crossplane's machinery under ``spec.crossplane``. provider-upjet publishes the ``.m.``
CRDs of the same resources with the same schemas; the sandbox derives them from the cluster-scoped files it has
(scope Namespaced, group ``.m.``, ``providerConfigRef.kind``), see ``crds/SOURCES.md``.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .clouds import Cloud

CRD_DIR = Path(__file__).parent / "crds"
NAMESPACE = "crossplane-system"
XR_GROUP, XR_VERSION, XR_PLURAL, XR_KIND = "database.example.org", "v1alpha1", "xglobaldatabases", "XGlobalDatabase"
XR_NAME = "production-db"
DNS_ZONE, DNS_NAME = "xpchaos.test.", "api.xpchaos.test."
PRIMARY_IP, SECONDARY_IP = "192.0.2.10", "198.51.100.20"  # the AWS and the Azure side's service address
CLOUDS = ("aws", "azure")  # ``--primary`` picks which one serves first; the other is the secondary
ADDRESSES = {"aws": PRIMARY_IP, "azure": SECONDARY_IP}  # what DNS answers while that side serves
UPSTREAM_CRDS = (
    "apiextensions.crossplane.io_compositeresourcedefinitions.yaml", "apiextensions.crossplane.io_compositions.yaml",
    "pkg.crossplane.io_providers.yaml", "aws.upbound.io_providerconfigs.yaml",
    "aws.upbound.io_providerconfigusages.yaml", "azure.upbound.io_providerconfigs.yaml",
    "rds.aws.upbound.io_clusters.yaml", "route53.aws.upbound.io_records.yaml",
    "route53.aws.upbound.io_healthchecks.yaml", "sql.azure.upbound.io_mssqlservers.yaml",
)


V2_NAMESPACE = "production"


@dataclass(frozen=True)
class ManagedRef:
    group: str
    version: str
    plural: str
    kind: str
    name: str
    namespace: str = ""  # "" for cluster-scoped (Crossplane v1) MRs

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@dataclass
class Side:
    """One cloud's half of the platform."""

    cloud: Cloud
    provider_config: str
    pc_group: str
    secret: str
    providers: dict[str, list[ManagedRef]] = field(default_factory=dict)  # provider name -> MRs it reconciles
    address: str = ""  # the service address DNS answers when this side serves
    pc_kind: str = "ProviderConfig"  # v2: ClusterProviderConfig (cluster-scoped) in the .m. group

    @property
    def pc_plural(self) -> str:
        return self.pc_kind.lower() + "s"

    @property
    def pc_key(self) -> tuple[str, str]:
        return (self.pc_group, self.pc_plural)

    @property
    def managed(self) -> list[ManagedRef]:
        return [mr for mrs in self.providers.values() for mr in mrs]


def load_crd(filename: str) -> dict[str, Any]:
    with open(CRD_DIR / filename, "rb") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def m_group(group: str) -> str:
    """The Crossplane v2 (namespaced MRs) group of a provider-upjet API group."""
    return group.replace(".upbound.io", ".m.upbound.io")


def regroup(crd: dict[str, Any], group: str, scope: str | None = None, kind: str | None = None,
            category: str | None = None) -> dict[str, Any]:
    """A copy of ``crd`` served under another group (and scope/kind), as provider-upjet generates its variants."""
    crd = copy.deepcopy(crd)
    names = crd["spec"]["names"]
    if kind:
        names.update(kind=kind, listKind=f"{kind}List", singular=kind.lower(), plural=kind.lower() + "s")
    crd["spec"]["group"] = group
    crd["metadata"]["name"] = f"{names['plural']}.{group}"
    if scope:
        crd["spec"]["scope"] = scope
    if category:
        names["categories"] = [c if c not in ("aws", "azure") else category for c in names.get("categories", [])]
    return crd


def with_config_kind(crd: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """v2 references name the config's kind: ``{kind: ClusterProviderConfig, name: default}`` by default."""
    for version in crd["spec"]["versions"]:
        node = version["schema"]["openAPIV3Schema"]
        for step in path:
            node = node["properties"][step]
        node["properties"]["kind"] = {"type": "string", "enum": ["ProviderConfig", "ClusterProviderConfig"],
                                      "description": "Kind of the referenced object."}
        if "default" in node:
            node["default"] = {"kind": "ClusterProviderConfig", "name": "default"}
    return crd


def azure_usage_crd() -> dict[str, Any]:
    return regroup(load_crd("aws.upbound.io_providerconfigusages.yaml"), "azure.upbound.io", category="azure")


def v2_crds() -> list[dict[str, Any]]:
    """The .m. CRDs: ClusterProviderConfigs, namespaced usages and MRs."""
    usage = load_crd("aws.upbound.io_providerconfigusages.yaml")
    out = [load_crd("aws.m.upbound.io_clusterproviderconfigs.yaml"), load_crd("aws.m.upbound.io_providerconfigs.yaml"),
           regroup(load_crd("azure.upbound.io_providerconfigs.yaml"), "azure.m.upbound.io", "Cluster",
                   "ClusterProviderConfig")]
    for cloud in ("aws", "azure"):
        out.append(with_config_kind(regroup(usage, f"{cloud}.m.upbound.io", "Namespaced", category=cloud),
                                    ("providerConfigRef",)))
    for filename in ("rds.aws.upbound.io_clusters.yaml", "route53.aws.upbound.io_records.yaml",
                     "route53.aws.upbound.io_healthchecks.yaml", "sql.azure.upbound.io_mssqlservers.yaml"):
        crd = load_crd(filename)
        out.append(with_config_kind(regroup(crd, m_group(crd["spec"]["group"]), "Namespaced"),
                                    ("spec", "providerConfigRef")))
    return out


def xr_crd(crossplane: str = "v1") -> dict[str, Any]:
    """The CRD Crossplane generates from the XRD: its spec plus Crossplane's machinery and printer columns
    (v1: at the top of ``spec``, cluster-scoped; v2: under ``spec.crossplane``, namespaced)."""
    condition_column = "{.status.conditions[?(@.type=='%s')].status}"
    parameters = {"type": "object", "required": ["storageGB"], "properties": {
        "storageGB": {"type": "integer", "minimum": 1},
        "region": {"type": "string", "default": "multi-cloud"},
        "primaryProvider": {"type": "string", "enum": ["aws", "azure"], "default": "aws"},
        "secondaryProvider": {"type": "string", "enum": ["aws", "azure"], "default": "azure"},
        "weighting": {"type": "integer", "minimum": 0, "maximum": 100, "default": 100,
                      "description": "Share of traffic (0-100) the primary takes while healthy."},
    }}
    ref = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    machinery = {"compositionRef": ref, "compositionSelector": ref, "compositionRevisionRef": ref,
                 "compositionUpdatePolicy": {"type": "string"}, "resourceRefs": {"type": "array", "items": ref}}
    spec_properties: dict[str, Any] = {"parameters": parameters, "writeConnectionSecretToRef": ref}
    if crossplane == "v1":
        spec_properties.update(machinery)
    else:
        spec_properties["crossplane"] = {"type": "object", "properties": machinery}
    schema = {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "required": ["parameters"], "properties": spec_properties},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }}
    composition_path = ".spec.compositionRef.name" if crossplane == "v1" else ".spec.crossplane.compositionRef.name"
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{XR_PLURAL}.{XR_GROUP}", "labels": {"crossplane.io/xrd": f"{XR_PLURAL}.{XR_GROUP}"}},
        "spec": {"group": XR_GROUP, "scope": "Cluster" if crossplane == "v1" else "Namespaced",
                 "names": {"plural": XR_PLURAL, "singular": "xglobaldatabase", "kind": XR_KIND,
                           "listKind": f"{XR_KIND}List", "categories": ["composite"]},
                 "versions": [{"name": XR_VERSION, "served": True, "storage": True,
                               "subresources": {"status": {}}, "schema": {"openAPIV3Schema": schema},
                               "additionalPrinterColumns": [
                                   {"name": "SYNCED", "type": "string", "jsonPath": condition_column % "Synced"},
                                   {"name": "READY", "type": "string", "jsonPath": condition_column % "Ready"},
                                   {"name": "COMPOSITION", "type": "string", "jsonPath": composition_path},
                                   {"name": "AGE", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]},
    }


def xrd(crossplane: str = "v1") -> dict[str, Any]:
    schema = xr_crd(crossplane)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec: dict[str, Any] = {"group": XR_GROUP, "names": {"kind": XR_KIND, "plural": XR_PLURAL},
                            "versions": [{"name": XR_VERSION, "served": True, "referenceable": True,
                                          "schema": {"openAPIV3Schema": schema}}]}
    if crossplane == "v2":
        spec["scope"] = "Namespaced"
    return {"apiVersion": f"apiextensions.crossplane.io/{crossplane}", "kind": "CompositeResourceDefinition",
            "metadata": {"name": f"{XR_PLURAL}.{XR_GROUP}"}, "spec": spec}


def composition(profile: str) -> dict[str, Any]:
    steps = [{"step": "patch-and-transform", "functionRef": {"name": "function-patch-and-transform"}}]
    if profile == "blueprint":
        steps.append({"step": "failover", "functionRef": {"name": "function-failover"}})
    return {
        "apiVersion": "apiextensions.crossplane.io/v1", "kind": "Composition",
        "metadata": {"name": "global-database-aws-azure", "labels": {"environment": "production"}},
        "spec": {"compositeTypeRef": {"apiVersion": f"{XR_GROUP}/{XR_VERSION}", "kind": XR_KIND},
                 "mode": "Pipeline", "pipeline": steps},
    }


def sides(crossplane: str = "v1") -> dict[str, Side]:
    out = _v1_sides()
    if crossplane == "v1":
        return out
    for side in out.values():
        side.pc_group, side.pc_kind = m_group(side.pc_group), "ClusterProviderConfig"
        side.providers = {provider: [ManagedRef(m_group(r.group), r.version, r.plural, r.kind, r.name, V2_NAMESPACE)
                                     for r in refs] for provider, refs in side.providers.items()}
    return out


def _v1_sides() -> dict[str, Side]:
    aws = Side(Cloud("aws", "203.0.113.10"), "aws-production", "aws.upbound.io", "aws-creds",
               address=ADDRESSES["aws"])
    aws.providers = {
        "provider-aws-rds": [
            ManagedRef("rds.aws.upbound.io", "v1beta1", "clusters", "Cluster", "production-db-aurora")],
        "provider-aws-route53": [
            ManagedRef("route53.aws.upbound.io", "v1beta1", "records", "Record", "production-db-api-primary"),
            ManagedRef("route53.aws.upbound.io", "v1beta1", "records", "Record", "production-db-api-secondary"),
            ManagedRef("route53.aws.upbound.io", "v1beta1", "healthchecks", "HealthCheck", "production-db-aws-health"),
        ],
    }
    azure = Side(Cloud("azure", "203.0.113.20"), "azure-production", "azure.upbound.io", "azure-creds",
                 address=ADDRESSES["azure"])
    azure.providers = {"provider-azure-sql": [
        ManagedRef("sql.azure.upbound.io", "v1beta1", "mssqlservers", "MSSQLServer", "production-db-mssql")]}
    return {"aws": aws, "azure": azure}


def for_provider(ref: ManagedRef) -> dict[str, Any]:
    if ref.kind == "Cluster":
        return {"region": "us-east-1", "engine": "aurora-postgresql", "engineVersion": "16.4",
                "masterUsername": "dbadmin", "databaseName": "app", "autoGeneratePassword": True,
                "skipFinalSnapshot": True}
    if ref.kind == "MSSQLServer":
        return {"location": "East US", "version": "12.0", "administratorLogin": "dbadmin",
                "resourceGroupName": "production-db-rg", "minimumTlsVersion": "1.2"}
    if ref.kind == "HealthCheck":
        return {"ipAddress": PRIMARY_IP, "port": 443, "type": "HTTPS", "resourcePath": "/healthz",
                "requestInterval": 10, "failureThreshold": 3}
    primary = ref.name.endswith("primary")
    return {"zoneId": "Z0XPCHAOSTEST", "name": DNS_NAME.rstrip("."), "type": "A", "ttl": 5,
            "records": [PRIMARY_IP if primary else SECONDARY_IP], "setIdentifier": "aws" if primary else "azure",
            "failoverRoutingPolicy": [{"type": "PRIMARY" if primary else "SECONDARY"}],
            **({"healthCheckId": "production-db-aws-health"} if primary else {})}


def managed_resource(ref: ManagedRef, side: Side, xr: dict[str, Any]) -> dict[str, Any]:
    config_ref = {"name": side.provider_config}
    if ref.namespace:
        config_ref["kind"] = side.pc_kind
    return {
        "apiVersion": ref.api_version, "kind": ref.kind,
        "metadata": {"name": ref.name, **({"namespace": ref.namespace} if ref.namespace else {}),
                     "labels": {"crossplane.io/composite": XR_NAME},
                     "annotations": {"crossplane.io/external-name": ref.name,
                                     "crossplane.io/composition-resource-name": ref.name.removeprefix(
                                         "production-db-")},
                     "ownerReferences": [{"apiVersion": xr["apiVersion"], "kind": XR_KIND, "name": XR_NAME,
                                          "uid": xr["metadata"]["uid"], "controller": True,
                                          "blockOwnerDeletion": True}]},
        "spec": {"forProvider": for_provider(ref), "providerConfigRef": config_ref},
    }


def provider_objects(name: str, args: list[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The Provider package object, its Deployment and its pod, named and labelled as Crossplane's package manager
    makes them (the Deployment after the revision). ``args``: the container's, e.g. ``["--poll=10m"]``."""
    family = name.split("-")[1]
    revision = f"{name}-{secrets.token_hex(6)}"
    image = f"xpkg.upbound.io/upbound/{name}:v1.23.0"
    provider = {"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "metadata": {"name": name},
                "spec": {"package": image}}
    labels = {"pkg.crossplane.io/provider": name, "pkg.crossplane.io/revision": revision}
    pod_spec = {"containers": [{"name": "package-runtime", "image": image, "args": list(args)}],
                "serviceAccountName": revision}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": revision, "namespace": NAMESPACE, "labels": dict(labels)},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"pkg.crossplane.io/revision": revision}},
                           "template": {"metadata": {"labels": dict(labels)}, "spec": copy.deepcopy(pod_spec)}}}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": f"{revision}-{secrets.token_hex(2)}"[:63], "namespace": NAMESPACE,
                        "labels": {**labels, "xpchaos.test/cloud": family}},
           "spec": pod_spec}
    return provider, deployment, pod


def provider_config(side: Side) -> dict[str, Any]:
    return {"apiVersion": f"{side.pc_group}/v1beta1", "kind": side.pc_kind,
            "metadata": {"name": side.provider_config},
            "spec": {"credentials": {"source": "Secret", "secretRef": {
                "namespace": NAMESPACE, "name": side.secret, "key": "credentials"}}}}


def credential_secret(side: Side) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": side.secret, "namespace": NAMESPACE},
            "stringData": {"credentials": side.cloud.credential_text()}}


def secondary_of(primary: str) -> str:
    """The other cloud: the one that takes over when ``primary`` is lost."""
    if primary not in CLOUDS:
        raise ValueError(f"--primary {primary!r}: choose one of {', '.join(CLOUDS)}")
    return next(cloud for cloud in CLOUDS if cloud != primary)


def xr(crossplane: str = "v1", primary: str = "aws") -> dict[str, Any]:
    machinery = {"compositionSelector": {"matchLabels": {"environment": "production"}},
                 "compositionRef": {"name": "global-database-aws-azure"}, "compositionUpdatePolicy": "Automatic"}
    spec: dict[str, Any] = {"parameters": {"storageGB": 100, "region": "multi-cloud", "primaryProvider": primary,
                                           "secondaryProvider": secondary_of(primary), "weighting": 100}}
    metadata = {"name": XR_NAME}
    if crossplane == "v1":
        spec.update(machinery)
    else:
        spec["crossplane"] = machinery
        metadata["namespace"] = V2_NAMESPACE
    return {"apiVersion": f"{XR_GROUP}/{XR_VERSION}", "kind": XR_KIND, "metadata": metadata, "spec": spec}


def machinery(xr: dict[str, Any]) -> dict[str, Any]:
    """Where Crossplane keeps compositionRef and resourceRefs: ``spec`` (v1) or ``spec.crossplane`` (v2)."""
    spec = xr.get("spec") or {}
    return spec.get("crossplane") or spec
