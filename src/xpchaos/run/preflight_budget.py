"""Preflight's time budget: every term a failover waits for that the cluster publishes, added up against the SLO.

Which terms add up depends on how each composite's DNS is wired (``xpchaos.core.dns_wiring.classify`` on the
objects it composes) and on the fault:

- the provider faults (revoke-credentials, delete-providerconfig, block-provider-api) are seen by the lost side's
  provider at its next ``--poll``, reported after one reconciler backoff, acted on after the failover function's
  detection threshold (where its Composition step's input publishes one); then DNS moves: at once (``function``,
  ``provider``), at ExternalDNS's next ``--interval`` (``external-dns``); a resolver may keep the old answer for
  the TTL. Where a health check routes DNS (``route53-failover``, ``traffic-manager``) losing the provider does
  not stop the endpoint: DNS does not move for them at all;
- the health check fault (fail-health-check), where a health check routes DNS: the check's interval times the
  failures it needs (Route53: requestInterval x failureThreshold; Traffic Manager: intervalInSeconds x
  (toleratedNumberOfFailures + 1)), then the TTL.

Each budget is one finding (``budget``) whose rows are its terms; the term that breaks the SLO is named: one that
alone exceeds it, else the largest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.actions.effects import BACKOFF_CAP
from xpchaos.core import dns_wiring
from xpchaos.core import platform_graph as graph
from xpchaos.core.provider_poll import DEFAULT_POLL, parse_go_duration
from xpchaos.core.target import Provider, Target
from xpchaos.run import preflight as base

PROVIDER_FAULTS = "provider faults (revoke-credentials, delete-providerconfig, block-provider-api)"
HEALTH_FAULT = "health check fault (fail-health-check)"
EXTERNAL_DNS_DEFAULT_INTERVAL = "1m"  # ExternalDNS's --interval when its args name none

POLL, BACKOFF, DETECTION, INTERVAL, HEALTH, TTL = (
    "provider poll", "reconciler backoff", "detection threshold", "ExternalDNS interval", "health check", "TTL")
FIXES = {
    POLL: "shorten the provider's --poll (e.g. 10s) with a DeploymentRuntimeConfig, or let a health check move DNS",
    BACKOFF: "shorten the provider's --poll: the backoff counted is at most one poll",
    DETECTION: "lower the failover function's detection threshold (its step's input in the Composition)",
    INTERVAL: "shorten ExternalDNS's --interval, or let it watch its sources (--events)",
    HEALTH: "check more often or fail sooner (Route53: requestInterval 10, a lower failureThreshold; Traffic "
            "Manager: a shorter intervalInSeconds, fewer tolerated failures)",
    TTL: "lower the record's TTL: a resolver may serve the old answer that long after the switch",
}


@dataclass(frozen=True)
class Term:
    name: str
    seconds: float | None  # None: not published (counts 0, shown as such)
    source: str  # where it was read, or why it is not known
    expression: str = ""  # how it adds up, when it is a product (``30 x 3``)

    def row(self) -> tuple[str, str, str]:
        return self.name, "not published" if self.seconds is None else f"{self.seconds:g} s", self.source


@dataclass(frozen=True)
class Budget:
    fault: str
    wiring: str
    composites: tuple[str, ...]
    terms: tuple[Term, ...]
    slo: float

    @property
    def total(self) -> float:
        return sum(t.seconds or 0.0 for t in self.terms)

    @property
    def breaker(self) -> Term | None:
        """The term that breaks the SLO: one that alone exceeds it, else the largest; None when the sum fits."""
        if self.total <= self.slo:
            return None
        alone = [t for t in self.terms if (t.seconds or 0) > self.slo]
        return max(alone or self.terms, key=lambda t: t.seconds or 0.0)

    def finding(self) -> base.Finding:
        named = ", ".join(self.composites[:3]) + (f" and {len(self.composites) - 3} more"
                                                   if len(self.composites) > 3 else "")
        sums = " + ".join(t.expression or f"{t.seconds:g}" if t.seconds is not None else "0 (not published)"
                          for t in self.terms)
        said = f"{self.fault}, DNS wiring {self.wiring} ({named}): {sums} = {self.total:g} s"
        breaker = self.breaker
        verdict = f"within the {self.slo:g} s SLO" if breaker is None else \
            f"the {self.slo:g} s SLO cannot be met: the {breaker.name} breaks it"
        rows = (*(t.row() for t in self.terms), ("total", f"{self.total:g} s", verdict))
        if breaker is None:
            return base.Finding("budget", base.OK, f"{said}, within the {self.slo:g} s SLO", rows=rows)
        return base.Finding("budget", base.FAIL,
                            f"{said}: the {self.slo:g} s SLO cannot be met; the {breaker.name} "
                            f"({base.human(breaker.seconds or 0)}, {breaker.source}) breaks it",
                            FIXES.get(breaker.name, ""), rows=rows)


@dataclass(frozen=True)
class Composite:
    """A composite as the budget and the loops read it: its name, its XR, the objects it composes, its wiring."""

    name: str
    xr: dict[str, Any]
    composed: tuple[dict[str, Any], ...]
    wiring: dns_wiring.Wiring


def read_composites(api: client.ApiClient, target: Target) -> list[Composite]:
    """Each composite of the target with the objects it composes (those the harness may not read are left out:
    the wiring is judged from the rest; a composite that cannot be read is left out too, the ``composite`` check
    says why)."""
    out = []
    for ref in target.composites:
        try:
            xr_ref, xr = graph.composite(api, ref)
        except (ApiException, graph.WalkError):
            continue
        objects = []
        for r in graph.resource_refs(xr):
            try:
                obj = graph.read(api, graph.ref_to(api, r["apiVersion"], r["kind"], r["name"],
                                                   r.get("namespace") or xr_ref.namespace))
            except (ApiException, graph.WalkError):
                continue
            if obj is not None:
                objects.append(obj)
        out.append(Composite(xr_ref.name, xr, tuple(objects), dns_wiring.classify(objects)))
    return out


def lost_side(target: Target) -> Provider:
    """The provider the faults take away: the primary."""
    return next((p for p in target.providers.values() if p.role == "primary"), next(iter(target.providers.values())))


# the terms -----------------------------------------------------------------------------------------------------------
def poll_terms(api: client.ApiClient, provider: Provider) -> list[Term]:
    """The lost side's longest --poll over its Provider packages, and one reconciler backoff on top."""
    found: list[tuple[float, str]] = []
    for name in _packages(api, provider):
        value, where = base.find_poll(api, provider.pods_namespace, name)
        text = value or DEFAULT_POLL
        try:
            seconds = parse_go_duration(text)
        except ValueError:
            continue
        found.append((seconds, f"{name} --poll={text} in {where}" if value else
                      f"{name}: upjet's default {DEFAULT_POLL} (no --poll in {where})"))
    if not found:
        default = parse_go_duration(DEFAULT_POLL)
        found.append((default, f"{provider.name}: upjet's default {DEFAULT_POLL} (no Provider package found)"))
    poll, source = max(found)
    return [Term(POLL, poll, source),
            Term(BACKOFF, min(BACKOFF_CAP, poll), f"crossplane-runtime's error backoff, counted up to "
                                                  f"{BACKOFF_CAP:g} s and never over one poll")]


