"""Every timing of the simulation, as parameters. ``fast`` is for tests, ``real`` for demos: the blueprint fails over
within 90 s; stock keeps upjet's default 10-minute poll."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Timings:
    mr_poll: float  # provider --poll: how often a healthy MR is observed (upjet default 10m)
    backoff_min: float  # failure backoff of the managed reconciler (crossplane-runtime: 1 s ...
    backoff_max: float  # ... to 60 s)
    xr_poll: float  # how often the composite reconciler looks again (crossplane default 1m)
    detection: float  # blueprint: primary unhealthy this long before the failover starts
    promotion: float  # blueprint: time the promotion takes while the XR reports Ready=False
    failback: float  # blueprint: original primary healthy this long before traffic returns
    dns_ttl: int  # TTL of the failover record
    # --dns modes other than function (crossplane/dnsmodes.py)
    dns_interval: float = 60.0  # external-dns: ExternalDNS --interval (default 1m)
    health_interval: float = 10.0  # route53-failover: HealthCheck requestInterval; traffic-manager: intervalInSeconds
    health_threshold: int = 3  # HealthCheck failureThreshold; Traffic Manager toleratedNumberOfFailures

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> Timings:
        """Refuse timings no controller could run with (ValueError naming the first problem)."""
        for name, value in self.as_dict().items():
            if value < 0:
                raise ValueError(f"timing {name} must not be negative, got {value}")
        if self.mr_poll <= 0 or self.xr_poll <= 0 or self.dns_interval <= 0 or self.health_interval <= 0:
            raise ValueError("timings mr_poll, xr_poll, dns_interval and health_interval must be greater than 0")
        if self.backoff_min <= 0 or self.backoff_min > self.backoff_max:
            raise ValueError(f"timing backoff_min ({self.backoff_min}) must be > 0 and <= backoff_max "
                             f"({self.backoff_max})")
        return self


SPEEDS = {
    "fast": Timings(mr_poll=1.0, backoff_min=0.25, backoff_max=2.0, xr_poll=0.5, detection=2.0, promotion=1.0,
                    failback=4.0, dns_ttl=2, dns_interval=1.0, health_interval=1.0, health_threshold=3),
    # shortened polls, as a 90 s failover needs (docs/crossplane.md); detection + promotion + TTL ~ 60 s
    # ExternalDNS keeps its default 1m interval; Route53 and Traffic Manager check every 10 s ("fast"), 3 failures
    "real": Timings(mr_poll=10.0, backoff_min=1.0, backoff_max=60.0, xr_poll=5.0, detection=20.0, promotion=10.0,
                    failback=60.0, dns_ttl=30, dns_interval=60.0, health_interval=10.0, health_threshold=3),
}


# per profile at a speed: stock Crossplane at real speed keeps upjet's default --poll=10m (nothing shortened, so a
# fault stays unseen for up to ten minutes: docs/crossplane.md, 'Detection latency'); the blueprint shortens it,
# as a 90 s failover needs
PROFILE_SPEEDS: dict[tuple[str, str], dict[str, Any]] = {("stock", "real"): {"mr_poll": 600.0}}


def names() -> dict[str, str]:
    """Every timing ``--timing`` takes and its unit: ``seconds``, or ``whole seconds`` for the integer ones."""
    return {name: "whole seconds" if isinstance(value, int) else "seconds"
            for name, value in SPEEDS["fast"].as_dict().items()}


DNS_MODE_TIMINGS = ("dns_interval", "health_interval", "health_threshold")


def timings_for(speed: str, profile: str = "", **overrides: Any) -> Timings:
    """The preset of ``speed`` (adjusted for ``profile``), then ``overrides`` (``--timing NAME=VALUE``) on top."""
    base = replace(SPEEDS[speed], **PROFILE_SPEEDS.get((profile, speed), {}))
    return replace(base, **{k: v for k, v in overrides.items() if v is not None}).check()


def go_duration(seconds: float) -> str:
    """``seconds`` as a provider flag writes it and Go's time.ParseDuration reads it: 10m, 10s, 1m30s, 500ms."""
    millis = round(seconds * 1000)
    if millis <= 0:
        return "0s"
    if millis % 1000:
        return f"{millis}ms"
    out, rest = "", millis // 1000
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def poll_args(timings: Timings) -> list[str]:
    """The provider container's args: the poll interval the simulated managed reconcilers really use."""
    return [f"--poll={go_duration(timings.mr_poll)}"]
