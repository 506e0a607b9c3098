"""Chaos Toolkit probes (python activities, chaosk8s style: JSON-able arguments, ``configuration`` and
``secrets`` last).

- ``failover_completes``: the failover expectation over the process's running timeline recorder, measured
  from the last fault marker, judged per composite over the managed resources the recorder resolved
  (``xpchaos.probes.per_composite``): the XRs in the fault's blast radius (as the ``xpchaos-timeline`` control
  recorded it) must fail over, the other listed XRs stay Ready; returns the verdict dict (``outcome`` passed /
  failed / error, the step that failed and how late, the measured times, ``composites``: each XR's own). Use a
  tolerance on ``outcome``. DNS convergence is measured on both clocks (``times``); ``dns_clock`` names the one
  the target's ``slos.dnsClock`` judges by; ``parts``: where the time went (``xpchaos.probes.breakdown``).
- Steady-state probes ``xr_is_ready`` and ``dns_answers_primary`` ask the cluster / nameservers directly;
  they return a bool, and raise when they cannot observe (Chaos Toolkit reports that as an errored probe,
  distinct from a false hypothesis).

The target file comes from the ``target`` argument, else ``configuration["xpchaos_target"]``, else
``xpchaos.yaml``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client

from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.core.outcome import Outcome

from . import breakdown, expectations, per_composite, recorder
from .dns_sampler import ask

__all__ = ["dns_answers_primary", "failover_completes", "xr_is_ready"]

DNS_GRACE = 2.0  # seconds a nameserver may fail (timeouts, refusals) before the DNS step reads "error"


def _target(target: str | None, configuration: dict[str, Any] | None) -> targets.Target:
    path = target or (configuration or {}).get("xpchaos_target")
    return targets.load(path)


def failover_completes(target: str | None = None, deadlines: dict[str, float] | None = None,
                       to: str | None = None, only: list[str] | None = None, since: float | None = None,
                       provider: str | None = None, slo: float | str | None = None,
                       configuration: dict[str, Any] | None = None,
                       secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Wait for the failover sequence after the last fault marker (or the monotonic instant ``since``).

    ``provider`` is the provider (or role) the fault hit, the target's primary by default. ``slo`` (seconds or a
    duration such as ``90s``; empty for the target's ``dns_convergence``) is the default deadline of every step,
    ``deadlines`` sets single steps."""
    rec = recorder.active()
    if rec is None:
        return {"outcome": Outcome.ERROR, "reason": "could not observe: no timeline recorder is running "
                                                         "(start it with the xpchaos control)"}
    tgt = rec.target if target is None and not (configuration or {}).get("xpchaos_target") else \
        _target(target, configuration)
    if slo not in (None, ""):
        limit = targets.parse_duration(slo, "failover_completes: slo")
        deadlines = {**{step: limit for step in expectations.STEPS}, **(deadlines or {})}
    if not tgt.composites:  # nothing to judge per composite: the managed resources the target lists
        verdict = evaluate(rec, expectations.failover(tgt, deadlines, to, only, lost=provider), since)
    else:
        reached, records = _reach(rec, since)
        verdict = evaluate(rec, per_composite.failover(tgt, rec.resolution, deadlines, to, only, lost=provider,
                                                       reached=reached, records=records), since)
    return _where_the_time_went(_clocked(verdict, tgt), rec, tgt, since, provider, to)


def _clocked(verdict: dict[str, Any], tgt: targets.Target) -> dict[str, Any]:
    """The verdict names the DNS clock that judged it (``slos.dnsClock``) wherever DNS was judged (a verdict
    combined over several composites and records does not carry its parts' word)."""
    if any(step.get("name") == "dns_secondary" for step in verdict.get("steps") or []):
        verdict.setdefault("dns_clock", tgt.slo_settings.dns_clock)
    return verdict


def _where_the_time_went(verdict: dict[str, Any], rec: recorder.TimelineRecorder, tgt: targets.Target,
                         since: float | None, provider: str | None, to: str | None) -> dict[str, Any]:
    """A judged failover's recovery times in parts (``xpchaos.probes.breakdown``), as far as the timeline shows."""
    if verdict.get("outcome") not in (Outcome.PASSED, Outcome.FAILED) or not verdict.get("steps"):
        return verdict
    marker = rec.timeline.last_fault() if since is None else None
    t0 = since if since is not None else marker.mono if marker is not None else None
    if t0 is None:
        return verdict
    lost = tgt.provider(provider).name if provider else tgt.primary.name
    other = tgt.provider(to).name if to else tgt.other(lost).name
    faulted = rec.resolution.mr_keys(lost) if tgt.composites else \
        [(m.plural, m.namespace, m.name) for m in tgt.provider(lost).managed]
    sig = expectations.signals(tgt)
    ready = sig["xr_ready"].get("condition", "Ready") if isinstance(sig["xr_ready"], dict) else "Ready"
    verdict["parts"] = breakdown.parts(
        verdict, rec.timeline.entries(), t0, faulted, [(c.plural, c.namespace, c.name) for c in tgt.composites],
        dict(sig["mr_error"].get("condition") or {}), tuple(sig["mr_error"].get("events") or ()), ready, lost, other)
    return verdict


