"""The platform file, ``kind: SandboxPlatform``: which management cluster the sandbox simulates (``--platform``).

A strict schema (pydantic, unknown keys refused naming the closest known one): how many composites and how they
are named, the ProviderConfigs of each cloud and their credential sources, provider families, the Crossplane
namespace, how DNS moves on a failover (``spec.dns.mode``), the CNI's NetworkPolicy semantics, the cluster's own
endpoints and background noise. ``seed`` and ``realistic`` are built-in presets (``presets.py``) read through the
same schema. Every problem is one line naming the file, the field and what to write instead (``PlatformError``,
exit code 2 before anything starts).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

API_VERSION, KIND = "xpchaos.io/v1alpha1", "SandboxPlatform"
CLOUDS = ("aws", "azure")
MAX_COMPOSITES = 200  # each composite gets its own service addresses in a /24 per cloud
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,64}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Cloud = Literal["aws", "azure"]
DnsMode = Literal["function", "provider", "route53-failover", "external-dns", "traffic-manager"]


class PlatformError(ValueError):
    """The platform file or preset is wrong; the message is one line naming where and what to write instead."""


def _name(value: str, what: str = "name", limit: int = 63) -> str:
    if len(value) > limit or not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a valid {what} (lower-case letters, digits and '-', at most {limit})")
    return value


class Strict(BaseModel):
    """Every model of the file: camelCase keys, unknown ones refused with the closest known key."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = [field.alias or name for name, field in cls.model_fields.items()]
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                raise ValueError(f"unknown key {key!r}; {hint}")
        return data