def _packages(api: client.ApiClient, provider: Provider) -> tuple[str, ...]:
    try:
        names = base.provider_names(provider.pods_selector)
    except ValueError:
        return ()
    if names:
        return names
    pods = client.CoreV1Api(api).list_namespaced_pod(provider.pods_namespace, label_selector=provider.pods_selector,
                                                     _request_timeout=base.TIMEOUT).items
    return tuple(sorted({str(label) for p in pods
                         if (label := (getattr(p.metadata, "labels", None) or {}).get(base.PROVIDER_LABEL))}))


def detection_term(api: client.ApiClient, xr: Mapping[str, Any]) -> Term:
    """The failover function's detection threshold, from the input of a step of the XR's Composition."""
    spec = xr.get("spec") or {}
    name = ((spec.get("compositionRef") or (spec.get("crossplane") or {}).get("compositionRef") or {})
            .get("name"))
    if not name:
        return Term(DETECTION, None, "the XR names no Composition (spec.compositionRef)")
    custom: Any = client.CustomObjectsApi(api)
    try:
        composition = custom.get_cluster_custom_object("apiextensions.crossplane.io", "v1", "compositions", name,
                                                       _request_timeout=base.TIMEOUT)
    except ApiException as exc:
        return Term(DETECTION, None, f"cannot read Composition {name} ({base._why(exc)})")
    for step in (composition.get("spec") or {}).get("pipeline") or []:
        for key, value in _input_fields(step.get("input") or {}):
            if "detection" in key.lower():
                seconds = _seconds(value)
                if seconds is not None:
                    return Term(DETECTION, seconds, f"{key}: {value} in Composition {name}, step {step.get('step')}")
    return Term(DETECTION, None, f"no step of Composition {name} publishes one in its input")


