"""Start the simulated platform inside the sandbox process: provision, then run every controller (and the
other teams' noise)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from ..cluster import Cluster
from . import install, noise, packages
from .composite import CompositeReconciler
from .failover import DnsTarget, FailoverFunction
from .layout import Layout
from .managed import ManagedReconciler
from .providerconfigs import ProviderConfigReconciler
from .recorder import Recorder
from .timings import Timings, poll_args

log = logging.getLogger("xpchaos.sandbox.crossplane")
PROFILES = ("stock", "blueprint")


@dataclass
class Simulation:
    profile: str
    timings: Timings
    layout: Layout
    published: dict[str, Any] = field(default_factory=dict)  # the cluster's own endpoints (endpoints.publish)
    noise: dict[str, Any] | None = None
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


def start(cluster: Cluster, layout: Layout, profile: str, timings: Timings, dns: DnsTarget | None,
          dns_seeded: bool = True) -> Simulation:
    """Provision ``layout`` and start its controllers; ``dns_seeded``: the zone already answers each XR's primary
    (the sandbox's own server), else the failover function writes every record first (an external server)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    addresses, published = install.install(cluster, layout, profile, poll_args(timings))
    recorder = Recorder(cluster)
    simulation = Simulation(profile, timings, layout, published)
    for side in layout.sides.values():
        simulation.tasks.append(_supervised(
            f"providerconfig/{side.pc_group}",
            ProviderConfigReconciler(cluster, recorder, side.pc_group, resync=timings.mr_poll,
                                     kind=side.pc_kind).run()))
        for provider, refs in side.providers.items():
            simulation.tasks.append(_supervised(
                provider, ManagedReconciler(cluster, recorder, side, provider, refs, timings, layout.network).run()))
    function = None
    if profile == "blueprint":
        if dns is None:
            raise ValueError("the blueprint profile needs a DNS server to update")
        function = FailoverFunction(cluster, recorder, layout.sides, timings, dns, layout.composites, dns_seeded)
    simulation.tasks.append(_supervised("composite", CompositeReconciler(cluster, recorder, layout, timings,
                                                                         function).run()))
    simulation.tasks.append(_supervised("replicasets", packages.PodReplacer(cluster, layout.namespace,
                                                                            addresses).run()))
    _start_noise(cluster, layout, simulation)
    log.info("simulated Crossplane started: platform %s, profile %s, %d composites, timings %s", layout.name,
             profile, len(layout.composites), timings.as_dict())
    return simulation


def _start_noise(cluster: Cluster, layout: Layout, simulation: Simulation) -> None:
    spec = layout.spec.spec.noise
    if not spec.namespaces:
        return
    pods = noise.populate(cluster, spec)
    events = noise.EventNoise(cluster, pods, spec.events_per_second, spec.events_kept)
    simulation.noise = events.describe()
    if spec.events_per_second:
        simulation.tasks.append(_supervised("noise", events.run()))
