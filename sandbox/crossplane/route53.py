"""The simulated Route53 (``--dns provider`` and ``route53-failover``): the records and health checks as they exist
in AWS, and the answers of the hosted zone.

What AWS holds changes only when provider-aws-route53 applies an MR (a successful reconcile, so only while the
MR's ProviderConfig works): ``apply``. What the zone answers follows from it. A simple record answers its
``records``. A failover pair answers the PRIMARY's ``records`` while its health check is healthy, else the
SECONDARY's. Each health check runs in AWS, whatever Crossplane does: every ``requestInterval`` seconds it asks
the endpoint (``ipAddress:port``), and its status turns after ``failureThreshold`` consecutive results the other
way; ``invertHealthcheck`` inverts the status, ``disabled`` makes it healthy, as Route53 documents.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from .dnsservices import ServiceEndpoints, ZoneWriter
from .dnsservices import first_block as _first

log = logging.getLogger("xpchaos.sandbox.crossplane.route53")


@dataclass
class HealthCheck:
    config: dict[str, Any]
    measured: bool = True  # what the last checks found, after failureThreshold of them agreed
    streak: int = 0  # consecutive results against ``measured``
    due: float = 0.0

    @property
    def interval(self) -> float:
        return float(self.config.get("requestInterval") or 30)

    @property
    def threshold(self) -> int:
        return int(self.config.get("failureThreshold") or 3)

    @property
    def healthy(self) -> bool:
        """The status Route53 routes by: disabled checks count as healthy; invertHealthcheck inverts."""
        if self.config.get("disabled"):
            return True
        return self.measured != bool(self.config.get("invertHealthcheck"))

    def observe(self, answered: bool) -> bool:
        """One check's result; True when the measured status turned."""
        if answered == self.measured:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak < self.threshold:
            return False
        self.measured, self.streak = answered, 0
        return True


@dataclass
class Route53:
    writer: ZoneWriter
    endpoints: ServiceEndpoints
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # Record external name -> its forProvider
    checks: dict[str, HealthCheck] = field(default_factory=dict)  # HealthCheck external name -> its state
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def apply(self, mr: dict[str, Any]) -> None:
        """provider-aws-route53 made AWS match this MR (Record or HealthCheck)."""
        name = (mr["metadata"].get("annotations") or {}).get("crossplane.io/external-name") or mr["metadata"]["name"]
        desired = copy.deepcopy((mr.get("spec") or {}).get("forProvider") or {})
        if mr["kind"] == "Record" and self.records.get(name) != desired:
            self.records[name] = desired
            self.publish()
        elif mr["kind"] == "HealthCheck":
            check = self.checks.get(name)
            if check is None:
                self.checks[name] = HealthCheck(desired)
                self._changed.set()
            elif check.config != desired:
                check.config = desired
                self.publish()  # an inverted or disabled check routes differently at once
                self._changed.set()

    def publish(self) -> None:
        """What the hosted zone answers for each record name, from the records and the checks' status."""
        by_name: dict[str, list[dict[str, Any]]] = {}
        for record in self.records.values():
            by_name.setdefault(str(record.get("name", "")).rstrip(".") + ".", []).append(record)
        for name, records in by_name.items():
            chosen = self._route(records)
            if chosen is not None:
                self.writer.want(name, str(chosen.get("type", "A")), [str(v) for v in chosen.get("records") or []],
                                 int(chosen.get("ttl") or 300))

    def _route(self, records: list[dict[str, Any]]) -> dict[str, Any] | None:
        kinds = {str(_first(r.get("failoverRoutingPolicy")).get("type", "")): r for r in records}
        if "PRIMARY" not in kinds:
            return records[0]
        check = self.checks.get(str(kinds["PRIMARY"].get("healthCheckId") or ""))
        if check is None or check.healthy or "SECONDARY" not in kinds:
            return kinds["PRIMARY"]
        return kinds["SECONDARY"]

    async def run(self) -> None:
        """The health checkers: each check asks its endpoint every requestInterval."""
        while True:
            now = time.monotonic()
            turned = False
            for name, check in self.checks.items():
                if check.due <= now:
                    check.due = now + check.interval
                    address = str(check.config.get("ipAddress") or "")
                    if check.observe(self.endpoints.answering(address)):
                        turned = True
                        log.info("health check %s: %s is %s", name, address,
                                 "answering" if check.measured else "not answering")
            if turned:
                self.publish()
            soonest = min((c.due for c in self.checks.values()), default=now + 3600)
            self._changed.clear()
            try:
                async with asyncio.timeout(max(0.0, soonest - time.monotonic())):
                    await self._changed.wait()
            except TimeoutError:
                pass
