"""The objects ``sandbox up --profile stock|blueprint`` provisions, as builders: Crossplane's and the providers'
CRDs (the real upstream files), the XGlobalDatabase API (XRD, XR and claim CRDs, Composition), ProviderConfigs of
each credential source, credential Secrets, the managed resources of both clouds, XRs and claims. What exists
(how many of each, their names) is ``layout.py``'s; the seed's XR is ``production-db``.

Crossplane v1 (``--crossplane v1``): cluster-scoped XR and MRs in ``*.upbound.io``, ProviderConfig. v2: the XR
and its MRs in namespace ``production``, MRs in the ``*.m.upbound.io`` groups pointing at a
ClusterProviderConfig, Crossplane's machinery under ``spec.crossplane``. provider-upjet publishes the ``.m.``
CRDs of the same resources with the same schemas; the sandbox derives them from the cluster-scoped files it has
(scope Namespaced, group ``.m.``, ``providerConfigRef.kind``), see ``crds/SOURCES.md``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import dnscrds, dnsmodes
from .clouds import Cloud

CRD_DIR = Path(__file__).parent / "crds"
NAMESPACE = "crossplane-system"
XR_GROUP, XR_VERSION, XR_PLURAL, XR_KIND = "database.example.org", "v1alpha1", "xglobaldatabases", "XGlobalDatabase"
XR_NAME = "production-db"
CLAIM_KIND, CLAIM_PLURAL = "GlobalDatabase", "globaldatabases"
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
    resource: str = ""  # its name in the composition (crossplane.io/composition-resource-name)
    composite: str = ""  # the XR that composes it
    provider_config: str = ""  # the ProviderConfig it points at

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass
class Side:
    """One cloud's half of the platform."""

    cloud: Cloud
    provider_config: str  # the first ProviderConfig (the seed's only one)
    pc_group: str
    secret: str  # the first ProviderConfig's Secret ("" when it uses a workload identity)
    providers: dict[str, list[ManagedRef]] = field(default_factory=dict)  # provider name -> MRs it reconciles
    address: str = ""  # the seed composite's service address on this side
    pc_kind: str = "ProviderConfig"  # v2: ClusterProviderConfig (cluster-scoped) in the .m. group
    namespace: str = NAMESPACE  # Crossplane's, where the provider pods and credential Secrets live
    configs: list[Any] = field(default_factory=list)  # layout.ConfigLayout, each ProviderConfig
    family: str = ""  # the family provider serving the ProviderConfig CRD ("" without families)
    service_account_role_arn: str = ""  # AWS IRSA: on the provider pods' ServiceAccounts
    workload_client_id: str = ""  # Azure Workload Identity: on the provider pods' ServiceAccounts

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


def v2_crds(dns_mode: str = dnsmodes.DEFAULT) -> list[dict[str, Any]]:
    """The .m. CRDs: ClusterProviderConfigs, namespaced usages and MRs (with Traffic Manager's in that mode)."""
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
    if dns_mode == "traffic-manager":
        out.extend(with_config_kind(regroup(crd, m_group(crd["spec"]["group"]), "Namespaced"),
                                    ("spec", "providerConfigRef")) for crd in dnscrds.traffic_manager_crds())
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
        spec_properties.update(machinery, claimRef=ref)
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