def _reach(rec: recorder.TimelineRecorder, since: float | None) -> tuple[list[str] | None, list[str] | None]:
    """The composites the last fault reaches and the DNS names they compose, as recorded before its marker
    (None: not known, every composite and record must fail over)."""
    marker = rec.timeline.last_fault() if since is None else None
    reach = rec.timeline.reach_of(marker) if marker is not None else None
    if reach is None:
        return None, None

    def split(listed: str | None) -> list[str] | None:
        return None if listed is None else [n for n in listed.split(",") if n]

    return split(reach.involved.get("composites", "")), split(reach.involved.get("records"))


def evaluate(rec: recorder.TimelineRecorder, expectation: expectations.Expectation | per_composite.PerComposite,
             since: float | None = None) -> dict[str, Any]:
    """Run ``expectation`` over ``rec``'s timeline from the fault marker (or ``since``)."""
    if rec.problem:  # the composed resources are unknown, or not those the target lists: nothing to judge by
        first = expectation.steps[0].name if expectation.steps else None
        return {"outcome": Outcome.ERROR, "expectation": expectation.name, "failed_step": first,
                "reason": f"could not observe: {rec.problem}"}
    newest = rec.timeline.last_marker()
    if since is None and newest is not None and newest.status == Outcome.NOT_APPLIED:
        return {"outcome": Outcome.NOT_APPLIED, "expectation": expectation.name, "fault": newest.kind,
                "reason": newest.message or "the fault did not take hold"}
    if since is None:
        marker = rec.timeline.last_fault()
        if marker is None:
            return {"outcome": Outcome.ERROR, "expectation": expectation.name,
                    "reason": "could not tell: no fault marker on the timeline"}
        since = marker.mono

    def unobservable(needs: str, state: expectations.State, at_deadline: bool) -> str | None:
        if needs == "dns":
            if rec.dns is None:
                return "no DNS sampler (the target has no dns records)"
            now = time.monotonic()  # a nameserver failing for DNS_GRACE seconds (or at the deadline) is unobserved
            down = sorted(ns for (_name, ns), failing in state.dns_failing_since.items()
                          if at_deadline or now - failing >= DNS_GRACE)
            if down:
                return f"DNS unreachable: {', '.join(down)}"
            if at_deadline and not rec.dns.synced:
                return "DNS: not every nameserver has answered yet"
            return None
        return rec.unobservable(at_deadline)

    verdict = expectation.wait(rec.timeline, since, unobservable)
    verdict["fault_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - (time.monotonic() - since)))
    return verdict


# steady state --------------------------------------------------------------------------------------------------
def xr_is_ready(target: str | None = None, configuration: dict[str, Any] | None = None,
                secrets: dict[str, Any] | None = None) -> bool:
    """Every XR of the target has its ready condition (default ``Ready``) True. Raises when unreachable."""
    tgt = _target(target, configuration)
    signal = expectations.signals(tgt)["xr_ready"]
    ready = signal.get("condition", "Ready") if isinstance(signal, dict) else "Ready"
    api = kube.client_for(tgt)  # refuses a context the target does not allow
    custom = client.CustomObjectsApi(api)
    try:
        for ref in tgt.composites:
            obj: Any
            if ref.namespace:
                obj = custom.get_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural,
                                                          ref.name, _request_timeout=(5, 10))
            else:
                obj = custom.get_cluster_custom_object(ref.group, ref.version, ref.plural, ref.name,
                                                       _request_timeout=(5, 10))
            conds = (obj.get("status") or {}).get("conditions") or []
            if not any(c.get("type") == ready and c.get("status") == "True" for c in conds):
                return False
        return True
    finally:
        api.close()


def dns_answers_primary(target: str | None = None, configuration: dict[str, Any] | None = None,
                        secrets: dict[str, Any] | None = None) -> bool:
    """Every nameserver of every DNS record answers exactly the primary. Raises when one cannot be asked."""
    tgt = _target(target, configuration)
    pairs = [(r, ns) for r in tgt.dns for ns in r.nameservers]
    if not pairs:
        raise targets.TargetError(f"{tgt.path}: dns: no records to check")
    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        answers = list(pool.map(lambda pair: ask(*pair), pairs))  # an unreachable nameserver raises here
    return all(got == tuple(sorted(r.primary)) for (r, _ns), got in zip(pairs, answers, strict=True))
