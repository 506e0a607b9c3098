"""Expectations: ordered sequences of signals with deadlines relative to a fault, evaluated over a Timeline.

A step is a predicate over the state folded from the timeline (latest conditions per object, latest DNS
answer per nameserver, errors seen since the fault). Step *i* is met at the first instant, not before step
*i-1* was met, where its predicate holds; ``since`` is when that state began (e.g. the instant DNS switched,
which may precede the XR's return to Ready). Evaluation returns as soon as the answer is known:

- ``passed``: every step met within its deadline;
- ``failed``: a step missed its deadline (``late_by`` when it came later, ``None`` when not seen) — the system
  is not resilient;
- ``error``: the harness could not observe (API or DNS unreachable) — never read as a pass or a failure.
  Also when a step would read ``failed`` but the recorder may have missed it: seen late after a watch was
  disconnected, stalled or re-listed, or never seen after a re-list over a condition change nobody saw
  (``_unless_blind``), or never seen while a watch is still stalled at the deadline (the recorder's
  ``unobservable``, which asks ``behind``).
  Late observations only ever make a step look later, so a pass stays a pass.

DNS converges on two clocks (``xpchaos.core.measures``): authoritatively, when every nameserver answers anew, and
for clients, when the old answers' TTLs have run out (each old answer's last instant plus the TTL it was served
with). ``dns_secondary`` is met at the clock the target's ``slos.dnsClock`` names (client-visible by default): at
the switch plus the old TTL, not before. That instant is known the moment every nameserver answers anew, so the
verdict never waits for it to pass.

Signal names come from ``target.signals``; the defaults are in docs/crossplane.md, 'The failover sequence in signals'.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xpchaos.core import interrupts, measures
from xpchaos.core.outcome import Outcome
from xpchaos.core.target import DnsRecord, Target

from . import timeline as tl
from .dns_sampler import label

DEFAULT_SIGNALS: dict[str, Any] = {  # docs/crossplane.md, 'The failover sequence in signals'
    "mr_error": {"condition": {"type": "Synced", "status": "False", "reason": "ReconcileError"},
                 "events": ["CannotConnectToProvider", "CannotObserveExternalResource"]},
    "mr_healthy": {"conditions": [{"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
                                  {"type": "Ready", "status": "True", "reason": "Available"}]},
    "xr_ready": {"condition": "Ready"},
    # where a composite names the side that serves (the blueprint's failover function writes it; "" for none)
    "xr_serving": {"field": "status.failover.activeProvider"},
}
WARM_STANDBY = "warm standby: already healthy before the fault"

ObjKey = tuple[str, str | None, str]  # plural, namespace, name
# (what the step needs: "k8s" or "dns", the folded state, whether the step's deadline has passed) -> why the
# harness cannot observe it, or None. Before the deadline only hard failures count; at the deadline any doubt.
Unobservable = Callable[[str, "State", bool], "str | None"]


def signals(target: Target) -> dict[str, Any]:
    merged = {k: dict(v) for k, v in DEFAULT_SIGNALS.items()}
    for name, value in (target.signals or {}).items():
        merged[name] = {**merged.get(name, {}), **value} if isinstance(value, dict) else value
    return merged


def serving_field(target: Target) -> tuple[str, ...]:
    """The path of the field where a composite names its serving side (``signals.xr_serving.field``), split at
    the dots; empty when the target says its composites name none."""
    text = str((signals(target).get("xr_serving") or {}).get("field") or "")
    return tuple(part for part in text.split(".") if part)


@dataclass
class State:
    """What the timeline says at one instant."""

    t0: float
    conditions: dict[ObjKey, dict[str, tuple[str, str, str]]] = field(default_factory=dict)
    dns: dict[tuple[str, str], tuple[str, ...] | None] = field(default_factory=dict)  # None: last query failed
    dns_failing_since: dict[tuple[str, str], float] = field(default_factory=dict)  # nameservers failing now
    dns_changed: set[tuple[str, str]] = field(default_factory=set)  # (record, nameserver) answering anew since t0
    dns_ttl: dict[tuple[str, str], int | None] = field(default_factory=dict)  # the TTL of each current answer
    # (record, nameserver, answers) -> the last instant a resolver may serve that answer, once it was replaced
    dns_expires: dict[tuple[str, str, tuple[str, ...]], float] = field(default_factory=dict)
    errored: set[ObjKey] = field(default_factory=set)  # objects that showed the error signal since t0
    went_down: set[ObjKey] = field(default_factory=set)  # XRs that left Ready since t0
    came_back: set[ObjKey] = field(default_factory=set)  # ... and then returned to Ready
    serving: dict[ObjKey, str] = field(default_factory=dict)  # the side each composite names as serving
    serving_changed: set[ObjKey] = field(default_factory=set)  # composites that named another side since t0
    error_condition: dict[str, str] = field(default_factory=dict)
    error_events: tuple[str, ...] = ()
    ready_type: str = "Ready"

    def apply(self, entry: tl.Entry) -> None:
        after = entry.mono >= self.t0
        if entry.what == tl.CONDITION:
            key = (entry.kind, entry.namespace, entry.name)
            self.conditions.setdefault(key, {})[entry.type] = (entry.status, entry.reason, entry.message)
            want = self.error_condition
            if after and entry.type == want.get("type") and entry.status == want.get("status") and \
                    entry.reason == want.get("reason", entry.reason):
                self.errored.add(key)
            if after and entry.type == self.ready_type:
                if entry.status != "True":
                    self.went_down.add(key)
                elif key in self.went_down:
                    self.came_back.add(key)
        elif entry.what == tl.EVENT and after and entry.reason in self.error_events and entry.type == "Warning":
            involved = entry.involved
            self.errored.update(k for k in self.conditions if k[2] == involved.get("name") and
                                (k[1] or None) == (involved.get("namespace") or None) and
                                k[0] == involved.get("plural", k[0]))  # its kind (journals before: any kind)
        elif entry.what == tl.SERVING:
            key = (entry.kind, entry.namespace, entry.name)
            self.serving[key] = entry.status
            if after and entry.status != entry.previous:
                self.serving_changed.add(key)
        elif entry.what in (tl.ANSWER, tl.DNS_ERROR):
            where = (entry.name, entry.nameserver)
            self._replaced(where, entry.mono)
            self.dns[where] = entry.answers if entry.what == tl.ANSWER else None
            self.dns_ttl[where] = entry.ttl if entry.what == tl.ANSWER else None
            if entry.what == tl.ANSWER:
                self.dns_failing_since.pop(where, None)
                if after:
                    self.dns_changed.add(where)
            else:
                self.dns_failing_since.setdefault(where, entry.mono)
        elif entry.what == tl.GONE:
            self.conditions.pop((entry.kind, entry.namespace, entry.name), None)

    def _replaced(self, where: tuple[str, str], at: float) -> None:
        """The answer ``where`` served until now was last served at ``at`` (the sampler sees a change only at its
        next question, so this is the latest it can have been served): a resolver may keep it its TTL longer. An
        answer without a TTL (a journal written before TTLs were kept) is kept no longer."""
        before = self.dns.get(where)
        if before is None:
            return
        key = (*where, before)
        self.dns_expires[key] = max(self.dns_expires.get(key, at), at + (self.dns_ttl.get(where) or 0))

    def old_answer_expires(self, where: tuple[str, str], want: tuple[str, ...]) -> float | None:
        """The last instant a resolver may serve an answer of ``where`` other than ``want``; None when none was
        replaced."""
        found = [until for (name, ns, answers), until in self.dns_expires.items()
                 if (name, ns) == where and answers != want]
        return max(found) if found else None


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    deadline: float  # seconds after the fault
    check: Callable[[State], bool]
    needs: str = "k8s"  # k8s or dns: what must be observable to tell
    explain: Callable[[State], str] | None = None  # what was seen instead, when the step is missed
    # what the step's being met rests on, read when it is met (whether it already held before the fault)
    basis: Callable[[State, bool], str | None] | None = None
    # the instant clients see what the check holds (the DNS step: the old answers' TTLs run out), and whether the
    # step is met then (the client-visible clock) rather than when the check holds (the authoritative one)
    visible: Callable[[State], float | None] | None = None
    met_when_visible: bool = False

    @property
    def clock(self) -> str | None:
        """The clock the step is judged on, when it has two."""
        if self.visible is None:
            return None
        return "client-visible" if self.met_when_visible else "authoritative"


@dataclass
class StepResult:
    step: Step
    at: float | None = None
    since: float | None = None
    basis: str | None = None
    visible: float | None = None  # when clients see it (the step's ``visible``)

    def as_dict(self, t0: float, now: float) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.step.name, "description": self.step.description,
                               "deadline_s": self.step.deadline}
        if self.step.clock is not None:
            doc["clock"] = self.step.clock
        if self.at is not None:
            doc["at_s"] = round(self.at - t0, 3)
            doc["since_s"] = round(max(self.since if self.since is not None else self.at, t0) - t0, 3)
            late = self.at - (t0 + self.step.deadline)
            doc["status"] = "late" if late > 0 else "met"
            if self.basis:
                doc["basis"] = self.basis
            if late > 0:
                doc["late_by_s"] = round(late, 3)
        else:
            doc["status"] = "missed" if now > t0 + self.step.deadline else "pending"
        return doc


@dataclass(frozen=True)
class Expectation:
    name: str
    steps: tuple[Step, ...]
    error_condition: dict[str, str] = field(default_factory=dict)
    error_events: tuple[str, ...] = ()
    ready_type: str = "Ready"

    def scan(self, entries: list[tl.Entry], t0: float) -> tuple[list[StepResult], State]:
        """Fold the entries in order; each step met at the first instant (>= the previous one) it holds."""
        scanner = Scanner(self, t0)
        scanner.advance(entries)
        return scanner.results, scanner.state

    def evaluate(self, entries: list[tl.Entry], t0: float, now: float,
                 unobservable: Unobservable,
                 scanner: Scanner | None = None) -> dict[str, Any] | None:
        """The verdict if it is known at ``now``, else None. A ``scanner`` kept between calls makes each call
        fold only the entries added since the previous one."""
        scanner = scanner or Scanner(self, t0)
        scanner.advance(entries)
        results, state = scanner.results, scanner.state
        verdict: dict[str, Any] | None = None
        for result in results:
            step = result.step
            if result.at is not None and result.at > t0 + step.deadline:
                verdict = {"outcome": Outcome.FAILED, "failed_step": step.name,
                           "late_by_s": round(result.at - t0 - step.deadline, 3),
                           "reason": f"{step.description}: {result.at - t0:.2f} s after the fault, "
                                     f"deadline {step.deadline:g} s"}
                break
            if result.at is None:
                why = unobservable(step.needs, state, now > t0 + step.deadline)
                if why is not None:
                    verdict = {"outcome": Outcome.ERROR, "failed_step": step.name,
                               "reason": f"could not observe: {why}"}
                elif now > t0 + step.deadline:
                    verdict = {"outcome": Outcome.FAILED, "failed_step": step.name, "late_by_s": None,
                               "reason": f"{step.description}: not seen within {step.deadline:g} s of the fault"}
                    if step.explain is not None:
                        verdict["observed"] = step.explain(state)
                break
        else:
            verdict = {"outcome": Outcome.PASSED, "reason": "every step within its deadline"}
        if verdict is None:
            return None
        verdict["expectation"] = self.name
        verdict["steps"] = [r.as_dict(t0, now) for r in results]
        if verdict["outcome"] == Outcome.FAILED:
            failed = next(r for r in results if r.step.name == verdict["failed_step"])
            verdict = {**verdict, **_unless_blind(verdict, entries, t0, now, failed.at)}
        verdict["times"] = self.times(results, t0)
        clock = next((r.step.clock for r in results if r.step.clock is not None), None)
        if clock is not None:
            verdict["dns_clock"] = clock
        return verdict

    def times(self, results: list[StepResult], t0: float) -> dict[str, float | None]:
        by_name = {r.step.name: r for r in results}

        def at(name: str, since: bool = False, visible: bool = False) -> float | None:
            r = by_name.get(name)
            if r is None or r.at is None:
                return None
            value = r.since if since and r.since is not None else r.at
            if visible:
                value = r.visible if r.visible is not None else value
            return round(max(value, t0) - t0, 3)

        failed_over = [v for v in (at("promote"), at("xr_recovers")) if v is not None]
        return {measures.DETECT.key: at("detect"),
                measures.FAILOVER.key: max(failed_over) if len(failed_over) == 2 else None,
                measures.DNS.key: at("dns_secondary", since=True),
                measures.DNS_CLIENT.key: at("dns_secondary", since=True, visible=True)}

    def wait(self, timeline: tl.Timeline, t0: float, unobservable: Unobservable,
             poll_limit: float = 1.0) -> dict[str, Any]:
        """Block until the verdict is known (at the latest just after the last deadline)."""
        last_deadline = t0 + max((s.deadline for s in self.steps), default=0.0)
        scanner = Scanner(self, t0)
        while True:
            interrupts.check()  # an interrupt swallowed on its way is raised here, within poll_limit
            verdict = timeline.wait_for(
                lambda entries: self.evaluate(entries, t0, time.monotonic(), unobservable, scanner),
                min(last_deadline + 0.01, time.monotonic() + poll_limit))  # wake for deadlines and recorder state
            if verdict:
                return verdict


def _unless_blind(verdict: dict[str, Any], entries: list[tl.Entry], t0: float, now: float,
                  at: float | None) -> dict[str, Any]:
    """A failure stands only if the recorder could have seen what it missed. A step seen late: the watches were
    connected from the fault until it was seen (a resumed watch delivers what it missed, but only when it is
    back). A step never seen: no watch re-listed over a condition change it did not see (``blind``)."""
    if at is not None:  # seen, but late
        gaps = [e for e in entries if e.source == tl.RECORDER and e.what in (tl.ERROR, tl.RELIST)
                and t0 <= e.mono <= at]
        why = "was seen only after the watch on {name} {what} {when:.2f} s after the fault, so it may have come sooner"
    else:
        gaps = [e for e in entries if e.source == tl.RECORDER and e.what == tl.RELIST and e.status == "blind"
                and t0 <= e.mono <= now]
        why = "the watch on {name} {what} {when:.2f} s after the fault, over a change it did not see"
    if not gaps:
        return verdict
    first = gaps[0]
    what = "lost its history (410 Gone)" if first.what == tl.RELIST else \
        "stalled (nothing received until its read timeout)" if first.status == "stalled" else "was disconnected"
    return {"outcome": Outcome.ERROR, "failed_step": verdict["failed_step"], "late_by_s": None,
            "reason": "could not decide: " + why.format(name=first.name, what=what, when=first.mono - t0)
                      + f"; \"{verdict['reason']}\" is not proof",
            "unconfirmed": verdict["reason"]}


class Scanner:
    """The incremental fold of a timeline for one expectation: ``advance`` applies only the new entries."""

    def __init__(self, expectation: Expectation, t0: float) -> None:
        self.steps = expectation.steps
        self.t0 = t0
        self.state = State(t0, error_condition=expectation.error_condition, error_events=expectation.error_events,
                           ready_type=expectation.ready_type)
        self.results = [StepResult(s) for s in self.steps]
        self.holding: list[float | None] = [None] * len(self.steps)
        self.current = 0
        self.seen = 0
        self.checked_t0 = False

    def _hold(self, instant: float) -> None:
        for i, step in enumerate(self.steps):
            ok = step.check(self.state)
            self.holding[i] = (self.holding[i] if self.holding[i] is not None else instant) if ok else None

    def _check(self, instant: float) -> None:
        self._hold(instant)
        while self.current < len(self.steps) and self.holding[self.current] is not None:
            result, since = self.results[self.current], self.holding[self.current]
            result.at, result.since = instant, since
            if result.step.visible is not None:
                seen = result.step.visible(self.state)  # not before the check held (since)
                result.visible = max(since if since is not None else instant, seen if seen is not None else instant)
                if result.step.met_when_visible:
                    result.at = max(instant, result.visible)
            if result.step.basis is not None:
                result.basis = result.step.basis(self.state, since is not None and since < self.t0)
            self.current += 1

    def advance(self, entries: list[tl.Entry]) -> None:
        for entry in entries[self.seen:]:
            if entry.mono >= self.t0 and not self.checked_t0:
                self.checked_t0 = True
                self._check(self.t0)
            self.state.apply(entry)
            if entry.mono >= self.t0:
                self._check(entry.mono)
            else:
                self._hold(entry.mono)  # keep "since" honest for states that began before t0
        self.seen = len(entries)
        if not self.checked_t0 and time.monotonic() >= self.t0:
            self.checked_t0 = True
            self._check(self.t0)


# building expectations from a Target ---------------------------------------------------------------------------
def _mr_keys(target: Target, provider: str) -> list[ObjKey]:
    return [(m.plural, m.namespace, m.name) for m in target.provider(provider).managed]


def _xr_keys(target: Target) -> list[ObjKey]:
    return [(c.plural, c.namespace, c.name) for c in target.composites]


def matches(state: State, key: ObjKey, want: dict[str, str]) -> bool:
    got = state.conditions.get(key, {}).get(want.get("type", ""))
    return got is not None and got[0] == want.get("status", got[0]) and got[1] == want.get("reason", got[1])


STEPS = ("detect", "promote", "xr_recovers", "dns_secondary")


def failover(target: Target, deadlines: Mapping[str, float] | None = None, to: str | None = None,
             only: list[str] | tuple[str, ...] | None = None, lost: str | None = None) -> Expectation:
    """The failover sequence of docs/crossplane.md for ``target``: primary MRs error (``detect``) → secondary MRs
    healthy (``promote``) → every XR Ready False→True (``xr_recovers``) → every nameserver answers the
    secondary (``dns_secondary``). ``deadlines`` (seconds after the fault, per step) default to the target's
    ``dns_convergence`` SLO; ``only`` keeps a subset of the steps, in this order. ``lost`` names the provider
    (or role) the fault hit, the target's primary by default; DNS must then answer the other side's addresses.
    The managed resources are those the target lists (``xpchaos.probes.per_composite`` resolves them instead)."""
    return sequence(target, deadlines, to, only, lost, lambda provider: _mr_keys(target, provider),
                    _xr_keys(target), target.dns)


def sequence(target: Target, deadlines: Mapping[str, float] | None, to: str | None,
             only: list[str] | tuple[str, ...] | None, lost: str | None, mr_keys: Callable[[str], list[ObjKey]],
             xrs: list[ObjKey], dns: tuple[DnsRecord, ...] | list[DnsRecord], name: str = "") -> Expectation:
    """The failover sequence over these XRs and DNS records; ``mr_keys(provider)`` is asked at each check (the
    composed resources may change while a run goes on)."""
    unknown = sorted(set(only or ()) - set(STEPS)) + sorted(set(deadlines or {}) - set(STEPS))
    if unknown:
        raise ValueError(f"unknown failover step(s) {', '.join(unknown)}; the steps are {', '.join(STEPS)}")
    sig = signals(target)
    primary = target.provider(lost).name if lost else target.primary.name
    secondary = target.provider(to).name if to else target.other(primary).name
    dns_side = "secondary" if primary == target.primary.name else "primary"
    slo = float(target.slos.get("dns_convergence", 90.0))
    client_clock = target.slo_settings.dns_clock == "client-visible"
    limit = {"detect": slo, "promote": slo, "xr_recovers": slo, "dns_secondary": slo, **(deadlines or {})}
    error_cond = dict(sig["mr_error"].get("condition") or {})
    healthy = [dict(c) for c in sig["mr_healthy"].get("conditions") or []]
    ready = sig["xr_ready"].get("condition", "Ready") if isinstance(sig["xr_ready"], dict) else "Ready"
    promote, promote_basis = _promotion(secondary, serving_field(target), healthy, mr_keys, xrs)
    records = [(r.name, n, tuple(sorted(getattr(r, dns_side)))) for r in dns for n in r.nameservers]

    def dns_secondary(state: State) -> bool:  # a switch after the fault: an answer that was already there is none
        return bool(records) and all(state.dns.get((name, label(ns))) == want and (name, label(ns)) in
                                     state.dns_changed for name, ns, want in records)

    def dns_visible(state: State) -> float | None:  # the last instant a resolver may serve an old answer
        found = [state.old_answer_expires((name, label(ns)), want) for name, ns, want in records]
        return max((f for f in found if f is not None), default=None)

    def xr_seen(state: State) -> str:
        if not any(k in state.went_down for k in xrs):
            return f"the XR never left {ready}: nothing in the composition reacted to the provider's health"
        return f"the XR left {ready} and has not come back"

    def dns_seen(state: State) -> str:
        asked = {(name, label(ns)) for name, ns, _want in records}
        return "; ".join(f"{ns}: {', '.join(a) if a is not None else 'no answer (error)'}"
                         for (name, ns), a in sorted(state.dns.items(), key=lambda kv: kv[0])
                         if (name, ns) in asked)

    reason = error_cond.get("reason", "")
    steps: tuple[Step, ...] = (
        Step("detect", f"every {primary} MR {error_cond.get('type')}={error_cond.get('status')}/{reason}",
             limit["detect"], lambda s: all(k in s.errored for k in mr_keys(primary))),
        Step("promote", f"every {secondary} MR " + ", ".join(f"{c['type']}={c['status']}" for c in healthy)
             + f" and every XR serving {secondary}", limit["promote"], promote, basis=promote_basis),
        Step("xr_recovers", f"every XR {ready} True→False→True", limit["xr_recovers"],
             lambda s: all(k in s.came_back and matches(s, k, {"type": ready, "status": "True"}) for k in xrs),
             explain=xr_seen),
        Step("dns_secondary", f"every nameserver answers {secondary} ({', '.join(r[2][0] for r in records[:1])})"
             + (", and the old answer's TTL has run out" if client_clock else ""),
             limit["dns_secondary"], dns_secondary, needs="dns", explain=dns_seen, visible=dns_visible,
             met_when_visible=client_clock),
    )
    if only:
        steps = tuple(s for s in steps if s.name in only)
    return Expectation(name or f"failover {primary}→{secondary}", steps, error_cond,
                       tuple(sig["mr_error"].get("events") or ()), ready)


def _promotion(secondary: str, where: tuple[str, ...], healthy: list[dict[str, str]],
               mr_keys: Callable[[str], list[ObjKey]],
               xrs: list[ObjKey]) -> tuple[Callable[[State], bool], Callable[[State, bool], str | None]]:
    """``promote``'s check and basis. A warm standby's MRs are Synced and Ready before the fault, so they alone
    would meet the step at t0 and measure nothing: where the composites name their serving side (``where``), every
    XR must also have switched to ``secondary`` after the fault. Where none names one, the MRs alone decide, and a
    step that already held before the fault says so (``WARM_STANDBY``) instead of reading as a promotion."""
    def names_side(state: State) -> bool:
        return bool(where) and any(state.serving.get(k) for k in xrs)

    def check(state: State) -> bool:
        if not all(matches(state, k, c) for k in mr_keys(secondary) for c in healthy):
            return False
        return not names_side(state) or all(
            state.serving.get(k, "").lower() == secondary.lower() and k in state.serving_changed for k in xrs)

    def basis(state: State, before_fault: bool) -> str | None:
        if names_side(state):
            return f"{'.'.join(where)} switched to {secondary} after the fault"
        return f"{WARM_STANDBY} (no XR names its serving side)" if before_fault else None

    return check, basis
