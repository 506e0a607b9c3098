"""The blast radius of a fault on a provider: the managed resources it reaches and the XRs that own them.

- ``delete-providerconfig``: the MRs using the provider's ProviderConfig;
- ``revoke-credentials``: the MRs using a ProviderConfig whose credentials the fault breaks (the provider's, and any
  other ProviderConfig of its kind reading the same Secret);
- ``fail-health-check``: as ``delete-providerconfig`` (the composites with MRs on the provider are those whose DNS
  the fault may move; which object it changes is read from what each composes, ``xpchaos.actions.healthcheck``);
- ``block-provider-api``: the MRs of every kind the blocked pods serve, whatever ProviderConfig they use (the pods
  are cut off from the cloud, not from one account): the target's selector's pods and the family's pods the fault
  adds (``xpchaos.actions.network``).

An MR uses a ProviderConfig when its ``spec.providerConfigRef`` says so or a ProviderConfigUsage (label
``crossplane.io/provider-config``) names it. An MR belongs to the XR of its controller ownerReference, else of its
``crossplane.io/composite`` label. Read only: LIST and GET.

It sits beside the faults (it reads what ``xpchaos.actions.network`` blocks) so that every layer above can ask it:
``xpchaos plan``, the game day's stop condition (``xpchaos.run``) and the ``xpchaos-timeline`` control, which records
it on the timeline just before each fault for the failover probe (``xpchaos.probes.per_composite``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import platform_graph as graph
from xpchaos.core.target import ObjectRef, Provider, Target

from . import network

COMPOSITE_LABEL = "crossplane.io/composite"
# the objects that name a DNS record an XR composes: (kind, API group)
DNS_KINDS = {("Record", "route53.aws.upbound.io"), ("Record", "route53.aws.m.upbound.io"),
             ("DNSEndpoint", "externaldns.k8s.io")}
# fault modules -> the fault's name
FAULTS = {"xpchaos.actions.providerconfig": "delete-providerconfig",
          "xpchaos.actions.network": "block-provider-api",
          "xpchaos.actions.credentials": "revoke-credentials",
          "xpchaos.actions.healthcheck": "fail-health-check"}


@dataclass(frozen=True, order=True)
class Resource:
    """An object in the blast radius, as its references name it."""

    kind: str
    name: str
    namespace: str | None = None
    api_version: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str | None, str]:
        return self.kind, self.namespace, self.name

    def describe(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind, "name": self.name, "namespace": self.namespace}


@dataclass
class BlastRadius:
    """What a fault on ``provider`` reaches, and which of its XRs the target does not list."""

    fault: str
    provider: str
    provider_configs: list[str]
    providers: list[str]  # the Providers whose pods the fault blocks (block-provider-api only)
    managed: list[Resource]
    composites: list[Resource]
    unlisted: list[Resource]
    claims: dict[tuple[str, str | None, str], str] = field(default_factory=dict)  # XR key -> "ns/claim"

    def counts(self) -> dict[str, int]:
        """Managed resources by kind, most first."""
        return dict(Counter(r.kind for r in self.managed).most_common())

    def reaches(self, kind: str, namespace: str | None, name: str) -> bool:
        return (kind, namespace or None, name) in {c.key for c in self.composites}

    def warning(self) -> str | None:
        if not self.unlisted:
            return None
        shown = ", ".join(r.describe() for r in self.unlisted[:10])
        more = f" and {len(self.unlisted) - 10} more" if len(self.unlisted) > 10 else ""
        return (f"{self.fault} on {self.provider} reaches {len(self.unlisted)} XR(s) the target does not list: "
                f"{shown}{more}; add them to composites (or their claims), or they fail over unwatched")

    def as_dict(self) -> dict[str, Any]:
        return {"fault": self.fault, "provider": self.provider, "providerConfigs": self.provider_configs,
                "providers": self.providers, "counts": self.counts(),
                "managed": [r.as_dict() for r in self.managed],
                "composites": [{**r.as_dict(), "claim": self.claims.get(r.key)} for r in self.composites],
                "unlisted": [r.as_dict() for r in self.unlisted], "warning": self.warning()}


# -- reading the cluster -------------------------------------------------------------------------------------------
def _managed_crds(api: client.ApiClient) -> list[dict[str, Any]]:
    """The CRDs of managed resources (category ``managed``), as dicts."""
    ext: Any = client.ApiextensionsV1Api(api)
    crds = [api.sanitize_for_serialization(c) for c in ext.list_custom_resource_definition().items]
    return [c for c in crds if "managed" in (c["spec"]["names"].get("categories") or [])]


def _version(crd: dict[str, Any]) -> str:
    versions = crd["spec"]["versions"]
    return str(next((v["name"] for v in versions if v.get("storage")), versions[0]["name"]))


def _objects(api: client.ApiClient, crd: dict[str, Any]) -> list[dict[str, Any]]:
    custom: Any = client.CustomObjectsApi(api)
    spec = crd["spec"]
    listed = custom.list_cluster_custom_object(spec["group"], _version(crd), spec["names"]["plural"])
    return list(listed.get("items") or [])


def _resource(obj: dict[str, Any]) -> Resource:
    meta = obj["metadata"]
    return Resource(obj["kind"], meta["name"], meta.get("namespace") or None, obj.get("apiVersion", ""))


def _owner(mr: dict[str, Any]) -> Resource | None:
    """The XR an MR belongs to: its controller ownerReference, else its ``crossplane.io/composite`` label."""
    meta = mr["metadata"]
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    if owner is not None:
        return Resource(owner["kind"], owner["name"], meta.get("namespace") or None, owner["apiVersion"])
    label = (meta.get("labels") or {}).get(COMPOSITE_LABEL)
    return Resource("", label, meta.get("namespace") or None) if label else None


def _revision_providers(api: client.ApiClient) -> dict[str, str]:
    """ProviderRevision name -> its Provider's name."""
    custom: Any = client.CustomObjectsApi(api)
    revisions = custom.list_cluster_custom_object("pkg.crossplane.io", "v1", "providerrevisions")
    return {r["metadata"]["name"]: (r["metadata"].get("labels") or {}).get(graph.PROVIDER_LABEL, "")
            for r in revisions.get("items") or []}


