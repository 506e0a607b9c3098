"""``--dns provider``: the failover function changes the composed Route53 Record and the simulated route53 provider
applies it to the zone, only while the Record's ProviderConfig works. Revoking AWS's credentials therefore freezes
the failover (the circular dependency): the XR fails over, the Record asks for Azure, DNS keeps answering AWS
through every retry of the provider, and moves once the credentials are back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import dnsmodes
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dnsmodes.ModeBox]:
    # a long failback, so the answer stays on Azure once it got there
    with dnsmodes.blueprint(tmp_path_factory.mktemp("provider"), "provider", "failback=60") as box:
        yield box


def test_the_xr_composes_one_record_at_the_primary(box: dnsmodes.ModeBox) -> None:
    truth = box.truth
    assert truth["dns"]["mode"] == "provider"
    assert [(o["kind"], o["resource"]) for o in box.composite["dns"]["objects"]] == [("Record", "api-record")]
    record = box.for_provider(box.managed("api-record"))
    assert record["name"] == "api.xpchaos.test" and record["records"] == [box.composite["dns"]["primary"]]
    assert not record.get("failoverRoutingPolicy")
    assert box.sandbox.target.model_dump(by_alias=True)["sandbox"]["dns"] == "provider"


def test_revoked_aws_credentials_freeze_the_record_until_they_are_restored(box: dnsmodes.ModeBox) -> None:
    primary, secondary = box.composite["dns"]["primary"], box.composite["dns"]["secondary"]
    record = box.managed("api-record")
    original = box.revoke_aws()
    try:
        # the function does its part: the XR serves from Azure again, the Record's spec asks for Azure's address
        wait_for(lambda: box.for_provider(record)["records"] == [secondary], 15,
                 what="the failover function to set the Record to Azure's address")
        wait_for(lambda: box.serving() == "azure" and any(
            c["type"] == "Ready" and c["status"] == "True" for c in box.xr()["status"]["conditions"]), 10,
            what="the XR Ready on Azure")
        synced = next(c for c in box.get(record)["status"]["conditions"] if c["type"] == "Synced")
        assert synced["status"] == "False" and "InvalidClientTokenId" in synced["message"]
        # the provider keeps retrying the changed Record and cannot connect: over two more retries, DNS stays
        retried_from = box.failures(record["name"])

        def frozen_over_two_retries() -> bool:
            assert box.addresses() == [primary], "DNS moved while route53's ProviderConfig could not connect"
            # the provider reports what AWS holds only after a successful reconcile: still the old address
            assert box.get(record)["status"]["atProvider"]["records"] == [primary]
            return box.failures(record["name"]) >= retried_from + 2

        wait_for(frozen_over_two_retries, 10, what="two more failed reconciles of the Record")
        assert box.dig_short() == [primary]
    finally:
        box.restore_aws(original)
    box.wait_answer(secondary, 10, what="the restored provider to apply the Record: DNS answering Azure")
    assert box.dig_short() == [secondary]
    wait_for(lambda: any(c["type"] == "Synced" and c["status"] == "True"
                         for c in box.get(record)["status"]["conditions"]), 5, what="the Record Synced again")
    assert box.get(record)["status"]["atProvider"]["records"] == [secondary]
