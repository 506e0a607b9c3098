"""Ordered signal sequences written in words, checked over a finished run's timeline.

A signal is a short phrase about the target, each with a deadline in seconds after the fault::

    aws managed resources are Synced=False          (the error signal of docs/crossplane.md, per target.signals)
    azure managed resources are Synced and Ready    (the healthy signal)
    the XGlobalDatabase is Ready=False              (the XR's ready condition; "the XR" or its kind)
    DNS answers azure                               (every nameserver switched to that provider's addresses)

``check`` folds the timeline once (``xpchaos.probes.expectations``): each signal must be met not before the previous one
and within its deadline. A provider's managed resources are those the run resolved from the composites (the
timeline's ``composed`` entries), else those the target lists. The Gherkin steps build on these; unknown phrases
are refused with the list above.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from typing import Any

from xpchaos.core.errors import InputError
from xpchaos.core.outcome import Outcome
from xpchaos.core.target import Target, TargetError

from . import composed
from . import expectations as ex
from . import timeline as tl
from .dns_sampler import INTERVAL, label

PHRASES = ("<provider> managed resources are Synced=False", "<provider> managed resources are Synced and Ready",
           "the <XR kind> is Ready=True", "the <XR kind> is Ready=False", "DNS answers <provider>")
_MR = re.compile(r"^(?:every )?(?P<provider>[\w-]+) managed resources? (?:are|is|report) (?P<what>.+)$")
_XR = re.compile(r"^the (?P<kind>[\w-]+) (?:is|becomes|goes) (?P<type>\w+)=(?P<status>True|False)$")
# Two signals closer than this cannot be put in order: a DNS answer is seen only at the sampler's next question,
# up to INTERVAL after it changed, while a watch delivers a condition within milliseconds. "Not in this order"
# therefore needs the later step to have begun more than this before the earlier one.
ORDER_RESOLUTION_S = INTERVAL
_DNS = re.compile(r"^(?:every nameserver|DNS) answers (?P<provider>[\w-]+)(?: on every nameserver)?$")


class UnknownSignal(InputError):
    """A phrase this module cannot read; the message lists the phrases it can."""


def _mr_keys(target: Target, provider: str, resolution: composed.Resolution | None) -> list[ex.ObjKey]:
    """The provider's MRs: those the run resolved from the composites, else those the target lists."""
    if resolution is not None:
        return resolution.mr_keys(target.provider(provider).name)
    return [(m.plural, m.namespace, m.name) for m in target.provider(provider).managed]


def _dns_want(target: Target, provider: str) -> list[tuple[str, str, tuple[str, ...]]]:
    role = target.provider(provider).role
    if role not in ("primary", "secondary"):
        raise UnknownSignal(f"{target.path}: provider {provider} has role {role!r}; DNS answers are known only "
                            "for the primary and the secondary")
    return [(r.name, label(n), tuple(sorted(getattr(r, role)))) for r in target.dns for n in r.nameservers]


def _dns_seen(state: ex.State) -> str:
    return "; ".join(f"{ns}: {', '.join(a) if a is not None else 'no answer'}"
                     f"{'' if (name, ns) in state.dns_changed else ' (unchanged since the fault)'}"
                     for (name, ns), a in sorted(state.dns.items()))


def _mr_check(target: Target, provider: str, what: str,
              resolution: composed.Resolution | None) -> Callable[[ex.State], bool]:
    sig = ex.signals(target)
    keys = _mr_keys(target, provider, resolution)
    words = what.replace(" ", "").lower()
    if words in ("synced=false", "syncedfalse", "inerror"):
        return lambda s: all(k in s.errored for k in keys)
    if words in ("syncedandready", "healthy", "synced=trueandready=true"):
        healthy = [dict(c) for c in sig["mr_healthy"].get("conditions") or []]
        return lambda s: all(ex.matches(s, k, c) for k in keys for c in healthy)
    raise UnknownSignal(f"managed resources {what!r}: say 'Synced=False' or 'Synced and Ready'")


