"""The same RFC 2136 updater against a real BIND9 ``named``: what works on the sandbox works on BIND."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import pytest

from tests.dns.conftest import API, KEY_NAME, ZONE, dig, free_port, tool
from xpchaos.sandbox.dns.rfc2136 import UpdateFailed, generate_tsig_key, load_tsig_key, replace_address
from xpchaos.sandbox.dns.zone import default_zone_text

STARTUP_DEADLINE = 10.0


@dataclass
class Named:
    port: int
    key: dns.tsig.Key
    log: Path
    key_file: Path

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def named_conf(tmp: Path, port: int, key_file: Path, zone_file: Path) -> str:
    return f"""\
include "{key_file}";
options {{
    directory "{tmp}";
    pid-file "{tmp}/named.pid";
    session-keyfile "{tmp}/session.key";
    managed-keys-directory "{tmp}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-transfer {{ none; }};
    dnssec-validation no;
    notify no;
}};
controls {{ }};  # no rndc channel: nothing on port 953 to collide with
zone "{ZONE}" {{
    type primary;
    file "{zone_file}";
    journal "{tmp}/{ZONE}.jnl";
    allow-update {{ key "{KEY_NAME.rstrip('.')}"; }};
}};
"""


def soa_serial(port: int, timeout: float = 1.0) -> int:
    query = dns.message.make_query(ZONE, "SOA")
    answer = dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout).answer
    assert len(answer) == 1, answer
    return int(answer[0][0].serial)


def wait_until_answering(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Poll with real SOA queries until named answers, it exits, or the deadline passes."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        if process.poll() is not None:
            pytest.fail(f"named exited with {process.returncode} before answering:\n{log.read_text()}")
        try:
            soa_serial(port, timeout=0.2)
            return
        except (dns.exception.Timeout, OSError, AssertionError):
            if time.monotonic() > deadline:
                pytest.fail(f"named did not answer a SOA query within {STARTUP_DEADLINE}s:\n{log.read_text()}")


@pytest.fixture
def named(tmp_path: Path) -> Iterator[Named]:
    named_bin, checkconf, checkzone = tool("named"), tool("named-checkconf"), tool("named-checkzone")
    tool("dig")
    key, key_text = generate_tsig_key(KEY_NAME)
    key_file = tmp_path / "externaldns.key"
    key_file.write_text(key_text)
    zone_file = tmp_path / f"{ZONE}.zone"
    zone_file.write_text(default_zone_text())
    port = free_port()
    conf = tmp_path / "named.conf"
    conf.write_text(named_conf(tmp_path, port, key_file, zone_file))
    for check in ([checkconf, str(conf)], [checkzone, ZONE, str(zone_file)]):
        result = subprocess.run(check, capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, f"{' '.join(check)}: {result.stdout}{result.stderr}"
    log = tmp_path / "named.log"
    with log.open("wb") as out:
        # -g: foreground, log to stderr; -4: IPv4 only; -u root: the user named runs as (root here, in CI images)
        process = subprocess.Popen([named_bin, "-g", "-4", "-n", "1", "-c", str(conf), "-u", "root"],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(process, port, log)
        yield Named(port, key, log, key_file)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


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
