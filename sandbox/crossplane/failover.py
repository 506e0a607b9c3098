"""The blueprint's failover function (the seed's design): watch the serving side's health, promote the other.

Unhealthy = any MR of the serving side ``Synced=False``, or its ProviderConfig gone (a Terminating one still
works: docs/crossplane.md). After ``detection`` seconds unhealthy, with the other side healthy, the function sets
the XR ``Ready=False`` while it promotes (``promotion`` seconds), points DNS at the new side, moves the weights
to 0/100, marks the MRs' roles and sets ``Ready=True``. Traffic returns only after the original primary has
been healthy for ``failback`` seconds, so a flapping primary does not move it back and forth. Each XR keeps its
own state and DNS record: it fails over on its own MRs and ProviderConfigs.

How it points DNS is the DNS mode's (``dnsmodes.py``): ``function`` rewrites the zone by RFC 2136;
``provider`` sets the Route53 Record's ``records``, ``external-dns`` the DNSEndpoint's ``targets``,
``traffic-manager`` the endpoints' ``priority`` (the new side 1, the other 2), and it is done once the spec is
written (whether the change reaches DNS is the provider's or ExternalDNS's business); ``route53-failover`` leaves
DNS to Route53's health check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..cluster import Cluster
from ..dns.rfc2136 import replace_address  # the client half of the DNS package; it also drives a real BIND9
from ..lifecycle import now
from ..patching import MERGE_PATCH
from . import conditions, dnsmodes
from .kinds import rtype
from .layout import Composite
from .platform import ManagedRef, Side
from .recorder import Recorder
from .timings import Timings

log = logging.getLogger("xpchaos.sandbox.crossplane.failover")
ROLE_ANNOTATION = "database.example.org/role"
COMPONENT = "composite/xglobaldatabases.database.example.org"


@dataclass
class DnsTarget:
    server: tuple[str, int]
    zone: str
    ttl: int
    key: Any  # dns.tsig.Key or None
    externaldns_key: Any = None  # --dns external-dns: ExternalDNS's own key (else it signs with ``key``)


@dataclass
class _State:
    """One XR's failover: which side serves, a promotion under way, how long a side has been (un)healthy."""

    serving: str = ""
    promoting_to: str = ""
    promotion_started: float = 0.0
    unhealthy_since: float | None = None
    recovered_since: float | None = None
    dns_answer: str = ""


