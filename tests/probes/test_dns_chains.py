"""The DNS sampler through CNAME chains and nameservers written as hostnames.

On a blueprint sandbox in ``traffic-manager`` mode (the name answers a CNAME to the serving side's endpoint name):
the sampler sees the chain move from ``api-aws`` to ``api-azure`` when AWS's credentials are revoked, with the
smallest TTL along it, as ``dig +short`` shows it; a CNAME record's answer is its target; a nameserver written as
``localhost`` is resolved and asked. On literal nameservers (tests/support/plain_dns.py, which never follow a
chain): a target left out of the answer is asked for, AAAA through a chain, a loop is an error entry, and a
hostname's addresses followed when they change.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import dnsmodes, plain_dns
from tests.support.waiting import wait_for
from xpchaos.core import target as targets
from xpchaos.core.target_model import DnsRecord, Nameserver
from xpchaos.probes import dns_sampler, failover
from xpchaos.probes import timeline as tl
from xpchaos.run import preflight

NAME = "api.xpchaos.test"


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dnsmodes.ModeBox]:
    with dnsmodes.blueprint(tmp_path_factory.mktemp("traffic-manager"), "traffic-manager") as mode_box:
        yield mode_box


def _record(name: str, nameservers: list[str], kind: str = "A") -> DnsRecord:
    return DnsRecord.model_validate({"name": name, "type": kind, "nameservers": nameservers, "primary": [],
                                     "secondary": []})


def _answers(timeline: tl.Timeline) -> list[tl.Entry]:
    return [e for e in timeline.entries() if e.what == tl.ANSWER]


@pytest.fixture
def sampler() -> Iterator[list[dns_sampler.DnsSampler]]:
    """Samplers stopped at teardown whatever the test did."""
    started: list[dns_sampler.DnsSampler] = []
    yield started
    for one in started:
        one.stop()
    assert not [t.name for one in started for t in one.threads() if t.is_alive()]


def _start(started: list[dns_sampler.DnsSampler], records: tuple[DnsRecord, ...], **options: object) \
        -> tuple[dns_sampler.DnsSampler, tl.Timeline]:
    timeline = tl.Timeline()
    one = dns_sampler.DnsSampler(records, timeline, **options)  # type: ignore[arg-type]
    started.append(one)
    one.start()
    return one, timeline


def test_dig_shows_the_chain_the_sampler_reports(box: dnsmodes.ModeBox) -> None:
    record = box.sandbox.target.dns[0]
    seen = dns_sampler.served(record, record.nameservers[0])
    dug = box.dig_short(NAME)  # the CNAME target (absolute), then the address
    assert [name.rstrip(".") for name in dug[:-1]] == list(seen.chain[1:]) and dug[-1:] == list(seen.answers)


def test_a_cname_record_answers_its_target(box: dnsmodes.ModeBox) -> None:
    record = box.sandbox.target.dns[0]
    seen = dns_sampler.served(_record(NAME, [str(box.sandbox.dns)], "CNAME"), record.nameservers[0])
    assert seen.answers == (f"{box.composite['dns']['targets'][box.serving()]}.",) and seen.chain == ()


def test_a_hostname_nameserver_is_resolved_and_asked(box: dnsmodes.ModeBox,
                                                     sampler: list[dns_sampler.DnsSampler]) -> None:
    by_name = _record(NAME, [f"localhost:{box.port}"])
    assert by_name.nameservers == (Nameserver("localhost", box.port),)
    by_address = box.sandbox.target.dns[0]
    assert dns_sampler.served(by_name, by_name.nameservers[0]) == \
        dns_sampler.served(by_address, by_address.nameservers[0])
    resolutions: list[tuple[Nameserver, ...]] = []

    def resolve(nameserver: Nameserver) -> tuple[Nameserver, ...]:  # the system resolver, counted
        resolutions.append(dns_sampler.endpoints(nameserver))
        return resolutions[-1]

    one, timeline = _start(sampler, (by_name,), resolve_every=0.1, resolve=resolve)
    wait_for(lambda: one.synced and len(resolutions) >= 3, 5, what="the first answer and two more resolutions")
    one.stop()
    assert set(resolutions) == {(Nameserver("127.0.0.1", box.port),)}
    resolved, answer = [e for e in timeline.entries() if e.what in (tl.ADDRESSES, tl.ANSWER)][:2]
    assert resolved.what == tl.ADDRESSES and resolved.involved == {"addresses": "127.0.0.1"}
    assert resolved.nameserver == answer.nameserver == f"localhost:{box.port}"
    assert answer.answers == dns_sampler.served(by_address, by_address.nameservers[0]).answers
    assert [e.what for e in timeline.entries()].count(tl.ADDRESSES) == 1  # resolved again, to the same address


def test_the_steady_state_probe_and_preflight_ask_a_hostname_nameserver(box: dnsmodes.ModeBox,
                                                                         tmp_path: Path) -> None:
    """They ask through ``dns_sampler.ask``: the target's nameserver written as ``localhost:PORT`` works as its
    address does, the answer reached through the CNAME chain."""
    assert box.sandbox.target_path is not None
    doc = yaml.safe_load(box.sandbox.target_path.read_text())
    doc["dns"][0]["nameservers"] = [f"localhost:{box.port}"]
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert failover.dns_answers_primary(target=str(path)) is True  # before the failover test, the last one
    (finding,) = preflight.check_dns(targets.load(path))
    assert (finding.status, finding.message) == ("ok", f"localhost:{box.port} for {NAME} A: answers the primary "
                                                       f"({box.composite['dns']['primary']})")


def test_a_target_left_out_of_the_answer_is_asked_for_aaaa_too(sampler: list[dns_sampler.DnsSampler]) -> None:
    records: plain_dns.Records = {("api.example.test.", "CNAME"): ("api-v6.example.test.",),
                                  ("api-v6.example.test.", "CNAME"): ("edge.example.test.",),
                                  ("edge.example.test.", "AAAA"): ("2001:db8::10", "2001:db8::11")}
    with plain_dns.serving(records) as server:
        server.ttl[("api-v6.example.test.", "CNAME")] = 7
        record = _record("api.example.test", [f"127.0.0.1:{server.port}"], "AAAA")
        seen = dns_sampler.served(record, record.nameservers[0])
        assert server.asked == 3  # one question per link: the server never followed the chain
    assert seen == dns_sampler.Served(("2001:db8::10", "2001:db8::11"), 7,
                                      ("api.example.test", "api-v6.example.test", "edge.example.test"))


def test_a_cname_loop_is_an_error_entry(sampler: list[dns_sampler.DnsSampler]) -> None:
    records: plain_dns.Records = {("a.example.test.", "CNAME"): ("b.example.test.",),
                                  ("b.example.test.", "CNAME"): ("a.example.test.",)}
    with plain_dns.serving(records) as server:
        one, timeline = _start(sampler, (_record("a.example.test", [f"127.0.0.1:{server.port}"]),))
        wait_for(lambda: one.synced, 5, what="the first look")
        entry = timeline.entries()[0]
        one.stop()
    assert entry.what == tl.DNS_ERROR and entry.initial
    assert entry.message == "ChainError: CNAME loop: a.example.test -> b.example.test -> a.example.test"


def test_the_sampler_follows_a_hostnames_addresses(sampler: list[dns_sampler.DnsSampler]) -> None:
    """The name resolves to 127.0.0.1, then to both, then to 127.0.0.2 only, then to nothing: a resolution is
    recorded each time, the old address is no longer asked, and the answer changes only once every address
    answers the same."""
    resolves: list[tuple[str, ...]] = [("127.0.0.1",)]

    def resolve(nameserver: Nameserver) -> tuple[Nameserver, ...]:
        if not resolves[-1]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return tuple(Nameserver(a, nameserver.port) for a in resolves[-1])

    with plain_dns.serving({("api.example.test.", "A"): ("192.0.2.10",)}) as old, \
            plain_dns.serving({("api.example.test.", "A"): ("198.51.100.20",)}, "127.0.0.2", old.port) as new:
        record = _record("api.example.test", [f"ns.example.test:{old.port}"])
        one, timeline = _start(sampler, (record,), resolve_every=0.2, resolve=resolve)
        wait_for(lambda: one.synced, 5, what="the first answer")
        resolves.append(("127.0.0.1", "127.0.0.2"))
        wait_for(lambda: new.asked > 3, 5, what="the new address asked")
        assert [e.answers for e in _answers(timeline)] == [("192.0.2.10",)]  # the addresses disagree: no change
        resolves.append(("127.0.0.2",))
        wait_for(lambda: len(_answers(timeline)) == 2, 5, what="the answer of the one address left")
        asked = old.asked
        wait_for(lambda: new.asked > asked + 3, 5, what="more questions to the new address")
        assert old.asked <= asked + 1  # at most one question was in flight when it was dropped
        resolves.append(())
        wait_for(lambda: timeline.entries()[-1].what == tl.DNS_ERROR, 5, what="the resolution error")
    dns_entries = [(e.what, e.involved.get("addresses"), e.answers) for e in timeline.entries()]
    assert dns_entries == [(tl.ADDRESSES, "127.0.0.1", ()), (tl.ANSWER, None, ("192.0.2.10",)),
                           (tl.ADDRESSES, "127.0.0.1,127.0.0.2", ()), (tl.ADDRESSES, "127.0.0.2", ()),
                           (tl.ANSWER, None, ("198.51.100.20",)), (tl.DNS_ERROR, None, ())]
    assert timeline.entries()[-1].message == ("cannot resolve nameserver ns.example.test: gaierror: "
                                              f"[Errno {socket.EAI_NONAME}] Name or service not known")
    assert {e.nameserver for e in timeline.entries()} == {f"ns.example.test:{old.port}"}


def test_one_question_to_a_hostname_nameserver() -> None:
    """``ask`` (what preflight, the steady-state probe and discover ask through) resolves the name first."""
    with plain_dns.serving({("api.example.test.", "A"): ("192.0.2.10",)}) as one:
        record = _record("api.example.test", [f"localhost:{one.port}"])
        assert dns_sampler.ask(record, record.nameservers[0]) == ("192.0.2.10",)


def test_the_chain_moves_from_aws_to_azure(box: dnsmodes.ModeBox,
                                           sampler: list[dns_sampler.DnsSampler]) -> None:
    truth = box.composite["dns"]
    record = box.sandbox.target.dns[0]
    assert (record.name, record.type, record.wiring) == (NAME, "A", "traffic-manager")
    one, timeline = _start(sampler, (record,))
    wait_for(lambda: one.synced, 5, what="the first answer")
    first = _answers(timeline)[0]
    assert first.chain == (NAME, truth["targets"]["aws"]) and first.answers == (truth["primary"],)
    assert first.answers == record.primary and first.initial
    assert first.ttl == box.truth["dns"]["ttl"]  # the CNAME's and the endpoint name's A: both the profile's TTL
    original = box.revoke_aws()
    try:
        moved = wait_for(lambda: next((e for e in _answers(timeline) if e.answers == record.secondary),
                                                None), 30, what="the answer through api-azure")
    finally:
        box.restore_aws(original)
    assert moved is not None and moved.chain == (NAME, truth["targets"]["azure"]) and not moved.initial
    assert moved.as_dict()["chain"] == [NAME, truth["targets"]["azure"]]  # as the journal keeps it
    assert tl.entries_from_json([moved.as_dict()])[0].chain == moved.chain
