"""``replace_rrset``: one RFC 2136 UPDATE makes a name answer an address or a CNAME, deleting the other type first,
as the DNS modes' services write the zone (traffic-manager switches a name between CNAMEs). The same on the
sandbox's server and on a real BIND9 ``named``: each update bumps the serial by one, dig sees the switch."""

from __future__ import annotations

import asyncio

import dns.rcode
import dns.tsig
import pytest

from tests.sandbox.dns.helpers import RunningDns
from tests.support.bind9 import ZONE, Named, dig, soa_serial
from xpchaos.sandbox.dns.rfc2136 import build_rrset_update, replace_rrset


@pytest.fixture(params=["sandbox", "bind9"])
def server(request: pytest.FixtureRequest) -> tuple[tuple[str, int], dns.tsig.Key]:
    if request.param == "sandbox":
        running: RunningDns = request.getfixturevalue("running_dns")
        return running.server.address, running.key
    named: Named = request.getfixturevalue("named")
    return named.address, named.key


def test_a_name_switches_between_an_address_and_a_cname(server: tuple[tuple[str, int], dns.tsig.Key]) -> None:
    address, key = server
    port = address[1]
    before = soa_serial(port)

    def write(name: str, rdtype: str, value: str) -> None:
        assert asyncio.run(replace_rrset(address, ZONE, name, rdtype, [value], 5, key)) == dns.rcode.NOERROR

    write("api-azure.xpchaos.test.", "A", "198.51.100.20")
    write("api.xpchaos.test.", "CNAME", "api-azure.xpchaos.test.")
    assert dig(port, "+short", "api.xpchaos.test", "A").split() == ["api-azure.xpchaos.test.", "198.51.100.20"]
    assert dig(port, "+short", "api.xpchaos.test", "CNAME").split() == ["api-azure.xpchaos.test."]
    write("api.xpchaos.test.", "A", "192.0.2.10")
    assert dig(port, "+short", "api.xpchaos.test", "A").split() == ["192.0.2.10"]
    assert dig(port, "+short", "api.xpchaos.test", "CNAME").split() == []
    assert soa_serial(port) == before + 3


def test_only_address_and_cname_answers_are_switched() -> None:
    with pytest.raises(ValueError, match="record type 'MX'"):
        build_rrset_update(ZONE, "api", "MX", ["10 mail.xpchaos.test."], 5, None)
