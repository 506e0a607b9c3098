"""The verdict of one experiment run, read from its Chaos Toolkit journal.

Four outcomes, never collapsed (docs/architecture.md): ``passed``; ``failed`` (the system is not resilient: which
step, how late); ``fault-not-applied`` (the fault did not take hold, e.g. a blocked ProviderConfig deletion);
``error`` (the harness could not decide: the baseline did not hold before the fault, a fault or probe raised,
the run was interrupted, the cluster or DNS could not be observed).

The rules, in order: an interrupted or aborted run is ``error`` (also one where SIGTERM surfaced as an
activity's failure); a steady state that did not hold before the
method is ``error`` (no fault was injected); a fault action that answered ``fault-not-applied`` gives that; a
fault action that raised is ``error``; a fault whose first effect (its output's ``effect``) was never seen is
``fault-not-applied`` with the fault's reason, or ``error`` when the SLO ended before the effect was due; then the
failover probe's own verdict (the worst composite's, with every
composite's own under ``composites``); without one, a deviated run is ``failed`` and a completed one ``passed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from xpchaos.core.outcome import UNDECIDED, Outcome

EXTENSION = "xpchaos-verdict"
FAILOVER_FUNCS = ("failover_completes",)
SIGNAL_EXCEPTION = "chaoslib.exceptions.InterruptExecution"  # how SIGTERM shows in an activity's exception


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    experiment: str = ""
    fault: str | None = None  # the method's fault action
    provider: str | None = None
    failed_step: str | None = None
    late_by_s: float | None = None
    observed: str | None = None  # what was seen instead of the missed step
    times: dict[str, float | None] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    slo_s: float | None = None
    dns_clock: str | None = None  # the DNS measure the SLO judged: client-visible or authoritative (measures.CLOCKS)
    # where the time went: the recovery times in parts (name, what, from_s, to_s, took_s; xpchaos.probes.breakdown)
    parts: list[dict[str, Any]] = field(default_factory=list)
    # every composite judged on its own, slowest first: name, outcome, times, failed_step, late_by_s
    composites: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:  # a journal's word (JSON holds a plain string) as the Outcome it names
        object.__setattr__(self, "outcome", Outcome.parse(self.outcome))

    @property
    def exit_code(self) -> int:
        """0 passed, 1 not resilient, 2 the harness could not decide (error, fault not applied)."""
        return self.outcome.exit_code

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}

    def headline(self) -> str:
        return f"{self.outcome.word}: {self.reason}"


def _activity_runs(journal: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in journal.get("run") or [] if (r.get("activity") or {}).get("type") == kind]


def _output(run: dict[str, Any]) -> dict[str, Any]:
    out = run.get("output")
    return out if isinstance(out, dict) else {}


def _exception_line(run: dict[str, Any]) -> str:
    lines = [line.strip() for line in "".join(run.get("exception") or []).splitlines() if line.strip()]
    return lines[-1] if lines else "no detail"


def _baseline_failure(journal: dict[str, Any]) -> str | None:
    before = (journal.get("steady_states") or {}).get("before")
    if not before or before.get("steady_state_met", True):
        return None
    for probe in before.get("probes") or []:
        name = (probe.get("activity") or {}).get("name", "probe")
        if probe.get("status") != "succeeded":
            return f"probe {name!r} could not observe: {_exception_line(probe)}"
        if not probe.get("tolerance_met", True):
            return f"probe {name!r} answered {probe.get('output')!r}"
    return "a steady-state probe was not within tolerance"


def _signalled(journal: dict[str, Any]) -> bool:
    """chaoslib turns SIGTERM into ``InterruptExecution``, an Exception, which a python activity that was running
    reports as its own failure; the journal then reads "completed" although the run was interrupted."""
    before = (journal.get("steady_states") or {}).get("before") or {}
    runs = [*(journal.get("run") or []), *(journal.get("rollbacks") or []), *(before.get("probes") or [])]
    return any(SIGNAL_EXCEPTION in "".join(r.get("exception") or []) for r in runs if isinstance(r, dict))


def _slo(run: dict[str, Any]) -> float | None:
    steps = (run.get("output") or {}).get("steps") or []
    deadlines = [s.get("deadline_s") for s in steps if isinstance(s.get("deadline_s"), (int, float))]
    return max(deadlines) if deadlines else None


def _never_detected(out: dict[str, Any]) -> bool:
    """The probe read "failed" only because the fault's first effect (``detect``) was never seen, on any
    composite."""
    if Outcome.parse(out.get("outcome")) != Outcome.FAILED or out.get("failed_step") != "detect" or \
            out.get("late_by_s") is not None:
        return False
    composites = out.get("composites") or []
    return all(c.get("failed_step") == "detect" and c.get("late_by_s") is None for c in composites)


def _effect_unseen(out: dict[str, Any], fault: dict[str, Any], interrupted_watches: int = 0) -> dict[str, Any] | None:
    """A fault counts only once its first effect is seen. The fault states it (``effect``: the step, the latest
    time it can appear, what its absence means); never seen, the verdict is ``fault-not-applied`` with that
    reason, or ``error`` when the SLO ended before the effect could be due or the watches were interrupted during
    the run (``interrupted_watches``: the harness could not see). None: the probe's verdict stands."""
    effect = fault.get("effect")
    if not isinstance(effect, dict) or effect.get("step") != "detect" or not _never_detected(out):
        return None
    if interrupted_watches:  # it may have come while the harness could not see: nothing is proven either way
        return {"outcome": Outcome.ERROR, "unconfirmed": out.get("reason"),
                "reason": f"the fault's first effect was not seen, but the watches were interrupted "
                          f"{interrupted_watches} time(s) during the run: the harness could not see "
                          f"(the probe read: {out.get('reason')})"}
    due = float(effect.get("due_s") or 0)
    deadline = next((s.get("deadline_s") for s in out.get("steps") or [] if s.get("name") == "detect"), None)
    if isinstance(deadline, (int, float)) and deadline < due:
        return {"outcome": Outcome.ERROR, "unconfirmed": out.get("reason"),
                "reason": f"the SLO ({deadline:g} s) ended before the fault's first effect could be due: the "
                          f"provider polls every {effect.get('poll')}, so its first error may come {due:g} s after "
                          "the fault; no error within the SLO proves nothing (shorten --poll, or raise the SLO)"}
    return {"outcome": Outcome.NOT_APPLIED, "unconfirmed": out.get("reason"),
            "reason": f"{effect.get('unseen') or 'the fault had no effect'} (the probe read: {out.get('reason')})"}


