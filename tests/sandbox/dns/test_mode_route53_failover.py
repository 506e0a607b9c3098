"""``--dns route53-failover``: a PRIMARY and a SECONDARY Record and the primary's HealthCheck; the simulated Route53
answers by the health check, evaluated every ``requestInterval`` against the primary's service endpoint with
``failureThreshold``, independent of Crossplane. The answer moves when ``invertHealthcheck`` is set or the primary's
endpoint stops answering, without any ProviderConfig, Secret or NetworkPolicy being touched."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support import dnsmodes


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dnsmodes.ModeBox]:
    with dnsmodes.blueprint(tmp_path_factory.mktemp("route53"), "route53-failover") as box:
        yield box


def test_a_failover_pair_and_the_primarys_health_check(box: dnsmodes.ModeBox) -> None:
    dns = box.composite["dns"]
    assert [(o["kind"], o["resource"]) for o in dns["objects"]] == [
        ("Record", "api-primary"), ("Record", "api-secondary"), ("HealthCheck", "aws-health")]
    primary = box.for_provider(box.managed("api-primary"))
    secondary = box.for_provider(box.managed("api-secondary"))
    check = box.for_provider(box.managed("aws-health"))
    assert primary["failoverRoutingPolicy"] == [{"type": "PRIMARY"}] and primary["records"] == [dns["primary"]]
    assert secondary["failoverRoutingPolicy"] == [{"type": "SECONDARY"}] and secondary["records"] == [dns["secondary"]]
    assert primary["healthCheckId"] == box.managed("aws-health")["name"] and "healthCheckId" not in secondary
    assert check["ipAddress"] == dns["primary"] and check["port"] == 443
    assert box.truth["dns"]["healthCheck"] == {"requestInterval": check["requestInterval"],
                                               "failureThreshold": check["failureThreshold"]}
    # as upjet reports after a refresh: what AWS holds (the spec as applied) and its id
    observed = box.get(box.managed("aws-health"))["status"]["atProvider"]
    assert observed == {**check, "id": box.managed("aws-health")["name"]}


def test_an_inverted_health_check_moves_the_answer_without_crossplane(box: dnsmodes.ModeBox) -> None:
    dns, check = box.composite["dns"], box.managed("aws-health")
    untouched = box.sandbox.resource_versions()
    box.patch(check, {"spec": {"forProvider": {"invertHealthcheck": True}}})
    box.wait_answer(dns["secondary"], 10, what="Route53 answering the SECONDARY once the check is inverted")
    assert box.dig_short() == [dns["secondary"]]
    box.patch(check, {"spec": {"forProvider": {"invertHealthcheck": False}}})
    box.wait_answer(dns["primary"], 10, what="Route53 answering the PRIMARY again")
    assert box.serving() == "aws", "the failover function took no part"
    assert box.sandbox.resource_versions() == untouched


def test_the_primary_endpoint_not_answering_moves_the_answer_after_the_failure_threshold(
        box: dnsmodes.ModeBox) -> None:
    dns, check = box.composite["dns"], box.for_provider(box.managed("aws-health"))
    untouched = box.sandbox.resource_versions()
    database = box.managed("aurora")
    group, version = database["apiVersion"].split("/")
    # the database MR deleted: provider-aws-rds deletes the cluster, and its endpoint stops answering
    box.custom.delete_cluster_custom_object(group, version, database["plural"], database["name"])
    stopped = time.monotonic()
    box.wait_answer(dns["secondary"], 10, what="Route53 answering the SECONDARY after the failed checks")
    took = time.monotonic() - stopped
    # failureThreshold checks every requestInterval must fail first: the first at once at the earliest
    assert took >= (check["failureThreshold"] - 1) * check["requestInterval"] - 0.1, took
    assert box.sandbox.resource_versions() == untouched