class FailoverFunction:
    """The pipeline step for every XR; each XR fails over on its own (its own MRs, ProviderConfigs and record)."""

    def __init__(self, cluster: Cluster, recorder: Recorder, sides: dict[str, Side], timings: Timings,
                 dns: DnsTarget, composites: list[Composite], seeded: bool = True,
                 mode: str = dnsmodes.DEFAULT) -> None:
        self.cluster, self.recorder, self.sides, self.timings, self.dns = cluster, recorder, sides, timings, dns
        self.mode = mode
        # only the function's own RFC 2136 writes can start on an external server before it is written
        seeded = seeded or mode != dnsmodes.DEFAULT
        # the sandbox's own zone starts out answering each XR's primary; an external server is updated first
        self.states = {c.key: _State(dns_answer=c.addresses[c.primary] if seeded else "") for c in composites}

    def health(self, side_name: str, composite: Composite, composed: list[dict[str, Any]]) -> tuple[bool, str]:
        side = self.sides[side_name]
        config = composite.configs[side_name]
        if self.cluster.store.get(side.pc_key, "", config) is None:
            return False, f"{side.pc_kind} {config} not found"
        names = {ref.name for ref in composite.managed[side_name]}
        for obj in composed:
            cond = conditions.get(obj, "Synced")
            if obj["metadata"]["name"] in names and cond is not None and cond.get("status") == "False":
                return False, f"{obj['kind']} {obj['metadata']['name']} Synced=False ({cond.get('reason')})"
        return True, ""

    async def run(self, xr: dict[str, Any], composite: Composite, composed: list[dict[str, Any]],
                  clock: float) -> tuple[dict[str, str], dict[str, Any]]:
        state = self.states.setdefault(composite.key, _State())
        params = (xr.get("spec") or {}).get("parameters") or {}
        primary, secondary = params.get("primaryProvider", "aws"), params.get("secondaryProvider", "azure")
        if not state.serving:
            state.serving = (xr.get("status") or {}).get("failover", {}).get("activeProvider") or primary
            self._mark_roles(composite, state.serving)
        if state.dns_answer != composite.addresses[state.serving] and not state.promoting_to:
            try:  # DNS must answer the serving side before anything else; until then the XR is not ready
                await self._point_dns(composite, state, state.serving)
            except Exception as err:
                note = f"cannot update DNS: {err}"
                self.recorder.event(xr, "Warning", "ComposeResources", f'Pipeline step "failover": {note}',
                                    COMPONENT)
                return conditions.condition("Ready", "False", "Creating", note), self._status(
                    state, primary, params, "Serving", note)
        if state.promoting_to:
            return await self._promote(xr, composite, state, clock, primary, params)
        healthy, why = self.health(state.serving, composite, composed)
        other = secondary if state.serving == primary else primary
        if not healthy:
            state.unhealthy_since = state.unhealthy_since if state.unhealthy_since is not None else clock
            if clock - state.unhealthy_since >= self.timings.detection and self.health(other, composite,
                                                                                       composed)[0]:
                return self._begin(xr, state, other, f"{state.serving} unhealthy for "
                                   f"{clock - state.unhealthy_since:.1f}s: {why}", clock, primary, params)
        else:
            state.unhealthy_since = None
        if state.serving != primary and self.health(primary, composite, composed)[0]:
            state.recovered_since = state.recovered_since if state.recovered_since is not None else clock
            if clock - state.recovered_since >= self.timings.failback:
                return self._begin(xr, state, primary, f"{primary} healthy again for "
                                   f"{clock - state.recovered_since:.1f}s", clock, primary, params)
        else:
            state.recovered_since = None
        return conditions.condition("Ready", "True", "Available"), self._status(state, primary, params, "Serving")

    def _begin(self, xr: dict[str, Any], state: _State, target: str, why: str, clock: float, primary: str,
               params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        state.promoting_to, state.promotion_started = target, clock
        state.unhealthy_since = state.recovered_since = None
        back = target == primary
        message = f"Failing {'back' if back else 'over'} from {state.serving} to {target}: {why}"
        self.recorder.event(xr, "Normal" if back else "Warning", "ComposeResources",
                            f'Pipeline step "failover": {message}', COMPONENT)
        log.info("%s: %s", xr["metadata"]["name"], message)
        return (conditions.condition("Ready", "False", "Creating", message),
                self._status(state, primary, params, "Promoting", message))

    async def _promote(self, xr: dict[str, Any], composite: Composite, state: _State, clock: float, primary: str,
                       params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        target = state.promoting_to
        message = f"Failing {'back' if target == primary else 'over'} from {state.serving} to {target}"
        if clock - state.promotion_started < self.timings.promotion:
            return conditions.condition("Ready", "False", "Creating", message), self._status(
                state, primary, params, "Promoting", message)
        try:
            await self._point_dns(composite, state, target)
        except Exception as err:  # DNS unreachable or refused: stay unready and try again next tick
            note = f"cannot update DNS: {err}"
            self.recorder.event(xr, "Warning", "ComposeResources", f'Pipeline step "failover": {note}', COMPONENT)
            return conditions.condition("Ready", "False", "Creating", f"{message}: {note}"), self._status(
                state, primary, params, "Promoting", note)
        state.serving, state.promoting_to = target, ""
        self._mark_roles(composite, target)
        self.recorder.event(xr, "Normal", "ComposeResources",
                            f'Pipeline step "failover": {target} is serving; {self._dns_note(composite, target)}',
                            COMPONENT)
        return conditions.condition("Ready", "True", "Available"), self._status(state, primary, params, "Serving")

    def _status(self, state: _State, primary: str, params: dict[str, Any], phase: str,
                message: str = "") -> dict[str, Any]:
        weight = int(params.get("weighting", 100))
        serving_weight = weight if state.serving == primary else 100
        weights = {name: (serving_weight if name == state.serving else 100 - serving_weight) for name in self.sides}
        # message is None when there is nothing to say, so a merge patch removes an old one
        return {"failover": {"activeProvider": state.serving, "phase": phase, "weights": weights,
                             "dnsAnswer": state.dns_answer, "message": message or None}}

    def _dns_note(self, composite: Composite, side_name: str) -> str:
        address = composite.addresses[side_name]
        return {"function": f"DNS {composite.dns_name} answers {address}",
                "provider": f"Route53 Record {composite.dns_name} set to {address}",
                "external-dns": f"DNSEndpoint {composite.dns_name} set to {address}",
                "traffic-manager": f"Traffic Manager endpoint {side_name} has priority 1",
                }.get(self.mode, f"DNS {composite.dns_name} follows Route53's health check")

    async def _point_dns(self, composite: Composite, state: _State, side_name: str) -> None:
        address = composite.addresses[side_name]
        if state.dns_answer == address:
            return
        if self.mode == dnsmodes.DEFAULT:
            await replace_address(self.dns.server, self.dns.zone, composite.dns_name, [address], self.dns.ttl,
                                  self.dns.key)
        elif self.mode == "provider":
            record = next(r for r in composite.managed["aws"] if r.kind == "Record")
            self._patch_spec(record, {"forProvider": {"records": [address]}})
        elif self.mode == "external-dns" and composite.dns_endpoint is not None:
            endpoint = self.cluster.store.get((composite.dns_endpoint.group, composite.dns_endpoint.plural),
                                              composite.dns_endpoint.namespace, composite.dns_endpoint.name)
            entries = [dict(e) for e in ((endpoint or {}).get("spec") or {}).get("endpoints") or []]
            for entry in entries:
                if str(entry.get("dnsName", "")).rstrip(".") == composite.dns_name.rstrip("."):
                    entry["targets"] = [address]
            self._patch_spec(composite.dns_endpoint, {"endpoints": entries})
        elif self.mode == "traffic-manager":
            for ref in composite.managed["azure"]:
                if ref.kind == dnsmodes.TM_ENDPOINT:
                    priority = 1 if ref.resource == f"tm-{side_name}" else 2
                    self._patch_spec(ref, {"forProvider": {"priority": priority}})
        state.dns_answer = address
        log.info("DNS %s -> %s (%s) at %s", composite.dns_name, address, self.mode, now())

    def _patch_spec(self, ref: ManagedRef, spec: dict[str, Any]) -> None:
        kind = rtype(self.cluster, ref.group, ref.version, ref.plural)
        self.cluster.patch(kind, ref.namespace, ref.name, MERGE_PATCH, {"spec": spec})

    def _mark_roles(self, composite: Composite, serving: str) -> None:
        for side_name, refs in composite.managed.items():
            role = "serving" if side_name == serving else "standby"
            for ref in refs:
                obj = self.cluster.store.get((ref.group, ref.plural), ref.namespace, ref.name)
                mr_type = rtype(self.cluster, ref.group, ref.version, ref.plural)
                if obj is not None and (obj["metadata"].get("annotations") or {}).get(ROLE_ANNOTATION) != role:
                    self.cluster.patch(mr_type, ref.namespace, ref.name, MERGE_PATCH,
                                       {"metadata": {"annotations": {ROLE_ANNOTATION: role}}})
