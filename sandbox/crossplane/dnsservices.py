"""What the DNS modes other than ``function`` share: the zone writes of a DNS service (Route53, Traffic Manager,
ExternalDNS), pushed to the zone by RFC 2136 with that service's own key, and the service endpoints the clouds'
health checks probe.

A service says what a name should answer (``ZoneWriter.want``); the writer sends an UPDATE when that differs from
what it last wrote, and retries a refused or unreachable server every second until it gets through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from ..dns.rfc2136 import replace_rrset  # the client half of the DNS package; it also drives a real BIND9
from .clouds import Cloud

log = logging.getLogger("xpchaos.sandbox.crossplane.dns")
RETRY = 1.0  # seconds between attempts while the server refuses or cannot be reached


def first_block(block: Any) -> dict[str, Any]:
    """An upjet block: a list of one (v1beta1) or an object (v1beta2)."""
    if isinstance(block, list):
        return dict(block[0]) if block else {}
    return dict(block or {})


@dataclass(frozen=True)
class Answer:
    rdtype: str  # A or CNAME
    values: tuple[str, ...]
    ttl: int


@dataclass
class ZoneWriter:
    """One writer of the zone (a DNS service with its credentials): the answers it wants, sent by RFC 2136."""

    name: str  # who writes, for the log
    server: tuple[str, int]
    zone: str
    key: Any  # dns.tsig.Key or None
    written: dict[str, Answer] = field(default_factory=dict)  # what the zone answers from this writer's updates
    wanted: dict[str, Answer] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def want(self, name: str, rdtype: str, values: list[str], ttl: int) -> None:
        answer = Answer(rdtype, tuple(values), int(ttl))
        if self.wanted.get(name) != answer:
            self.wanted[name] = answer
            self._wake.set()

    def seeded(self, name: str, rdtype: str, values: list[str], ttl: int) -> None:
        """What the zone answers already (the sandbox's own zone, seeded at start): nothing to send for it."""
        self.written[name] = self.wanted[name] = Answer(rdtype, tuple(values), int(ttl))

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY if self._pending() else None):
                    await self._wake.wait()
            self._wake.clear()
            for name, answer in list(self.wanted.items()):
                if self.written.get(name) != answer:
                    await self._send(name, answer)

    def _pending(self) -> bool:
        return any(self.written.get(name) != answer for name, answer in self.wanted.items())

    async def _send(self, name: str, answer: Answer) -> None:
        try:
            await replace_rrset(self.server, self.zone, name, answer.rdtype, list(answer.values), answer.ttl,
                                self.key)
        except Exception as err:  # refused or unreachable: kept pending, retried
            log.warning("%s: cannot update DNS %s: %s", self.name, name, err)
            return
        self.written[name] = answer
        log.info("%s: DNS %s -> %s %s", self.name, name, answer.rdtype, ", ".join(answer.values))


@dataclass
class ServiceEndpoints:
    """The composites' service endpoints as the internet sees them: an address answers while the database behind
    it exists in its cloud (deleting the database MR deletes it, and the endpoint stops answering)."""

    behind: dict[str, tuple[Cloud, str]] = field(default_factory=dict)  # address -> (cloud, external name)

    def answering(self, address: str) -> bool:
        cloud, resource = self.behind.get(address, (None, ""))
        return cloud is not None and resource in cloud.resources


def endpoints_of(layout: Any) -> ServiceEndpoints:
    """Each composite's service address on each side, and the database MR serving it."""
    endpoints = ServiceEndpoints()
    for composite in layout.composites:
        for cloud, refs in composite.managed.items():
            database = next(r for r in refs if r.resource in ("aurora", "mssql"))
            endpoints.behind[composite.addresses[cloud]] = (layout.sides[cloud].cloud, database.name)
    return endpoints
