"""The expectation on a listed XR outside the fault's blast radius: it stays Ready while the failover runs.

The fault never reaches such an XR, so it must not fail over; asking it to (``detect`` → ``promote`` →
``xr_recovers``) would read "not resilient" for an XR nothing touched. Its one step, ``stays_ready``, fails at the
first instant after the fault that its ready condition (default ``Ready``) is not True, with that instant; it holds
when the window closes without one: once every XR in the blast radius is decided, or at the step's deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xpchaos.core.outcome import Outcome

from . import expectations as ex
from . import timeline as tl

STEP = "stays_ready"


@dataclass(frozen=True)
class StaysReady:
    """``key``'s ready condition stays True from the fault until the window closes."""

    name: str
    key: ex.ObjKey
    deadline: float  # seconds after the fault: the window when no XR of the blast radius closes it sooner
    ready_type: str = "Ready"

    @property
    def steps(self) -> tuple[ex.Step, ...]:
        return (ex.Step(STEP, f"the XR stays {self.ready_type} (outside the blast radius)", self.deadline,
                        lambda _state: False),)

    def evaluate(self, entries: list[tl.Entry], t0: float, now: float, unobservable: ex.Unobservable,
                 watch: Watch | None = None, closed: bool = False) -> dict[str, Any] | None:
        """The verdict once known: failed as soon as the XR leaves Ready; passed (or error, when the XR could not
        be watched) once ``closed`` or past the deadline; else None. A ``watch`` kept between calls reads only the
        entries added since the previous one."""
        watch = watch if watch is not None else Watch()
        step = {"name": STEP, "description": self.steps[0].description, "deadline_s": self.deadline}
        went = watch.advance(self, entries, t0)
        if went is not None:
            at = round(went.mono - t0, 3)
            reason = (f"{self.name} left {self.ready_type} ({went.status}/{went.reason or 'no reason'}) {at:.2f} s "
                      f"after the fault, though the fault does not reach it")
            return {"outcome": Outcome.FAILED, "expectation": self.name, "failed_step": STEP, "late_by_s": None,
                    "reason": reason, "unready_at_s": at,
                    "steps": [{**step, "status": "missed", "at_s": at, "since_s": at}], "times": {}}
        if not closed and now <= t0 + self.deadline:
            return None
        why = unobservable("k8s", ex.State(t0), True) or _blind(entries, t0)
        if why is not None:
            return {"outcome": Outcome.ERROR, "expectation": self.name, "failed_step": STEP,
                    "reason": f"could not observe: {why}", "steps": [{**step, "status": "pending"}], "times": {}}
        return {"outcome": Outcome.PASSED, "expectation": self.name,
                "reason": f"stayed {self.ready_type} for {now - t0:.2f} s after the fault",
                "steps": [{**step, "status": "met", "at_s": round(now - t0, 3), "since_s": 0.0}], "times": {}}


def _blind(entries: list[tl.Entry], t0: float) -> str | None:
    """A watch that re-listed over a change it did not see since the fault: the XR may have left Ready unseen."""
    relist = next((e for e in entries if e.source == tl.RECORDER and e.what == tl.RELIST and e.status == "blind"
                   and e.mono >= t0), None)
    return None if relist is None else f"the watch on {relist.name} lost its history (410 Gone) " \
                                       f"{relist.mono - t0:.2f} s after the fault, over a change it did not see"


@dataclass
class Watch:
    """How far ``StaysReady`` has read a timeline, and the entry where its XR left Ready, once seen."""

    seen: int = 0
    went: tl.Entry | None = None

    def advance(self, expectation: StaysReady, entries: list[tl.Entry], t0: float) -> tl.Entry | None:
        for entry in entries[self.seen:]:
            if self.went is None and entry.mono >= t0 and entry.what == tl.CONDITION and \
                    entry.type == expectation.ready_type and entry.status != "True" and \
                    (entry.kind, entry.namespace, entry.name) == expectation.key:
                self.went = entry
        self.seen = len(entries)
        return self.went
