"""Discovery: a target written from a live cluster, walked as ``crossplane beta trace`` walks it.

From the XRs or claims the user names (or a label selector over a kind) the walk (``xpchaos.core.platform_graph``)
goes to the managed resources each XR composes, their ProviderConfigs and credential sources, the providers and
pods that serve each kind, and the DNS objects the XRs compose (Route53 Records, ExternalDNS DNSEndpoints, Azure
Traffic Manager) to record names and addresses, each record with its wiring (``xpchaos.core.dns_wiring``).
``target_text`` writes what it found as a commented target file; what it had to guess (which side is primary, the
nameservers) is marked ``# REVIEW:``. GET and LIST only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import dns_wiring
from xpchaos.core import platform_graph as graph
from xpchaos.core.errors import InputError
from xpchaos.core.target_model import DnsRecord, Nameserver, ObjectRef
from xpchaos.probes import dns_sampler

_KIND = re.compile(r"^([a-z0-9-]+)\.([a-z0-9-]+(?:\.[a-z0-9-]+)+)$")
PROGRESS_EVERY = 50  # XRs between two progress lines
BULK_FROM = 20  # composites from which the walk LISTs each kind once rather than GETting every object
Progress = Callable[[str], None]


class DiscoverError(InputError):
    """An option of ``xpchaos discover`` that cannot be followed; the message names the option and the fix."""


@dataclass(frozen=True)
class FoundMR:
    ref: ObjectRef
    conditions: dict[str, str]
    provider_config: ObjectRef
    provider: str  # the Provider whose revision serves its kind


@dataclass(frozen=True)
class FoundXR:
    ref: ObjectRef
    conditions: dict[str, str]
    claim: ObjectRef | None
    claim_conditions: dict[str, str]
    managed: tuple[FoundMR, ...]
    dns_objects: tuple[ObjectRef, ...] = ()  # what it composes for DNS that no provider manages (DNSEndpoints)
    wiring: str = dns_wiring.FUNCTION  # how its DNS moves (dns_wiring.WIRINGS)


@dataclass
class FoundRecord:
    """A DNS name the XRs compose, with the addresses of each side (PRIMARY / SECONDARY, or by priority)."""

    name: str
    type: str = "A"
    ttl: int = 0
    sides: dict[str, list[str]] = field(default_factory=dict)  # "primary" / "secondary" -> addresses
    clouds: dict[str, str] = field(default_factory=dict)  # side -> the cloud it names (set identifier), if any
    answer: tuple[str, ...] | None = None  # what the nameservers answer now, when asked
    source: str = ""  # the kind it came from
    wiring: str = ""  # how the XR composing it moves it (dns_wiring.WIRINGS)
    targets: dict[str, str] = field(default_factory=dict)  # Traffic Manager: side -> its endpoint's target name
    candidates: tuple[str, ...] = ()  # Traffic Manager: other names users may resolve, kept when DNS confirms one
    confirmed: bool = True  # the name is one the nameservers answer through the endpoints (Traffic Manager)

    @property
    def primary_side(self) -> str:
        """The side the nameservers answer now; else the one the DNS object marks primary."""
        if self.answer:
            for side, addresses in self.sides.items():
                if set(addresses) == set(self.answer):
                    return side
        return "primary"


@dataclass
class Discovery:
    """What the walk found."""

    context: str
    kubeconfig: str | None
    composites: list[FoundXR] = field(default_factory=list)
    configs: dict[ObjectRef, graph.CredentialSource] = field(default_factory=dict)
    providers: dict[str, set[str]] = field(default_factory=dict)  # cloud -> Providers serving its kinds
    mr_providers: dict[str, set[str]] = field(default_factory=dict)  # cloud -> those serving its MR kinds
    pods_namespace: dict[str, str] = field(default_factory=dict)  # cloud -> the namespace of its provider pods
    records: dict[str, FoundRecord] = field(default_factory=dict)
    nameservers: tuple[Nameserver, ...] = ()

    def managed(self, cloud: str) -> list[FoundMR]:
        return [mr for xr in self.composites for mr in xr.managed if graph.cloud_of(mr.ref.group) == cloud]

    def clouds(self) -> list[str]:
        return sorted(self.providers)


# -- what the user asked for -------------------------------------------------------------------------------------
def parse_kind(text: str, option: str) -> tuple[str, str]:
    """``PLURAL.GROUP`` -> (plural, group)."""
    match = _KIND.match(text)
    if not match:
        raise DiscoverError(f"{option} {text!r}: expected PLURAL.GROUP, e.g. xglobaldatabases.database.example.org")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class Kind:
    """A kind the user named by ``PLURAL.GROUP``, as the API server serves it."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def ref(self, name: str, namespace: str | None) -> ObjectRef:
        return ObjectRef(self.api_version, self.kind, self.plural, name, namespace if self.namespaced else None)


