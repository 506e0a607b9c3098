"""What ``--profile stock|blueprint`` adds to the bare API server: the DNS server, the simulated platform of
``--platform`` (seed, realistic or a SandboxPlatform file), the Target file and ``platform.json``. ``--profile
none`` is the bare Kubernetes API (the project's API tests use it)."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cluster import Cluster
from .crossplane import dnsmodes, groundtruth, layout, platform, runtime, spec
from .crossplane import target as target_file
from .crossplane.failover import DnsTarget
from .crossplane.presets import PRESETS
from .crossplane.timings import SPEEDS, Timings, timings_for

log = logging.getLogger("sandbox")
PROFILES = ("none", "stock", "blueprint")


@dataclass
class Running:
    dns: str | None = None
    target: str | None = None
    closers: list[Any] = field(default_factory=list)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            result = closer()
            if hasattr(result, "__await__"):
                await result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=PROFILES, default="none",
                        help="none: bare API; stock: plain Crossplane; blueprint: the seed's failover design")
    parser.add_argument("--speed", choices=sorted(SPEEDS), default="fast", help="timing preset")
    parser.add_argument("--timing", action="append", default=[], metavar="NAME=VALUE",
                        help=f"override one timing ({', '.join(SPEEDS['fast'].as_dict())})")
    parser.add_argument("--crossplane", choices=("v1", "v2"), default=None,
                        help="Crossplane API generation (default: the platform's, else v1)")
    parser.add_argument("--platform", default="seed", metavar="seed|realistic|FILE",
                        help="the simulated platform: a preset, or a SandboxPlatform YAML file")
    parser.add_argument("--primary", choices=platform.CLOUDS, default="aws",
                        help="the cloud that serves first (the XR's primaryProvider); the other one is the secondary")
    parser.add_argument("--dns-server", default=None, metavar="HOST:PORT",
                        help="send the failover's RFC 2136 updates to this server (e.g. BIND9) instead")
    parser.add_argument("--tsig-key", type=Path, default=None, help="BIND key file for --dns-server")
    parser.add_argument("--dns", choices=dnsmodes.MODES, default=None, metavar="MODE",
                        help=f"how DNS moves on a failover: {', '.join(dnsmodes.MODES)} (default: the platform's "
                             "spec.dns.mode, else function)")


def parse_timings(speed: str, overrides: list[str], profile: str = "") -> Timings:
    values: dict[str, Any] = {}
    known = SPEEDS[speed].as_dict()
    for item in overrides:
        name, _, value = item.partition("=")
        if name not in known or not value:
            raise ValueError(f"--timing {item!r}: expected NAME=VALUE with NAME one of {', '.join(known)}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--timing {item!r}: {value!r} is not a number of seconds") from None
        if isinstance(known[name], int) and not number.is_integer():
            raise ValueError(f"--timing {item!r}: {name} is a whole number of seconds")
        values[name] = type(known[name])(number)
    return timings_for(speed, profile, **values)


def _split_hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--dns-server {text!r}: expected HOST:PORT")
    return host, int(port)


def check(args: argparse.Namespace) -> None:
    """Read and check ``--platform`` (with ``--crossplane``) before anything is bound: a bad file stops the process
    with one line (``spec.PlatformError``, a ValueError: exit code 2). Sets ``args.platform_spec`` and resolves
    ``args.crossplane``."""
    choice = args.platform
    platform_spec = (spec.parse(PRESETS[choice], f"--platform {choice}") if choice in PRESETS
                     else spec.load(Path(choice)))
    if args.profile == "none" and choice != "seed":
        raise spec.PlatformError(f"--platform {choice} needs --profile stock or blueprint (--profile none is the "
                                 "bare API, with no platform)")
    args.crossplane = spec.check_version(platform_spec, args.crossplane, f"--platform {choice}")
    args.platform_spec = spec.with_dns_mode(platform_spec, getattr(args, "dns", None), f"--platform {choice}")


async def start(args: argparse.Namespace, cluster: Cluster, state_dir: Path) -> Running:
    running = Running()
    if args.profile == "none":
        return running
    if getattr(args, "platform_spec", None) is None:
        check(args)
    timings = parse_timings(args.speed, args.timing, args.profile)
    plan = layout.build(args.platform_spec, args.crossplane, args.primary)
    dns_target = await _start_dns(args, timings, state_dir, running, plan)
    simulation = runtime.start(cluster, plan, args.profile, timings, dns_target, dns_seeded=not args.dns_server)
    running.closers.append(simulation.stop)
    doc = target_file.document(state_dir / "kubeconfig", args.profile, args.speed, timings, plan,
                               running.dns or "", args.primary)
    path = state_dir / "target.yaml"
    target_file.write(path, doc)
    groundtruth.write(state_dir / "platform.json", groundtruth.document(
        cluster, plan, simulation.published, running.dns or "", simulation.noise, timings))
    running.target = str(path.resolve())
    return running


async def _start_dns(args: argparse.Namespace, timings: Timings, state_dir: Path, running: Running,
                     plan: layout.Layout) -> DnsTarget:
    from .dns import rfc2136

    if args.dns_server:
        if args.tsig_key is None:
            raise ValueError("--dns-server needs --tsig-key (the BIND key file allowed to update the zone)")
        server = _split_hostport(args.dns_server)
        running.dns = args.dns_server
        return DnsTarget(server, platform.DNS_ZONE, timings.dns_ttl, rfc2136.load_tsig_key(args.tsig_key))
    from .dns import server as dns_server
    from .dns import zone as dns_zone

    key, key_text = rfc2136.generate_tsig_key("xpchaos-sandbox-key.")
    _write_private(state_dir / "tsig.key", key_text)
    keyring: dict[Any, Any] = {key.name: key}
    externaldns_key = None
    if plan.dns_mode == "external-dns":  # ExternalDNS signs with its own key, not the platform's
        externaldns_key, _ = rfc2136.generate_tsig_key("external-dns.")
        keyring[externaldns_key.name] = externaldns_key
    # the zone starts out answering each composite's primary side
    records = dnsmodes.initial_records(plan.dns_mode, plan.composites)
    text = dns_zone.zone_text([(name, value) for name, rdtype, value in records if rdtype == "A"], timings.dns_ttl,
                              cnames=[(name, value) for name, rdtype, value in records if rdtype == "CNAME"])
    zone = dns_zone.Zone.from_text(text)
    served = await dns_server.start(zone, args.host, args.dns_port, keyring)
    running.closers.append(served.close)
    host, port = served.address
    running.dns = f"{host}:{port}"
    return DnsTarget((host, port), platform.DNS_ZONE, timings.dns_ttl, key, externaldns_key)


def _write_private(path: Path, text: str) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