def _input_fields(data: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _input_fields(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _seconds(value: Any) -> float | None:
    """A Go duration (``20s``) or a number of seconds; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_go_duration(str(value))
    except ValueError:
        return None


def external_dns_term(api: client.ApiClient) -> Term:
    """ExternalDNS's --interval, from the args of the Deployment that runs it, in any namespace."""
    try:
        deployments = client.AppsV1Api(api).list_deployment_for_all_namespaces(_request_timeout=base.TIMEOUT).items
    except ApiException as exc:
        return Term(INTERVAL, None, f"cannot list Deployments ({base._why(exc)})")
    for deployment in deployments:
        template: Any = deployment.spec.template if deployment.spec else None
        for container in (template.spec.containers if template and template.spec else None) or []:
            args = [str(a) for a in container.args or ()]
            if "external-dns" not in str(container.image or "") and not any(a.startswith("--source") for a in args):
                continue
            meta: Any = deployment.metadata
            where = f"Deployment {meta.namespace}/{meta.name}"
            value = next((a.partition("=")[2] for a in args if a.startswith("--interval=")), None)
            seconds = _seconds(value or EXTERNAL_DNS_DEFAULT_INTERVAL)
            return Term(INTERVAL, seconds, f"--interval={value} in {where}" if value else
                        f"ExternalDNS's default {EXTERNAL_DNS_DEFAULT_INTERVAL} (no --interval in {where})")
    return Term(INTERVAL, None, "no Deployment runs ExternalDNS")


def ttl_term(composite: Composite, target: Target) -> Term:
    """The TTL resolvers may keep the old answer: the moving object's (Record ttl, DNSEndpoint recordTTL, Traffic
    Manager profile dnsConfig.ttl), else the target's dns ttl."""
    for obj in composite.composed:
        kind, name, spec = obj.get("kind"), (obj.get("metadata") or {}).get("name"), dns_wiring.for_provider(obj)
        if kind == dns_wiring.TM_PROFILE:
            config = spec.get("dnsConfig") or [{}]
            ttl = (config[0] if isinstance(config, list) and config else config).get("ttl")
            if ttl is not None:
                return Term(TTL, float(ttl), f"dnsConfig.ttl of TrafficManagerProfile {name}")
        if kind == dns_wiring.DNS_ENDPOINT and composite.wiring.mode == dns_wiring.EXTERNAL_DNS:
            ttls = [e.get("recordTTL") for e in (obj.get("spec") or {}).get("endpoints") or []]
            if any(t is not None for t in ttls):
                return Term(TTL, float(max(t for t in ttls if t is not None)), f"recordTTL of DNSEndpoint {name}")
        if kind == dns_wiring.RECORD and composite.wiring.mode in (dns_wiring.PROVIDER, dns_wiring.ROUTE53_FAILOVER) \
                and spec.get("ttl") is not None:
            return Term(TTL, float(spec["ttl"]), f"ttl of Record {name}")
    ttls = [r.ttl for r in target.dns if r.ttl]
    if ttls:
        return Term(TTL, float(max(ttls)), "the target's dns ttl")
    return Term(TTL, None, "no composed DNS object and no ttl in the target's dns")


def health_term(composite: Composite) -> Term | None:
    """How long the health check takes to fail the primary: interval x the failures it needs."""
    for obj in composite.wiring.health:
        spec, name = dns_wiring.for_provider(obj), (obj.get("metadata") or {}).get("name")
        if obj.get("kind") == dns_wiring.HEALTH_CHECK:
            interval, threshold = float(spec.get("requestInterval", 30)), int(spec.get("failureThreshold", 3))
            return Term(HEALTH, interval * threshold,
                        f"HealthCheck {name}: requestInterval {interval:g} x failureThreshold {threshold}",
                        f"{interval:g} x {threshold}")
    for obj in composite.composed:
        if obj.get("kind") == dns_wiring.TM_PROFILE:
            config = dns_wiring.for_provider(obj).get("monitorConfig") or [{}]
            monitor = config[0] if isinstance(config, list) and config else config
            interval = float(monitor.get("intervalInSeconds", 30))
            tolerated = int(monitor.get("toleratedNumberOfFailures", 3))
            return Term(HEALTH, interval * (tolerated + 1),
                        f"TrafficManagerProfile {(obj.get('metadata') or {}).get('name')}: intervalInSeconds "
                        f"{interval:g} x (toleratedNumberOfFailures {tolerated} + 1)",
                        f"{interval:g} x {tolerated + 1}")
    return None


# the budgets ---------------------------------------------------------------------------------------------------------
def budgets(api: client.ApiClient, target: Target, composites: list[Composite]) -> list[Budget]:
    """One budget per fault kind and wiring, composites with the same terms sharing it."""
    slo = base.slo_of(target)
    polled = poll_terms(api, lost_side(target))
    interval: Term | None = None
    merged: dict[tuple[str, str, tuple[Term, ...]], list[str]] = {}
    for composite in composites:
        mode = composite.wiring.mode
        ttl = ttl_term(composite, target)
        if composite.wiring.health_routed:
            health = health_term(composite)
            if health is not None:
                merged.setdefault((HEALTH_FAULT, mode, (health, ttl)), []).append(composite.name)
            continue  # the provider faults do not move it: check_budget says so
        terms = [*polled, detection_term(api, composite.xr)]
        if mode == dns_wiring.EXTERNAL_DNS:
            interval = interval or external_dns_term(api)
            terms.append(interval)
        merged.setdefault((PROVIDER_FAULTS, mode, (*terms, ttl)), []).append(composite.name)
    return [Budget(fault, mode, tuple(names), terms, slo) for (fault, mode, terms), names in merged.items()]


def unmoved(composites: list[Composite], target: Target) -> list[base.Finding]:
    """The verdict-level finding: where a health check routes DNS, losing the provider leaves the endpoint
    answering, so DNS does not move for the provider faults."""
    routed = [c for c in composites if c.wiring.health_routed]
    if not routed:
        return []
    lost = lost_side(target).name
    names = ", ".join(c.name for c in routed[:3]) + (f" and {len(routed) - 3} more" if len(routed) > 3 else "")
    modes = ", ".join(sorted({c.wiring.mode for c in routed}))
    return [base.warn("budget", f"{PROVIDER_FAULTS}: DNS will not move for {names} ({modes}: {routed[0].wiring.why}); "
                                f"losing {lost}'s provider does not stop the endpoint the health check probes, so a "
                                "run of them reads not resilient at dns_secondary",
                      "test this wiring with the health check fault (fail-health-check), or take the endpoint "
                      "down with the provider in the experiment")]


def check_budget(api: client.ApiClient, target: Target, composites: list[Composite] | None = None
                 ) -> list[base.Finding]:
    """Every budget finding; ``composites``: as ``read_composites`` read them (read here when not given)."""
    if not target.composites:
        return [base.warn("budget", "the target names no composite: no DNS wiring to add the time budget up for",
                          "add the composites (XRs or claims) to the target")]
    if composites is None:
        composites = read_composites(api, target)
    if not composites:
        return [base.warn("budget", "no composite of the target could be read: no DNS wiring to add the time budget "
                                    "up for", "see the composite check")]
    return [*(b.finding() for b in budgets(api, target, composites)), *unmoved(composites, target)]
