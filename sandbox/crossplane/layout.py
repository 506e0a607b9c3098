"""What a platform file means concretely: every XR with the managed resources it composes (named as Crossplane
names them), the ProviderConfigs and their credentials, the provider packages, the clouds and the network.

Composed resources get ``<xr>-<5 random characters>`` (Crossplane's generateName, with the API server's
alphabet); a composite with ``resourceNames: fixed`` keeps ``<xr>-<resource>`` (the seed's names). A claim
``NAME`` gets an XR ``NAME-<5 random characters>``. Each composite has its own service addresses (the AWS side in
192.0.2.0/24, Azure in 198.51.100.0/24, the first one at .10 and .20 as the seed) and its own DNS record.
"""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from dataclasses import dataclass, field

from . import dnsmodes, platform
from .clouds import Cloud
from .network import Network
from .platform import ManagedRef, Side
from .spec import CloudSpec, CompositeSpec, SandboxPlatform

# what the API server's generateName appends (k8s.io/apimachinery utilrand: no vowels, no 0, 1, 3)
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
CLOUD_ENDPOINTS = {"aws": ("203.0.113.10", "sts.us-east-1.amazonaws.com"),
                   "azure": ("203.0.113.20", "login.microsoftonline.com")}
# the composition's resources per cloud and provider service (--dns function: the seed's)
RESOURCES = dnsmodes.resources(dnsmodes.DEFAULT)
V2_DEFAULT_NAMESPACE = platform.V2_NAMESPACE


def suffix() -> str:
    return "".join(secrets.choice(NAME_ALPHABET) for _ in range(5))


@dataclass(frozen=True)
class ConfigLayout:
    """One ProviderConfig and where its credentials come from."""

    name: str
    cloud: str
    source: str  # Secret, IRSA, WebIdentity, OIDCWorkloadIdentity
    secret: str = ""
    role_arn: str = ""  # WebIdentity: the role the ProviderConfig names
    assume_role_arn: str = ""  # spec.assumeRoleChain[0].roleARN
    client_id: str = ""  # OIDCWorkloadIdentity


@dataclass(frozen=True)
class Package:
    """A Provider package: a family provider or one of its members (or a provider on its own)."""

    name: str
    cloud: str
    service: str  # rds, route53, sql; "" for a family provider
    family: str = ""  # the family provider a member depends on
    revision: str = ""

    @property
    def is_family(self) -> bool:
        return not self.service


@dataclass(frozen=True)
class Claim:
    name: str
    namespace: str


@dataclass
class Composite:
    name: str
    namespace: str  # "" for v1's cluster-scoped XRs
    primary: str
    dns_name: str  # absolute, with the trailing dot
    addresses: dict[str, str]  # cloud -> the address DNS answers while that side serves
    configs: dict[str, str]  # cloud -> the ProviderConfig its MRs use
    managed: dict[str, list[ManagedRef]] = field(default_factory=dict)  # cloud -> MRs
    claim: Claim | None = None
    dns_endpoint: ManagedRef | None = None  # --dns external-dns: the DNSEndpoint it composes (not managed)

    @property
    def secondary(self) -> str:
        return platform.secondary_of(self.primary)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass
class Layout:
    name: str
    crossplane: str
    namespace: str  # Crossplane's
    sides: dict[str, Side]
    composites: list[Composite]
    packages: list[Package]
    network: Network
    spec: SandboxPlatform

    def package(self, name: str) -> Package:
        return next(p for p in self.packages if p.name == name)

    @property
    def dns_mode(self) -> str:
        return self.spec.spec.dns.mode or dnsmodes.DEFAULT

    def composite(self, namespace: str, name: str) -> Composite | None:
        return next((c for c in self.composites if c.key == (namespace, name)), None)

    @property
    def claims(self) -> bool:
        return any(c.claim for c in self.composites)


def build(spec: SandboxPlatform, crossplane: str, primary: str) -> Layout:
    """The concrete platform of ``spec`` (``primary``: the default primary cloud of composites that name none;
    what each XR composes for DNS is ``spec.dns.mode``'s)."""
    body = spec.spec
    mode = body.dns.mode or dnsmodes.DEFAULT
    resources = dnsmodes.resources(mode)
    sides = {cloud: _side(cloud, getattr(body.clouds, cloud), crossplane, body.crossplane.namespace, resources)
             for cloud in platform.CLOUDS}
    packages = [p for cloud in platform.CLOUDS for p in _packages(cloud, getattr(body.clouds, cloud), resources)]
    for side in sides.values():
        side.family = next((p.name for p in packages if p.cloud == side.cloud.name and p.is_family), "")
    composites: list[Composite] = []
    for entry in body.composites:
        for i in range(entry.count):
            composites.append(_composite(entry, i, len(composites), sides, crossplane, primary, resources))
    for composite in composites:
        for cloud, refs in composite.managed.items():
            for ref in refs:
                sides[cloud].providers[_provider_of(sides[cloud], ref, resources)].append(ref)
        if mode == "external-dns":
            composite.dns_endpoint = _dns_endpoint(composite, body.crossplane.namespace)
    network = Network(body.cluster.cni, body.cluster.node_provider, body.cluster.node_local_dns)
    return Layout(spec.metadata.name, crossplane, body.crossplane.namespace, sides, composites, packages, network,
                  spec)


