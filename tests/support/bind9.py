"""The real BIND9 tools for the DNS tests: ``dig`` to ask, a ``named`` serving the sandbox's zone that accepts
updates signed with its TSIG key, as the sandbox's failover sends them with ``--dns-server``, and a ``named`` as a
caching resolver forwarding the sandbox's zone to a nameserver (what a client's ``dig`` goes through)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.tsig
import pytest

from tests.support.network import free_port
from tests.support.waiting import wait_for
from xpchaos.sandbox.dns.rfc2136 import generate_tsig_key
from xpchaos.sandbox.dns.zone import default_zone_text

ZONE = "xpchaos.test"
API = "api.xpchaos.test."
KEY_NAME = "xpchaos-externaldns."
INSTALL_HINT = "install the Debian packages bind9 and bind9-dnsutils (make test does it when run as root)"
STARTUP_DEADLINE = 10.0


def tool(name: str) -> str:
    """The path of a BIND tool; the test FAILS (never skips) when it is missing."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{name} is not on PATH: {INSTALL_HINT}", pytrace=False)
    return path


def dig(port: int, *args: str) -> str:
    """dig's output for a query to 127.0.0.1:port (one try, two seconds at most)."""
    result = subprocess.run([tool("dig"), "@127.0.0.1", "-p", str(port), "+time=2", "+tries=1", *args],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, f"dig {' '.join(args)} exited {result.returncode}: {result.stdout}{result.stderr}"
    return result.stdout


def soa_serial(port: int, timeout: float = 1.0) -> int:
    answer = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=timeout).answer
    assert len(answer) == 1, answer
    return int(answer[0][0].serial)


@dataclass
class Named:
    port: int
    key: dns.tsig.Key
    log: Path
    key_file: Path

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def _files_and_port(directory: Path, port: int) -> str:
    """The options every named of the tests starts with: its files in ``directory``, 127.0.0.1:``port`` only."""
    return f"""\
    directory "{directory}";
    pid-file "{directory}/named.pid";
    session-keyfile "{directory}/session.key";
    managed-keys-directory "{directory}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};"""


def named_conf(directory: Path, port: int, key_file: Path, zone_file: Path) -> str:
    return f"""\
include "{key_file}";
options {{
{_files_and_port(directory, port)}
    recursion no;
    allow-transfer {{ none; }};
    dnssec-validation no;
    notify no;
}};
controls {{ }};  # no rndc channel: nothing on port 953 to collide with
zone "{ZONE}" {{
    type primary;
    file "{zone_file}";
    journal "{directory}/{ZONE}.jnl";
    allow-update {{ key "{KEY_NAME.rstrip('.')}"; }};
}};
"""


def resolver_conf(directory: Path, port: int, forward_to: tuple[str, int]) -> str:
    """A caching resolver on 127.0.0.1:``port`` that forwards ``ZONE`` (only) to ``forward_to``: it keeps each answer
    for its TTL and asks again only then (no prefetch, no stale answers, no DNSSEC: the sandbox signs nothing)."""
    host, upstream = forward_to
    return f"""\
options {{
{_files_and_port(directory, port)}
    recursion yes;
    allow-query {{ 127.0.0.1; }};
    allow-recursion {{ 127.0.0.1; }};
    dnssec-validation no;
    qname-minimization off;
    prefetch 0;
    stale-answer-enable no;
    stale-cache-enable no;
    notify no;
}};
controls {{ }};
zone "{ZONE}" {{
    type forward;
    forward only;
    forwarders {{ {host} port {upstream}; }};
}};
"""


def _wait_until_answering(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    def answering() -> bool:
        if process.poll() is not None:
            pytest.fail(f"named exited with {process.returncode} before answering:\n{log.read_text()}")
        soa_serial(port, timeout=0.2)
        return True

    wait_for(answering, STARTUP_DEADLINE, what=f"named answering a SOA query on port {port} (log: {log})",
             retry_on=(dns.exception.Timeout, OSError))


@contextmanager
def named(directory: Path) -> Iterator[Named]:
    """A real ``named`` on a free port serving the sandbox's default zone, its files in ``directory``."""
    named_bin, checkconf, checkzone = tool("named"), tool("named-checkconf"), tool("named-checkzone")
    tool("dig")
    key, key_text = generate_tsig_key(KEY_NAME)
    key_file = directory / "externaldns.key"
    key_file.write_text(key_text)
    zone_file = directory / f"{ZONE}.zone"
    zone_file.write_text(default_zone_text())
    port = free_port()
    conf = directory / "named.conf"
    conf.write_text(named_conf(directory, port, key_file, zone_file))
    for check in ([checkconf, str(conf)], [checkzone, ZONE, str(zone_file)]):
        result = subprocess.run(check, capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, f"{' '.join(check)}: {result.stdout}{result.stderr}"
    with _serving(named_bin, conf, port) as log:
        yield Named(port, key, log, key_file)


@dataclass
class Resolver:
    port: int
    log: Path

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


@contextmanager
def caching_resolver(directory: Path, forward_to: tuple[str, int]) -> Iterator[Resolver]:
    """A real ``named`` as a caching resolver on a free port (``resolver_conf``), its files in ``directory``; yielded
    once it answers ``ZONE``'s SOA through ``forward_to``."""
    named_bin, checkconf = tool("named"), tool("named-checkconf")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "named.conf"
    conf.write_text(resolver_conf(directory, port, forward_to))
    result = subprocess.run([checkconf, str(conf)], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, f"named-checkconf {conf}: {result.stdout}{result.stderr}"
    with _serving(named_bin, conf, port) as log:
        yield Resolver(port, log)


@contextmanager
def _serving(named_bin: str, conf: Path, port: int) -> Iterator[Path]:
    """``named`` on ``conf`` until the block ends, once it answers on ``port``; yields its log file."""
    log = conf.parent / "named.log"
    with log.open("wb") as out:
        # -g: foreground, log to stderr; -4: IPv4 only; -u root: the user named runs as (root here, in CI images)
        process = subprocess.Popen([named_bin, "-g", "-4", "-n", "1", "-c", str(conf), "-u", "root"],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(process, port, log)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
