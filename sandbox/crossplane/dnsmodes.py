"""How a platform moves DNS (``--dns MODE``, ``spec.dns.mode``): which objects each XR composes for it, and who
writes the zone.

- ``function``: the failover function writes the zone itself by RFC 2136 (the Route53 Records and the HealthCheck
  are composed, but do not decide the answer).
- ``provider``: the function changes the composed Route53 ``Record``'s spec; the simulated Route53 applies it when
  provider-aws-route53 reconciles it, so only while that Record's ProviderConfig works.
- ``route53-failover``: a PRIMARY and a SECONDARY ``Record`` and the primary's ``HealthCheck``; Route53 answers by
  the health check's state, evaluated in AWS, whatever Crossplane does.
- ``external-dns``: the XR composes an ExternalDNS ``DNSEndpoint``; the function changes its targets and a
  simulated ExternalDNS syncs it into the zone every ``--interval``, with its own TSIG key.
- ``traffic-manager``: an Azure Traffic Manager profile with Priority routing and one external endpoint per cloud;
  the zone answers a CNAME to the highest-priority healthy, enabled endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layout import Composite

MODES = ("function", "provider", "route53-failover", "external-dns", "traffic-manager")
DEFAULT = "function"

RDS = ("aurora", "rds.aws.upbound.io", "clusters", "Cluster")
MSSQL = ("mssql", "sql.azure.upbound.io", "mssqlservers", "MSSQLServer")
ROUTE53_GROUP = "route53.aws.upbound.io"
NETWORK_GROUP = "network.azure.upbound.io"
FAILOVER_RECORDS = [("api-primary", ROUTE53_GROUP, "records", "Record"),
                    ("api-secondary", ROUTE53_GROUP, "records", "Record"),
                    ("aws-health", ROUTE53_GROUP, "healthchecks", "HealthCheck")]
TM_PROFILE, TM_PROFILES = "TrafficManagerProfile", "trafficmanagerprofiles"
TM_ENDPOINT, TM_ENDPOINTS = "TrafficManagerExternalEndpoint", "trafficmanagerexternalendpoints"
EXTERNALDNS_GROUP, EXTERNALDNS_VERSION = "externaldns.k8s.io", "v1alpha1"
DNSENDPOINT_KIND, DNSENDPOINT_PLURAL = "DNSEndpoint", "dnsendpoints"

# per mode, per cloud and provider service: (composition resource name, group, plural, kind)
Resources = dict[str, dict[str, list[tuple[str, str, str, str]]]]
_RESOURCES: dict[str, Resources] = {
    "function": {"aws": {"rds": [RDS], "route53": FAILOVER_RECORDS}, "azure": {"sql": [MSSQL]}},
    "provider": {"aws": {"rds": [RDS], "route53": [("api-record", ROUTE53_GROUP, "records", "Record")]},
                 "azure": {"sql": [MSSQL]}},
    "route53-failover": {"aws": {"rds": [RDS], "route53": FAILOVER_RECORDS}, "azure": {"sql": [MSSQL]}},
    "external-dns": {"aws": {"rds": [RDS]}, "azure": {"sql": [MSSQL]}},
    "traffic-manager": {"aws": {"rds": [RDS]},
                        "azure": {"sql": [MSSQL],
                                  "network": [("traffic-manager", NETWORK_GROUP, TM_PROFILES, TM_PROFILE),
                                              ("tm-aws", NETWORK_GROUP, TM_ENDPOINTS, TM_ENDPOINT),
                                              ("tm-azure", NETWORK_GROUP, TM_ENDPOINTS, TM_ENDPOINT)]}},
}
# the kinds each mode's DNS is made of (recorded in platform.json, so a harness can compare what it finds)
DNS_KINDS = {"Record", "HealthCheck", TM_PROFILE, TM_ENDPOINT, DNSENDPOINT_KIND}


def resources(mode: str) -> Resources:
    if mode not in _RESOURCES:
        raise ValueError(f"--dns {mode!r}: choose one of {', '.join(MODES)}")
    return _RESOURCES[mode]


def endpoint_name(dns_name: str, cloud: str) -> str:
    """A Traffic Manager endpoint's target for ``cloud``: the record's first label with ``-<cloud>`` appended
    (``api.xpchaos.test.`` -> ``api-aws.xpchaos.test.``), an A record of that side's service address."""
    first, _, rest = dns_name.partition(".")
    return f"{first}-{cloud}.{rest}"


def initial_records(mode: str, composites: list[Composite]) -> list[tuple[str, str, str]]:
    """What the zone answers when the platform starts, as ``(name, type, value)``: each composite's name at its
    primary side (traffic-manager: a CNAME to the primary's endpoint, whose names answer their addresses)."""
    out: list[tuple[str, str, str]] = []
    for composite in composites:
        name, primary, addresses = composite.dns_name, composite.primary, composite.addresses
        if mode == "traffic-manager":
            out.append((name, "CNAME", endpoint_name(name, primary)))
            out.extend((endpoint_name(name, cloud), "A", address) for cloud, address in addresses.items())
        else:
            out.append((name, "A", addresses[primary]))
    return out
