"""How the composites' own verdicts make the run's: the worst one decides, every composite is listed slowest first,
and the run's times are its slowest composite's (the per-XR judgment over a live sandbox: test_composed.py and
tests/experiments/test_realistic.py)."""

from __future__ import annotations

from typing import Any

from xpchaos.core.outcome import Outcome
from xpchaos.probes import expectations as ex
from xpchaos.probes.per_composite import Part, combine

XR_STEPS = ("detect", "promote", "xr_recovers")


def _part(kind: str, name: str, steps: tuple[str, ...]) -> Part:
    return Part(kind, name, ex.Expectation(name, tuple(ex.Step(s, s, 10.0, lambda _state: True) for s in steps)))


def _xr(name: str, outcome: Outcome, failover_s: float | None, failed_step: str | None = None) -> tuple[Part, Any]:
    steps = [{"name": s, "description": s, "deadline_s": 10.0, "status": "met", "at_s": 1.0, "since_s": 1.0}
             for s in XR_STEPS]
    if failed_step:
        steps[-1] = {"name": "xr_recovers", "description": "xr", "deadline_s": 10.0, "status": "missed"}
    verdict = {"outcome": outcome, "reason": f"{name} said so", "steps": steps,
               "times": {"time_to_detect_s": 0.5, "time_to_failover_s": failover_s,
                         "time_to_dns_convergence_s": None}}
    if failed_step:
        verdict.update(failed_step=failed_step, late_by_s=None, observed="the XR never left Ready")
    return _part("composite", name, XR_STEPS), verdict


def _record(name: str, dns_s: float) -> tuple[Part, Any]:
    steps = [{"name": "dns_secondary", "description": "dns", "deadline_s": 10.0, "status": "met", "at_s": dns_s,
              "since_s": dns_s}]
    return _part("record", name, ("dns_secondary",)), {
        "outcome": Outcome.PASSED, "reason": "ok", "steps": steps,
        "times": {"time_to_detect_s": None, "time_to_failover_s": None, "time_to_dns_convergence_s": dns_s,
                  "time_to_client_visible_s": dns_s + 2}}  # the old answer's TTL: 2 s


def test_all_passed_lists_the_slowest_first_and_takes_its_times() -> None:
    verdict = combine("failover", [_xr("a", Outcome.PASSED, 2.0), _xr("b", Outcome.PASSED, 3.5),
                                   _record("a.test", 4.0), _record("b.test", 2.5)])
    assert verdict["outcome"] == Outcome.PASSED
    assert [c["name"] for c in verdict["composites"]] == ["b", "a"]
    assert verdict["composites"][0]["times"] == {"time_to_detect_s": 0.5, "time_to_failover_s": 3.5}
    assert verdict["times"] == {"time_to_detect_s": 0.5, "time_to_failover_s": 3.5, "time_to_dns_convergence_s": 4.0,
                                "time_to_client_visible_s": 6.0}
    assert [s["name"] for s in verdict["steps"]] == ["detect", "promote", "xr_recovers", "dns_secondary"]
    assert verdict["steps"][-1]["at_s"] == 4.0


def test_one_failed_xr_fails_the_run_even_beside_one_that_could_not_be_observed() -> None:
    unobserved = _xr("c", Outcome.ERROR, None)
    unobserved[1].update(failed_step="detect", reason="could not observe: watch down")
    verdict = combine("failover", [_xr("a", Outcome.PASSED, 2.0), unobserved,
                                   _xr("b", Outcome.FAILED, None, "xr_recovers"), _record("a.test", 3.0)])
    assert verdict["outcome"] == Outcome.FAILED and verdict["failed_step"] == "xr_recovers"
    assert verdict["observed"] == "the XR never left Ready" and verdict["reason"].startswith("b: ")
    assert [(c["name"], c["outcome"]) for c in verdict["composites"]] == [
        ("b", Outcome.FAILED), ("c", Outcome.ERROR), ("a", Outcome.PASSED)]
    assert verdict["times"]["time_to_failover_s"] is None  # not every XR failed over
    assert next(s for s in verdict["steps"] if s["name"] == "xr_recovers")["status"] == "missed"


def test_an_xr_that_could_not_be_observed_makes_the_run_error() -> None:
    unobserved = _xr("c", Outcome.ERROR, None)
    unobserved[1].update(failed_step="detect", reason="could not observe: watch down")
    verdict = combine("failover", [_xr("a", Outcome.PASSED, 2.0), unobserved, _record("a.test", 3.0)])
    assert verdict["outcome"] == Outcome.ERROR and verdict["failed_step"] == "detect"
    assert "could not observe" in verdict["reason"]


def test_one_composite_keeps_its_own_verdict() -> None:
    part, own = _xr("production-db", Outcome.PASSED, 2.0)
    verdict = combine("failover", [(part, own)])
    assert {k: v for k, v in verdict.items() if k != "composites"} == own
    assert verdict["composites"] == [{"name": "production-db", "outcome": Outcome.PASSED,
                                      "times": {"time_to_detect_s": 0.5, "time_to_failover_s": 2.0},
                                      "failed_step": None, "late_by_s": None}]
