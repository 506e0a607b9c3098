"""Where the time went: a failover's recovery times split into parts, as far as the timeline shows them.

The milestones, each an instant after the fault the timeline holds (left out when it does not):

- ``first_effect``: the first error signal on a managed resource of the side the fault hit (waiting for its
  provider's poll);
- ``detected``: every such resource shows it (``detect``: the other resources' polls, retried with the
  reconciler's backoff);
- ``reacted``: a composite leaves Ready or names another serving side (the failover function's detection
  threshold);
- ``promoted``: the other side's resources healthy and every composite serving it (``promote``; none for a warm
  standby that was healthy before the fault and names no serving side);
- ``recovered``: every composite Ready again (``xr_recovers``);
- ``dns``: every authoritative nameserver answers the other side (DNS propagation);
- ``client``: no resolver may serve the old answer any more (the old answer's TTL).

Sorted by instant, each part runs from the milestone before it (the fault, for the first) to its own, so the parts
add up to the latest milestone seen and each recovery time is the sum of the parts up to its milestone. Which part
comes first is the platform's: a function that writes DNS before it sets Ready shows ``dns`` before ``recovered``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from xpchaos.core import measures

from . import timeline as tl
from .expectations import WARM_STANDBY

ObjKey = tuple[str, str | None, str]  # plural, namespace, name
ORDER = ("first_effect", "detected", "reacted", "promoted", "recovered", "dns", "client")


def _what(name: str, lost: str, to: str) -> str:
    return {
        "first_effect": f"waiting for {lost}'s poll: the first {lost} MR error",
        "detected": f"every {lost} MR erring (their polls, retried with backoff)",
        "reacted": "the failover's detection threshold: an XR leaves Ready or switches side",
        "promoted": f"promotion: every {to} MR healthy and every XR serving {to}",
        "recovered": "every XR Ready again",
        "dns": f"DNS propagation: every authoritative nameserver answers {to}",
        "client": "TTL: resolvers may still serve the old answer",
    }[name]


def first_error(entries: Iterable[tl.Entry], t0: float, faulted: Collection[ObjKey], condition: dict[str, str],
                events: Collection[str]) -> float | None:
    """The first instant after ``t0`` a resource in ``faulted`` shows the error signal (its condition, or a Warning
    event of one of its reasons about it)."""
    names = {(namespace or None, name) for _plural, namespace, name in faulted}
    for entry in entries:
        if entry.mono < t0:
            continue
        if entry.what == tl.CONDITION and (entry.kind, entry.namespace, entry.name) in faulted and \
                entry.type == condition.get("type") and entry.status == condition.get("status") and \
                entry.reason == condition.get("reason", entry.reason):
            return entry.mono
        if entry.what == tl.EVENT and entry.type == "Warning" and entry.reason in events and \
                ((entry.involved.get("namespace") or None), entry.involved.get("name")) in names:
            return entry.mono
    return None


def first_reaction(entries: Iterable[tl.Entry], t0: float, xrs: Collection[ObjKey], ready: str) -> float | None:
    """The first instant after ``t0`` a composite in ``xrs`` leaves ``ready`` or names another serving side."""
    for entry in entries:
        if entry.mono < t0 or (entry.kind, entry.namespace, entry.name) not in xrs:
            continue
        if entry.what == tl.CONDITION and entry.type == ready and entry.status != "True":
            return entry.mono
        if entry.what == tl.SERVING and entry.status != entry.previous:
            return entry.mono
    return None


def parts(verdict: dict[str, Any], entries: list[tl.Entry], t0: float, faulted: Collection[ObjKey],
          xrs: Collection[ObjKey], condition: dict[str, str], events: Collection[str], ready: str, lost: str,
          to: str) -> list[dict[str, Any]]:
    """The parts of the verdict's recovery times (see the module docstring): name, what, from_s, to_s, took_s."""
    # a warm standby healthy before the fault was not promoted: its step says so, and is no part of the time
    at = {s.get("name"): measures.number(s.get("at_s")) for s in verdict.get("steps") or []
          if not str(s.get("basis") or "").startswith(WARM_STANDBY)}
    times = verdict.get("times") or {}

    def after(instant: float | None) -> float | None:
        return None if instant is None else round(max(instant - t0, 0.0), 3)

    found: dict[str, float | None] = {
        "first_effect": after(first_error(entries, t0, set(faulted), condition, events)),
        "detected": at.get("detect"),
        "reacted": after(first_reaction(entries, t0, set(xrs), ready)),
        "promoted": at.get("promote"),
        "recovered": at.get("xr_recovers"),
        "dns": measures.DNS.of(times),
        "client": measures.DNS_CLIENT.of(times),
    }
    seen = sorted(((value, ORDER.index(name), name) for name, value in found.items() if value is not None))
    out, previous = [], 0.0
    for value, _rank, name in seen:
        if name == "client" and value <= (found["dns"] or 0.0):  # no TTL: nothing a resolver keeps
            continue
        out.append({"name": name, "what": _what(name, lost, to), "from_s": previous, "to_s": value,
                    "took_s": round(value - previous, 3)})
        previous = value
    return out
