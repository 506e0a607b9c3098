"""The Target: the system under test, read from a YAML file (``--target``, default ``xpchaos.yaml``).

``xpchaos sandbox up`` writes one for the sandbox (``DIR/target.yaml``); for a real cluster users write their
own in the same shape. Problems are reported as one ``TargetError`` line naming the file and the field.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xpchaos.core.errors import InputError

DEFAULT_PATH = Path("xpchaos.yaml")
SANDBOX_PATH = Path(".xpchaos/sandbox/target.yaml")  # what `xpchaos sandbox up` writes by default
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_OBJECT_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAMESPACE = re.compile(r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class TargetError(InputError):
    """The target file is missing or wrong; the message names the file and the field."""


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    plural: str
    name: str
    namespace: str | None = None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.plural}.{self.group} {self.name!r}{where}"


@dataclass(frozen=True)
class SecretRef:
    namespace: str
    name: str
    key: str


@dataclass(frozen=True)
class Provider:
    name: str  # "aws", "azure", ...
    role: str  # "primary" or "secondary"
    provider_config: ObjectRef
    credentials: SecretRef
    pods_namespace: str
    pods_selector: str  # a label selector string
    cloud_endpoints: tuple[str, ...]  # CIDRs of the cloud's API
    managed: tuple[ObjectRef, ...]
    service_address: str = ""


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    nameservers: tuple[Nameserver, ...]
    primary: tuple[str, ...]
    secondary: tuple[str, ...]
    ttl: int = 0


@dataclass(frozen=True)
class EgressRule:
    cidr: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Safety:
    """Safety levers of game days: an emergency-stop ConfigMap whose presence stops everything, how many XRs
    outside the blast radius may be not Ready, and the Lease that keeps runs from overlapping."""

    emergency_stop_namespace: str = "default"
    emergency_stop_name: str = "xpchaos-emergency-stop"
    max_unhealthy_xrs: int = 0
    lease_namespace: str = "default"
    lease_name: str = ""  # default: xpchaos-<target name>


@dataclass(frozen=True)
class Target:
    name: str
    path: Path
    kubeconfig: str | None
    context: str | None
    allowed_contexts: tuple[str, ...]
    composites: tuple[ObjectRef, ...]
    providers: dict[str, Provider]
    egress_keep: tuple[EgressRule, ...]
    dns: tuple[DnsRecord, ...]
    slos: dict[str, float]  # seconds
    signals: dict[str, Any] = field(default_factory=dict)
    safety: Safety = field(default_factory=Safety)

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


def parse_duration(text: Any, where: str) -> float:
    """``90s``, ``1.5m``, ``500ms`` or a plain number of seconds."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise TargetError(f"{where}: {text!r} is not a duration (e.g. 90s, 1.5m, 500ms)")
    return float(match.group(1)) * _UNITS[match.group(2)]


class _Reader:
    """Typed access to the YAML document with errors that name the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> TargetError:
        return TargetError(f"{self.path}: {where}: {problem}")

    def get(self, node: Any, key: str, where: str, kind: type | tuple[type, ...] = str, required: bool = True) -> Any:
        if not isinstance(node, dict):
            raise self.fail(where, "expected a mapping")
        if key not in node or node[key] is None:
            if required:
                raise self.fail(f"{where}.{key}" if where else key, "is required")
            return None
        value = node[key]
        if not isinstance(value, kind) or (kind is str and not value):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"{where}.{key}" if where else key, f"expected a non-empty {names}, got {value!r}")
        return value

    def name(self, node: Any, key: str, where: str, required: bool = True, namespace: bool = False) -> Any:
        """A Kubernetes object name (or namespace name): no slashes, no dots to climb paths with."""
        value = self.get(node, key, where, required=required)
        pattern = _NAMESPACE if namespace else _OBJECT_NAME
        if value is not None and not pattern.match(value):
            what = "namespace" if namespace else "object name"
            raise self.fail(f"{where}.{key}", f"{value!r} is not a valid Kubernetes {what} (lower-case letters, "
                                              "digits and '-'" + ("" if namespace else " or '.'") + ")")
        return value

    def ref(self, node: Any, where: str) -> ObjectRef:
        return ObjectRef(self.get(node, "apiVersion", where), self.get(node, "kind", where),
                         self.get(node, "plural", where), self.name(node, "name", where),
                         self.name(node, "namespace", where, required=False, namespace=True))


def _nameserver(text: str, where: str) -> Nameserver:
    host, _, port = str(text).rpartition(":") if ":" in str(text) else (str(text), "", "53")
    try:
        ipaddress.ip_address(host.strip("[]"))
        number = int(port)
    except ValueError:
        raise TargetError(f"{where}: {text!r} is not IP[:PORT]") from None
    if not 0 < number < 65536:
        raise TargetError(f"{where}: {text!r}: the port must be 1 to 65535")
    return Nameserver(host.strip("[]"), number)


def default_path() -> Path:
    """``xpchaos.yaml`` in the working directory; else the running sandbox's target; else ``xpchaos.yaml``."""
    if not DEFAULT_PATH.exists() and SANDBOX_PATH.exists():
        return SANDBOX_PATH
    return DEFAULT_PATH


def _cidr(text: Any, where: str) -> str:
    try:
        ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        raise TargetError(f"{where}: {text!r} is not a CIDR (e.g. 203.0.113.0/24)") from None
    return str(text)


