"""Given: which platform, and that it is healthy before anything is done to it.

Each step's docstring ends with ``Example:`` (the catalogue, ``xpchaos steps``, shows it).
"""

from __future__ import annotations

from pytest_bdd import given, parsers

from xpchaos.core import dns_wiring
from xpchaos.run import steady

from .world import NAME, WAIT_STEADY, World

PROFILES = ("blueprint", "stock")
SPEEDS = ("fast", "real")


def _check(profile: str, speed: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown platform profile {profile!r}; say one of: {', '.join(PROFILES)}")
    if speed not in SPEEDS:
        raise ValueError(f"unknown speed {speed!r}; say one of: {', '.join(SPEEDS)}")


@given(parsers.parse("the {profile:Name} platform serving from {provider:Name}", extra_types=NAME))
def platform_serving_from(world: World, profile: str, provider: str) -> None:
    """Use a platform of this profile (blueprint: the seed's failover design; stock: plain Crossplane) whose
    primary is ``provider``. The sandbox is started on first use; with ``--target`` the scenario is skipped when
    the target cannot be that platform.

    Example: Given the blueprint platform serving from azure
    """
    _check(profile, "fast")
    world.use(profile, provider)


@given(parsers.parse("the {profile:Name} platform serving from {provider:Name} at {speed:Name} speed",
                     extra_types=NAME))
def platform_at_speed(world: World, profile: str, provider: str, speed: str) -> None:
    """As above, with the sandbox's timings: ``fast`` (seconds, the default) or ``real`` (a 10 s provider poll, a
    failover in about 30 s).

    Example: Given the blueprint platform serving from aws at real speed
    """
    _check(profile, speed)
    world.use(profile, provider, speed)


@given(parsers.parse("the {profile:Name} platform serving from {provider:Name} with DNS wired by {mode:Name}",
                     extra_types=NAME))
def platform_with_dns(world: World, profile: str, provider: str, mode: str) -> None:
    """As above, with DNS moved by ``mode``: ``function`` (the failover function writes the zone), ``provider`` (a
    Route53 Record reconciled through AWS's ProviderConfig), ``route53-failover`` (Route53 health-check failover),
    ``external-dns`` (ExternalDNS, with its own credentials) or ``traffic-manager`` (Azure Traffic Manager). The
    sandbox is started with ``--dns MODE``; with ``--target`` the scenario is skipped unless the target's DNS is
    wired that way (each DNS record's ``wiring``, else what each composite composes, read through the API).

    Example: Given the blueprint platform serving from aws with DNS wired by route53-failover
    """
    _check(profile, "fast")
    if mode not in dns_wiring.WIRINGS:
        raise ValueError(f"unknown DNS wiring {mode!r}; say one of: {', '.join(dns_wiring.WIRINGS)}")
    world.use(profile, provider, dns=mode)


@given("the target is healthy")
def target_is_healthy(world: World) -> None:
    """Wait (up to 60 s) until every XR is Ready and served from the primary (where it names its serving side,
    ``signals.xr_serving``: a previous scenario's failback done) and every nameserver answers the primary.

    Example: Given the target is healthy
    """
    state = steady.wait(world.target, WAIT_STEADY)
    assert state.held, f"the target {world.target.name} is not healthy after {WAIT_STEADY:.0f} s: {state.problem}"


@given(parsers.parse('the {kind:Name} "{name}" is Ready', extra_types=NAME))
def composite_is_ready(world: World, kind: str, name: str) -> None:
    """The target watches this composite, and it is Ready (waiting up to 60 s).

    Example: Given the XGlobalDatabase "production-db" is Ready
    """
    known = [(c.kind, c.name) for c in world.target.composites]
    assert (kind, name) in known, f"the target has no {kind} {name!r} (it watches: " \
                                  f"{', '.join(f'{k} {n!r}' for k, n in known) or 'none'})"
    state = steady.wait(world.target, WAIT_STEADY, what=("xr",))
    assert state.xr_ready, f"{kind} {name!r} is not Ready after {WAIT_STEADY:.0f} s: {state.problem}"


@given(parsers.parse("every {kind:Name} is Ready", extra_types=NAME))
def composites_are_ready(world: World, kind: str) -> None:
    """The target watches at least one composite of this kind (or say ``XR``), and every composite it watches is
    Ready (waiting up to 60 s): the words for a scenario meant for any platform, whatever its XRs are called.

    Example: Given every XGlobalDatabase is Ready
    """
    composites = world.target.composites
    kinds = sorted({c.kind for c in composites})
    assert kind in (*kinds, "XR", "composite") and composites, \
        f"the target watches no {kind} (it watches: {', '.join(kinds) or 'no composite'})"
    state = steady.wait(world.target, WAIT_STEADY, what=("xr",))
    assert state.xr_ready, f"not every {kind} of {len(composites)} is Ready after {WAIT_STEADY:.0f} s: {state.problem}"


@given("DNS answers the primary on every nameserver")
def dns_answers_primary(world: World) -> None:
    """Every nameserver of every DNS record answers the primary's addresses (waiting up to 60 s).

    Example: Given DNS answers the primary on every nameserver
    """
    state = steady.wait(world.target, WAIT_STEADY, what=("dns",))
    assert state.dns_primary, f"DNS does not answer the primary after {WAIT_STEADY:.0f} s: {state.problem}"