def _served_by(crd: dict[str, Any], revisions: dict[str, str]) -> str:
    owner = next((o for o in crd["metadata"].get("ownerReferences") or [] if o.get("kind") == "ProviderRevision"),
                 None)
    return revisions.get(owner["name"], "") if owner else ""


# -- what each fault reaches ---------------------------------------------------------------------------------------
def _faulted_configs(api: client.ApiClient, fault: str, provider: Provider) -> tuple[list[ObjectRef], bool]:
    """The ProviderConfigs a fault breaks, and whether only through the provider's pods: the provider's own; for
    revoke-credentials also every ProviderConfig of its kind reading the same Secret, or, for IRSA (the pods'
    ServiceAccount role is what breaks), every IRSA ProviderConfig of its kind."""
    pc = provider.provider_config
    if fault != "revoke-credentials":
        return [pc], False
    custom: Any = client.CustomObjectsApi(api)
    items = custom.list_cluster_custom_object(pc.group, pc.version, pc.plural).get("items") or []
    own = next((graph.credential_source(i) for i in items if i["metadata"]["name"] == pc.name), None)
    secret = provider.credentials or (own.secret if own else None)
    irsa = secret is None and own is not None and own.source == "IRSA"

    def shares(item: dict[str, Any]) -> bool:
        source = graph.credential_source(item)
        return (secret is not None and source.secret == secret) or (irsa and source.source == "IRSA")

    found = [pc] + [ObjectRef(pc.api_version, pc.kind, pc.plural, i["metadata"]["name"], i["metadata"].get("namespace"))
                    for i in items if i["metadata"]["name"] != pc.name and shares(i)]
    return found, irsa


def _pod_providers(api: client.ApiClient, provider: Provider) -> set[str]:
    """The Providers of the pods the target's selector selects."""
    core: Any = client.CoreV1Api(api)
    pods = core.list_namespaced_pod(provider.pods_namespace, label_selector=provider.pods_selector).items
    return {(p.metadata.labels or {}).get(graph.PROVIDER_LABEL, "") for p in pods} - {""}


