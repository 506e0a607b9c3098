"""Fixtures for the DNS tests: the sandbox DNS server on a loop in a background thread, and the real BIND tools."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import dns.tsig
import pytest

from xpchaos.sandbox.dns import server as dns_server_module
from xpchaos.sandbox.dns.rfc2136 import generate_tsig_key
from xpchaos.sandbox.dns.zone import Zone, default_zone_text

T = TypeVar("T")
ZONE = "xpchaos.test"
API = "api.xpchaos.test."
KEY_NAME = "xpchaos-externaldns."
INSTALL_HINT = "install the Debian packages bind9 and bind9-dnsutils (make test does it when run as root)"


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


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now (for servers that cannot pick their own)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


class LoopThread:
    """An asyncio loop running in a daemon thread; ``run`` executes a coroutine there and returns its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="dns-test-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class RunningDns:
    server: dns_server_module.DnsServer
    zone: Zone
    key: dns.tsig.Key

    @property
    def port(self) -> int:
        return self.server.address[1]


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.stop()


@pytest.fixture
def running_dns(loop_thread: LoopThread) -> Iterator[RunningDns]:
    """A fresh zone (api A 192.0.2.10, TTL 5) served on a free port, accepting updates signed with ``key``."""
    zone = Zone.from_text(default_zone_text())
    key, _ = generate_tsig_key(KEY_NAME)
    server = loop_thread.run(dns_server_module.start(zone, keyring={key.name: key}))
    yield RunningDns(server, zone, key)
    loop_thread.run(server.close())
