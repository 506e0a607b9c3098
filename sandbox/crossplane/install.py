"""Put a platform layout into a cluster, as Helm, the package manager and a first composition would have left it:
CRDs established and owned by their packages' revisions, providers healthy, pods running, every XR composed (and
bound to its claim)."""

from __future__ import annotations

from typing import Any

from ..cluster import Cluster
from ..patching import MERGE_PATCH
from . import dnscrds, dnsmodes, endpoints, externalsecrets, functioninput, packages, platform
from .conditions import condition
from .kinds import rtype
from .layout import Composite, Layout, Package

CORE_CRDS = ("apiextensions.crossplane.io_compositeresourcedefinitions.yaml",
             "apiextensions.crossplane.io_compositions.yaml", "pkg.crossplane.io_providers.yaml")
PROVIDER_CRDS = tuple(f for f in platform.UPSTREAM_CRDS if f not in CORE_CRDS)


def _create(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    plural = {"Namespace": "namespaces", "Secret": "secrets", "Pod": "pods", "ServiceAccount": "serviceaccounts",
              "CustomResourceDefinition": "customresourcedefinitions"}.get(obj["kind"])
    if plural is None:
        types = [t for t in cluster.registry.types.values()
                 if t.group == group and t.version == version and t.kind == obj["kind"]]
        plural = types[0].plural
    target = rtype(cluster, group, version, plural)
    return cluster.create(target, obj["metadata"].get("namespace", ""), obj)


def _set_status(cluster: Cluster, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    target = next(t for t in cluster.registry.types.values()
                  if t.group == group and t.version == version and t.kind == obj["kind"])
    return cluster.patch(target, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], MERGE_PATCH,
                         {"status": status}, subresource="status")


def provider_crds(crossplane: str, dns_mode: str = dnsmodes.DEFAULT) -> list[dict[str, Any]]:
    """The CRDs the provider packages ship (v2 adds the .m. groups; traffic-manager provider-azure-network's)."""
    out = [platform.load_crd(f) for f in PROVIDER_CRDS]
    out.append(platform.azure_usage_crd())
    if dns_mode == "traffic-manager":
        out.extend(dnscrds.traffic_manager_crds())
    if crossplane == "v2":
        out.extend(platform.v2_crds(dns_mode))
    return out


def install(cluster: Cluster, layout: Layout, profile: str, provider_args: list[str] | None = None,
            dns: platform.DnsParams | None = None,
            function_input: dict[str, Any] | None = None) -> tuple[packages.PodAddresses, dict[str, Any]]:
    """Provision everything (``provider_args``: the provider containers' args, which carry the simulated poll;
    ``dns``: what the DNS mode's objects carry; ``function_input``: the failover step's settings, in the
    Composition). Returns the pod address pool (replaced pods draw from it) and what ``endpoints.publish``
    published."""
    for filename in CORE_CRDS:
        _create(cluster, platform.load_crd(filename))
    _create(cluster, packages.revision_crd())
    namespaces = {layout.namespace, *(c.namespace for c in layout.composites if c.namespace),
                  *(c.claim.namespace for c in layout.composites if c.claim)}
    for namespace in sorted(namespaces):
        if cluster.store.get(("", "namespaces"), "", namespace) is None:
            _create(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    xrd = _create(cluster, platform.xrd(layout.crossplane, layout.claims))
    offered = ("WatchingCompositeResourceClaim" if layout.claims else "OfferedClaimAbsent")
    _set_status(cluster, xrd, {"conditions": [condition("Established", "True", "WatchingCompositeResource"),
                                              condition("Offered", "True", offered)]})
    owned_by_xrd = [packages.owner_reference(xrd)]
    xr_crd = platform.xr_crd(layout.crossplane)
    xr_crd["metadata"]["ownerReferences"] = owned_by_xrd
    _create(cluster, xr_crd)
    if layout.claims:
        claim_crd = platform.claim_crd()
        claim_crd["metadata"]["ownerReferences"] = owned_by_xrd
        _create(cluster, claim_crd)
    _create(cluster, functioninput.attach(platform.composition(profile), function_input or {}))
    published = (endpoints.publish(cluster, layout.network, layout.spec.spec.cluster.nodes)
                 if layout.spec.spec.cluster.endpoints else {"nodes": []})
    addresses = packages.PodAddresses(published["nodes"])
    revisions = {p.name: _install_package(cluster, layout, p, provider_args or ["--poll=10m"], addresses)
                 for p in layout.packages}
    _install_provider_crds(cluster, layout, revisions)
    for side in layout.sides.values():
        for config in side.configs:
            if config.source == "Secret":
                _create(cluster, platform.credential_secret(side, config.secret))
            _create(cluster, platform.provider_config(side, config))
    _install_external_secrets(cluster, layout)
    if layout.dns_mode == "external-dns":
        _create(cluster, dnscrds.dns_endpoint_crd())  # ExternalDNS's chart installs it
    for composite in layout.composites:
        _compose(cluster, layout, composite, dns or platform.DnsParams(layout.dns_mode))
    return addresses, published


def _install_external_secrets(cluster: Cluster, layout: Layout) -> None:
    """``spec.externalSecrets``: the synced cloud's credential Secrets, each with its ExternalSecret."""
    synced = layout.spec.spec.external_secrets
    if synced is None:
        return
    cloud = synced.syncs or platform.secondary_of(synced.store)
    secrets = sorted({c.secret for c in layout.sides[cloud].configs if c.source == "Secret"})
    for obj, status in externalsecrets.objects(synced.store, synced.store_kind, secrets, layout.namespace):
        created = _create(cluster, obj)
        if status:
            _set_status(cluster, created, status)


def _install_package(cluster: Cluster, layout: Layout, package: Package, args: list[str],
                     addresses: packages.PodAddresses) -> dict[str, Any]:
    provider = _create(cluster, packages.provider(package))
    _set_status(cluster, provider, {"conditions": packages.healthy(), "currentRevision": package.revision,
                                    "currentIdentifier": packages.image(package)})
    revision = _create(cluster, packages.revision(package, provider))
    _create(cluster, packages.service_account(layout, package))
    deployment = _create(cluster, packages.deployment(layout, package, args))
    _set_status(cluster, deployment, packages.deployment_available(deployment))
    packages.start_pod(cluster, deployment, addresses)
    return revision


def _install_provider_crds(cluster: Cluster, layout: Layout, revisions: dict[str, dict[str, Any]]) -> None:
    """Each CRD owned by the revisions of the packages that ship it (the first one its controller), and listed in
    their ``status.objectRefs``; members of a family count it as their one dependency."""
    refs: dict[str, list[dict[str, str]]] = {name: [] for name in revisions}
    for crd in provider_crds(layout.crossplane, layout.dns_mode):
        owners = packages.owner_of_crd(layout, crd)
        if not owners:  # a service this DNS mode installs no provider for (route53 without Records)
            continue
        crd["metadata"]["ownerReferences"] = [packages.owner_reference(revisions[p.name], controller=i == 0)
                                              for i, p in enumerate(owners)]
        created = _create(cluster, crd)
        for owner in owners:
            refs[owner.name].append({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                                     "name": created["metadata"]["name"], "uid": created["metadata"]["uid"]})
    for package in layout.packages:
        dependencies = 1 if package.family else 0
        _set_status(cluster, revisions[package.name], {
            "conditions": packages.healthy(installed=False), "objectRefs": refs[package.name],
            "foundDependencies": dependencies, "installedDependencies": dependencies, "invalidDependencies": 0})


def _compose(cluster: Cluster, layout: Layout, composite: Composite, dns: platform.DnsParams) -> None:
    xr = _create(cluster, platform.xr(composite, layout.crossplane))
    refs: list[dict[str, Any]] = []
    for cloud, mrs in composite.managed.items():
        side = layout.sides[cloud]
        for ref in mrs:
            side.cloud.resources.add(ref.name)
            _create(cluster, platform.managed_resource(ref, side, composite, xr, dns))
            refs.append({"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name})
    if composite.dns_endpoint is not None:
        endpoint = composite.dns_endpoint
        _create(cluster, platform.dns_endpoint(endpoint, composite, xr, dns.ttl))
        refs.append({"apiVersion": endpoint.api_version, "kind": endpoint.kind, "name": endpoint.name,
                     "namespace": endpoint.namespace})
    xr_type = rtype(cluster, platform.XR_GROUP, platform.XR_VERSION, platform.XR_PLURAL)
    patch = {"resourceRefs": refs} if layout.crossplane == "v1" else {"crossplane": {"resourceRefs": refs}}
    cluster.patch(xr_type, composite.namespace, composite.name, MERGE_PATCH, {"spec": patch})
    if composite.claim is not None:
        _create(cluster, platform.claim(composite))