def served_kind(api: client.ApiClient, text: str, option: str) -> Kind:
    """``PLURAL.GROUP`` in the group's preferred version; refused when the cluster does not serve it."""
    plural, group = parse_kind(text, option)
    apis: Any = client.ApisApi(api)
    versions = [g.preferred_version.group_version for g in apis.get_api_versions().groups if g.name == group]
    served = graph.kinds(api, versions[0]) if versions else {}
    kind = next((k for k, (p, _ns) in served.items() if p == plural), None)
    if kind is None:
        raise DiscoverError(f"{option} {text}: the cluster serves no such kind (list them with `kubectl "
                            "api-resources`)")
    return Kind(versions[0], kind, plural, served[kind][1])


def roots_from_names(api: client.ApiClient, names: tuple[str, ...], namespace: str | None) -> list[ObjectRef]:
    """``--xr PLURAL.GROUP/NAME`` options as ObjectRefs (a namespaced kind in ``-n``)."""
    out = []
    for text in names:
        kind_text, _, name = text.partition("/")
        if not name:
            raise DiscoverError(f"--xr {text!r}: expected PLURAL.GROUP/NAME, e.g. "
                                "xglobaldatabases.database.example.org/production-db")
        kind = served_kind(api, kind_text, "--xr")
        if kind.namespaced and not namespace:
            raise DiscoverError(f"--xr {text}: {kind.kind} is namespaced; give its namespace with -n")
        out.append(kind.ref(name, namespace))
    return out


def roots_from_selector(api: client.ApiClient, kind_text: str, selector: str,
                        namespace: str | None) -> list[ObjectRef]:
    """The objects of ``--kind`` that ``-l`` selects (in ``-n`` when given, else in every namespace)."""
    kind = served_kind(api, kind_text, "--kind")
    group, version = kind.api_version.split("/")
    custom: Any = client.CustomObjectsApi(api)
    try:
        if namespace and kind.namespaced:
            items = custom.list_namespaced_custom_object(group, version, namespace, kind.plural,
                                                         label_selector=selector)["items"]
        else:
            items = custom.list_cluster_custom_object(group, version, kind.plural, label_selector=selector)["items"]
    except ApiException as exc:
        if exc.status == 400:
            raise DiscoverError(f"-l {selector!r}: not a label selector the API server accepts") from None
        raise
    return [kind.ref(i["metadata"]["name"], i["metadata"].get("namespace")) for i in items]


# -- the walk ----------------------------------------------------------------------------------------------------
class _Reader:
    """Reads the walk's objects: one GET each; on a large walk one LIST per kind instead, read from then on (a
    few LISTs in place of thousands of GETs, at the cost of holding those kinds' objects for the walk)."""

    def __init__(self, api: client.ApiClient, bulk: bool) -> None:
        self.api, self.bulk = api, bulk
        self.listed: dict[tuple[str, str], dict[tuple[str | None, str], dict[str, Any]]] = {}

    def get(self, ref: ObjectRef) -> dict[str, Any]:
        if not self.bulk:
            return graph.get(self.api, ref)
        key = (ref.api_version, ref.plural)
        if key not in self.listed:
            custom: Any = client.CustomObjectsApi(self.api)
            items = custom.list_cluster_custom_object(ref.group, ref.version, ref.plural)["items"]
            self.listed[key] = {(i["metadata"].get("namespace"), i["metadata"]["name"]): i for i in items}
        obj = self.listed[key].get((ref.namespace, ref.name))
        return obj if obj is not None else graph.get(self.api, ref)  # created since the LIST, or not found


