"""The sandbox DNS server over the wire: dnspython and the real ``dig`` ask, ``replace_address`` updates."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.update
import pytest

from tests.sandbox.dns.helpers import RunningDns
from tests.support.bind9 import API, KEY_NAME, ZONE, dig
from xpchaos.sandbox.dns.rfc2136 import UpdateFailed, generate_tsig_key, replace_address
from xpchaos.sandbox.dns.zone import Zone, default_zone_text

HOST = "127.0.0.1"


def udp(port: int, name: str, rdtype: str, **kwargs: object) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype, **kwargs), HOST, port=port, timeout=2)  # type: ignore[arg-type]


def tcp(port: int, name: str, rdtype: str) -> dns.message.Message:
    return dns.query.tcp(dns.message.make_query(name, rdtype), HOST, port=port, timeout=2)


def a_values(response: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset)


def update(dns_: RunningDns, addresses: list[str], key: dns.tsig.Key | None, ttl: int = 5) -> int:
    return asyncio.run(replace_address(dns_.server.address, ZONE, API, addresses, ttl, key))


def soa_serial(port: int) -> int:
    answer = udp(port, ZONE, "SOA").answer
    assert len(answer) == 1
    return int(answer[0][0].serial)


def test_udp_and_tcp_share_one_port_and_answer_authoritatively(running_dns: RunningDns) -> None:
    assert running_dns.server.address == (HOST, running_dns.port)
    for response in (udp(running_dns.port, API, "A"), tcp(running_dns.port, API, "A")):
        assert response.rcode() == dns.rcode.NOERROR
        assert response.flags & dns.flags.AA
        assert a_values(response) == ["192.0.2.10"]
        assert response.answer[0].ttl == 5  # the configured TTL, as is
    ns = udp(running_dns.port, ZONE, "NS")
    assert [rd.to_text() for rd in ns.answer[0]] == ["ns1.xpchaos.test."]
    assert [rrset.to_text() for rrset in ns.additional] == ["ns1.xpchaos.test. 3600 IN A 127.0.0.1"]  # glue


def test_dig_reads_the_answer_over_udp_and_tcp(running_dns: RunningDns) -> None:
    assert dig(running_dns.port, "api.xpchaos.test", "A", "+short").split() == ["192.0.2.10"]
    assert dig(running_dns.port, "api.xpchaos.test", "A", "+short", "+tcp").split() == ["192.0.2.10"]
    full = dig(running_dns.port, "api.xpchaos.test", "A")
    assert "status: NOERROR" in full and "flags: qr aa rd;" in full
    assert "api.xpchaos.test.\t5\tIN\tA\t192.0.2.10" in full


def test_dig_sees_nxdomain_nodata_and_refused(running_dns: RunningDns) -> None:
    nx = dig(running_dns.port, "nope.xpchaos.test", "A")
    assert "status: NXDOMAIN" in nx and "ANSWER: 0, AUTHORITY: 1" in nx
    assert "xpchaos.test.\t\t5\tIN\tSOA\tns1.xpchaos.test. hostmaster.xpchaos.test. 1 3600 600 86400 5" in nx
    nodata = dig(running_dns.port, "api.xpchaos.test", "AAAA")
    assert "status: NOERROR" in nodata and "ANSWER: 0, AUTHORITY: 1" in nodata
    outside = dig(running_dns.port, "example.com", "A")
    assert "status: REFUSED" in outside and "ANSWER: 0, AUTHORITY: 0" in outside
    transfer = dig(running_dns.port, "xpchaos.test", "AXFR")
    assert "Transfer failed." in transfer  # allow-transfer { none; }, as the BIND test's named.conf


def test_other_opcodes_are_not_implemented_and_malformed_requests_are_formerr(running_dns: RunningDns) -> None:
    for opcode in (dns.opcode.NOTIFY, dns.opcode.STATUS, dns.opcode.IQUERY):
        query = dns.message.make_query(API, "A")
        query.set_opcode(opcode)
        assert dns.query.udp(query, HOST, port=running_dns.port, timeout=2).rcode() == dns.rcode.NOTIMP
    two_questions = dns.message.make_query(API, "A")
    two_questions.question.append(dns.message.make_query(ZONE, "SOA").question[0])
    assert dns.query.udp(two_questions, HOST, port=running_dns.port, timeout=2).rcode() == dns.rcode.FORMERR
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.connect((HOST, running_dns.port))
        # a response (QR set) must be ignored: the next datagram back answers the query sent after it
        sock.send(dns.message.make_response(dns.message.make_query(API, "A")).to_wire())
        # a header claiming one question that is not there
        sock.send(struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0))
        first = sock.recv(4096)
        assert first[:2] == b"\x12\x34" and first[3] & 0x0F == dns.rcode.FORMERR and first[2] & 0x80
        sock.send(dns.message.make_query(API, "A").to_wire())
        assert a_values(dns.message.from_wire(sock.recv(4096))) == ["192.0.2.10"]


def test_signed_update_switches_the_answer_and_bumps_the_serial_by_one(running_dns: RunningDns) -> None:
    before = soa_serial(running_dns.port)
    started = time.monotonic()
    assert update(running_dns, ["198.51.100.20"], running_dns.key) == dns.rcode.NOERROR
    finished = time.monotonic()
    assert dig(running_dns.port, "api.xpchaos.test", "A", "+short").split() == ["198.51.100.20"]
    assert dig(running_dns.port, "api.xpchaos.test", "A", "+short", "+tcp").split() == ["198.51.100.20"]
    answer = tcp(running_dns.port, API, "A").answer
    assert answer[0].ttl == 5
    assert soa_serial(running_dns.port) == before + 1
    records = running_dns.server.updates
    assert [(r.name, r.rdtype, r.values, r.serial) for r in records if r.rdtype == "A"] == [
        (API, "A", ("198.51.100.20",), before + 1)]
    assert all(started <= r.monotonic <= finished and r.key == KEY_NAME for r in records)
    # the same update again changes nothing: answered NOERROR, the serial stays
    assert update(running_dns, ["198.51.100.20"], running_dns.key) == dns.rcode.NOERROR
    assert soa_serial(running_dns.port) == before + 1
    assert len(running_dns.server.updates) == len(records)


@pytest.mark.parametrize(("how", "expected"), [
    ("unsigned", "answered REFUSED"),
    ("wrong secret", "answered NOTAUTH (TSIG BADSIG)"),
    ("unknown key", "answered NOTAUTH (TSIG BADKEY)"),
    ("signed 20 minutes ago", "answered NOTAUTH (TSIG BADTIME)"),  # outside the 300 s fudge: clock skew
])
def test_unsigned_or_wrongly_signed_updates_change_nothing(running_dns: RunningDns, how: str, expected: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    key = {"unsigned": None,
           "wrong secret": generate_tsig_key(KEY_NAME)[0],
           "unknown key": generate_tsig_key("somebody-else.")[0],
           "signed 20 minutes ago": running_dns.key}[how]
    if how == "signed 20 minutes ago":
        sign = dns.tsig.sign
        monkeypatch.setattr(dns.tsig, "sign", lambda wire, key, rdata, now, *rest, **kw:
                            sign(wire, key, rdata, now - 1200, *rest, **kw))
    before = soa_serial(running_dns.port)
    with pytest.raises(UpdateFailed) as failure:
        update(running_dns, ["198.51.100.20"], key)
    message = str(failure.value)
    assert expected in message and f"127.0.0.1#{running_dns.port}" in message
    assert failure.value.rcode == (dns.rcode.REFUSED if key is None else dns.rcode.NOTAUTH)
    assert dig(running_dns.port, "api.xpchaos.test", "A", "+short").split() == ["192.0.2.10"]
    assert soa_serial(running_dns.port) == before
    assert running_dns.server.updates == []


def test_udp_answers_over_512_bytes_are_truncated_without_edns(running_dns: RunningDns) -> None:
    many = [f"198.51.100.{i}" for i in range(1, 41)]  # 40 A records: ~700 bytes
    assert update(running_dns, many, running_dns.key) == dns.rcode.NOERROR
    plain = udp(running_dns.port, API, "A")
    assert plain.flags & dns.flags.TC and plain.answer == []
    assert a_values(tcp(running_dns.port, API, "A")) == sorted(many)
    with_edns = udp(running_dns.port, API, "A", use_edns=0, payload=1232)
    assert not with_edns.flags & dns.flags.TC and a_values(with_edns) == sorted(many)
    assert " tc " in dig(running_dns.port, "api.xpchaos.test", "A", "+noedns", "+ignore").split("flags:")[1][:20]
    assert sorted(dig(running_dns.port, "api.xpchaos.test", "A", "+noedns", "+short").split()) == sorted(many)


# ---- RFC 2136 rules, on the zone itself ------------------------------------------------------------------------


def fresh_zone() -> Zone:
    return Zone.from_text(default_zone_text() + "www 60 IN CNAME api\nmail 60 IN A 192.0.2.25\n"
                          "mail 60 IN A 192.0.2.26\nx.deep 60 IN TXT \"empty non-terminal above\"\n")


def apply(zone: Zone, message: dns.update.UpdateMessage) -> dns.rcode.Rcode:
    """Through the wire and back, as the server receives it."""
    return zone.apply_update(dns.message.from_wire(message.to_wire()))


def new_update(origin: str = ZONE) -> dns.update.UpdateMessage:
    return dns.update.UpdateMessage(origin)


def ask(zone: Zone, name: str, rdtype: str) -> dns.message.Message:
    return zone.respond(dns.message.make_query(name, rdtype))


def test_queries_follow_cnames_and_tell_empty_non_terminals_from_missing_names() -> None:
    zone = fresh_zone()
    www = ask(zone, "www.xpchaos.test.", "A")
    assert [rrset.to_text() for rrset in www.answer] == ["www.xpchaos.test. 60 IN CNAME api.xpchaos.test.",
                                                         "api.xpchaos.test. 5 IN A 192.0.2.10"]
    assert ask(zone, "deep.xpchaos.test.", "A").rcode() == dns.rcode.NOERROR
    assert ask(zone, "nothing.deep.xpchaos.test.", "A").rcode() == dns.rcode.NXDOMAIN
    assert ask(zone, "API.XPCHAOS.TEST.", "A").answer[0][0].to_text() == "192.0.2.10"  # names are case-insensitive


@pytest.mark.parametrize(("case", "rcode"), [
    ("zone section names another zone", dns.rcode.NOTAUTH),
    ("update names a record outside the zone", dns.rcode.NOTZONE),
    ("prerequisite: name in use (it is not)", dns.rcode.NXDOMAIN),
    ("prerequisite: name not in use (it is)", dns.rcode.YXDOMAIN),
    ("prerequisite: rrset exists (it does not)", dns.rcode.NXRRSET),
    ("prerequisite: rrset does not exist (it does)", dns.rcode.YXRRSET),
    ("prerequisite: rrset exists with these values (other values)", dns.rcode.NXRRSET),
])
def test_refused_updates_change_nothing(case: str, rcode: dns.rcode.Rcode) -> None:
    zone = fresh_zone()
    before, serial = zone.to_text(), zone.serial
    message = new_update("example.com." if case.startswith("zone section") else ZONE)
    if "outside" in case:
        message.add("api.example.com.", 5, "A", "198.51.100.20")
    elif "name in use" in case:
        message.present("nope")
    elif "name not in use" in case:
        message.absent("api")
    elif "rrset exists (it does not)" in case:
        message.present("api", "AAAA")
    elif "does not exist" in case:
        message.absent("api", "A")
    elif "values" in case:
        message.present("mail", "A", "192.0.2.25")  # the RRset also has 192.0.2.26
    message.replace("api", 5, "A", "198.51.100.20")
    assert apply(zone, message) == rcode
    assert zone.to_text() == before and zone.serial == serial


def test_prerequisites_that_hold_let_the_update_through() -> None:
    zone = fresh_zone()
    message = new_update()
    message.present("api")  # name is in use
    message.present("api", "A")  # RRset exists (value independent)
    message.present("mail", "A", "192.0.2.25", "192.0.2.26")  # RRset exists (value dependent)
    message.absent("api", "AAAA")  # RRset does not exist
    message.absent("fresh")  # name is not in use
    message.replace("api", 5, "A", "198.51.100.20")
    message.add("fresh", 30, "A", "203.0.113.7")
    assert apply(zone, message) == dns.rcode.NOERROR
    assert zone.addresses("api") == ["198.51.100.20"] and zone.addresses("fresh") == ["203.0.113.7"]
    assert zone.serial == 2  # one update, one increment, however many records it changed


def test_deleting_an_rrset_a_single_record_and_nothing() -> None:
    zone = fresh_zone()
    one_rr = new_update()
    one_rr.delete("mail", "A", "192.0.2.25")  # class NONE: this RR only
    assert apply(zone, one_rr) == dns.rcode.NOERROR
    assert zone.addresses("mail") == ["192.0.2.26"] and zone.serial == 2
    rrset = new_update()
    rrset.delete("api", "A")  # class ANY: the whole RRset; api has nothing else, so the name goes
    assert apply(zone, rrset) == dns.rcode.NOERROR
    assert ask(zone, "api.xpchaos.test.", "A").rcode() == dns.rcode.NXDOMAIN and zone.serial == 3
    nothing = new_update()
    nothing.delete("never-there", "A")
    assert apply(zone, nothing) == dns.rcode.NOERROR and zone.serial == 3  # no change, no new serial


def test_the_apex_soa_and_ns_survive_deletes() -> None:
    zone = fresh_zone()
    message = new_update()
    message.delete(ZONE + ".")  # class ANY type ANY at the apex: everything but SOA and NS
    message.delete(ZONE + ".", "NS", "ns1.xpchaos.test.")  # the last NS: kept
    message.delete(ZONE + ".", "SOA")
    assert apply(zone, message) == dns.rcode.NOERROR
    assert ask(zone, ZONE + ".", "NS").answer[0][0].to_text() == "ns1.xpchaos.test."
    assert zone.serial == 1  # nothing changed


def test_cname_and_other_data_do_not_mix() -> None:
    zone = fresh_zone()
    message = new_update()
    message.add("www", 60, "A", "198.51.100.99")  # www is a CNAME: ignored
    message.add("mail", 60, "CNAME", "api")  # mail has A records: ignored
    assert apply(zone, message) == dns.rcode.NOERROR
    assert zone.rrset("www", "A") is None and zone.rrset("mail", "CNAME") is None and zone.serial == 1
