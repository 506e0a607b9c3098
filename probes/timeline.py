"""The Timeline: one time-ordered, thread-safe record of everything observed during a run.

Entries are small and flat: condition *transitions* (not whole objects), Kubernetes Events (with their
aggregated ``count``), DNS answers per nameserver (only when they change), fault markers and the recorder's
own errors. Each carries a monotonic and a wall-clock timestamp. Waiting is on a ``threading.Condition``
notified by every append; nothing sleeps.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

# sources
K8S, DNS, FAULT, RECORDER = "k8s", "dns", "fault", "recorder"
# what an entry is
CONDITION, GONE, EVENT, ANSWER, DNS_ERROR, MARK, ERROR, SYNCED, RELIST, RESOLVED, REACH, SERVING = (
    "condition", "gone", "event", "answer", "dns-error", "mark", "error", "synced", "relist", "composed", "reach",
    "serving")
ADDRESSES = "addresses"  # dns: what a nameserver written as a hostname resolves to (involved "addresses")


@dataclass(frozen=True)
class Entry:
    seq: int
    mono: float  # time.monotonic() when the recorder had it
    wall: float  # time.time() at the same instant
    source: str  # k8s / dns / fault / recorder
    what: str  # condition / gone / event / answer / dns-error / mark / error / synced / relist / composed / reach /
    #            serving (a composite's serving side: status the side, previous the one before, message the field) /
    #            addresses (a nameserver's hostname resolved anew)
    kind: str = ""  # plural of the object (conditions), "events", the DNS record type, the fault name
    name: str = ""
    namespace: str | None = None
    initial: bool = False  # part of the state found when the recorder (re)started, not a change seen live
    # conditions: type/status/reason/message and the status before; events: type (Warning/Normal) and reason
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    previous: str | None = None
    count: int = 0  # events: the aggregated count
    # events: involvedObject apiVersion/kind/name/namespace and the plural of the kind watched; composed: the
    # composite, provider, apiVersion and kind of the MR;
    # reach: "composites", the labels of the listed composites the fault reaches, and "records", the DNS names they
    # compose, comma-separated
    involved: dict[str, str] = field(default_factory=dict)
    nameserver: str = ""  # dns: "host:port"
    answers: tuple[str, ...] = ()  # dns: sorted answers
    ttl: int | None = None  # dns: the smallest TTL along the answer's chain (how long a resolver may keep it)
    chain: tuple[str, ...] = ()  # dns: the names followed through CNAMEs, the record's own first (none: no CNAME)

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["answers"], doc["chain"] = list(self.answers), list(self.chain)
        return {k: v for k, v in doc.items() if v not in ("", None, {}, []) or k in ("seq", "mono", "wall")}


class Timeline:
    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._changed = threading.Condition()
        self._origin = (time.monotonic(), time.time())

    def add(self, source: str, what: str, **fields: Any) -> Entry:
        with self._changed:
            mono = time.monotonic()
            wall = self._origin[1] + (mono - self._origin[0])  # one clock: wall derived from monotonic
            for name in ("answers", "chain"):
                if name in fields:
                    fields[name] = tuple(fields[name])
            entry = Entry(len(self._entries), mono, wall, source, what, **fields)
            self._entries.append(entry)
            self._changed.notify_all()
            return entry

    def mark_fault(self, fault: str, marker: str = "injected", message: str = "") -> Entry:
        """A fault marker: ``injected``, ``fault-not-applied`` or ``rolled-back``; expectations measure from the
        last ``injected``, and read ``fault-not-applied`` when that is the newest marker."""
        return self.add(FAULT, MARK, kind=fault, status=marker, message=message)

    def mark_reach(self, fault: str, provider: str, composites: list[str], records: list[str] | None = None,
                   message: str = "") -> Entry:
        """The blast radius of the fault about to be injected: the labels of the target's composites it reaches and,
        when it spares some, the DNS names those compose (Kubernetes and DNS names hold no comma)."""
        involved = {"composites": ",".join(composites)}
        if records is not None:
            involved["records"] = ",".join(records)
        return self.add(FAULT, REACH, kind=fault, name=provider, message=message, involved=involved)

    def reach_of(self, marker: Entry) -> Entry | None:
        """The blast radius recorded just before the fault ``marker`` (``mark_reach``), if any."""
        with self._changed:
            for entry in reversed(self._entries[:marker.seq]):
                if entry.what == MARK:
                    return None
                if entry.what == REACH:
                    return entry
            return None

    def last_marker(self) -> Entry | None:
        """The newest fault marker, whatever it says."""
        with self._changed:
            return next((e for e in reversed(self._entries) if e.what == MARK), None)

    def last_fault(self, marker: str = "injected") -> Entry | None:
        with self._changed:
            return next((e for e in reversed(self._entries) if e.what == MARK and e.status == marker), None)

    def entries(self, since: float | None = None) -> list[Entry]:
        with self._changed:
            if since is None:
                return list(self._entries)
            return [e for e in self._entries if e.mono >= since]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())

    def __len__(self) -> int:
        with self._changed:
            return len(self._entries)

    def wait_for(self, predicate: Callable[[list[Entry]], T], deadline: float) -> T | None:
        """Call ``predicate(entries)`` now and after every append until it is truthy or ``deadline``
        (a ``time.monotonic()`` value) passes; returns its last result (falsy on timeout)."""
        with self._changed:
            while True:
                result = predicate(self._entries)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    return result
                self._changed.wait(left)

    def notify(self) -> None:
        """Wake waiters (e.g. when a deadline they compute changes)."""
        with self._changed:
            self._changed.notify_all()

    def to_json(self) -> list[dict[str, Any]]:
        """JSON-able list for the journal: every entry, with ``t`` in seconds since the timeline began."""
        out = []
        for entry in self.entries():
            doc = entry.as_dict()
            doc["t"] = round(entry.mono - self._origin[0], 6)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry.wall))
            doc["at"] = f"{stamp}.{int(entry.wall % 1 * 1e6):06d}Z"
            out.append(doc)
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json())


def entries_from_json(docs: list[dict[str, Any]]) -> list[Entry]:
    """Entries back from ``Timeline.to_json()`` (e.g. a journal's ``xpchaos-timeline``), in their order."""
    names = set(Entry.__dataclass_fields__)
    out = []
    for doc in docs:
        fields = {k: v for k, v in doc.items() if k in names}
        fields["answers"] = tuple(fields.get("answers") or ())
        fields["chain"] = tuple(fields.get("chain") or ())
        out.append(Entry(**fields))
    return out