def walk(api: client.ApiClient, roots: list[ObjectRef], context: str, kubeconfig: str | None,
         nameservers: tuple[Nameserver, ...] = (), progress: Progress | None = None) -> Discovery:
    """Walk from ``roots`` (XRs or claims) to everything a target names."""
    found = Discovery(context, kubeconfig, nameservers=nameservers)
    reader = _Reader(api, bulk=len(roots) >= BULK_FROM)
    serving: dict[str, str] = {}  # CRD -> Provider
    seen: set[ObjectRef] = set()
    checked: set[tuple[str, str]] = set()  # (plural, group) of the kinds known to be XRs or claims
    for index, root in enumerate(roots, 1):
        xr_ref, xr_obj = graph.composite(api, root, check_kind=(root.plural, root.group) not in checked)
        checked.add((root.plural, root.group))
        if xr_ref in seen:
            continue
        seen.add(xr_ref)
        claim = root if root != xr_ref else _claim_of(api, xr_obj)
        objects = [(ref, reader.get(ref)) for ref in _composed(api, xr_ref, xr_obj)]
        wiring = dns_wiring.classify(obj for _ref, obj in objects).mode
        for record in _xr_records([obj for _ref, obj in objects], wiring):
            _merge(found.records, record)
        managed = tuple(mr for ref, obj in objects if (mr := _managed(reader, ref, obj, serving, found)))
        unmanaged = tuple(ref for ref, obj in objects if ref.kind == dns_wiring.DNS_ENDPOINT and not _is_managed(obj))
        claim_conditions = graph.conditions(reader.get(claim)) if claim else {}
        found.composites.append(FoundXR(xr_ref, graph.conditions(xr_obj), claim, claim_conditions, managed,
                                        unmanaged, wiring))
        if progress and index % PROGRESS_EVERY == 0:
            progress(f"walked {index} of {len(roots)} composites")
    _pods(api, found)
    _ask(found)
    return found


def _claim_of(api: client.ApiClient, xr: dict[str, Any]) -> ObjectRef | None:
    """The claim an XR is bound to (``spec.claimRef``, v1), if any."""
    ref = (xr.get("spec") or {}).get("claimRef")
    if not ref:
        return None
    return graph.ref_to(api, ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))


def _composed(api: client.ApiClient, xr: ObjectRef, obj: dict[str, Any]) -> list[ObjectRef]:
    return [graph.ref_to(api, r["apiVersion"], r["kind"], r["name"], r.get("namespace") or xr.namespace)
            for r in graph.resource_refs(obj)]


def _is_managed(obj: dict[str, Any]) -> bool:
    return bool({"forProvider", "providerConfigRef"} & set(obj.get("spec") or {}))


def _managed(reader: _Reader, ref: ObjectRef, obj: dict[str, Any], serving: dict[str, str],
             found: Discovery) -> FoundMR | None:
    """The managed resource ``ref`` (read as ``obj``) with its ProviderConfig and Provider; None for a composed
    object that is not managed by a provider (an ExternalDNS DNSEndpoint)."""
    api = reader.api
    if not _is_managed(obj):
        return None
    pc = graph.provider_config_of(obj)
    if pc not in found.configs:
        found.configs[pc] = graph.credential_source(graph.get(api, pc))
    cloud = graph.cloud_of(ref.group)
    for crd in (f"{ref.plural}.{ref.group}", f"{pc.plural}.{pc.group}"):
        if crd not in serving:
            serving[crd] = graph.serving_provider(api, crd)
        found.providers.setdefault(cloud, set()).add(serving[crd])
    found.mr_providers.setdefault(cloud, set()).add(serving[f"{ref.plural}.{ref.group}"])
    return FoundMR(ref, graph.conditions(obj), pc, serving[f"{ref.plural}.{ref.group}"])


