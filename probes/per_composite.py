"""The failover judged per composite: each XR of the target must pass ``detect`` → ``promote`` → ``xr_recovers``
over the managed resources it composes (``xpchaos.probes.composed``), and each DNS record must answer the other
side (``dns_secondary``). With one composite its record's step stays in its sequence, as ``expectations.failover``
has it, so a one-XR verdict reads exactly as the aggregate one.

Given the fault's blast radius (``reached``: the labels of the composites it reaches), only those must fail over;
every other listed XR must stay Ready while they do (``xpchaos.probes.spared``), so an XR the fault never touched
does not read "not resilient"; only the DNS records the reached XRs compose must switch. With one composite, or no
blast radius known, every composite must fail over and every record switch.

The verdict is the worst part's: ``failed`` if any part failed (a failure seen is proof, whatever else could not
be observed), else ``error`` if any could not be observed, else ``passed``. It lists every composite under
``composites`` (``name``, ``outcome``, ``times``, ``failed_step``, ``late_by_s``, and ``blast``: ``reached`` or
``spared`` when the blast radius is known; ``unready_at_s`` when a spared one left Ready), the slowest first: failed
ones, then those that could not be judged, then by their time to fail over.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from xpchaos.core import interrupts, measures
from xpchaos.core.outcome import Outcome
from xpchaos.core.target import ObjectRef, Target

from . import composed, spared
from . import expectations as ex
from . import timeline as tl

RANK = {Outcome.FAILED: 0, Outcome.ERROR: 1, Outcome.PASSED: 2}  # slowest first: the order composites are listed in
STATUS_RANK = {"missed": 0, "late": 1, "pending": 2, "met": 3}  # an aggregated step takes its worst part's status


@dataclass(frozen=True)
class Part:
    kind: str  # "composite", "spared" (a composite outside the blast radius) or "record"
    name: str  # the composite's label, or the record's name
    expectation: ex.Expectation | spared.StaysReady


@dataclass(frozen=True)
class PerComposite:
    """Several expectations over one timeline, decided together."""

    name: str
    parts: tuple[Part, ...]
    blast: bool = False  # whether the blast radius is known (each composite listed as reached or spared)

    @property
    def steps(self) -> tuple[ex.Step, ...]:
        return tuple(s for p in self.parts for s in p.expectation.steps)

    def evaluate(self, entries: list[tl.Entry], t0: float, now: float, unobservable: ex.Unobservable,
                 scanners: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The verdict once every part is decided, else None (``scanners`` kept between calls fold incrementally)."""
        scanners = scanners if scanners is not None else {}
        decided = []
        failing_over = [p for p in self.parts if p.kind != "spared"]
        for part in failing_over:
            assert isinstance(part.expectation, ex.Expectation)
            scanner = scanners.setdefault(f"{part.kind}:{part.name}", ex.Scanner(part.expectation, t0))
            verdict = part.expectation.evaluate(entries, t0, now, unobservable, scanner)
            if verdict is None:
                return None
            decided.append((part, verdict))
        for part in self.parts:  # the spared XRs' window closes once every other part is decided
            if part.kind != "spared":
                continue
            assert isinstance(part.expectation, spared.StaysReady)
            watch = scanners.setdefault(f"spared:{part.name}", spared.Watch())
            verdict = part.expectation.evaluate(entries, t0, now, unobservable, watch, closed=bool(failing_over))
            if verdict is None:
                return None
            decided.append((part, verdict))
        return combine(self.name, decided, self.blast)

    def wait(self, timeline: tl.Timeline, t0: float, unobservable: ex.Unobservable,
             poll_limit: float = 1.0) -> dict[str, Any]:
        """Block until every part is decided (at the latest just after the last deadline)."""
        last_deadline = t0 + max((s.deadline for s in self.steps), default=0.0)
        scanners: dict[str, Any] = {}
        while True:
            interrupts.check()
            verdict = timeline.wait_for(
                lambda entries: self.evaluate(entries, t0, time.monotonic(), unobservable, scanners),
                min(last_deadline + 0.01, time.monotonic() + poll_limit))
            if verdict:
                return verdict


def failover(target: Target, resolution: composed.Resolution, deadlines: Mapping[str, float] | None = None,
             to: str | None = None, only: list[str] | tuple[str, ...] | None = None,
             lost: str | None = None, reached: Collection[str] | None = None,
             records: Collection[str] | None = None) -> PerComposite:
    """The failover of every composite of ``target`` over what ``resolution`` says each composes now; with
    ``reached`` (the labels of the composites in the fault's blast radius), the others must stay Ready instead,
    and only the DNS records in ``records`` (the names the reached composites compose; None: all) must switch."""
    wanted = [s for s in ex.STEPS if not only or s in only]
    one = len(target.composites) == 1
    blast = reached is not None and not one  # one composite is always in the blast radius
    parts = []
    for ref in target.composites:
        name = composed.label(ref)
        if blast and name not in (reached or ()):
            parts.append(Part("spared", name, _stays_ready(target, name, ref, deadlines)))
            continue

        def mr_keys(provider: str, _name: str = name) -> list[ex.ObjKey]:
            return resolution.mr_keys(provider, _name)

        steps = wanted if one else [s for s in wanted if s != "dns_secondary"]
        if steps:
            parts.append(Part("composite", name, ex.sequence(target, deadlines, to, steps, lost, mr_keys,
                                                             [composed.key(ref)], target.dns if one else (),
                                                             name=name)))
    if not one and "dns_secondary" in wanted:
        switching = [r for r in target.dns if not blast or records is None or r.name.rstrip(".") in records]
        parts += [Part("record", r.name, ex.sequence(target, deadlines, to, ["dns_secondary"], lost,
                                                     lambda _p: [], [], [r], name=r.name)) for r in switching]
    name = ex.sequence(target, deadlines, to, only, lost, lambda _p: [], [], ()).name
    return PerComposite(name, tuple(parts), blast)