def _dns_endpoint(composite: Composite, namespace: str) -> ManagedRef:
    """The DNSEndpoint an XR composes: namespaced, in the XR's (v2) or the claim's namespace, else Crossplane's."""
    where = composite.namespace or (composite.claim.namespace if composite.claim else namespace)
    return ManagedRef(dnsmodes.EXTERNALDNS_GROUP, dnsmodes.EXTERNALDNS_VERSION, dnsmodes.DNSENDPOINT_PLURAL,
                      dnsmodes.DNSENDPOINT_KIND, f"{composite.name}-dns", where, resource="dns-endpoint",
                      composite=composite.name)


def _packages(cloud: str, node: CloudSpec, resources: dnsmodes.Resources) -> list[Package]:
    family = (node.family_name or f"provider-family-{cloud}") if node.family else ""
    members = [Package(f"provider-{cloud}-{service}", cloud, service, family, _revision(f"provider-{cloud}-{service}"))
               for service in resources[cloud]]
    return ([Package(family, cloud, "", "", _revision(family))] if family else []) + members


def _revision(name: str) -> str:
    return f"{name}-{secrets.token_hex(6)}"  # Crossplane names a revision after its package and a digest


def _side(cloud: str, node: CloudSpec, crossplane: str, namespace: str, resources: dnsmodes.Resources) -> Side:
    endpoint, host = CLOUD_ENDPOINTS[cloud]
    configs = [ConfigLayout(pc.name, cloud, pc.credentials.source,
                            secret=(pc.credentials.secret_name or f"{pc.name}-creds")
                            if pc.credentials.source == "Secret" else "",
                            role_arn=pc.credentials.role_arn or "",
                            assume_role_arn=pc.credentials.assume_role_arn or "",
                            client_id=(pc.credentials.client_id or node.workload_identity_client_id or "")
                            if pc.credentials.source == "OIDCWorkloadIdentity" else "")
               for pc in node.provider_configs]
    side = Side(Cloud(cloud, endpoint, host=host), configs[0].name, f"{cloud}.upbound.io", configs[0].secret,
                address=platform.ADDRESSES[cloud], namespace=namespace, configs=configs)
    side.providers = {f"provider-{cloud}-{service}": [] for service in resources[cloud]}
    _trust(side, node)
    if crossplane == "v2":
        side.pc_group, side.pc_kind = platform.m_group(side.pc_group), "ClusterProviderConfig"
    return side


def _trust(side: Side, node: CloudSpec) -> None:
    """The identities the simulated cloud accepts: what the platform file sets up, nothing else."""
    cloud = side.cloud
    if node.service_account_role_arn:
        cloud.roles.add(node.service_account_role_arn)
    for config in side.configs:
        cloud.roles.update(r for r in (config.role_arn, config.assume_role_arn) if r)
    uses_oidc = any(c.source == "OIDCWorkloadIdentity" for c in side.configs)
    if cloud.name == "azure" and uses_oidc:
        side.workload_client_id = node.workload_identity_client_id or str(uuid.uuid4())
        side.configs = [c if c.source != "OIDCWorkloadIdentity" or c.client_id else
                        ConfigLayout(c.name, c.cloud, c.source, client_id=side.workload_client_id)
                        for c in side.configs]
        cloud.clients.update(c.client_id for c in side.configs if c.client_id)
    side.service_account_role_arn = node.service_account_role_arn or ""


def _provider_of(side: Side, ref: ManagedRef, resources: dnsmodes.Resources) -> str:
    return next(name for name in side.providers
                if any(r[2] == ref.plural and (r[1] == ref.group or platform.m_group(r[1]) == ref.group)
                       for r in resources[side.cloud.name][name.rsplit("-", 1)[1]]))


def _address(cloud: str, index: int) -> str:
    base = ipaddress.ip_address(platform.ADDRESSES[cloud])
    return str(base + index)


def _composite(entry: CompositeSpec, i: int, index: int, sides: dict[str, Side], crossplane: str,
               default_primary: str, resources: dnsmodes.Resources) -> Composite:
    base = entry.name or f"{entry.name_prefix}-{i + 1:02d}"
    namespaces = entry.namespaces or ([V2_DEFAULT_NAMESPACE] if crossplane == "v2" else ["default"])
    namespace = namespaces[i % len(namespaces)]
    claim = Claim(base, namespace) if entry.claims else None
    name = f"{base}-{suffix()}" if claim else base
    dns = entry.dns_name or (f"{base}.{namespace}.xpchaos.test" if claim else f"{name}.xpchaos.test")
    chosen: dict[str, str] = {str(cloud): name for cloud, name in entry.provider_configs.items()}
    configs = {cloud: chosen.get(cloud) or side.configs[index % len(side.configs)].name
               for cloud, side in sides.items()}
    composite = Composite(name, namespace if crossplane == "v2" else "", entry.primary or default_primary,
                          dns.rstrip(".") + ".", {cloud: _address(cloud, index) for cloud in sides}, configs,
                          claim=claim)
    for cloud, services in resources.items():
        composite.managed[cloud] = [
            ManagedRef(platform.m_group(group) if crossplane == "v2" else group, "v1beta1", plural, kind,
                       f"{name}-{resource}" if entry.resource_names == "fixed" else f"{name}-{suffix()}",
                       composite.namespace, resource=resource, composite=name, provider_config=configs[cloud])
            for resources in services.values() for resource, group, plural, kind in resources]
    return composite