def _pods(api: client.ApiClient, found: Discovery) -> None:
    """Each cloud's pod namespace; and the ServiceAccounts of the pods that call the cloud (those serving MR kinds),
    whose identity a ProviderConfig with IRSA or workload identity uses."""
    core: Any = client.CoreV1Api(api)
    for cloud, providers in found.providers.items():
        pods = {name: graph.provider_pods(api, name) for name in providers}
        namespaces = {p["metadata"]["namespace"] for listed in pods.values() for p in listed}
        found.pods_namespace[cloud] = sorted(namespaces)[0] if namespaces else ""
        accounts = {(p["metadata"]["namespace"], p["spec"].get("serviceAccountName") or "default")
                    for name in found.mr_providers.get(cloud, ()) for p in pods[name]}
        service_accounts = [api.sanitize_for_serialization(core.read_namespaced_service_account(name, ns))
                            for ns, name in sorted(accounts)]
        for pc, source in found.configs.items():
            if graph.cloud_of(pc.group) == cloud:
                found.configs[pc] = graph.with_pod_identity(source, service_accounts)


def _query(name: str, kind: str, nameserver: Nameserver) -> dns_sampler.Served | None:
    """What ``nameserver`` answers for ``name`` (through CNAMEs); None when it cannot be asked."""
    try:
        asked = DnsRecord.model_validate({"name": name, "type": kind, "nameservers": [], "primary": [],
                                          "secondary": []})
        return dns_sampler.served(asked, nameserver)
    except (dns.exception.DNSException, OSError):
        return None


def _ask(found: Discovery) -> None:
    """What the first nameserver answers now for each record: the side it answers is the primary. A Traffic
    Manager record first gets its name (the first candidate answered through an endpoint's target) and its
    sides' addresses (what each endpoint's target answers)."""
    if not found.nameservers:
        return
    nameserver = found.nameservers[0]
    for record in list(found.records.values()):
        if record.targets:
            _traffic_manager_names(found.records, record, nameserver)
        seen = _query(record.name, record.type, nameserver)
        record.answer = seen.answers if seen else None


def _traffic_manager_names(records: dict[str, FoundRecord], record: FoundRecord, nameserver: Nameserver) -> None:
    for side, target in record.targets.items():
        if not dns_sampler.is_address(target):
            seen = _query(target, record.type, nameserver)
            record.sides[side] = list(seen.answers) if seen else []
    targets = {dns.name.from_text(t) for t in record.targets.values()}
    for name in (record.name, *record.candidates):
        seen = _query(name, record.type, nameserver)
        if seen and len(seen.chain) > 1 and dns.name.from_text(seen.chain[1]) in targets:
            records.pop(record.name, None)
            record.name, record.confirmed = name, True
            records[name] = record
            return
    record.confirmed = False


# -- DNS objects ---------------------------------------------------------------------------------------------------
def _xr_records(objects: list[dict[str, Any]], wiring: str) -> list[FoundRecord]:
    """The DNS records one XR's composed objects publish, each with the XR's wiring."""
    if wiring == dns_wiring.TRAFFIC_MANAGER:
        found = [r for obj in objects if obj.get("kind") == dns_wiring.TM_PROFILE
                 for r in [traffic_manager(obj, objects)] if r is not None]
    else:
        found = [r for obj in objects for r in dns_records(obj)]
    for record in found:
        record.wiring = wiring
    return found


def dns_records(obj: dict[str, Any]) -> list[FoundRecord]:
    """The DNS names a composed object publishes: a Route53 Record or an ExternalDNS DNSEndpoint (a Traffic Manager
    profile: ``traffic_manager``, with its endpoints); nothing for any other kind."""
    group, kind = obj["apiVersion"].rpartition("/")[0], obj["kind"]
    spec = (obj.get("spec") or {}).get("forProvider") or {}
    if group.startswith("route53.aws.") and kind == "Record" and spec.get("name"):
        return [_route53(spec)]
    if group == "externaldns.k8s.io" and kind == "DNSEndpoint":
        return [_endpoint(e) for e in (obj.get("spec") or {}).get("endpoints") or [] if e.get("dnsName")]
    if group.startswith("network.azure.") and kind == dns_wiring.TM_PROFILE:
        return [r for r in [traffic_manager(obj, [])] if r is not None]
    return []