def claim_crd() -> dict[str, Any]:
    """The namespaced claim CRD Crossplane v1 generates from an XRD with ``claimNames``: the XR's schema, with
    the claim's own machinery (``resourceRef`` to its XR) and its printer columns."""
    crd = xr_crd("v1")
    version = crd["spec"]["versions"][0]
    spec_schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec_schema.pop("claimRef")
    spec_schema["resourceRef"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    condition_column = "{.status.conditions[?(@.type=='%s')].status}"
    version["additionalPrinterColumns"] = [
        {"name": "SYNCED", "type": "string", "jsonPath": condition_column % "Synced"},
        {"name": "READY", "type": "string", "jsonPath": condition_column % "Ready"},
        {"name": "CONNECTION-SECRET", "type": "string", "jsonPath": ".spec.writeConnectionSecretToRef.name"},
        {"name": "AGE", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    crd["metadata"]["name"] = f"{CLAIM_PLURAL}.{XR_GROUP}"
    crd["metadata"]["labels"] = {"crossplane.io/xrd": f"{XR_PLURAL}.{XR_GROUP}"}
    crd["spec"]["scope"] = "Namespaced"
    crd["spec"]["names"] = {"plural": CLAIM_PLURAL, "singular": CLAIM_KIND.lower(), "kind": CLAIM_KIND,
                            "listKind": f"{CLAIM_KIND}List", "categories": ["claim"]}
    return crd


def xrd(crossplane: str = "v1", claims: bool = False) -> dict[str, Any]:
    schema = xr_crd(crossplane)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec: dict[str, Any] = {"group": XR_GROUP, "names": {"kind": XR_KIND, "plural": XR_PLURAL},
                            "versions": [{"name": XR_VERSION, "served": True, "referenceable": True,
                                          "schema": {"openAPIV3Schema": schema}}]}
    if claims:
        spec["claimNames"] = {"kind": CLAIM_KIND, "plural": CLAIM_PLURAL}
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


@dataclass(frozen=True)
class DnsParams:
    """What the DNS objects of a mode other than ``function`` carry: the record TTL, the health checks' interval
    and threshold (the seed's ``function`` objects keep their fixed values)."""

    mode: str = dnsmodes.DEFAULT
    ttl: int = 5
    interval: float = 10
    threshold: int = 3


def for_provider(ref: ManagedRef, composite: Any, dns: DnsParams | None = None) -> dict[str, Any]:
    """``spec.forProvider`` of one composed resource of ``composite`` (a layout.Composite)."""
    dns = dns or DnsParams()
    if dns.mode != dnsmodes.DEFAULT and ref.kind in dnsmodes.DNS_KINDS:
        return _dns_for_provider(ref, composite, dns)
    if ref.kind == "Cluster":
        return {"region": "us-east-1", "engine": "aurora-postgresql", "engineVersion": "16.4",
                "masterUsername": "dbadmin", "databaseName": "app", "autoGeneratePassword": True,
                "skipFinalSnapshot": True}
    if ref.kind == "MSSQLServer":
        return {"location": "East US", "version": "12.0", "administratorLogin": "dbadmin",
                "resourceGroupName": f"{composite.name}-rg", "minimumTlsVersion": "1.2"}
    if ref.kind == "HealthCheck":  # disabled: Route53 counts it healthy, so the records do not decide (the
        # function writes DNS itself), and a harness can tell this wiring from route53-failover
        return {"ipAddress": composite.addresses["aws"], "port": 443, "type": "HTTPS", "resourcePath": "/healthz",
                "requestInterval": 10, "failureThreshold": 3, "disabled": True}
    primary = ref.resource.endswith("primary")
    health = next(r.name for r in composite.managed["aws"] if r.kind == "HealthCheck")
    return {"zoneId": "Z0XPCHAOSTEST", "name": composite.dns_name.rstrip("."), "type": "A", "ttl": 5,
            "records": [composite.addresses["aws" if primary else "azure"]],
            "setIdentifier": "aws" if primary else "azure",
            "failoverRoutingPolicy": [{"type": "PRIMARY" if primary else "SECONDARY"}],
            **({"healthCheckId": health} if primary else {})}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _dns_for_provider(ref: ManagedRef, composite: Any, dns: DnsParams) -> dict[str, Any]:
    """The DNS objects of the modes after ``function``: they follow the composite's primary, and their timings."""
    name = composite.dns_name.rstrip(".")
    primary, secondary = composite.primary, composite.secondary
    if ref.kind == "HealthCheck":  # Route53 checks the primary's service endpoint (any address, in any cloud)
        return {"ipAddress": composite.addresses[primary], "port": 443, "type": "HTTPS", "resourcePath": "/healthz",
                "requestInterval": _number(dns.interval), "failureThreshold": dns.threshold}
    if ref.kind == "Record" and ref.resource == "api-record":  # provider: one simple record the function rewrites
        return {"zoneId": "Z0XPCHAOSTEST", "name": name, "type": "A", "ttl": dns.ttl,
                "records": [composite.addresses[primary]]}
    if ref.kind == "Record":  # route53-failover: PRIMARY (with the health check) and SECONDARY
        is_primary = ref.resource.endswith("primary")
        side = primary if is_primary else secondary
        health = next(r.name for r in composite.managed["aws"] if r.kind == "HealthCheck")
        return {"zoneId": "Z0XPCHAOSTEST", "name": name, "type": "A", "ttl": dns.ttl,
                "records": [composite.addresses[side]], "setIdentifier": side,
                "failoverRoutingPolicy": [{"type": "PRIMARY" if is_primary else "SECONDARY"}],
                **({"healthCheckId": health} if is_primary else {})}
    if ref.kind == dnsmodes.TM_PROFILE:
        return {"resourceGroupName": f"{composite.name}-rg", "trafficRoutingMethod": "Priority",
                "profileStatus": "Enabled", "dnsConfig": [{"relativeName": composite.name, "ttl": dns.ttl}],
                "monitorConfig": [{"protocol": "HTTPS", "port": 443, "path": "/healthz",
                                   "intervalInSeconds": _number(dns.interval),
                                   "timeoutInSeconds": _number(min(dns.interval, 9)),
                                   "toleratedNumberOfFailures": dns.threshold}]}
    cloud = ref.resource.removeprefix("tm-")  # a Traffic Manager endpoint per cloud, the primary first
    profile = next(r.name for r in composite.managed["azure"] if r.kind == dnsmodes.TM_PROFILE)
    return {"profileIdRef": {"name": profile}, "target": dnsmodes.endpoint_name(composite.dns_name, cloud).rstrip("."),
            "priority": 1 if cloud == primary else 2, "enabled": True}


def dns_endpoint(ref: ManagedRef, composite: Any, xr: dict[str, Any], ttl: int) -> dict[str, Any]:
    """The ExternalDNS DNSEndpoint an XR composes (--dns external-dns): one A endpoint at the primary."""
    return {"apiVersion": ref.api_version, "kind": ref.kind,
            "metadata": {"name": ref.name, "namespace": ref.namespace, "labels": composite_labels(composite),
                         "annotations": {"crossplane.io/composition-resource-name": ref.resource},
                         "ownerReferences": [{"apiVersion": xr["apiVersion"], "kind": XR_KIND,
                                              "name": composite.name, "uid": xr["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"endpoints": [{"dnsName": composite.dns_name.rstrip("."), "recordType": "A", "recordTTL": ttl,
                                    "targets": [composite.addresses[composite.primary]]}]}}


def composite_labels(composite: Any) -> dict[str, str]:
    """What Crossplane labels an XR and everything it composes with (and the claim, when there is one)."""
    labels = {"crossplane.io/composite": composite.name}
    if composite.claim is not None:
        labels.update({"crossplane.io/claim-name": composite.claim.name,
                       "crossplane.io/claim-namespace": composite.claim.namespace})
    return labels


def managed_resource(ref: ManagedRef, side: Side, composite: Any, xr: dict[str, Any],
                     dns: DnsParams | None = None) -> dict[str, Any]:
    config_ref = {"name": ref.provider_config or side.provider_config}
    if ref.namespace:
        config_ref["kind"] = side.pc_kind
    return {
        "apiVersion": ref.api_version, "kind": ref.kind,
        "metadata": {"name": ref.name, **({"namespace": ref.namespace} if ref.namespace else {}),
                     "labels": composite_labels(composite),
                     "annotations": {"crossplane.io/external-name": ref.name,
                                     "crossplane.io/composition-resource-name": ref.resource},
                     "ownerReferences": [{"apiVersion": xr["apiVersion"], "kind": XR_KIND, "name": composite.name,
                                          "uid": xr["metadata"]["uid"], "controller": True,
                                          "blockOwnerDeletion": True}]},
        "spec": {"forProvider": for_provider(ref, composite, dns), "providerConfigRef": config_ref},
    }


def provider_config(side: Side, config: Any) -> dict[str, Any]:
    """The ProviderConfig of ``config`` (a layout.ConfigLayout), in the source's own shape."""
    spec: dict[str, Any]
    if config.source == "Secret":
        spec = {"credentials": {"source": "Secret", "secretRef": {
            "namespace": side.namespace, "name": config.secret, "key": "credentials"}}}
    elif config.source == "IRSA":
        spec = {"credentials": {"source": "IRSA"}}
    elif config.source == "WebIdentity":
        spec = {"credentials": {"source": "WebIdentity", "webIdentity": {"roleARN": config.role_arn}}}
    else:  # Azure Workload Identity: the provider reads the federated token file the webhook mounts
        spec = {"credentials": {"source": "OIDCTokenFile"}, "clientID": config.client_id,
                "tenantID": side.cloud.tenant_id, "subscriptionID": side.cloud.subscription_id}
    if config.assume_role_arn:
        spec["assumeRoleChain"] = [{"roleARN": config.assume_role_arn}]
    return {"apiVersion": f"{side.pc_group}/v1beta1", "kind": side.pc_kind, "metadata": {"name": config.name},
            "spec": spec}


def credential_secret(side: Side, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": side.namespace},
            "stringData": {"credentials": side.cloud.credential_text()}}


def secondary_of(primary: str) -> str:
    """The other cloud: the one that takes over when ``primary`` is lost."""
    if primary not in CLOUDS:
        raise ValueError(f"--primary {primary!r}: choose one of {', '.join(CLOUDS)}")
    return next(cloud for cloud in CLOUDS if cloud != primary)


def xr(composite: Any, crossplane: str = "v1") -> dict[str, Any]:
    """The XR of ``composite`` (a layout.Composite): v1 machinery at the top of ``spec``, v2 under
    ``spec.crossplane``; a claimed XR names its claim in ``spec.claimRef``."""
    machinery = {"compositionSelector": {"matchLabels": {"environment": "production"}},
                 "compositionRef": {"name": "global-database-aws-azure"}, "compositionUpdatePolicy": "Automatic"}
    spec: dict[str, Any] = {"parameters": {"storageGB": 100, "region": "multi-cloud",
                                           "primaryProvider": composite.primary,
                                           "secondaryProvider": secondary_of(composite.primary), "weighting": 100}}
    metadata: dict[str, Any] = {"name": composite.name, "labels": composite_labels(composite)}
    if crossplane == "v1":
        spec.update(machinery)
    else:
        spec["crossplane"] = machinery
        metadata["namespace"] = composite.namespace
    if composite.claim is not None:
        spec["claimRef"] = {"apiVersion": f"{XR_GROUP}/{XR_VERSION}", "kind": CLAIM_KIND,
                            "name": composite.claim.name, "namespace": composite.claim.namespace}
    return {"apiVersion": f"{XR_GROUP}/{XR_VERSION}", "kind": XR_KIND, "metadata": metadata, "spec": spec}


def claim(composite: Any) -> dict[str, Any]:
    """The claim bound to ``composite``'s XR, as Crossplane leaves it once bound (``spec.resourceRef``)."""
    assert composite.claim is not None
    return {"apiVersion": f"{XR_GROUP}/{XR_VERSION}", "kind": CLAIM_KIND,
            "metadata": {"name": composite.claim.name, "namespace": composite.claim.namespace},
            "spec": {"parameters": {"storageGB": 100, "region": "multi-cloud", "primaryProvider": composite.primary,
                                    "secondaryProvider": secondary_of(composite.primary), "weighting": 100},
                     "compositionSelector": {"matchLabels": {"environment": "production"}},
                     "compositionRef": {"name": "global-database-aws-azure"},
                     "resourceRef": {"apiVersion": f"{XR_GROUP}/{XR_VERSION}", "kind": XR_KIND,
                                     "name": composite.name}}}


def machinery(xr: dict[str, Any]) -> dict[str, Any]:
    """Where Crossplane keeps compositionRef and resourceRefs: ``spec`` (v1) or ``spec.crossplane`` (v2)."""
    spec = xr.get("spec") or {}
    return spec.get("crossplane") or spec