def _interrupted_watches(journal: dict[str, Any]) -> int:
    """How often the recorder's watches were cut, stalled or expired during the run (the timeline control's
    ``xpchaos-api`` extension counts them beside the retried requests)."""
    found = next((e for e in journal.get("extensions") or [] if e.get("name") == "xpchaos-api"), None)
    retries = (found or {}).get("retries") or {}
    return sum(int(n) for reason, n in retries.items() if str(reason).startswith("watch") and isinstance(n, int))


def of_journal(journal: dict[str, Any]) -> Verdict:
    """The verdict of a finished run (see the module docstring for the rules)."""
    title = str((journal.get("experiment") or {}).get("title", ""))
    actions = _activity_runs(journal, "action")
    fault = actions[0] if actions else None
    base: dict[str, Any] = {"experiment": title}
    if fault is not None:
        base["fault"] = fault["activity"].get("name")
        output = _output(fault)
        base["provider"] = output.get("provider") or \
            ((fault["activity"].get("provider") or {}).get("arguments") or {}).get("provider")
    status = "interrupted" if _signalled(journal) else journal.get("status")
    if status in ("interrupted", "aborted"):
        return Verdict(Outcome.ERROR, f"the run was {status} before a verdict; rollbacks ran", **base)
    baseline = _baseline_failure(journal)
    if baseline is not None:
        return Verdict(Outcome.ERROR, f"the steady state did not hold before the fault ({baseline}); no fault "
                                      "was injected", **base)
    for run in actions:
        output = _output(run)
        name = run["activity"].get("name")
        if output.get("outcome") == Outcome.NOT_APPLIED:
            return Verdict(Outcome.NOT_APPLIED, f"{name}: {output.get('reason') or 'the fault did not take hold'}",
                           **base)
        if run.get("status") != "succeeded":
            return Verdict(Outcome.ERROR, f"fault {name!r} failed: {_exception_line(run)}", **base)
    probes = [r for r in _activity_runs(journal, "probe")
              if ((r.get("activity") or {}).get("provider") or {}).get("func") in FAILOVER_FUNCS]
    if probes:
        run = probes[-1]
        if run.get("status") != "succeeded" or not isinstance(run.get("output"), dict):
            return Verdict(Outcome.ERROR, f"probe {run['activity'].get('name')!r} could not observe: "
                                          f"{_exception_line(run)}", **base)
        out = run["output"]
        unseen = _effect_unseen(out, _output(fault) if fault is not None else {}, _interrupted_watches(journal))
        if unseen is not None:
            out = {**out, **unseen}
        return Verdict(Outcome.parse(out.get("outcome")), str(out.get("reason", "")),
                       failed_step=out.get("failed_step"), late_by_s=out.get("late_by_s"), observed=out.get("observed"),
                       times=dict(out.get("times") or {}), steps=list(out.get("steps") or []), slo_s=_slo(run),
                       composites=list(out.get("composites") or []), dns_clock=out.get("dns_clock"),
                       parts=list(out.get("parts") or []), **base)
    if journal.get("deviated"):
        return Verdict(Outcome.FAILED, "the steady state deviated after the method", **base)
    return Verdict(Outcome.PASSED, "the run completed and the steady state held", **base)


def apply_to_journal(journal: dict[str, Any], verdict: Verdict) -> None:
    """Make the journal's status say what the verdict says, so plain ``chaos run`` exits non-zero unless the
    failover passed: ``failed`` → deviated; ``error`` / ``fault-not-applied`` → status ``failed``; SIGTERM seen as
    an activity's failure → status ``interrupted``."""
    journal.setdefault("extensions", []).append({"name": EXTENSION, **verdict.as_dict()})
    if _signalled(journal):
        journal["status"] = "interrupted"
    elif verdict.outcome == Outcome.FAILED:
        journal["deviated"] = True
    elif verdict.outcome in UNDECIDED and journal.get("status") == "completed":
        journal["status"] = "failed"


def from_extensions(journal: dict[str, Any]) -> Verdict | None:
    """The verdict the control stored in the journal, if any."""
    for ext in journal.get("extensions") or []:
        if ext.get("name") == EXTENSION:
            doc = {k: v for k, v in ext.items() if k != "name"}
            return Verdict(**doc)
    return None