def traffic_manager(profile: dict[str, Any], objects: list[dict[str, Any]]) -> FoundRecord | None:
    """A Traffic Manager profile as the A record users resolve: the profile's FQDN (``status.atProvider.fqdn``,
    else ``<relativeName>.trafficmanager.net``), answered by a CNAME to the target of the enabled endpoint with
    the lowest priority, so the sides are its endpoints by priority (their targets' addresses are asked once the
    walk is done). A name the endpoints' targets share (``api`` for ``api-aws``, ``api-azure``) is a candidate,
    kept when the nameservers answer it through an endpoint."""
    spec = dns_wiring.for_provider(profile)
    relative = _first(spec.get("dnsConfig")).get("relativeName")
    fqdn = ((profile.get("status") or {}).get("atProvider") or {}).get("fqdn") or (
        f"{relative}.trafficmanager.net" if relative else "")
    if not fqdn:
        return None
    name = str((profile.get("metadata") or {}).get("name", ""))
    endpoints = sorted((e for e in objects if e.get("kind") in dns_wiring.TM_ENDPOINTS
                        and _profile_of(e) == name and dns_wiring.for_provider(e).get("enabled", True)
                        and dns_wiring.for_provider(e).get("target")),
                       key=lambda e: float(dns_wiring.for_provider(e).get("priority") or 1000))
    record = FoundRecord(str(fqdn).rstrip("."), "A", int(_first(spec.get("dnsConfig")).get("ttl") or 0),
                         source=dns_wiring.TM_PROFILE, confirmed=False)
    for side, endpoint in zip(("primary", "secondary"), endpoints, strict=False):
        target = str(dns_wiring.for_provider(endpoint)["target"]).rstrip(".")
        record.targets[side] = target
        record.sides[side] = [target] if dns_sampler.is_address(target) else []
        cloud = _cloud_named(endpoint, target)
        if cloud:
            record.clouds[side] = cloud
    record.candidates = tuple(dict.fromkeys(c for t in record.targets.values() if (c := _shared_name(t))))
    return record


def _profile_of(endpoint: dict[str, Any]) -> str:
    spec = dns_wiring.for_provider(endpoint)
    return str((spec.get("profileIdRef") or {}).get("name") or spec.get("profileId") or "").rsplit("/", 1)[-1]


def _cloud_named(endpoint: dict[str, Any], target: str) -> str:
    """The cloud an endpoint's composition resource name, name or target's first label names (``tm-aws``)."""
    meta = endpoint.get("metadata") or {}
    for text in ((meta.get("annotations") or {}).get("crossplane.io/composition-resource-name", ""),
                 meta.get("name", ""), target.partition(".")[0]):
        cloud = next((c for c in graph.CLOUDS if c in str(text).split("-")), "")
        if cloud:
            return cloud
    return ""


def _shared_name(target: str) -> str:
    """``api-aws.example.org`` -> ``api.example.org``: the name a side's endpoint name is derived from."""
    first, _, rest = target.partition(".")
    stem = first.rpartition("-")[0]
    return f"{stem}.{rest}" if stem and rest and not dns_sampler.is_address(target) else ""


def _first(block: Any) -> dict[str, Any]:
    """An upjet block, written as a list of one (v1beta1) or as an object (v1beta2)."""
    if isinstance(block, list):
        return dict(block[0]) if block else {}
    return dict(block or {})


def _route53(spec: dict[str, Any]) -> FoundRecord:
    kind = str(_first(spec.get("failoverRoutingPolicy")).get("type", "PRIMARY")).lower()
    record = FoundRecord(str(spec["name"]).rstrip("."), str(spec.get("type", "A")), int(spec.get("ttl") or 0),
                         source="Record")
    record.sides[kind] = [str(a) for a in spec.get("records") or []]
    if spec.get("setIdentifier") in graph.CLOUDS:
        record.clouds[kind] = str(spec["setIdentifier"])
    return record


def _endpoint(endpoint: dict[str, Any]) -> FoundRecord:
    specific = {p.get("name"): p.get("value") for p in endpoint.get("providerSpecific") or []}
    kind = str(specific.get("aws/failover", "PRIMARY")).lower()
    record = FoundRecord(str(endpoint["dnsName"]).rstrip("."), str(endpoint.get("recordType", "A")),
                         int(endpoint.get("recordTTL") or 0), source="DNSEndpoint")
    record.sides[kind] = [str(t) for t in endpoint.get("targets") or []]
    if endpoint.get("setIdentifier") in graph.CLOUDS:
        record.clouds[kind] = str(endpoint["setIdentifier"])
    return record