def load(path: str | Path | None = None) -> Target:
    path = Path(path) if path else default_path()
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise TargetError(f"{path}: no such target file (start the sandbox with `xpchaos sandbox up` and use "
                          "--target .xpchaos/sandbox/target.yaml, or write one for your cluster)") from None
    except yaml.YAMLError as exc:
        raise TargetError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    except UnicodeDecodeError:
        raise TargetError(f"{path}: not UTF-8 text") from None
    except IsADirectoryError:
        raise TargetError(f"{path}: a directory, not a target file") from None
    return parse(doc, path)


def parse(doc: Any, path: Path) -> Target:
    r = _Reader(path)
    if not isinstance(doc, dict) or doc.get("kind") != "Target":
        raise r.fail("kind", "expected a document with kind: Target")
    providers = {}
    for name, node in r.get(doc, "providers", "", dict).items():
        where = f"providers.{name}"
        if not isinstance(name, str) or not _NAMESPACE.match(name):
            raise r.fail("providers", f"{name!r} is not a valid provider name (lower-case letters, digits and '-', "
                                      "as in aws or azure)")
        creds = r.get(r.get(node, "credentials", where, dict), "secret", f"{where}.credentials", dict)
        pods = r.get(node, "pods", where, dict)
        providers[name] = Provider(
            name=name, role=r.get(node, "role", where),
            provider_config=r.ref(r.get(node, "providerConfig", where, dict), f"{where}.providerConfig"),
            credentials=SecretRef(r.name(creds, "namespace", f"{where}.credentials.secret", namespace=True),
                                  r.name(creds, "name", f"{where}.credentials.secret"),
                                  r.get(creds, "key", f"{where}.credentials.secret")),
            pods_namespace=r.name(pods, "namespace", f"{where}.pods", namespace=True),
            pods_selector=r.get(pods, "selector", f"{where}.pods"),
            cloud_endpoints=tuple(_cidr(c, f"{path}: {where}.cloudEndpoints[{i}]") for i, c in
                                  enumerate(r.get(node, "cloudEndpoints", where, list, required=False) or ())),
            managed=tuple(r.ref(m, f"{where}.managedResources[{i}]")
                          for i, m in enumerate(r.get(node, "managedResources", where, list))),
            service_address=r.get(node, "serviceAddress", where, required=False) or "",
        )
    if not providers:
        raise r.fail("providers", "at least one provider is required")
    dns = tuple(
        DnsRecord(r.get(d, "name", f"dns[{i}]"), r.get(d, "type", f"dns[{i}]", required=False) or "A",
                  tuple(_nameserver(ns, f"{path}: dns[{i}].nameservers") for ns in r.get(d, "nameservers",
                                                                                        f"dns[{i}]", list)),
                  tuple(r.get(d, "primary", f"dns[{i}]", list)), tuple(r.get(d, "secondary", f"dns[{i}]", list)),
                  int(r.get(d, "ttl", f"dns[{i}]", int, required=False) or 0))
        for i, d in enumerate(r.get(doc, "dns", "", list, required=False) or []))
    return Target(
        name=str(r.get(r.get(doc, "metadata", "", dict, required=False) or {}, "name", "metadata",
                       required=False) or path.stem), path=path,
        kubeconfig=r.get(doc, "kubeconfig", "", required=False), context=r.get(doc, "context", "", required=False),
        allowed_contexts=tuple(r.get(doc, "allowedContexts", "", list, required=False) or ()),
        composites=tuple(r.ref(c, f"composites[{i}]")
                         for i, c in enumerate(r.get(doc, "composites", "", list, required=False) or [])),
        providers=providers,
        egress_keep=tuple(EgressRule(_cidr(r.get(e, "cidr", f"egressKeep[{i}]"), f"{path}: egressKeep[{i}].cidr"),
                                     int(r.get(e, "port", f"egressKeep[{i}]",
                                                                                     int)),
                                     r.get(e, "protocol", f"egressKeep[{i}]", required=False) or "TCP")
                          for i, e in enumerate(r.get(doc, "egressKeep", "", list, required=False) or [])),
        dns=dns,
        slos={k: parse_duration(v, f"{path}: slos.{k}") for k, v in (r.get(doc, "slos", "", dict,
                                                                            required=False) or {}).items()},
        signals=r.get(doc, "signals", "", dict, required=False) or {},
        safety=_safety(r, doc),
    )


def _safety(r: _Reader, doc: dict[str, Any]) -> Safety:
    node = r.get(doc, "safety", "", dict, required=False) or {}
    stop = r.get(node, "emergencyStop", "safety", dict, required=False) or {}
    lease = r.get(node, "lease", "safety", dict, required=False) or {}
    maximum = r.get(node, "maxUnhealthyXRs", "safety", int, required=False)
    if maximum is not None and maximum < 0:
        raise r.fail("safety.maxUnhealthyXRs", f"must be 0 or more, got {maximum}")
    return Safety(
        emergency_stop_namespace=r.name(stop, "namespace", "safety.emergencyStop", False, True) or "default",
        emergency_stop_name=r.name(stop, "name", "safety.emergencyStop", False) or "xpchaos-emergency-stop",
        max_unhealthy_xrs=maximum or 0,
        lease_namespace=r.name(lease, "namespace", "safety.lease", False, True) or "default",
        lease_name=r.name(lease, "name", "safety.lease", False) or "")
