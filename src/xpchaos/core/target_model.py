"""The Target's typed model: every key a target file may hold, its type and its default, named here only.

The file's keys are camelCase (``allowedContexts``, ``providerConfig``); the attributes are snake_case. A key the
model does not know is refused with the closest known one (``xpchaos.core.strict``). ``xpchaos.core.target``
reads the file and builds a ``Target`` from it.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic.dataclasses import dataclass

from xpchaos.core.durations import Duration
from xpchaos.core.errors import InputError
from xpchaos.core.strict import CONFIG, StrictModel, Text, problem_at, screen_keys, shown

API_VERSION = "xpchaos.io/v1alpha1"
_OBJECT_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

Role = Literal["primary", "secondary"]
SignalName = Literal["mr_error", "mr_healthy", "xr_ready", "xr_serving", "pc_deletion_blocked"]


class TargetError(InputError):
    """The target file is missing or wrong; the message names the file and the field."""


# -- field types: what each kind of value must look like, and the fix when it does not ----------------------------
def _object_name(value: str) -> str:
    if not _OBJECT_NAME.match(value):
        raise ValueError(f"{shown(value)} is not a valid Kubernetes object name (lower-case letters, digits, "
                         "'-' and '.')")
    return value


def _namespace(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError(f"{shown(value)} is not a valid Kubernetes namespace (lower-case letters, digits and '-')")
    return value


def _provider_name(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError(f"{shown(value)} is not a valid provider name (lower-case letters, digits and '-', as in "
                         "aws or azure)")
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{shown(value)} is not a CIDR (e.g. 203.0.113.0/24)") from None
    return value


ObjectName = Annotated[Text, AfterValidator(_object_name)]
Namespace = Annotated[Text, AfterValidator(_namespace)]
ProviderName = Annotated[Text, AfterValidator(_provider_name)]
Cidr = Annotated[Text, AfterValidator(_cidr)]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]


# -- value types, also made in code (positional, hashable) --------------------------------------------------------
@dataclass(frozen=True, config=CONFIG)
class ObjectRef:
    """A Kubernetes object the target names: a composite, a ProviderConfig, a managed resource."""

    api_version: Annotated[Text, Field(alias="apiVersion")]
    kind: Text
    plural: Text
    name: ObjectName
    namespace: Namespace | None = None

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        return screen_keys(cls, data)

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.plural}.{self.group} {self.name!r}{where}"


@dataclass(frozen=True, config=CONFIG)
class SecretRef:
    """The Secret (and its key) that holds a provider's cloud credentials."""

    namespace: Namespace
    name: ObjectName
    key: Text

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        return screen_keys(cls, data)


@dataclass(frozen=True)
class Nameserver:
    """An authoritative nameserver of a DNS record, written ``IP[:PORT]`` or ``HOSTNAME[:PORT]`` (a hostname is
    resolved to its addresses when asked, and again while a run samples it)."""

    host: str
    port: int = 53


_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(\.{_HOST_LABEL})*\.?$")


def _nameserver(value: Any) -> Nameserver:
    if isinstance(value, Nameserver):
        return value
    host, port = (value, "53") if isinstance(value, str) else ("", "")
    if host.startswith("["):  # [IPv6] or [IPv6]:PORT
        host, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":") if rest else "53"
    elif host.count(":") == 1:  # IPv4:PORT or HOSTNAME:PORT (a bare IPv6 address has several colons and no port)
        host, _, port = host.partition(":")
    named = bool(_HOSTNAME.match(host)) and not host.replace(".", "").isdigit()  # 1.2.3 is no hostname
    try:
        if not named:
            ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise ValueError(f"{shown(value)} is not IP[:PORT] or HOSTNAME[:PORT] (e.g. 192.0.2.53, "
                         "[2001:db8::53]:5353 or ns1.example.com)") from None
    if not 0 < number < 65536:
        raise ValueError(f"{shown(value)}: the port must be 1 to 65535")
    return Nameserver(host.rstrip(".") if named else host, number)


# -- sections of the file -----------------------------------------------------------------------------------------
class Metadata(StrictModel):
    name: Text | None = None
    labels: dict[Text, str] = {}
    annotations: dict[Text, str] = {}


class Credentials(StrictModel):
    """Where a provider's credentials come from. The source (Secret, IRSA, WebIdentity, OIDCTokenFile, ...) is the
    ProviderConfig's ``spec.credentials.source``, read from the cluster; ``secret`` names the Secret only when the
    target pins one (else a Secret source's ``secretRef`` is read from the ProviderConfig too)."""

    secret: SecretRef | None = None


class Pods(StrictModel):
    namespace: Namespace
    selector: Text  # a label selector