def _merge(records: dict[str, FoundRecord], record: FoundRecord) -> None:
    known = records.setdefault(record.name, record)
    if known is not record:
        for side, addresses in record.sides.items():
            known.sides.setdefault(side, []).extend(a for a in addresses if a not in known.sides.get(side, []))
        known.clouds.update(record.clouds)
        known.ttl = known.ttl or record.ttl
        known.wiring = known.wiring or record.wiring


def primary_cloud(found: Discovery) -> tuple[str, int, int]:
    """The cloud most records answer from now (else mark primary): (cloud, records that say so, records named)."""
    votes: dict[str, int] = {}
    for record in found.records.values():
        cloud = record.clouds.get(record.primary_side)
        if cloud:
            votes[cloud] = votes.get(cloud, 0) + 1
    clouds = found.clouds()
    if not votes:
        return (clouds[0] if clouds else "", 0, len(found.records))
    best = max(sorted(votes), key=lambda c: votes[c])
    return best, votes[best], len(found.records)


# -- the target file -----------------------------------------------------------------------------------------------
def _ref_doc(ref: ObjectRef) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": ref.api_version, "kind": ref.kind, "plural": ref.plural, "name": ref.name}
    if ref.namespace:
        doc["namespace"] = ref.namespace
    return doc


def _dump(doc: Any, indent: int = 0) -> str:
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=200)
    return "".join(" " * indent + line + "\n" for line in text.splitlines())


def _source_text(source: graph.CredentialSource) -> str:
    where = f" {source.secret.namespace}/{source.secret.name} key {source.secret.key}" if source.secret else ""
    details = "".join(f", {k} {v}" for k, v in sorted(source.details.items()))
    accounts = f", ServiceAccounts {' '.join(source.service_accounts)}" if source.service_accounts else ""
    return f"{source.source}{where}{details}{accounts}"


def _provider_text(found: Discovery, cloud: str, role: str) -> str:
    configs = sorted((pc for pc in found.configs if graph.cloud_of(pc.group) == cloud), key=lambda pc: pc.name)
    users = {pc: sum(mr.provider_config == pc for mr in found.managed(cloud)) for pc in configs}
    chosen = max(configs, key=lambda pc: users[pc])
    lines = [f"  # {cloud}: {len(found.managed(cloud))} managed resources, ProviderConfigs:"]
    lines += [f"  #   {pc.kind} {pc.name}: {users[pc]} managed resources, credentials {_source_text(found.configs[pc])}"
              for pc in configs]
    doc: dict[str, Any] = {"role": role, "providerConfig": _ref_doc(chosen)}
    secret = found.configs[chosen].secret
    if secret:
        doc["credentials"] = {"secret": {"namespace": secret.namespace, "name": secret.name, "key": secret.key}}
    else:
        lines.append(f"  #   credentials: {found.configs[chosen].source}, read from the ProviderConfig")
    doc["pods"] = {"namespace": found.pods_namespace.get(cloud, ""),
                   "selector": graph.selector_for(found.providers[cloud])}
    doc["managedResources"] = [_ref_doc(mr.ref) for mr in found.managed(cloud)]
    lines.append(f"  # REVIEW: cloudEndpoints (the CIDRs of the {cloud} API) are not in the cluster; add them for the "
                 "network fault")
    return "\n".join(lines) + "\n" + _dump({cloud: doc}, 2)


