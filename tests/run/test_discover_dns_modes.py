"""``xpchaos discover`` per DNS wiring: on a blueprint sandbox in each ``--dns`` mode (the five started in parallel),
the walk records each composite's wiring (``core.dns_wiring``) and the DNS record as that wiring makes it, compared
with the sandbox's ground truth (``platform.json``) and with its own target file: the XR's name, type A, the
primary's address reached through the nameserver (in ``traffic-manager`` through the CNAME to the endpoint's name),
the secondary's where an object names it, the DNS objects the XR composes (the DNSEndpoint in the tree too).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support import dnsmodes
from xpchaos.core import dns_wiring
from xpchaos.core import target as targets
from xpchaos.core.target_model import Nameserver
from xpchaos.probes import dns_sampler
from xpchaos.run import discover

XR_KIND = "xglobaldatabases.database.example.org"


Walk = tuple[discover.Discovery, targets.Target]


def _walk(box: dnsmodes.ModeBox, directory: Path) -> Walk:
    """The sandbox walked as ``xpchaos discover --xr ... --nameserver ...`` walks it, and the target it writes."""
    xr = box.composite
    roots = [discover.Kind(xr["apiVersion"], xr["kind"], xr["plural"], False).ref(xr["name"], None)]
    found = discover.walk(box.api, roots, "xpchaos-sandbox", box.sandbox.kubeconfig,
                          (Nameserver("127.0.0.1", box.port),))
    path = directory / "discovered.yaml"
    path.write_text(discover.target_text(found))
    return found, targets.load(path)


@pytest.fixture(scope="module")
def modes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[dnsmodes.ModeBox, Walk]]]:
    """One steady blueprint sandbox per DNS mode, each walked, all at once."""
    with ExitStack() as stack, ThreadPoolExecutor(len(dns_wiring.WIRINGS)) as pool:
        def one(mode: str) -> tuple[dnsmodes.ModeBox, Walk]:
            directory = tmp_path_factory.mktemp(mode)
            box = stack.enter_context(dnsmodes.blueprint(directory / "sandbox", mode))
            return box, _walk(box, directory)

        started = {mode: pool.submit(one, mode) for mode in dns_wiring.WIRINGS}
        yield {mode: future.result() for mode, future in started.items()}


@pytest.fixture(scope="module")
def boxes(modes: dict[str, tuple[dnsmodes.ModeBox, Walk]]) -> dict[str, dnsmodes.ModeBox]:
    return {mode: box for mode, (box, _walk) in modes.items()}


@pytest.fixture(scope="module")
def walks(modes: dict[str, tuple[dnsmodes.ModeBox, Walk]]) -> dict[str, Walk]:
    return {mode: walk for mode, (_box, walk) in modes.items()}


@pytest.mark.parametrize("mode", dns_wiring.WIRINGS)
def test_the_record_as_the_wiring_makes_it(boxes: dict[str, dnsmodes.ModeBox],
                                           walks: dict[str, Walk],
                                           mode: str) -> None:
    box, (found, written) = boxes[mode], walks[mode]
    truth = box.composite["dns"]
    assert box.truth["dns"]["mode"] == mode
    assert [xr.wiring for xr in found.composites] == [mode]
    (record,) = written.dns
    assert (record.name, record.type, record.wiring) == (truth["name"], "A", mode)
    assert record.primary == (truth["primary"],)
    # provider and external-dns name only the side answering now: the secondary is left to the user
    assert record.secondary == (() if mode in (dns_wiring.PROVIDER, dns_wiring.EXTERNAL_DNS) else
                                (truth["secondary"],))
    assert dns_sampler.ask(record, record.nameservers[0]) == record.primary  # through the CNAME chain, too
    sandbox_record = box.sandbox.target.dns[0]  # the sandbox's own target says the same (the default unsaid)
    assert (sandbox_record.name, sandbox_record.type, sandbox_record.wiring, sandbox_record.primary) == \
        (record.name, record.type, None if mode == dns_wiring.FUNCTION else record.wiring, record.primary)
    assert written.primary.name == box.composite["primary"]


@pytest.mark.parametrize("mode", dns_wiring.WIRINGS)
def test_the_dns_objects_the_xr_composes(walks: dict[str, Walk],
                                         boxes: dict[str, dnsmodes.ModeBox], mode: str) -> None:
    (xr,) = walks[mode][0].composites
    truth = {(o["kind"], o["name"]) for o in boxes[mode].composite["dns"]["objects"]}
    listed = {(mr.ref.kind, mr.ref.name) for mr in xr.managed} | {(r.kind, r.name) for r in xr.dns_objects}
    assert truth <= listed
    assert {(r.kind, r.name) for r in xr.dns_objects} == {k for k in truth if k[0] == dns_wiring.DNS_ENDPOINT}
    tree = discover.tree_text(walks[mode][0])
    assert all(f"{kind}/{name}" in tree for kind, name in truth)


def test_what_discover_could_not_tell_is_marked_for_review(walks: dict[str, Walk]) -> None:
    for mode in dns_wiring.WIRINGS:
        text = walks[mode][1].path.read_text()
        assert f"# DNS: {mode}" in text
        named_secondary = mode not in (dns_wiring.PROVIDER, dns_wiring.EXTERNAL_DNS)
        assert ("names only the side it answers now" in text) != named_secondary, mode
        assert "Traffic Manager profile's name" not in text  # the name users resolve was confirmed by DNS


def test_a_traffic_manager_profile_without_an_answering_name_keeps_its_fqdn() -> None:
    """No nameserver to confirm a name: the profile's own FQDN (``<relativeName>.trafficmanager.net``), its sides
    by priority, an endpoint given by address kept as it is."""
    profile = {"apiVersion": "network.azure.upbound.io/v1beta1", "kind": "TrafficManagerProfile",
               "metadata": {"name": "checkout-tm"},
               "spec": {"forProvider": {"dnsConfig": [{"relativeName": "checkout", "ttl": 30}]}}}

    def endpoint(name: str, target: str, priority: int) -> dict[str, Any]:
        return {"apiVersion": "network.azure.upbound.io/v1beta1", "kind": "TrafficManagerExternalEndpoint",
                "metadata": {"name": name}, "spec": {"forProvider": {
                    "profileIdRef": {"name": "checkout-tm"}, "target": target, "priority": priority}}}

    objects = [profile, endpoint("checkout-azure", "198.51.100.20", 2),
               endpoint("checkout-aws", "checkout-aws.example.org", 1)]
    record = discover.traffic_manager(profile, objects)
    assert record is not None
    assert (record.name, record.type, record.ttl) == ("checkout.trafficmanager.net", "A", 30)
    assert record.targets == {"primary": "checkout-aws.example.org", "secondary": "198.51.100.20"}
    assert record.sides == {"primary": [], "secondary": ["198.51.100.20"]}
    assert record.clouds == {"primary": "aws", "secondary": "azure"}
    assert record.candidates == ("checkout.example.org",)
    found = discover.Discovery("ctx", None, records={record.name: record})
    discover._ask(found)  # no nameserver: nothing confirmed, nothing asked
    assert record.answer is None and not record.confirmed
    assert "# REVIEW: checkout.trafficmanager.net: Traffic Manager profile's name" in discover._dns_text(found)