class Credentials(Strict):
    """How a ProviderConfig's provider authenticates. ``Secret``: a key in a Secret (both clouds). AWS: ``IRSA``
    (the provider pods' ServiceAccount role, ``eks.amazonaws.com/role-arn``) or ``WebIdentity`` (a role named in
    the ProviderConfig, assumed with the pod's web identity token). Azure: ``OIDCWorkloadIdentity`` (Azure
    Workload Identity: ProviderConfig source ``OIDCTokenFile`` with a client ID)."""

    source: Literal["Secret", "IRSA", "WebIdentity", "OIDCWorkloadIdentity"] = "Secret"
    secret_name: str | None = None
    role_arn: str | None = None
    assume_role_arn: str | None = None
    client_id: str | None = None

    @field_validator("secret_name")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else _name(value, "Secret name", 253)

    @field_validator("role_arn", "assume_role_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
        return value

    @field_validator("client_id")
    @classmethod
    def _client(cls, value: str | None) -> str | None:
        if value is not None and not _UUID.match(value):
            raise ValueError(f"{value!r} is not an Azure client ID (a lower-case UUID)")
        return value

    @model_validator(mode="after")
    def _fields_of_source(self) -> Credentials:
        allowed = {"Secret": {"secret_name"}, "IRSA": {"assume_role_arn"},
                   "WebIdentity": {"role_arn", "assume_role_arn"}, "OIDCWorkloadIdentity": {"client_id"}}[self.source]
        for name in ("secret_name", "role_arn", "assume_role_arn", "client_id"):
            if getattr(self, name) is not None and name not in allowed:
                raise ValueError(f"{to_camel(name)} does not apply to source {self.source} (it takes: "
                                 f"{', '.join(sorted(to_camel(a) for a in allowed))})")
        if self.source == "WebIdentity" and self.role_arn is None:
            raise ValueError("source WebIdentity needs roleArn (the role assumed with the pod's token)")
        return self


class ProviderConfigSpec(Strict):
    name: str
    credentials: Credentials = Field(default_factory=Credentials)

    @field_validator("name")
    @classmethod
    def _pc_name(cls, value: str) -> str:
        return _name(value, "ProviderConfig name", 253)


class CloudSpec(Strict):
    """One cloud: its providers (a family, or one provider per service) and its ProviderConfigs."""

    family: bool = False
    family_name: str | None = None
    service_account_role_arn: str | None = None  # AWS: IRSA, annotated on the provider pods' ServiceAccounts
    workload_identity_client_id: str | None = None  # Azure: annotated on them, azure.workload.identity/client-id
    provider_configs: list[ProviderConfigSpec] = Field(min_length=1, max_length=20)

    @field_validator("family_name")
    @classmethod
    def _family(cls, value: str | None) -> str | None:
        return None if value is None else _name(value, "provider name")

    @field_validator("service_account_role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        return Credentials._arn(value)

    @field_validator("workload_identity_client_id")
    @classmethod
    def _client(cls, value: str | None) -> str | None:
        return Credentials._client(value)

    @model_validator(mode="after")
    def _unique(self) -> CloudSpec:
        names = [pc.name for pc in self.provider_configs]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"providerConfigs: {', '.join(twice)} named more than once")
        return self


class Clouds(Strict):
    aws: CloudSpec
    azure: CloudSpec


class CompositeSpec(Strict):
    """XGlobalDatabases: one (``name``) or ``count`` of them named ``<namePrefix>-01``, ``-02``, ..."""

    name: str | None = None
    name_prefix: str | None = None
    count: int = Field(default=1, ge=1, le=MAX_COMPOSITES)
    namespaces: list[str] = Field(default_factory=list)
    claims: bool = False
    primary: Cloud | None = None
    provider_configs: dict[Cloud, str] = Field(default_factory=dict)
    resource_names: Literal["generated", "fixed"] = "generated"
    dns_name: str | None = None

    @field_validator("name", "name_prefix")
    @classmethod
    def _xr_name(cls, value: str | None) -> str | None:
        return None if value is None else _name(value, "composite name", 40)

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        return [_name(ns, "namespace") for ns in value]

    @field_validator("dns_name")
    @classmethod
    def _dns(cls, value: str | None) -> str | None:
        if value is not None and not value.rstrip(".").endswith("xpchaos.test"):
            raise ValueError(f"{value!r} is not in the sandbox's zone xpchaos.test (e.g. orders.xpchaos.test)")
        return value

    @model_validator(mode="after")
    def _one_naming(self) -> CompositeSpec:
        if (self.name is None) == (self.name_prefix is None):
            raise ValueError("give either name (one composite) or namePrefix with count")
        if self.name is not None and self.count != 1:
            raise ValueError("count needs namePrefix (name is a single composite)")
        if self.dns_name is not None and self.count != 1:
            raise ValueError("dnsName names a single composite's record; with count each gets <name>.xpchaos.test")
        return self


class CrossplaneSpec(Strict):
    version: Literal["v1", "v2"] | None = None
    namespace: str = "crossplane-system"

    @field_validator("namespace")
    @classmethod
    def _ns(cls, value: str) -> str:
        return _name(value, "namespace")


class ClusterSpec(Strict):
    """The cluster around Crossplane: NetworkPolicy semantics of the CNI, its own endpoints, its nodes."""

    cni: Literal["pre-dnat", "post-dnat", "none"] = "pre-dnat"
    endpoints: bool = True
    node_local_dns: bool = Field(default=False, alias="nodeLocalDNS")
    nodes: int = Field(default=1, ge=1, le=50)
    node_provider: Literal["aws", "azure", "kind"] = "kind"

    @model_validator(mode="after")
    def _local_dns(self) -> ClusterSpec:
        if self.node_local_dns and not self.endpoints:
            raise ValueError("nodeLocalDNS needs endpoints: true (NodeLocal DNS caches in front of kube-dns)")
        return self


class NoiseSpec(Strict):
    """Other teams' workloads: namespaces, pods in each, and Event writes per second spread over them."""

    namespaces: int = Field(default=0, ge=0, le=100)
    pods_per_namespace: int = Field(default=0, ge=0, le=100)
    events_per_second: float = Field(default=0.0, ge=0.0, le=2000.0)
    events_kept: int = Field(default=2000, ge=10, le=100_000)

    @model_validator(mode="after")
    def _needs_namespaces(self) -> NoiseSpec:
        if (self.pods_per_namespace or self.events_per_second) and not self.namespaces:
            raise ValueError("podsPerNamespace and eventsPerSecond need namespaces (at least 1)")
        return self


class Metadata(Strict):
    name: str

    @field_validator("name")
    @classmethod
    def _meta_name(cls, value: str) -> str:
        return _name(value, "platform name")


class DnsSpec(Strict):
    """How the platform moves DNS on a failover (``crossplane/dnsmodes.py``); ``--dns`` when the file names none."""

    mode: DnsMode | None = None


class ExternalSecretsSpec(Strict):
    """External Secrets Operator: the credential Secrets of ``syncs``'s ProviderConfigs are synced from ``store``'s
    secret service (``externalsecrets.py``); ``syncs`` defaults to the other cloud."""

    store: Cloud
    store_kind: Literal["ClusterSecretStore", "SecretStore"] = "ClusterSecretStore"
    syncs: Cloud | None = None


class PlatformBody(Strict):
    crossplane: CrossplaneSpec = Field(default_factory=CrossplaneSpec)
    dns: DnsSpec = Field(default_factory=DnsSpec)
    clouds: Clouds
    composites: list[CompositeSpec] = Field(min_length=1)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    noise: NoiseSpec = Field(default_factory=NoiseSpec)
    external_secrets: ExternalSecretsSpec | None = None


class SandboxPlatform(Strict):
    api_version: Literal["xpchaos.io/v1alpha1"]
    kind: Literal["SandboxPlatform"]
    metadata: Metadata
    spec: PlatformBody


def parse(doc: Any, where: str) -> SandboxPlatform:
    """Validate a loaded document; ``where`` names it in the one-line error (``--platform FILE``)."""
    try:
        platform = SandboxPlatform.model_validate(doc)
    except ValidationError as exc:
        raise PlatformError(f"{where}: {_first_problem(exc)}") from None
    problem = _cross_checks(platform)
    if problem:
        raise PlatformError(f"{where}: {problem}")
    return platform


def load(path: Path) -> SandboxPlatform:
    where = f"--platform {path}"
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise PlatformError(f"{where}: no such file (give seed, realistic or a SandboxPlatform YAML file)") from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as exc:
        raise PlatformError(f"{where}: cannot read it ({type(exc).__name__}); give a SandboxPlatform YAML "
                            "file") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise PlatformError(f"{where}: not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict):
        raise PlatformError(f"{where}: expected a mapping with apiVersion: {API_VERSION} and kind: {KIND}")
    return parse(doc, where)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if error["type"] == "missing":
        message = "is required"
    elif error["type"] == "literal_error":
        message = f"{error.get('input')!r}: {message[0].lower()}{message[1:]}"
    return f"{path}: {message}" if path else message


def _cross_checks(platform: SandboxPlatform) -> str:
    """What one model cannot see alone: which cloud takes which source, references between sections, names."""
    spec = platform.spec
    for cloud in CLOUDS:
        node: CloudSpec = getattr(spec.clouds, cloud)
        for i, pc in enumerate(node.provider_configs):
            where = f"spec.clouds.{cloud}.providerConfigs[{i}].credentials.source"
            source = pc.credentials.source
            if cloud == "aws" and source == "OIDCWorkloadIdentity":
                return f"{where}: OIDCWorkloadIdentity is Azure's; AWS takes Secret, IRSA or WebIdentity"
            if cloud == "azure" and source in ("IRSA", "WebIdentity"):
                return f"{where}: {source} is AWS's; Azure takes Secret or OIDCWorkloadIdentity"
            if source in ("IRSA", "WebIdentity") and node.service_account_role_arn is None:
                return (f"{where}: {source} needs spec.clouds.aws.serviceAccountRoleArn (the role the pods' "
                        "ServiceAccount is annotated with; its web identity token is what STS accepts)")
        if cloud == "aws" and node.workload_identity_client_id is not None:
            return "spec.clouds.aws.workloadIdentityClientId: Azure's; for AWS use serviceAccountRoleArn"
        if cloud == "azure" and node.service_account_role_arn is not None:
            return "spec.clouds.azure.serviceAccountRoleArn: AWS's; for Azure use workloadIdentityClientId"
    synced = spec.external_secrets
    if synced is not None:
        cloud = synced.syncs or next(c for c in CLOUDS if c != synced.store)
        if not any(pc.credentials.source == "Secret" for pc in getattr(spec.clouds, cloud).provider_configs):
            return (f"spec.externalSecrets.syncs: no ProviderConfig of {cloud} reads a Secret (credentials.source "
                    "Secret), so there is nothing to sync")
    total = sum(c.count for c in spec.composites)
    if total > MAX_COMPOSITES:
        return f"spec.composites: {total} composites; at most {MAX_COMPOSITES}"
    for i, composite in enumerate(spec.composites):
        for cloud, name in composite.provider_configs.items():
            known = [pc.name for pc in getattr(spec.clouds, cloud).provider_configs]
            if name not in known:
                return f"spec.composites[{i}].providerConfigs.{cloud}: no ProviderConfig {name!r} (known: " \
                       f"{', '.join(known)})"
        if composite.claims and composite.resource_names == "fixed":
            return f"spec.composites[{i}].resourceNames: fixed names need a named XR; claimed XRs get generated names"
    return ""


def with_dns_mode(platform: SandboxPlatform, flag: str | None, where: str) -> SandboxPlatform:
    """The platform with its DNS mode settled: the file's ``spec.dns.mode``, else ``--dns``, else ``function``;
    both given and different is an error."""
    mode = platform.spec.dns.mode
    if mode and flag and mode != flag:
        raise PlatformError(f"{where}: --dns {flag} conflicts with the platform's spec.dns.mode {mode}; drop one "
                            "of them")
    chosen = mode or flag or "function"
    body = platform.spec.model_copy(update={"dns": DnsSpec.model_validate({"mode": chosen})})
    return platform.model_copy(update={"spec": body})


def check_version(platform: SandboxPlatform, crossplane: str | None, where: str) -> str:
    """The Crossplane generation: the file's, or ``--crossplane``; both given and different is an error."""
    version = platform.spec.crossplane.version
    if version and crossplane and version != crossplane:
        raise PlatformError(f"{where}: --crossplane {crossplane} conflicts with the platform's "
                            f"spec.crossplane.version {version}; drop one of them")
    chosen = version or crossplane or "v1"
    for i, composite in enumerate(platform.spec.composites):
        if composite.claims and chosen == "v2":
            raise PlatformError(f"{where}: spec.composites[{i}].claims: Crossplane v2 has no claims (its XRs are "
                                "namespaced); use --crossplane v1 or drop claims")
        if composite.namespaces and chosen == "v1" and not composite.claims:
            raise PlatformError(f"{where}: spec.composites[{i}].namespaces: v1 XRs are cluster-scoped; namespaces "
                                "are for claims (claims: true) or Crossplane v2")
    return chosen
