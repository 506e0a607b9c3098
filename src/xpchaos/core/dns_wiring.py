"""How a composite's DNS is wired: which of its composed objects moves the answer, and what decides the move.

Read from the composed objects alone (pure: the caller lists them through the API), in the order a real platform
would be recognised:

- ``traffic-manager``: an Azure Traffic Manager profile; its endpoints decide (priority, ``enabled``, probes).
- ``external-dns``: an ExternalDNS ``DNSEndpoint``; ExternalDNS writes the zone with its own credentials.
- ``route53-failover``: a Route53 ``Record`` with a PRIMARY failover policy whose health check is enabled; Route53
  answers by that check, inside AWS.
- ``provider``: a Route53 ``Record`` with simple routing; whoever changes its spec moves DNS, and only while the
  Record's ProviderConfig works (the circular dependency when that is the provider being lost).
- ``function``: nothing composed decides (no Record, or failover Records whose health check is disabled: Route53
  counts a disabled check healthy); DNS is written elsewhere, e.g. by the failover function itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FUNCTION, PROVIDER, ROUTE53_FAILOVER, EXTERNAL_DNS, TRAFFIC_MANAGER = (
    "function", "provider", "route53-failover", "external-dns", "traffic-manager")
WIRINGS = (FUNCTION, PROVIDER, ROUTE53_FAILOVER, EXTERNAL_DNS, TRAFFIC_MANAGER)
HEALTH_ROUTED = (ROUTE53_FAILOVER, TRAFFIC_MANAGER)  # where failing a health check moves DNS

RECORD, HEALTH_CHECK, DNS_ENDPOINT, TM_PROFILE = "Record", "HealthCheck", "DNSEndpoint", "TrafficManagerProfile"
TM_ENDPOINTS = ("TrafficManagerExternalEndpoint", "TrafficManagerAzureEndpoint", "TrafficManagerNestedEndpoint")
EXTERNAL_NAME = "crossplane.io/external-name"


@dataclass(frozen=True)
class Wiring:
    mode: str  # one of WIRINGS
    movers: tuple[dict[str, Any], ...]  # the composed objects whose spec moves the answer (may be empty)
    health: tuple[dict[str, Any], ...]  # the health objects that decide it (HealthCheck, Traffic Manager endpoints)
    why: str  # one line: what was found

    @property
    def health_routed(self) -> bool:
        return self.mode in HEALTH_ROUTED and bool(self.health)


def _kind(obj: Mapping[str, Any]) -> str:
    return str(obj.get("kind", ""))


def _group(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).partition("/")[0]


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def for_provider(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.forProvider`` of a managed resource (``{}`` when absent)."""
    return dict((obj.get("spec") or {}).get("forProvider") or {})


def is_route53(obj: Mapping[str, Any]) -> bool:
    return _group(obj).startswith("route53.aws.")


def failover_type(record: Mapping[str, Any]) -> str:
    """PRIMARY / SECONDARY for a Record with a failover routing policy, else ``""`` (simple routing)."""
    policies = for_provider(record).get("failoverRoutingPolicy") or []
    first = policies[0] if isinstance(policies, list) and policies else policies
    return str(first.get("type", "")).upper() if isinstance(first, Mapping) else ""


def _refers_to(record: Mapping[str, Any], check: Mapping[str, Any]) -> bool:
    """Whether ``record``'s health check is ``check``: by reference, by name or by the check's external name."""
    spec = for_provider(record)
    ref = (spec.get("healthCheckIdRef") or {}).get("name")
    meta = check.get("metadata") or {}
    ids = {_name(check), (meta.get("annotations") or {}).get(EXTERNAL_NAME),
           ((check.get("status") or {}).get("atProvider") or {}).get("id")}
    return ref == _name(check) or spec.get("healthCheckId") in ids - {None, ""}


def primary_health_checks(composed: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The enabled Route53 health checks that a PRIMARY failover record routes by."""
    objects = list(composed)
    primaries = [o for o in objects if _kind(o) == RECORD and is_route53(o) and failover_type(o) == "PRIMARY"]
    checks = [o for o in objects if _kind(o) == HEALTH_CHECK and is_route53(o)]
    return tuple(dict(c) for c in checks
                 if not for_provider(c).get("disabled") and any(_refers_to(r, c) for r in primaries))


def classify(composed: Iterable[Mapping[str, Any]]) -> Wiring:
    """The wiring of one composite, from the objects it composes (managed resources and DNSEndpoints)."""
    objects = [dict(o) for o in composed]
    endpoints = tuple(o for o in objects if _kind(o) in TM_ENDPOINTS)
    if any(_kind(o) == TM_PROFILE for o in objects):
        return Wiring(TRAFFIC_MANAGER, endpoints, endpoints,
                      f"a Traffic Manager profile with {len(endpoints)} endpoint(s)")
    dns_endpoints = tuple(o for o in objects if _kind(o) == DNS_ENDPOINT)
    if dns_endpoints:
        return Wiring(EXTERNAL_DNS, dns_endpoints, (), f"DNSEndpoint {_name(dns_endpoints[0])} (ExternalDNS)")
    records = [o for o in objects if _kind(o) == RECORD and is_route53(o)]
    checks = primary_health_checks(objects)
    if checks:
        return Wiring(ROUTE53_FAILOVER, tuple(records), checks,
                      f"Route53 failover records routed by health check {_name(checks[0])}")
    simple = tuple(r for r in records if not failover_type(r))
    if simple:
        return Wiring(PROVIDER, simple, (), f"Route53 Record {_name(simple[0])} with simple routing")
    if records:
        return Wiring(FUNCTION, (), (), "Route53 failover records whose health check is disabled or absent")
    return Wiring(FUNCTION, (), (), "no composed DNS object")