class Provider(StrictModel):
    """One cloud's provider: its ProviderConfig, credentials, pods, cloud API ranges and managed resources."""

    role: Role
    provider_config: ObjectRef = Field(alias="providerConfig")
    credential_source: Credentials = Field(default=Credentials(), alias="credentials")
    pods: Pods
    cloud_endpoints: tuple[Cidr, ...] = Field(default=(), alias="cloudEndpoints")  # CIDRs of the cloud's API
    # optional: the recorder resolves each composite's composed resources at run time; names listed here are a check
    managed: tuple[ObjectRef, ...] = Field(default=(), alias="managedResources")
    service_address: StrictStr = Field(default="", alias="serviceAddress")
    _name: str = PrivateAttr("")

    @property
    def name(self) -> str:
        """Its key under ``providers`` ("aws", "azure", ...)."""
        return self._name

    @property
    def credentials(self) -> SecretRef | None:
        """The credential Secret the target pins; None when the ProviderConfig says where they come from."""
        return self.credential_source.secret

    @property
    def pods_namespace(self) -> str:
        return self.pods.namespace

    @property
    def pods_selector(self) -> str:
        return self.pods.selector


Wiring = Literal["function", "provider", "route53-failover", "external-dns", "traffic-manager"]  # dns_wiring.WIRINGS


class DnsRecord(StrictModel):
    """A DNS record that fails over: which nameservers to ask, and the addresses of each side (for A and AAAA, what
    the name reaches through its CNAMEs; for CNAME, the target). ``wiring`` says what moves it
    (``xpchaos.core.dns_wiring``), when known."""

    name: Text
    type: Literal["A", "AAAA", "CNAME"] = "A"
    nameservers: tuple[Annotated[Nameserver, BeforeValidator(_nameserver)], ...]
    primary: tuple[Text, ...]
    secondary: tuple[Text, ...]
    ttl: Annotated[StrictInt, Field(ge=0)] = 0
    wiring: Wiring | None = None


class EgressRule(StrictModel):
    """What a blocked provider's pods still reach (the API server, cluster DNS)."""

    cidr: Cidr
    port: Port
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{shown(value)} is not an IP address (e.g. 169.254.20.10)") from None
    return value


class ApiServerKeep(StrictModel):
    """The API server's Service; its EndpointSlices (label ``kubernetes.io/service-name``) give the addresses and
    ports the API server really listens on, which a CNI matching after Service translation sees."""

    namespace: Namespace = "default"
    service: ObjectName = "kubernetes"


class ClusterDnsKeep(StrictModel):
    """Cluster DNS (kube-dns / CoreDNS): its pods by namespace and labels, and its Service's ClusterIP."""

    namespace: Namespace = "kube-system"
    pod_selector: Text = Field(default="k8s-app=kube-dns", alias="podSelector")
    service: ObjectName = "kube-dns"
    ports: tuple[Port, ...] = (53,)


class NodeLocalDnsKeep(StrictModel):
    """NodeLocal DNSCache: its link-local address, kept when its pods run (``auto``), always (``on``) or never."""

    mode: Literal["auto", "on", "off"] = "auto"
    address: Annotated[Text, AfterValidator(_ip)] = "169.254.20.10"
    namespace: Namespace = "kube-system"
    pod_selector: Text = Field(default="k8s-app=node-local-dns", alias="podSelector")


class EgressKeepFrom(StrictModel):
    """Where block-provider-api reads what a blocked provider must still reach, when ``egressKeep`` is not written
    (defaults: any kubeadm, EKS, GKE or AKS cluster)."""

    api_server: ApiServerKeep = Field(default=ApiServerKeep(), alias="apiServer")
    dns: ClusterDnsKeep = ClusterDnsKeep()
    node_local_dns: NodeLocalDnsKeep = Field(default=NodeLocalDnsKeep(), alias="nodeLocalDNS")


DnsClock = Literal["client-visible", "authoritative"]
CLIENT_VISIBLE: DnsClock = "client-visible"
AUTHORITATIVE: DnsClock = "authoritative"


class Slos(StrictModel):
    dns_convergence: Duration | None = None
    # which DNS convergence the SLO judges: when a resolver may no longer serve the old answer (the switch plus
    # the old answer's TTL, what `dig` through a resolver sees), or when every authoritative nameserver answers
    # anew; kept out of ``Target.slos`` (the SLOs in seconds)
    dns_clock: DnsClock = Field(default=CLIENT_VISIBLE, alias="dnsClock", exclude=True)


class Condition(StrictModel):
    type: Text
    status: Literal["True", "False", "Unknown"] | None = None
    reason: Text | None = None


class MrErrorSignal(StrictModel):
    condition: Condition | None = None
    events: tuple[Text, ...] | None = None


class MrHealthySignal(StrictModel):
    conditions: tuple[Condition, ...] | None = None


class XrReadySignal(StrictModel):
    condition: Text | None = None  # the condition type that means Ready


class XrServingSignal(StrictModel):
    field: StrictStr | None = None  # dotted path of the XR field naming the serving provider; "" when none does


class DeletionBlockedSignal(StrictModel):
    event: Text | None = None
    condition: Condition | None = None
    finalizer: Text | None = None


class Signals(StrictModel):
    """Overrides of the Crossplane signals the probes and faults look for (defaults in ``xpchaos.probes``)."""

    mr_error: MrErrorSignal | None = None
    mr_healthy: MrHealthySignal | None = None
    xr_ready: XrReadySignal | None = None
    xr_serving: XrServingSignal | None = None
    pc_deletion_blocked: DeletionBlockedSignal | None = None