def _using(api: client.ApiClient, configs: list[ObjectRef]) -> list[dict[str, Any]]:
    """The MRs using any of ``configs``: by ``spec.providerConfigRef``, and any a ProviderConfigUsage names."""
    wanted = {(c.kind, c.namespace, c.name) for c in configs}
    families = {graph.family_group(c.group) for c in configs}
    found: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for crd in _managed_crds(api):
        if graph.family_group(crd["spec"]["group"]) not in families:
            continue
        for mr in _objects(api, crd):
            pc = graph.provider_config_of(mr)
            if (pc.kind, pc.namespace, pc.name) in wanted:
                found[_resource(mr).key] = mr
    for config in configs:
        for usage in network.usages(api, config):
            ref = usage.get("resourceRef") or {}
            namespace = (usage.get("metadata") or {}).get("namespace") or None
            if not ref or (ref.get("kind"), namespace, ref.get("name")) in found:
                continue
            try:
                mr = graph.get(api, graph.ref_to(api, ref["apiVersion"], ref["kind"], ref["name"], namespace))
            except graph.WalkError:
                continue  # a usage outliving its MR: the usage controller removes it
            found[_resource(mr).key] = mr
    return list(found.values())


def _blocked_providers(api: client.ApiClient, provider: Provider) -> list[str]:
    """The Providers whose pods the network fault blocks: the target's selector's pods and the family's."""
    family, _pods = network.unselected_pods(api, provider)
    return sorted(_pod_providers(api, provider) | set(family))


def _served(api: client.ApiClient, providers: list[str]) -> list[dict[str, Any]]:
    """Every MR of the kinds the ``providers`` serve."""
    revisions = _revision_providers(api)
    return [mr for crd in _managed_crds(api) if _served_by(crd, revisions) in providers for mr in _objects(api, crd)]


def _listed(api: client.ApiClient, target: Target) -> tuple[set[tuple[str, str | None, str]], dict[Any, str]]:
    """The XRs the target lists (a claim stands for the XR it is bound to), and XR -> its claim."""
    listed: set[tuple[str, str | None, str]] = set()
    claims: dict[Any, str] = {}
    for ref in target.composites:
        try:
            xr, _obj = graph.composite(api, ref)
        except (graph.WalkError, ApiException):
            listed.add((ref.kind, ref.namespace, ref.name))  # preflight says what is wrong with it
            continue
        listed.add((xr.kind, xr.namespace, xr.name))
        if xr != ref:
            claims[(xr.kind, xr.namespace, xr.name)] = f"{ref.namespace}/{ref.name}"
    return listed, claims


def compute(api: client.ApiClient, target: Target, fault: str, provider: Provider) -> BlastRadius:
    """The blast radius of ``fault`` (a name of ``FAULTS``) on ``provider``."""
    configs, through_pods = _faulted_configs(api, fault, provider)
    blocked = _blocked_providers(api, provider) if fault == "block-provider-api" else []
    mrs = _served(api, blocked) if blocked else _using(api, configs)
    if through_pods:  # only the kinds the pods whose identity broke serve
        served = {_resource(mr).key for mr in _served(api, sorted(_pod_providers(api, provider)))}
        mrs = [mr for mr in mrs if _resource(mr).key in served]
    owners = {owner for mr in mrs if (owner := _owner(mr)) is not None}
    listed, claims = _listed(api, target)
    composites = sorted(owners)
    return BlastRadius(fault, provider.name, [] if blocked else [c.describe() for c in configs], blocked,
                       sorted({_resource(mr) for mr in mrs}), composites,
                       [c for c in composites if c.key not in listed], claims)


def listed_composites(api: client.ApiClient, target: Target) -> set[tuple[str, str | None, str]]:
    """(kind, namespace, name) of the XRs the target lists, a claim resolved to its XR."""
    return _listed(api, target)[0]


# -- the DNS names it reaches --------------------------------------------------------------------------------------
def dns_names(api: client.ApiClient, composites: list[ObjectRef]) -> list[str]:
    """The DNS names the ``composites`` (XRs or claims) compose: their Route53 Records' ``spec.forProvider.name``
    and their ExternalDNS DNSEndpoints' ``spec.endpoints[].dnsName``, without a trailing dot."""
    names: set[str] = set()
    for composite in composites:
        for ref in graph.composed(api, composite):
            if (ref.kind, ref.group) not in DNS_KINDS:
                continue
            obj = graph.read(api, ref) or {}
            spec = obj.get("spec") or {}
            found = [(spec.get("forProvider") or {}).get("name")] if ref.kind == "Record" else \
                [e.get("dnsName") for e in spec.get("endpoints") or []]
            names.update(str(n).rstrip(".") for n in found if n)
    return sorted(names)