def _stays_ready(target: Target, name: str, ref: ObjectRef,
                 deadlines: Mapping[str, float] | None) -> spared.StaysReady:
    """A spared composite's expectation, over the window its reached siblings have to recover in."""
    signal = ex.signals(target)["xr_ready"]
    ready = signal.get("condition", "Ready") if isinstance(signal, dict) else "Ready"
    window = (deadlines or {}).get("xr_recovers", float(target.slos.get("dns_convergence", 90.0)))
    return spared.StaysReady(name, composed.key(ref), window, ready)


# the combined verdict --------------------------------------------------------------------------------------------
def _slowest_first(item: tuple[Part, dict[str, Any]]) -> tuple[int, float, str]:
    part, verdict = item
    failover_s = measures.FAILOVER.of(verdict.get("times"))
    return RANK.get(verdict["outcome"], 0), -(failover_s if failover_s is not None else float("inf")), part.name


def combine(name: str, decided: list[tuple[Part, dict[str, Any]]], blast: bool = False) -> dict[str, Any]:
    """One verdict from every part's (see the module docstring); ``blast``: each composite says whether the fault
    reached it."""
    ordered = sorted(decided, key=_slowest_first)
    composites = [(p, v) for p, v in ordered if p.kind in ("composite", "spared")]
    listed = [{"name": p.name, "outcome": v["outcome"], "times": _measured(p, v),
               "failed_step": v.get("failed_step"), "late_by_s": v.get("late_by_s"),
               **({"blast": "spared" if p.kind == "spared" else "reached"} if blast else {}),
               **({"unready_at_s": v["unready_at_s"]} if "unready_at_s" in v else {})}
              for p, v in composites]
    if len(decided) == 1:  # one composite: its own verdict, as the aggregate sequence reads
        return {**decided[0][1], "composites": listed}
    worst_part, worst = ordered[0]
    outcome = worst["outcome"]
    verdict: dict[str, Any] = {"outcome": outcome, "expectation": name}
    if outcome == Outcome.PASSED:
        spared_ones = sum(1 for p, _v in composites if p.kind == "spared")
        outside = f" ({spared_ones} outside the blast radius stayed Ready)" if spared_ones else ""
        verdict["reason"] = (f"every step within its deadline, for each of {len(composites)} composites{outside} "
                             f"and {len(decided) - len(composites)} DNS records")
    else:
        bad = [p.name for p, v in decided if v["outcome"] == outcome]
        verdict["reason"] = (f"{worst_part.name}: {worst.get('reason', '')} ({len(bad)} of {len(decided)} parts "
                             f"{outcome.value}: {', '.join(bad[:5])}{', ...' if len(bad) > 5 else ''})")
        verdict.update({k: worst[k] for k in ("failed_step", "late_by_s", "observed", "unconfirmed") if k in worst})
    verdict["steps"] = _steps([v.get("steps") or [] for _p, v in decided])
    records = len(decided) - len(composites)
    for step in verdict["steps"]:
        if step["name"] == "dns_secondary" and records > 1:
            step["description"] = f"every nameserver of each of {records} records answers the other side"
    verdict["times"] = {m.key: _latest([_measured(p, v) for p, v in decided], m.key) for m in measures.MEASURES}
    verdict["composites"] = listed
    return verdict


def _measured(part: Part, verdict: dict[str, Any]) -> dict[str, Any]:
    """The part's times that its steps measure (a composite judged without DNS has no DNS time)."""
    names = {s.name for s in part.expectation.steps}
    times = verdict.get("times") or {}
    return {m.key: times.get(m.key) for m in measures.MEASURES if names & set(m.steps)}


def _latest(times: list[dict[str, Any]], key: str) -> float | None:
    """The last part to get there: None when a part that measures it never did."""
    values = [measures.number(t.get(key)) for t in times if key in t]
    found = [v for v in values if v is not None]
    return max(found) if found and len(found) == len(values) else None


def _steps(per_part: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each step over every part that has it: its worst status; seen when the last part saw it (if all did)."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for steps in per_part:
        for step in steps:
            by_name.setdefault(step["name"], []).append(step)
    merged = []
    for same in by_name.values():
        step = {k: v for k, v in same[0].items() if k not in ("at_s", "since_s", "late_by_s")}
        step["status"] = min((s["status"] for s in same), key=lambda status: STATUS_RANK.get(status, 0))
        if all("at_s" in s for s in same):
            step["at_s"] = max(s["at_s"] for s in same)
            step["since_s"] = max(s["since_s"] for s in same)
        late = [s["late_by_s"] for s in same if "late_by_s" in s]
        if late:
            step["late_by_s"] = max(late)
        merged.append(step)
    order = {name: i for i, name in enumerate(ex.STEPS)}
    return sorted(merged, key=lambda s: order.get(s["name"], len(order)))
