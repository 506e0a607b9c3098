"""The simulated Azure Traffic Manager (``--dns traffic-manager``): profiles and external endpoints as they exist in
Azure, their probes, and the CNAME each profile answers.

What Azure holds changes only when provider-azure-network applies an MR (a successful reconcile, so only while the
MR's ProviderConfig works). Each profile probes its endpoints every ``intervalInSeconds``; an endpoint is Degraded
once more than ``toleratedNumberOfFailures`` probes in a row failed, Online again at the first probe answered.
Priority routing answers a CNAME to the target of the enabled, Online endpoint with the lowest ``priority``
(``alwaysServeEnabled`` endpoints count as Online); when none is, the enabled endpoint with the lowest priority, as
Traffic Manager serves all endpoints when all are degraded. The sandbox has one zone: the XR's own name answers
what ``<relativeName>.trafficmanager.net`` would (see sandbox/README.md).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from . import dnsmodes
from .dnsservices import ZoneWriter
from .dnsservices import first_block as _first

log = logging.getLogger("xpchaos.sandbox.crossplane.trafficmanager")


@dataclass
class Probe:
    online: bool = True
    failures: int = 0


@dataclass
class TrafficManager:
    writer: ZoneWriter
    addresses: dict[str, str]  # endpoint target (absolute) -> the service address behind it
    answering: Any  # address -> bool: whether the service endpoint answers (dnsservices.ServiceEndpoints)
    names: dict[str, str]  # profile MR name -> the XR's DNS name it answers
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # profile name -> forProvider
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)  # endpoint name -> forProvider
    probes: dict[str, Probe] = field(default_factory=dict)  # endpoint name -> its probe state
    due: dict[str, float] = field(default_factory=dict)  # profile name -> next probe round
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def apply(self, mr: dict[str, Any]) -> None:
        name = mr["metadata"]["name"]
        desired = copy.deepcopy((mr.get("spec") or {}).get("forProvider") or {})
        table = self.profiles if mr["kind"] == dnsmodes.TM_PROFILE else self.endpoints
        if table.get(name) != desired:
            table[name] = desired
            self.publish()
            self._changed.set()

    def _profile_of(self, endpoint: dict[str, Any]) -> str:
        return str((endpoint.get("profileIdRef") or {}).get("name") or endpoint.get("profileId") or "")

    def publish(self) -> None:
        for profile, config in self.profiles.items():
            if profile not in self.names or config.get("profileStatus", "Enabled") != "Enabled":
                continue
            enabled = sorted(((float(e.get("priority") or 1000), n) for n, e in self.endpoints.items()
                              if self._profile_of(e) == profile and e.get("enabled", True)))
            online = [(p, n) for p, n in enabled
                      if self.endpoints[n].get("alwaysServeEnabled") or self.probes.setdefault(n, Probe()).online]
            candidates = online or enabled
            if not candidates:
                continue
            target = str(self.endpoints[candidates[0][1]].get("target", "")).rstrip(".") + "."
            ttl = int(_first(config.get("dnsConfig")).get("ttl") or 60)
            self.writer.want(self.names[profile], "CNAME", [target], ttl)

    def _probe_round(self, profile: str) -> bool:
        """One probe of each endpoint of ``profile``; True when one changed state."""
        monitor = _first(self.profiles[profile].get("monitorConfig"))
        tolerated = int(monitor.get("toleratedNumberOfFailures", 3))
        changed = False
        for name, endpoint in self.endpoints.items():
            if self._profile_of(endpoint) != profile:
                continue
            probe = self.probes.setdefault(name, Probe())
            target = str(endpoint.get("target", "")).rstrip(".") + "."
            if self.answering(self.addresses.get(target, "")):
                changed |= not probe.online
                probe.online, probe.failures = True, 0
            else:
                probe.failures += 1
                if probe.online and probe.failures > tolerated:
                    probe.online, changed = False, True
                    log.info("Traffic Manager %s: endpoint %s Degraded", profile, name)
        return changed

    async def run(self) -> None:
        while True:
            now = time.monotonic()
            changed = False
            for profile, config in self.profiles.items():
                if self.due.get(profile, 0.0) <= now:
                    interval = float(_first(config.get("monitorConfig")).get("intervalInSeconds") or 30)
                    self.due[profile] = now + interval
                    changed |= self._probe_round(profile)
            if changed:
                self.publish()
            soonest = min(self.due.values(), default=now + 3600)
            self._changed.clear()
            try:
                async with asyncio.timeout(max(0.0, soonest - time.monotonic())):
                    await self._changed.wait()
            except TimeoutError:
                pass
