"""Fixtures for the DNS tests: the sandbox DNS server on a loop in a background thread (the real BIND9 ``named`` is
the root conftest's ``named``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.dns.helpers import LoopThread, RunningDns
from tests.support.bind9 import KEY_NAME
from xpchaos.sandbox.dns import server as dns_server_module
from xpchaos.sandbox.dns.rfc2136 import generate_tsig_key
from xpchaos.sandbox.dns.zone import Zone, default_zone_text


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
