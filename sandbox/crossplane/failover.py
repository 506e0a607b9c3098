"""The blueprint's failover function (the seed's design): watch the serving side's health, promote the other.

Unhealthy = any MR of the serving side ``Synced=False``, or its ProviderConfig gone (a Terminating one still
works: docs/crossplane.md). After ``detection`` seconds unhealthy, with the other side healthy, the function sets
the XR ``Ready=False`` while it promotes (``promotion`` seconds), rewrites DNS by RFC 2136, moves the weights
to 0/100, marks the MRs' roles and sets ``Ready=True``. Traffic returns only after the original primary has
been healthy for ``failback`` seconds, so a flapping primary does not move it back and forth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..cluster import Cluster
from ..dns.rfc2136 import replace_address  # the client half of the DNS package; it also drives a real BIND9
from ..lifecycle import now
from ..patching import MERGE_PATCH
from . import conditions
from .kinds import rtype
from .platform import Side
from .recorder import Recorder
from .timings import Timings

log = logging.getLogger("xpchaos.sandbox.crossplane.failover")
ROLE_ANNOTATION = "database.example.org/role"
COMPONENT = "composite/xglobaldatabases.database.example.org"


@dataclass
class DnsTarget:
    server: tuple[str, int]
    zone: str
    name: str
    ttl: int
    key: Any  # dns.tsig.Key or None


class FailoverFunction:
    def __init__(self, cluster: Cluster, recorder: Recorder, sides: dict[str, Side], timings: Timings,
                 dns: DnsTarget) -> None:
        self.cluster, self.recorder, self.sides, self.timings, self.dns = cluster, recorder, sides, timings, dns
        self.serving = ""
        self.promoting_to = ""
        self.promotion_started = 0.0
        self.unhealthy_since: float | None = None
        self.recovered_since: float | None = None
        self.dns_answer = ""

    def health(self, side_name: str, composed: list[dict[str, Any]]) -> tuple[bool, str]:
        side = self.sides[side_name]
        if self.cluster.store.get(side.pc_key, "", side.provider_config) is None:
            return False, f"{side.pc_kind} {side.provider_config} not found"
        names = {ref.name for ref in side.managed}
        for obj in composed:
            cond = conditions.get(obj, "Synced")
            if obj["metadata"]["name"] in names and cond is not None and cond.get("status") == "False":
                return False, f"{obj['kind']} {obj['metadata']['name']} Synced=False ({cond.get('reason')})"
        return True, ""

    async def run(self, xr: dict[str, Any], composed: list[dict[str, Any]],
                  clock: float) -> tuple[dict[str, str], dict[str, Any]]:
        params = (xr.get("spec") or {}).get("parameters") or {}
        primary, secondary = params.get("primaryProvider", "aws"), params.get("secondaryProvider", "azure")
        if not self.serving:
            self.serving = (xr.get("status") or {}).get("failover", {}).get("activeProvider") or primary
            self._mark_roles(self.serving)
        if self.dns_answer != self.sides[self.serving].address and not self.promoting_to:
            try:  # DNS must answer the serving side before anything else; until then the XR is not ready
                await self._point_dns(self.serving)
            except Exception as err:
                note = f"cannot update DNS: {err}"
                self.recorder.event(xr, "Warning", "ComposeResources", f'Pipeline step "failover": {note}',
                                    COMPONENT)
                return conditions.condition("Ready", "False", "Creating", note), self._status(
                    primary, params, "Serving", note)
        if self.promoting_to:
            return await self._promote(xr, clock, primary, params)
        healthy, why = self.health(self.serving, composed)
        other = secondary if self.serving == primary else primary
        if not healthy:
            self.unhealthy_since = self.unhealthy_since if self.unhealthy_since is not None else clock
            if clock - self.unhealthy_since >= self.timings.detection and self.health(other, composed)[0]:
                return self._begin(xr, other, f"{self.serving} unhealthy for {clock - self.unhealthy_since:.1f}s: "
                                              f"{why}", clock, primary, params)
        else:
            self.unhealthy_since = None
        if self.serving != primary and self.health(primary, composed)[0]:
            self.recovered_since = self.recovered_since if self.recovered_since is not None else clock
            if clock - self.recovered_since >= self.timings.failback:
                return self._begin(xr, primary, f"{primary} healthy again for {clock - self.recovered_since:.1f}s",
                                   clock, primary, params)
        else:
            self.recovered_since = None
        return conditions.condition("Ready", "True", "Available"), self._status(primary, params, "Serving")

    def _begin(self, xr: dict[str, Any], target: str, why: str, clock: float, primary: str,
               params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        self.promoting_to, self.promotion_started = target, clock
        self.unhealthy_since = self.recovered_since = None
        back = target == primary
        message = f"Failing {'back' if back else 'over'} from {self.serving} to {target}: {why}"
        self.recorder.event(xr, "Normal" if back else "Warning", "ComposeResources",
                            f'Pipeline step "failover": {message}', COMPONENT)
        log.info("%s", message)
        return (conditions.condition("Ready", "False", "Creating", message),
                self._status(primary, params, "Promoting", message))

    async def _promote(self, xr: dict[str, Any], clock: float, primary: str,
                       params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        target = self.promoting_to
        message = f"Failing {'back' if target == primary else 'over'} from {self.serving} to {target}"
        if clock - self.promotion_started < self.timings.promotion:
            return conditions.condition("Ready", "False", "Creating", message), self._status(
                primary, params, "Promoting", message)
        try:
            await self._point_dns(target)
        except Exception as err:  # DNS unreachable or refused: stay unready and try again next tick
            note = f"cannot update DNS: {err}"
            self.recorder.event(xr, "Warning", "ComposeResources", f'Pipeline step "failover": {note}', COMPONENT)
            return conditions.condition("Ready", "False", "Creating", f"{message}: {note}"), self._status(
                primary, params, "Promoting", note)
        self.serving, self.promoting_to = target, ""
        self._mark_roles(target)
        self.recorder.event(xr, "Normal", "ComposeResources",
                            f'Pipeline step "failover": {target} is serving; DNS {self.dns.name} answers '
                            f"{self.sides[target].address}", COMPONENT)
        return conditions.condition("Ready", "True", "Available"), self._status(primary, params, "Serving")

    def _status(self, primary: str, params: dict[str, Any], phase: str, message: str = "") -> dict[str, Any]:
        weight = int(params.get("weighting", 100))
        serving_weight = weight if self.serving == primary else 100
        weights = {name: (serving_weight if name == self.serving else 100 - serving_weight) for name in self.sides}
        # message is None when there is nothing to say, so a merge patch removes an old one
        return {"failover": {"activeProvider": self.serving, "phase": phase, "weights": weights,
                             "dnsAnswer": self.dns_answer, "message": message or None}}

    async def _point_dns(self, side_name: str) -> None:
        address = self.sides[side_name].address
        if self.dns_answer == address:
            return
        await replace_address(self.dns.server, self.dns.zone, self.dns.name, [address], self.dns.ttl,
                                      self.dns.key)
        self.dns_answer = address
        log.info("DNS %s -> %s at %s", self.dns.name, address, now())

    def _mark_roles(self, serving: str) -> None:
        for side_name, side in self.sides.items():
            role = "serving" if side_name == serving else "standby"
            for ref in side.managed:
                obj = self.cluster.store.get((ref.group, ref.plural), ref.namespace, ref.name)
                mr_type = rtype(self.cluster, ref.group, ref.version, ref.plural)
                if obj is not None and (obj["metadata"].get("annotations") or {}).get(ROLE_ANNOTATION) != role:
                    self.cluster.patch(mr_type, ref.namespace, ref.name, MERGE_PATCH,
                                       {"metadata": {"annotations": {ROLE_ANNOTATION: role}}})
