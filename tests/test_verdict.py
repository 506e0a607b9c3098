"""A fault counts only once its first effect is seen: a journal whose fault states its effect (``effect``) and whose
failover probe never saw it (``detect`` missed, on every composite) reads ``fault-not-applied`` with the fault's
reason, or ``error`` when the SLO ended before the effect was due; a detect seen late, or a fault stating nothing,
keeps the probe's ``failed``."""

from __future__ import annotations

from typing import Any

from xpchaos import verdict
from xpchaos.core.outcome import Outcome

UNSEEN = "no provider error within 10m30s: is NetworkPolicy enforced on this cluster?"
EFFECT = {"step": "detect", "signal": "mr_error", "side": "aws", "due_s": 630.0, "poll": "10m", "unseen": UNSEEN}


def _journal(effect: dict[str, Any] | None, deadline: float, late_by: float | None = None,
             composites: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    fault_output: dict[str, Any] = {"fault": "block-provider-api", "provider": "aws", "outcome": "applied"}
    if effect is not None:
        fault_output["effect"] = effect
    probe = {"outcome": "failed", "failed_step": "detect", "late_by_s": late_by,
             "reason": f"every aws MR Synced=False/ReconcileError: not seen within {deadline:g} s of the fault",
             "steps": [{"name": "detect", "deadline_s": deadline, "status": "missed"}],
             "composites": composites or []}
    return {"status": "completed", "experiment": {"title": "block-provider-api"}, "run": [
        {"activity": {"type": "action", "name": "block-provider-api"}, "status": "succeeded",
         "output": fault_output},
        {"activity": {"type": "probe", "name": "failover-completes",
                      "provider": {"func": "failover_completes"}}, "status": "succeeded", "output": probe}]}


def test_a_first_effect_never_seen_is_fault_not_applied_with_the_faults_reason() -> None:
    v = verdict.of_journal(_journal(EFFECT, deadline=900))
    assert v.outcome == Outcome.NOT_APPLIED and v.exit_code == 2
    assert v.reason.startswith(UNSEEN + " (the probe read: every aws MR Synced=False"), v.reason


def test_an_slo_ending_before_the_effect_is_due_says_so_and_decides_nothing() -> None:
    v = verdict.of_journal(_journal(EFFECT, deadline=90))
    assert v.outcome == Outcome.ERROR and v.exit_code == 2
    assert v.reason.startswith("the SLO (90 s) ended before the fault's first effect could be due: the provider "
                               "polls every 10m, so its first error may come 630 s after the fault"), v.reason


def test_a_detect_seen_late_or_seen_on_some_composite_is_still_not_resilient() -> None:
    late = verdict.of_journal(_journal(EFFECT, deadline=900, late_by=3.0))
    some = verdict.of_journal(_journal(EFFECT, deadline=900, composites=[
        {"name": "a", "outcome": "failed", "failed_step": "detect", "late_by_s": None},
        {"name": "b", "outcome": "failed", "failed_step": "xr_recovers", "late_by_s": None}]))
    assert (late.outcome, some.outcome) == (Outcome.FAILED, Outcome.FAILED)


def test_a_fault_stating_no_effect_keeps_the_probes_verdict() -> None:
    assert verdict.of_journal(_journal(None, deadline=900)).outcome == Outcome.FAILED


def test_an_effect_unseen_while_the_watches_were_interrupted_is_error_not_fault_not_applied() -> None:
    """A harness that could not see reads error: the first effect may have come while a watch was cut."""
    journal = _journal(EFFECT, deadline=900)
    journal["extensions"] = [{"name": "xpchaos-api", "retries": {"total": 9, "503": 6, "watch reconnect": 2,
                                                                  "watch stall": 1}}]
    v = verdict.of_journal(journal)
    assert v.outcome == Outcome.ERROR and v.exit_code == 2
    assert v.reason.startswith("the fault's first effect was not seen, but the watches were interrupted 3 time(s)")
    journal["extensions"] = [{"name": "xpchaos-api", "retries": {"total": 6, "503": 6}}]  # requests retried only
    assert verdict.of_journal(journal).outcome == Outcome.NOT_APPLIED
