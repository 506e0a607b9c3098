"""Waiting for the steady state: every XR Ready and served from the primary, and every nameserver answering the
primary, with a deadline.

Used before a scenario or a game-day step starts, and to know the platform is back after one. It asks the cluster
and the nameservers (the steady-state probes of ``xpchaos.probes.failover``) until both hold or the time is up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from xpchaos.core import kube, platform_graph
from xpchaos.core.target import Target
from xpchaos.probes.expectations import serving_field
from xpchaos.probes.failover import dns_answers_primary, xr_is_ready

POLL = 0.25  # seconds between two looks; each look is a GET and one DNS query per nameserver


@dataclass(frozen=True)
class Steady:
    held: bool
    xr_ready: bool | None  # None: could not be asked
    dns_primary: bool | None
    problem: str = ""  # what was wrong at the last look

    def describe(self) -> str:
        if self.held:
            return "the XR is Ready and every nameserver answers the primary"
        return self.problem


def served_elsewhere(target: Target) -> list[str]:
    """The composites naming a serving side other than the primary (``signals.xr_serving``): failed over and not
    yet back. Ready and a stale DNS answer alone do not say the platform is back: where DNS moves through a
    provider, a change held back during the fault may still be applied after it, and the failback follow."""
    path = serving_field(target)
    if not path:
        return []
    api = kube.client_for(target)
    try:
        elsewhere = []
        for ref in target.composites:
            value: object = platform_graph.read(api, ref) or {}
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if value and str(value).lower() != target.primary.name.lower():
                elsewhere.append(f"{ref.name} is served from {value}")
        return elsewhere
    finally:
        api.close()


def look(target: Target, what: tuple[str, ...] = ("xr", "dns")) -> Steady:
    """One look at the XRs (``xr``) and / or the nameservers (``dns``); what is not asked counts as holding."""
    config = {"xpchaos_target": str(target.path)}
    problems = []
    xr: bool | None
    dns: bool | None
    try:
        xr = xr_is_ready(configuration=config) if "xr" in what else True
        if not xr:
            problems.append("an XR is not Ready")
        elsewhere = served_elsewhere(target) if xr and "xr" in what else []
        if elsewhere:
            xr = False
            problems.append(f"{elsewhere[0]}, not the primary {target.primary.name}")
    except Exception as exc:  # unreachable API: say so, without response bodies
        xr = None
        problems.append(f"the XR could not be read ({type(exc).__name__})")
    try:
        dns = dns_answers_primary(configuration=config) if target.dns and "dns" in what else True
        if not dns:
            problems.append("a nameserver does not answer the primary")
    except Exception as exc:
        dns = None
        problems.append(f"a nameserver could not be asked ({type(exc).__name__})")
    return Steady(bool(xr and dns), xr, dns, "; ".join(problems))


def wait(target: Target, timeout: float = 60.0, what: tuple[str, ...] = ("xr", "dns")) -> Steady:
    """Look until the steady state holds or ``timeout`` seconds pass; returns the last look."""
    deadline = time.monotonic() + timeout
    while True:
        state = look(target, what)
        if state.held or time.monotonic() >= deadline:
            return state
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
