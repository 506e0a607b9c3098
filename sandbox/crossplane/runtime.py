"""Start the simulated platform inside the sandbox process: provision, then run every controller (and the
other teams' noise)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..cluster import Cluster
from . import dnsmodes, externaldns, functioninput, install, noise, packages
from .composite import CompositeReconciler
from .dnsservices import ZoneWriter, endpoints_of
from .failover import DnsTarget, FailoverFunction
from .layout import Layout
from .managed import ManagedReconciler
from .platform import DnsParams
from .providerconfigs import ProviderConfigReconciler
from .recorder import Recorder
from .route53 import Route53
from .timings import Timings, poll_args
from .trafficmanager import TrafficManager

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
    mode = layout.dns_mode
    params = DnsParams(mode, timings.dns_ttl, timings.health_interval, timings.health_threshold)
    addresses, published = install.install(cluster, layout, profile, poll_args(timings), params,
                                           functioninput.input_for(timings))
    recorder = Recorder(cluster)
    simulation = Simulation(profile, timings, layout, published)
    applier = _dns_services(cluster, layout, timings, dns, dns_seeded, simulation) if mode != dnsmodes.DEFAULT \
        else None
    for side in layout.sides.values():
        simulation.tasks.append(_supervised(
            f"providerconfig/{side.pc_group}",
            ProviderConfigReconciler(cluster, recorder, side.pc_group, resync=timings.mr_poll,
                                     kind=side.pc_kind).run()))
        for provider, refs in side.providers.items():
            simulation.tasks.append(_supervised(
                provider, ManagedReconciler(cluster, recorder, side, provider, refs, timings, layout.network,
                                            applier).run()))
    function = None
    if profile == "blueprint":
        if dns is None:
            raise ValueError("the blueprint profile needs a DNS server to update")
        function = FailoverFunction(cluster, recorder, layout.sides, timings, dns, layout.composites, dns_seeded,
                                    mode)
    simulation.tasks.append(_supervised("composite", CompositeReconciler(cluster, recorder, layout, timings,
                                                                         function).run()))
    simulation.tasks.append(_supervised("replicasets", packages.PodReplacer(cluster, layout.namespace,
                                                                            addresses).run()))
    _start_noise(cluster, layout, simulation)
    log.info("simulated Crossplane started: platform %s, profile %s, %d composites, timings %s", layout.name,
             profile, len(layout.composites), timings.as_dict())
    return simulation


def _dns_services(cluster: Cluster, layout: Layout, timings: Timings, dns: DnsTarget | None, seeded: bool,
                  simulation: Simulation) -> Callable[[dict[str, Any]], None]:
    """Start the DNS service of the platform's mode (Route53, Traffic Manager or ExternalDNS) with its zone
    writer; returns what the providers call after a successful reconcile (the cloud made to match the MR)."""
    if dns is None:
        raise ValueError(f"--dns {layout.dns_mode} needs a DNS server to update")
    mode = layout.dns_mode
    key = dns.externaldns_key if mode == "external-dns" and dns.externaldns_key is not None else dns.key
    writer = ZoneWriter(mode, dns.server, dns.zone, key)
    for name, rdtype, value in dnsmodes.initial_records(mode, layout.composites):
        if seeded:
            writer.seeded(name, rdtype, [value], timings.dns_ttl)
        elif rdtype != "CNAME" or mode != "traffic-manager":
            writer.want(name, rdtype, [value], timings.dns_ttl)  # an external server: written before anything
    simulation.tasks.append(_supervised(f"dns/{mode}", writer.run()))
    managed = [(cloud, ref) for c in layout.composites for cloud, refs in c.managed.items() for ref in refs]
    stored = [o for o in (cluster.store.get((r.group, r.plural), r.namespace, r.name) for _, r in managed) if o]
    if mode == "external-dns":
        externaldns.install(cluster, timings.dns_interval, dns.server, dns.zone, key)
        controller = externaldns.ExternalDns(cluster, writer, timings.dns_interval)
        simulation.tasks.append(_supervised("external-dns", controller.run()))
        return lambda _mr: None
    endpoints = endpoints_of(layout)
    service: Route53 | TrafficManager
    if mode == "traffic-manager":
        service = TrafficManager(writer, {dnsmodes.endpoint_name(c.dns_name, cloud): address
                                          for c in layout.composites for cloud, address in c.addresses.items()},
                                 endpoints.answering,
                                 {r.name: c.dns_name for c in layout.composites for r in c.managed["azure"]
                                  if r.kind == dnsmodes.TM_PROFILE})
        kinds = {dnsmodes.TM_PROFILE, dnsmodes.TM_ENDPOINT}
    else:
        service = Route53(writer, endpoints)
        kinds = {"Record", "HealthCheck"}
    for obj in stored:  # what the cloud holds from the start: the MRs were created there when composed
        if obj["kind"] in kinds:
            service.apply(obj)
    simulation.tasks.append(_supervised(f"cloud-dns/{mode}", service.run()))

    def apply(mr: dict[str, Any]) -> None:
        if mr["kind"] in kinds:
            service.apply(mr)

    return apply


def _start_noise(cluster: Cluster, layout: Layout, simulation: Simulation) -> None:
    spec = layout.spec.spec.noise
    if not spec.namespaces:
        return
    pods = noise.populate(cluster, spec)
    events = noise.EventNoise(cluster, pods, spec.events_per_second, spec.events_kept)
    simulation.noise = events.describe()
    if spec.events_per_second:
        simulation.tasks.append(_supervised("noise", events.run()))
