"""Start the simulated Crossplane inside the sandbox process: provision, then run every controller."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from ..cluster import Cluster
from . import install, platform
from .composite import CompositeReconciler
from .failover import DnsTarget, FailoverFunction
from .managed import ManagedReconciler
from .platform import Side
from .providerconfigs import ProviderConfigReconciler
from .recorder import Recorder
from .timings import Timings, poll_args

log = logging.getLogger("xpchaos.sandbox.crossplane")
PROFILES = ("stock", "blueprint")


@dataclass
class Simulation:
    profile: str
    timings: Timings
    sides: dict[str, Side]
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        _, pending = await asyncio.wait(self.tasks, timeout=5)
        if pending:
            log.error("controllers still running 5 s after cancel: %s", [t.get_name() for t in pending])


def _supervised(name: str, coro: Any) -> asyncio.Task[Any]:
    """A controller that dies is logged loudly (a real controller manager would restart it)."""
    async def guard() -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("controller %s stopped", name)
            raise

    return asyncio.create_task(guard(), name=name)


def start(cluster: Cluster, profile: str, timings: Timings, dns: DnsTarget | None,
          dns_answer: str = "", crossplane: str = "v1", primary: str = "aws") -> Simulation:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    sides = platform.sides(crossplane)
    install.install(cluster, profile, sides, crossplane, primary, poll_args(timings))
    recorder = Recorder(cluster)
    simulation = Simulation(profile, timings, sides)
    for side in sides.values():
        simulation.tasks.append(_supervised(
            f"providerconfig/{side.pc_group}",
            ProviderConfigReconciler(cluster, recorder, side.pc_group, resync=timings.mr_poll,
                                     kind=side.pc_kind).run()))
        for provider, refs in side.providers.items():
            simulation.tasks.append(_supervised(
                provider, ManagedReconciler(cluster, recorder, side, provider, refs, timings).run()))
    function = None
    if profile == "blueprint":
        if dns is None:
            raise ValueError("the blueprint profile needs a DNS server to update")
        function = FailoverFunction(cluster, recorder, sides, timings, dns)
        function.dns_answer = dns_answer
    simulation.tasks.append(_supervised("composite", CompositeReconciler(cluster, recorder, sides, timings,
                                                                         function).run()))
    log.info("simulated Crossplane started: profile %s, primary %s, timings %s", profile, primary,
             timings.as_dict())
    return simulation
