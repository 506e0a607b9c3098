"""The sandbox's DNS server run in-process for the DNS tests: on an asyncio loop in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import dns.tsig

from xpchaos.sandbox.dns import server as dns_server_module
from xpchaos.sandbox.dns.zone import Zone

T = TypeVar("T")


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
