"""``spec.dns.mode`` in a platform file: every composite composes its mode's DNS objects (as Crossplane composes:
owned by the XR, in its resource refs, pointing at its ProviderConfig), ``platform.json`` records the mode and those
objects (kind, name) so a harness can compare, and the zone answers every composite's name at its primary, through
a CNAME in traffic-manager. Crossplane v1 (with claims) and v2, composites primary on either cloud. The failover
in each mode is tested in tests/sandbox/dns/test_mode_*.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.sandbox.platform.platforms import Platform, platform_document
from tests.support.waiting import wait_for

COMPOSITES = [{"name": "orders-db"}, {"name": "ledger-db", "primary": "azure"}]
CASES = [  # mode, Crossplane, the DNS objects of each composite (kind, composition resource name)
    ("provider", "v2", [("Record", "api-record")]),
    ("route53-failover", "v1", [("Record", "api-primary"), ("Record", "api-secondary"),
                                ("HealthCheck", "aws-health")]),
    ("external-dns", "v1", [("DNSEndpoint", "dns-endpoint")]),
    ("traffic-manager", "v2", [("TrafficManagerProfile", "traffic-manager"),
                               ("TrafficManagerExternalEndpoint", "tm-aws"),
                               ("TrafficManagerExternalEndpoint", "tm-azure")]),
]


def _answer(platform: Platform, name: str) -> tuple[list[str], list[str]]:
    assert platform.box.dns is not None
    host, _, port = platform.box.dns.rpartition(":")
    response = dns.query.udp(dns.message.make_query(name, "A"), host, port=int(port), timeout=2)
    cnames = [r.target.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.CNAME for r in rrset]
    return cnames, [r.address for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for r in rrset]


def _wait_answer(platform: Platform, name: str, expected: tuple[list[str], list[str]]) -> None:
    wait_for(lambda: _answer(platform, name) == expected, 5, what=f"{name} answering its primary")


def _composed(platform: Platform, composite: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API serves it, checked to be composed by ``composite``'s XR."""
    ref = {**obj, "plural": obj["kind"].lower() + "s"}
    stored = platform.managed(ref)
    owner = stored["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("XGlobalDatabase", composite["name"], composite["uid"])
    xr = platform.xr(composite["name"], composite["namespace"])
    refs = (xr["spec"].get("crossplane") or xr["spec"])["resourceRefs"]
    assert any(r["kind"] == obj["kind"] and r["name"] == obj["name"] for r in refs)
    return stored


def _follows_the_primary(platform: Platform, composite: dict[str, Any], mode: str) -> None:
    """The mode's objects of a composite primary on Azure name Azure's side first."""
    specs = {o["resource"]: platform.managed({**o, "plural": o["kind"].lower() + "s"})["spec"]
             for o in composite["dns"]["objects"]}
    primary = composite["dns"]["primary"]
    if mode == "route53-failover":
        assert specs["api-primary"]["forProvider"]["records"] == [primary]
        assert specs["api-primary"]["forProvider"]["setIdentifier"] == "azure"
        assert specs["aws-health"]["forProvider"]["ipAddress"] == primary
    elif mode == "traffic-manager":
        assert (specs["tm-azure"]["forProvider"]["priority"], specs["tm-aws"]["forProvider"]["priority"]) == (1, 2)
    elif mode == "provider":
        assert specs["api-record"]["forProvider"]["records"] == [primary]


@pytest.mark.parametrize(("mode", "crossplane", "objects"), CASES, ids=[c[0] for c in CASES])
def test_each_composite_composes_its_modes_dns_objects(write_platform: Callable[..., Path],
                                                       start_platform: Callable[..., Platform], mode: str,
                                                       crossplane: str, objects: list[tuple[str, str]]) -> None:
    composites = COMPOSITES if crossplane == "v2" else [*COMPOSITES, {"namePrefix": "cart", "count": 1,
                                                                      "claims": True, "namespaces": ["team-a"]}]
    path = write_platform(platform_document(f"dns-{mode}", crossplane={"version": crossplane}, dns={"mode": mode},
                                            composites=composites))
    platform = start_platform(path, "blueprint")
    truth = platform.truth
    assert truth["dns"]["mode"] == mode
    for composite in truth["composites"]:
        dns_truth = composite["dns"]
        assert [(o["kind"], o["resource"]) for o in dns_truth["objects"]] == objects
        for obj in dns_truth["objects"]:
            stored = _composed(platform, composite, obj)
            if obj["kind"] == "DNSEndpoint":  # namespaced: the XR's (v2) or the claim's namespace
                assert obj["namespace"] == ((composite["claim"] or {}).get("namespace") or "crossplane-system")
                assert stored["spec"]["endpoints"][0]["targets"] == [dns_truth["primary"]]
            else:
                assert stored["spec"]["providerConfigRef"]["name"] == composite["providerConfigs"][
                    "azure" if obj["kind"].startswith("TrafficManager") else "aws"]
        expected = ([f"{dns_truth['targets'][composite['primary']]}."] if mode == "traffic-manager" else [],
                    [dns_truth["primary"]])
        _wait_answer(platform, dns_truth["name"], expected)
    ledger = next(c for c in truth["composites"] if c["name"] == "ledger-db")
    assert ledger["primary"] == "azure" and ledger["dns"]["primary"].startswith("198.51.100.")
    _follows_the_primary(platform, ledger, mode)
    wait_for(lambda: all(platform.ready(c["name"], c["namespace"]) for c in truth["composites"]), 15,
             what="every XR Ready")
    assert platform.box.target.model_dump(by_alias=True)["sandbox"]["dns"] == mode
