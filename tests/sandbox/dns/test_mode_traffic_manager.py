"""``--dns traffic-manager``: an Azure Traffic Manager profile with Priority routing and one external endpoint per
cloud; the name answers a CNAME to the highest-priority endpoint that is enabled and healthy by the profile's own
probes. Disabling the primary's endpoint, revoking AWS's credentials (the failover function reorders the
priorities through provider-azure-network) and the primary's endpoint not answering each move the CNAME."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support import dnsmodes
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dnsmodes.ModeBox]:
    with dnsmodes.blueprint(tmp_path_factory.mktemp("trafficmanager"), "traffic-manager",
                            "health_interval=0.5") as box:
        yield box


def targets(box: dnsmodes.ModeBox) -> dict[str, str]:
    return {cloud: f"{name}." for cloud, name in box.composite["dns"]["targets"].items()}


def wait_cname(box: dnsmodes.ModeBox, cloud: str, timeout: float, what: str) -> None:
    expected = ([targets(box)[cloud]], [box.composite["dns"]["primary" if cloud == "aws" else "secondary"]])
    wait_for(lambda: box.answer() == expected, timeout, what=what)


def test_answers_a_cname_to_the_highest_priority_endpoint(box: dnsmodes.ModeBox) -> None:
    dns = box.composite["dns"]
    assert dns["type"] == "CNAME" and targets(box) == {"aws": "api-aws.xpchaos.test.",
                                                       "azure": "api-azure.xpchaos.test."}
    assert [(o["kind"], o["resource"]) for o in dns["objects"]] == [
        ("TrafficManagerProfile", "traffic-manager"), ("TrafficManagerExternalEndpoint", "tm-aws"),
        ("TrafficManagerExternalEndpoint", "tm-azure")]
    profile = box.for_provider(box.managed("traffic-manager"))
    assert profile["trafficRoutingMethod"] == "Priority"
    assert profile["monitorConfig"][0]["intervalInSeconds"] == 0.5
    assert profile["monitorConfig"][0]["toleratedNumberOfFailures"] == 3
    endpoints = {cloud: box.for_provider(box.managed(f"tm-{cloud}")) for cloud in ("aws", "azure")}
    assert {c: (e["priority"], e["target"], e["enabled"]) for c, e in endpoints.items()} == {
        "aws": (1, "api-aws.xpchaos.test", True), "azure": (2, "api-azure.xpchaos.test", True)}
    assert box.answer() == (["api-aws.xpchaos.test."], [dns["primary"]])
    assert box.dig_short() == ["api-aws.xpchaos.test.", dns["primary"]]


def test_a_disabled_primary_endpoint_moves_the_cname(box: dnsmodes.ModeBox) -> None:
    endpoint = box.managed("tm-aws")
    box.patch(endpoint, {"spec": {"forProvider": {"enabled": False}}})
    wait_cname(box, "azure", 10, "the CNAME to Azure's endpoint once AWS's is disabled")
    box.patch(endpoint, {"spec": {"forProvider": {"enabled": True}}})
    wait_cname(box, "aws", 10, "the CNAME back to AWS's endpoint once it is enabled again")
    assert box.serving() == "aws", "the failover function took no part"


def test_revoked_aws_credentials_move_the_cname_through_the_priorities(box: dnsmodes.ModeBox) -> None:
    original = box.revoke_aws()
    try:
        wait_for(lambda: (box.for_provider(box.managed("tm-azure"))["priority"],
                          box.for_provider(box.managed("tm-aws"))["priority"]) == (1, 2), 15,
                 what="the failover function to give Azure's endpoint priority 1")
        wait_cname(box, "azure", 10, "the CNAME to Azure's endpoint")
        assert box.dig_short() == ["api-azure.xpchaos.test.", box.composite["dns"]["secondary"]]
    finally:
        box.restore_aws(original)
    wait_cname(box, "aws", 15, "the failback to AWS's endpoint")


def test_the_primary_endpoint_failing_its_probes_moves_the_cname(box: dnsmodes.ModeBox) -> None:
    monitor = box.for_provider(box.managed("traffic-manager"))["monitorConfig"][0]
    database = box.managed("aurora")
    group, version = database["apiVersion"].split("/")
    box.custom.delete_cluster_custom_object(group, version, database["plural"], database["name"])
    stopped = time.monotonic()
    wait_cname(box, "azure", 10, "the CNAME to Azure's endpoint once AWS's is Degraded")
    # Degraded after more than toleratedNumberOfFailures probes in a row, one every intervalInSeconds
    assert time.monotonic() - stopped >= monitor["toleratedNumberOfFailures"] * monitor["intervalInSeconds"] - 0.1
