"""The same RFC 2136 updater against a real BIND9 ``named``: what works on the sandbox works on BIND."""

from __future__ import annotations

import asyncio
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.support.bind9 import API, KEY_NAME, ZONE, Named, dig, soa_serial
from xpchaos.sandbox.dns.rfc2136 import UpdateFailed, generate_tsig_key, load_tsig_key, replace_address


def test_the_key_file_round_trips_through_bind_syntax(named: Named, tmp_path: Path) -> None:
    loaded = load_tsig_key(tmp_path / "externaldns.key")  # the very file named included
    assert (loaded.name, loaded.secret, loaded.algorithm) == (named.key.name, named.key.secret, named.key.algorithm)


def test_replace_address_switches_bind9s_answer(named: Named) -> None:
    before = soa_serial(named.port)
    assert dig(named.port, "api.xpchaos.test", "A", "+short").split() == ["192.0.2.10"]
    rcode = asyncio.run(replace_address(named.address, ZONE, API, ["198.51.100.20"], 5, named.key))
    assert rcode == dns.rcode.NOERROR
    response = dns.query.tcp(dns.message.make_query(API, "A"), "127.0.0.1", port=named.port, timeout=2)
    assert [(rrset.ttl, sorted(rd.to_text() for rd in rrset)) for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.A] == [(5, ["198.51.100.20"])]
    assert dig(named.port, "api.xpchaos.test", "A", "+short").split() == ["198.51.100.20"]
    assert dig(named.port, "api.xpchaos.test", "A", "+short", "+tcp").split() == ["198.51.100.20"]
    assert soa_serial(named.port) == before + 1  # as the sandbox's server does


@pytest.mark.parametrize(("how", "expected"), [
    ("unsigned", "answered REFUSED"),
    ("wrong secret", "answered NOTAUTH (TSIG BADSIG)"),
    ("unknown key", "answered NOTAUTH (TSIG BADKEY)"),
])
def test_bind9_refuses_what_the_sandbox_refuses(named: Named, how: str, expected: str) -> None:
    key = {"unsigned": None,
           "wrong secret": generate_tsig_key(KEY_NAME)[0],
           "unknown key": generate_tsig_key("somebody-else.")[0]}[how]
    before = soa_serial(named.port)
    with pytest.raises(UpdateFailed) as failure:
        asyncio.run(replace_address(named.address, ZONE, API, ["198.51.100.20"], 5, key))
    assert expected in str(failure.value) and f"127.0.0.1#{named.port}" in str(failure.value)
    assert dig(named.port, "api.xpchaos.test", "A", "+short").split() == ["192.0.2.10"]
    assert soa_serial(named.port) == before