class EmergencyStop(StrictModel):
    namespace: Namespace = "default"
    name: ObjectName = "xpchaos-emergency-stop"


class LeaseRef(StrictModel):
    namespace: Namespace = "default"
    name: ObjectName | None = None  # default: xpchaos-<target name>


class Safety(StrictModel):
    """Safety levers of game days: an emergency-stop ConfigMap whose presence stops everything, how many XRs
    outside the blast radius may be not Ready, and the Lease that keeps runs from overlapping."""

    emergency_stop: EmergencyStop = Field(default=EmergencyStop(), alias="emergencyStop")
    lease: LeaseRef = LeaseRef()
    max_unhealthy_xrs: Annotated[StrictInt, Field(ge=0)] = Field(default=0, alias="maxUnhealthyXRs")

    @property
    def emergency_stop_namespace(self) -> str:
        return self.emergency_stop.namespace

    @property
    def emergency_stop_name(self) -> str:
        return self.emergency_stop.name

    @property
    def lease_namespace(self) -> str:
        return self.lease.namespace

    @property
    def lease_name(self) -> str:
        return self.lease.name or ""


def _some_context(contexts: tuple[str, ...]) -> tuple[str, ...]:
    if not contexts:
        raise ValueError("expected the kube contexts this target may change, e.g. [my-cluster] (to allow every "
                         "context, remove allowedContexts and write allowAnyContext: true)")
    return contexts


Contexts = Annotated[tuple[Text, ...], AfterValidator(_some_context)]


def _some_provider(providers: dict[str, Provider]) -> dict[str, Provider]:
    if not providers:
        raise ValueError("at least one provider is required")
    return providers


class Target(StrictModel):
    """The system under test: its cluster, composites, providers, DNS records, SLOs and safety levers."""

    api_version: Literal["xpchaos.io/v1alpha1"] | None = Field(default=None, alias="apiVersion")
    kind: Literal["Target"]
    metadata: Metadata = Metadata()
    kubeconfig: Text | None = None
    context: Text | None = None
    allowed_contexts: Contexts = Field(default=(), alias="allowedContexts")
    allow_any_context: StrictBool = Field(default=False, alias="allowAnyContext")
    composites: tuple[ObjectRef, ...] = ()
    providers: Annotated[dict[ProviderName, Provider], AfterValidator(_some_provider)]
    egress_keep: tuple[EgressRule, ...] = Field(default=(), alias="egressKeep")  # written: used as it is
    egress_keep_from: EgressKeepFrom = Field(default=EgressKeepFrom(), alias="egressKeepFrom")  # else read there
    dns: tuple[DnsRecord, ...] = ()
    slo_settings: Slos = Field(default=Slos(), alias="slos")
    signal_overrides: Signals = Field(default=Signals(), alias="signals")
    safety: Safety = Safety()
    sandbox: dict[str, Any] | None = None  # what `xpchaos sandbox up` notes about the sandbox it describes
    _path: Path = PrivateAttr(Path("xpchaos.yaml"))

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        if self.allow_any_context and self.allowed_contexts:
            raise problem_at("allowAnyContext", "true together with allowedContexts: keep one (allowedContexts, "
                                                "the contexts this target may change, is the safe one)")
        if self.egress_keep and "egress_keep_from" in self.model_fields_set:
            raise problem_at("egressKeepFrom", "given together with egressKeep: keep one (egressKeep is kept as "
                                               "written; egressKeepFrom says where to read it from the cluster)")
        for name, provider in self.providers.items():
            provider._name = name
        return self

    @property
    def path(self) -> Path:
        """The file it was read from."""
        return self._path

    @property
    def name(self) -> str:
        return self.metadata.name or self._path.stem

    @property
    def slos(self) -> dict[str, float]:
        """The SLOs the target sets, in seconds (``dns_convergence``)."""
        return {k: v for k, v in self.slo_settings.model_dump().items() if v is not None}

    @property
    def signals(self) -> dict[str, Any]:
        """The signal overrides as written (without the keys left out)."""
        return self.signal_overrides.model_dump(exclude_none=True)

    def provider(self, name: str) -> Provider:
        """The provider called ``name``, or the one whose role is ``name`` (``primary``, ``secondary``)."""
        if name in self.providers:
            return self.providers[name]
        by_role = [p for p in self.providers.values() if p.role == name]
        if len(by_role) == 1:
            return by_role[0]
        raise TargetError(f"{self.path}: providers: no provider {name!r} (the target has: "
                          f"{', '.join(f'{p.name} ({p.role})' for p in self.providers.values()) or 'none'})")

    def other(self, name: str) -> Provider:
        """The provider that takes over when ``name`` (a name or role) is lost."""
        lost = self.provider(name)
        others = [p for p in self.providers.values() if p.name != lost.name]
        if not others:
            raise TargetError(f"{self.path}: providers: {lost.name} has no other provider to fail over to")
        return next((p for p in others if p.role == "secondary" or lost.role != "primary"), others[0])

    @property
    def primary(self) -> Provider:
        return next((p for p in self.providers.values() if p.role == "primary"), next(iter(self.providers.values())))
