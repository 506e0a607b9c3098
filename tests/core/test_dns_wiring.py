"""The DNS wiring read from a composite's composed objects, as each real product shapes them."""

from xpchaos.core import dns_wiring as w

R53 = "route53.aws.upbound.io/v1beta1"


def record(name: str, **for_provider: object) -> dict:
    return {"apiVersion": R53, "kind": "Record", "metadata": {"name": name}, "spec": {"forProvider": for_provider}}


def check(name: str, **for_provider: object) -> dict:
    return {"apiVersion": R53, "kind": "HealthCheck", "metadata": {"name": name},
            "spec": {"forProvider": for_provider}}


def failover_pair(health: dict) -> list[dict]:
    return [record("p", failoverRoutingPolicy=[{"type": "PRIMARY"}], healthCheckId="hc"),
            record("s", failoverRoutingPolicy=[{"type": "SECONDARY"}]), health]


def test_a_primary_record_routed_by_an_enabled_check_is_route53_failover() -> None:
    wiring = w.classify(failover_pair(check("hc", requestInterval=30, failureThreshold=3)))
    assert (wiring.mode, [o["metadata"]["name"] for o in wiring.health]) == (w.ROUTE53_FAILOVER, ["hc"])
    assert wiring.health_routed


def test_a_disabled_check_routes_nothing_so_dns_is_written_elsewhere() -> None:
    wiring = w.classify(failover_pair(check("hc", disabled=True)))
    assert (wiring.mode, wiring.health, wiring.health_routed) == (w.FUNCTION, (), False)


def test_the_check_is_found_by_reference_or_external_name() -> None:
    by_ref = [record("p", failoverRoutingPolicy=[{"type": "PRIMARY"}], healthCheckIdRef={"name": "hc"}), check("hc")]
    external = check("hc-x")
    external["metadata"]["annotations"] = {"crossplane.io/external-name": "abcd-1234"}
    by_id = [record("p", failoverRoutingPolicy=[{"type": "PRIMARY"}], healthCheckId="abcd-1234"), external]
    assert w.classify(by_ref).mode == w.classify(by_id).mode == w.ROUTE53_FAILOVER


def test_a_simple_record_is_moved_through_its_provider() -> None:
    wiring = w.classify([record("api", records=["192.0.2.10"])])
    assert (wiring.mode, [o["metadata"]["name"] for o in wiring.movers]) == (w.PROVIDER, ["api"])


def test_external_dns_and_traffic_manager() -> None:
    endpoint = {"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint", "metadata": {"name": "e"}}
    profile = {"apiVersion": "network.azure.upbound.io/v1beta1", "kind": "TrafficManagerProfile",
               "metadata": {"name": "tm"}}
    tm_endpoint = {"apiVersion": "network.azure.upbound.io/v1beta1", "kind": "TrafficManagerExternalEndpoint",
                   "metadata": {"name": "tm-aws"}, "spec": {"forProvider": {"enabled": True, "priority": 1}}}
    assert w.classify([endpoint]).mode == w.EXTERNAL_DNS
    wiring = w.classify([profile, tm_endpoint])
    assert (wiring.mode, wiring.health_routed) == (w.TRAFFIC_MANAGER, True)
    assert w.classify([]).mode == w.FUNCTION