def _xr_check(target: Target, kind: str, ctype: str, status: str) -> Callable[[ex.State], bool]:
    kinds = {c.kind for c in target.composites} | {"XR", "composite"}
    if kind not in kinds:
        raise UnknownSignal(f"the target has no composite of kind {kind!r} (it has: "
                            f"{', '.join(sorted(c.kind for c in target.composites)) or 'none'})")
    keys = [(c.plural, c.namespace, c.name) for c in target.composites if kind in (c.kind, "XR", "composite")]
    now = {"type": ctype, "status": status}

    def check(s: ex.State) -> bool:
        # The ready condition is judged per composite: each XR left Ready since the fault (Ready=False), and each
        # that left came back (Ready=True); several XRs need not be down at the same instant, which their own
        # failovers, seconds apart, rarely are.
        if ctype != s.ready_type:
            return all(ex.matches(s, k, now) for k in keys)
        if status == "False":
            return all(k in s.went_down for k in keys)
        return all(k in s.came_back if k in s.went_down else ex.matches(s, k, now) for k in keys)

    return check


def step(target: Target, phrase: str, within: float, resolution: composed.Resolution | None = None) -> ex.Step:
    """The ``Step`` for one phrase (``UnknownSignal`` when it cannot be read); ``resolution``: the composed
    resources the run recorded (else the target's own list)."""
    text = " ".join(phrase.split())
    try:
        if m := _DNS.match(text):
            want = _dns_want(target, m["provider"])
            return ex.Step(text, text, within, lambda s: bool(want) and all(  # switched to it after the fault
                s.dns.get((name, ns)) == answers and (name, ns) in s.dns_changed for name, ns, answers in want),
                needs="dns", explain=_dns_seen)
        if m := _MR.match(text):
            return ex.Step(text, text, within, _mr_check(target, m["provider"], m["what"], resolution))
        if m := _XR.match(text):
            return ex.Step(text, text, within, _xr_check(target, m["kind"], m["type"], m["status"]))
    except TargetError as exc:
        raise UnknownSignal(str(exc)) from None
    raise UnknownSignal(f"unknown signal {phrase!r}; the signals are: {'; '.join(PHRASES)}")


def fault_instant(entries: list[tl.Entry]) -> float | None:
    """The monotonic instant of the last ``injected`` fault marker."""
    marks = [e for e in entries if e.what == tl.MARK and e.status == "injected"]
    return marks[-1].mono if marks else None


def check(target: Target, timeline: list[dict[str, Any]], signals: list[tuple[str, float]]) -> dict[str, Any]:
    """The verdict (``passed`` / ``failed`` / ``error``) of ``signals`` in order over a journal's timeline."""
    entries = tl.entries_from_json(timeline)
    t0 = fault_instant(entries)
    if t0 is None:
        return {"outcome": Outcome.ERROR, "reason": "no fault was injected in this run"}
    sig = ex.signals(target)
    resolution = composed.from_entries(target, entries)
    expectation = ex.Expectation("signals", tuple(step(target, p, w, resolution) for p, w in signals),
                                 dict(sig["mr_error"].get("condition") or {}),
                                 tuple(sig["mr_error"].get("events") or ()))
    verdict = expectation.evaluate(entries, t0, math.inf, lambda _needs, _state, _late: None)
    assert verdict is not None  # with now = infinity every step is decided
    return check_order(verdict) if verdict["outcome"] == Outcome.PASSED else verdict


def _is_change(phrase: str) -> bool:
    """Signals that happen (an error, a condition flip, a DNS switch), unlike states that may hold all along
    (healthy managed resources): for these, "in order" means each began after the previous signal."""
    return not _MR.match(phrase) or "Synced=False" in phrase.replace(" ", "")


def check_order(verdict: dict[str, Any]) -> dict[str, Any]:
    """A passed verdict stays passed only if every change began after the step before it was met (to within
    ``ORDER_RESOLUTION_S``); otherwise it reads failed at the first step out of order."""
    steps = verdict["steps"]
    for previous, current in itertools.pairwise(steps):
        if _is_change(current["name"]) and current["since_s"] < previous["at_s"] - ORDER_RESOLUTION_S:
            return {**verdict, "outcome": Outcome.FAILED, "failed_step": current["name"], "late_by_s": None,
                    "reason": f"{current['name']}: began {current['since_s']:.2f} s after the fault, before "
                              f"{previous['name']} ({previous['at_s']:.2f} s): not in this order"}
    return verdict
