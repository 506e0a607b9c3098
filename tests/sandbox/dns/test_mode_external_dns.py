"""``--dns external-dns``: the XR composes a DNSEndpoint, the failover function changes its targets, and a simulated
ExternalDNS syncs it into the zone every ``--interval`` with its own TSIG key: revoking AWS's credentials (the
Crossplane side) does not stop it, so the answer moves."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import dns.tsig
import pytest

from tests.support import dnsmodes
from tests.support.waiting import wait_for
from xpchaos.sandbox.dns.rfc2136 import load_tsig_key, replace_rrset


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dnsmodes.ModeBox]:
    with dnsmodes.blueprint(tmp_path_factory.mktemp("externaldns"), "external-dns", "dns_interval=0.5",
                            "failback=60") as box:
        yield box


def test_the_xr_composes_a_dnsendpoint_that_externaldns_syncs(box: dnsmodes.ModeBox) -> None:
    ref = box.dns_object("dns-endpoint")
    assert (ref["apiVersion"], ref["kind"]) == ("externaldns.k8s.io/v1alpha1", "DNSEndpoint")
    endpoint = box.get(ref)
    assert endpoint["spec"]["endpoints"] == [{"dnsName": "api.xpchaos.test", "recordType": "A", "recordTTL": 2,
                                              "targets": [box.composite["dns"]["primary"]]}]
    owner = endpoint["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("XGlobalDatabase", "production-db", True)
    refs = box.xr()["spec"]["resourceRefs"]
    assert {"apiVersion": ref["apiVersion"], "kind": "DNSEndpoint", "name": ref["name"],
            "namespace": ref["namespace"]} in refs
    wait_for(lambda: (box.get(ref).get("status") or {}).get("observedGeneration") == endpoint["metadata"]["generation"],
             5, what="ExternalDNS to record the DNSEndpoint's observedGeneration")
    # ExternalDNS runs with its own flags and credentials, as its chart leaves it
    deployment = box.apps.read_namespaced_deployment("external-dns", "external-dns")
    args = deployment.spec.template.spec.containers[0].args
    assert "--interval=500ms" in args and "--source=crd" in args and "--provider=rfc2136" in args
    assert box.truth["dns"]["externalDNS"]["interval"] == 0.5



def test_externaldns_signs_with_a_key_of_its_own_that_the_zone_accepts(box: dnsmodes.ModeBox) -> None:
    args = box.apps.read_namespaced_deployment("external-dns", "external-dns").spec.template.spec.containers[0].args
    flags = dict(a.removeprefix("--").split("=", 1) for a in args if "=" in a)
    stored = box.core.read_namespaced_secret("external-dns-rfc2136", "external-dns").data["tsig-secret"]
    secret = base64.b64decode(base64.b64decode(stored))
    key = dns.tsig.Key(flags["rfc2136-tsig-keyname"], secret, flags["rfc2136-tsig-secret-alg"])
    assert key.secret != load_tsig_key(box.sandbox.state_dir / "tsig.key").secret
    server = ("127.0.0.1", box.port)
    assert asyncio.run(replace_rrset(server, flags["rfc2136-zone"], "probe.xpchaos.test", "A", ["192.0.2.99"], 2,
                                     key)) == 0
    assert box.addresses("probe.xpchaos.test") == ["192.0.2.99"]


def test_revoked_aws_credentials_move_the_answer_through_the_dnsendpoint(box: dnsmodes.ModeBox) -> None:
    secondary = box.composite["dns"]["secondary"]
    ref = box.dns_object("dns-endpoint")
    original = box.revoke_aws()
    try:
        wait_for(lambda: box.get(ref)["spec"]["endpoints"][0]["targets"] == [secondary], 15,
                 what="the failover function to point the DNSEndpoint at Azure")
        box.wait_answer(secondary, 5, what="ExternalDNS to sync the DNSEndpoint into the zone")
        assert box.dig_short() == [secondary]
        endpoint = box.get(ref)
        assert endpoint["status"]["observedGeneration"] == endpoint["metadata"]["generation"]
    finally:
        box.restore_aws(original)