def _dns_text(found: Discovery) -> str:
    if not found.records:
        return ""
    lines = []
    if not found.nameservers:
        lines.append("# REVIEW: nameservers: the zone's authoritative nameservers (none given; use --nameserver)")
    if any(r.answer is None for r in found.records.values()):
        lines.append("# REVIEW: primary is the side marked PRIMARY where the nameservers did not answer")
    else:
        lines.append("# REVIEW: primary is the side the nameservers answer now")
    lines += [f"# REVIEW: {r.name}: {note}" for r in sorted(found.records.values(), key=lambda r: r.name)
              for note in _record_notes(r)]
    docs = []
    for record in sorted(found.records.values(), key=lambda r: r.name):
        primary = record.primary_side
        secondary = next((s for s in record.sides if s != primary), "secondary")
        doc = {"name": record.name, "type": record.type,
               "nameservers": [dns_sampler.label(ns) for ns in found.nameservers],
               "primary": record.sides.get(primary, []), "secondary": record.sides.get(secondary, []),
               "ttl": record.ttl}
        docs.append({**doc, "wiring": record.wiring} if record.wiring else doc)
    return "\n".join(lines) + "\n" + _dump({"dns": docs})


def _record_notes(record: FoundRecord) -> list[str]:
    """What a record's entry could not be sure of."""
    notes = []
    if not record.confirmed:
        notes.append("Traffic Manager profile's name; write the name users resolve (their CNAME to it)")
    if not record.sides.get("secondary") and record.wiring in (dns_wiring.PROVIDER, dns_wiring.EXTERNAL_DNS):
        notes.append(f"secondary: its {record.wiring} object names only the side it answers now; write the "
                     "address the other side serves")
    if any(not record.sides.get(side) for side in record.targets):
        notes.append("an endpoint's target did not resolve at the nameserver; write its addresses")
    return notes


def target_text(found: Discovery, name: str = "discovered") -> str:
    """The target file for what ``found`` holds, commented; guesses marked ``# REVIEW:``."""
    primary, votes, named = primary_cloud(found)
    head = {"apiVersion": "xpchaos.io/v1alpha1", "kind": "Target", "metadata": {"name": name}}
    if found.kubeconfig:
        head["kubeconfig"] = found.kubeconfig
    head.update({"context": found.context, "allowedContexts": [found.context]})
    out = [f"# Target written by `xpchaos discover` from context {found.context}: {len(found.composites)} "
           f"composites, {sum(len(x.managed) for x in found.composites)} managed resources.\n", _dump(head)]
    out.append("composites:\n")
    for xr in found.composites:
        if xr.claim:
            out.append(f"# claim {xr.claim.namespace}/{xr.claim.name} ({xr.claim.kind})\n")
        out.append(f"# DNS: {xr.wiring}" + "".join(f", {r.kind} {r.namespace}/{r.name}" for r in xr.dns_objects)
                   + "\n")
        out.append(_dump([_ref_doc(xr.ref)]))
    out.append(f"# REVIEW: {primary} is primary: the side the DNS answers now for {votes} of {named} records\n")
    out.append("providers:\n")
    for cloud in sorted(found.clouds(), key=lambda c: c != primary):
        out.append(_provider_text(found, cloud, "primary" if cloud == primary else "secondary"))
    out.append(_dns_text(found))
    return "".join(out)


# -- the tree ------------------------------------------------------------------------------------------------------
def tree_text(found: Discovery) -> str:
    """The walk as ``crossplane beta trace`` prints it: KIND/NAME, SYNCED, READY, indented."""
    rows: list[tuple[str, dict[str, str]]] = []
    for xr in found.composites:
        indent = ""
        if xr.claim:
            rows.append((f"{xr.claim.kind}/{xr.claim.name} ({xr.claim.namespace})", xr.claim_conditions))
            indent = "└─ "
        rows.append((f"{indent}{xr.ref.kind}/{xr.ref.name}", xr.conditions))
        prefix = "   " if xr.claim else ""
        children = [(f"{mr.ref.kind}/{mr.ref.name}", mr.conditions) for mr in xr.managed]
        children += [(f"{ref.kind}/{ref.name}", {}) for ref in xr.dns_objects]
        for i, (name, conditions) in enumerate(children):
            branch = "└─ " if i == len(children) - 1 else "├─ "
            rows.append((f"{prefix}{branch}{name}", conditions))
    width = max([len("NAME"), *(len(name) for name, _ in rows)]) + 2
    lines = [f"{'NAME':<{width}}{'SYNCED':<8}READY"]
    lines += [f"{name:<{width}}{c.get('Synced', '-'):<8}{c.get('Ready', '-')}" for name, c in rows]
    return "\n".join(lines) + "\n"
