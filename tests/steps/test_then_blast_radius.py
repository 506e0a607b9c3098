"""The Then steps judge the signals of managed resources, composites and DNS within the fault's blast radius: of two
XRs, a fault that reaches one fails only that one's managed resources, so "aws managed resources are Synced=False"
holds, though the other XR's AWS side stays healthy; it still fails when a reached managed resource never errs, and
it cannot hold over no managed resource at all. Judged here over timelines written by hand (on the realistic
platform, end to end: tests/run/gate/test_discovered.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import targets as target_files
from xpchaos.core import target as targets
from xpchaos.core.outcome import Outcome
from xpchaos.core.target import ObjectRef
from xpchaos.probes import composed, sequence
from xpchaos.probes import timeline as tl
from xpchaos.probes.dns_sampler import label
from xpchaos.steps import then

PLURAL = "xglobaldatabases"
NAMES = ("db-01", "db-02")
MR = {"aws": ("rds.aws.upbound.io/v1beta1", "Cluster", "clusters"),  # apiVersion, kind, plural of each side's MR
      "azure": ("sql.azure.upbound.io/v1beta1", "MSSQLServer", "mssqlservers")}


def _target(tmp_path: Path) -> targets.Target:
    return target_files.several_composites(tmp_path / "target.yaml", NAMES)


def _mr(provider: str, composite: str) -> ObjectRef:
    return ObjectRef(*MR[provider], f"{composite}-{provider}", None)


def _condition(timeline: tl.Timeline, ref: ObjectRef | tuple[str, str], ctype: str, status: str, reason: str) -> None:
    plural, name = (ref.plural, ref.name) if isinstance(ref, ObjectRef) else ref
    timeline.add(tl.K8S, tl.CONDITION, kind=plural, name=name, type=ctype, status=status, reason=reason)


def _answer(timeline: tl.Timeline, target: targets.Target, name: str, side: str) -> None:
    record = next(r for r in target.dns if r.name == f"{name}.example.org")
    for nameserver in record.nameservers:
        timeline.add(tl.DNS, tl.ANSWER, kind="A", name=record.name, nameserver=label(nameserver),
                     answers=sorted(getattr(record, side)))


def _run(target: targets.Target, reached: list[str] | None, fails: list[str]) -> list[dict[str, Any]]:
    """A run's timeline: both XRs Ready on AWS, the fault's blast radius (``reached``; None: not recorded), then
    the XRs in ``fails`` fail over (their AWS side errs, the XR flips, their DNS name switches)."""
    timeline = tl.Timeline()
    for name in NAMES:
        for provider in MR:
            mr = _mr(provider, name)
            timeline.add(tl.RECORDER, tl.RESOLVED, **composed.entry(target.composites[0], name, provider, mr))
            _condition(timeline, mr, "Synced", "True", "ReconcileSuccess")
            _condition(timeline, mr, "Ready", "True", "Available")
        _condition(timeline, (PLURAL, name), "Ready", "True", "Available")
        _answer(timeline, target, name, "primary")
    if reached is not None:
        timeline.mark_reach("delete-providerconfig", "aws", reached, [f"{n}.example.org" for n in reached])
    timeline.mark_fault("delete-providerconfig")
    for name in fails:
        _condition(timeline, _mr("aws", name), "Synced", "False", "ReconcileError")
        _condition(timeline, (PLURAL, name), "Ready", "False", "Creating")
    for name in fails:
        _condition(timeline, (PLURAL, name), "Ready", "True", "Available")
        _answer(timeline, target, name, "secondary")
    return timeline.to_json()


SIGNALS = [("aws managed resources are Synced=False", 10.0), ("azure managed resources are Synced and Ready", 10.0),
           ("the XGlobalDatabase is Ready=False", 10.0), ("DNS answers azure", 10.0)]


def test_the_signals_hold_over_the_xrs_the_fault_reaches(tmp_path: Path) -> None:
    target = _target(tmp_path)
    timeline = _run(target, ["db-01"], ["db-01"])
    verdict = then.judge(target, timeline, SIGNALS)
    assert verdict["outcome"] == Outcome.PASSED, verdict
    # over every XR, as before the blast radius: db-02's AWS side never erred, so the same run would read failed
    assert sequence.check(target, timeline, SIGNALS[:1])["outcome"] == Outcome.FAILED


def test_a_reached_xr_that_does_not_fail_over_fails_the_signal(tmp_path: Path) -> None:
    target = _target(tmp_path)
    timeline = _run(target, ["db-01", "db-02"], ["db-01"])
    for signal in SIGNALS[:1] + SIGNALS[2:]:
        verdict = then.judge(target, timeline, [signal])
        assert verdict["outcome"] == Outcome.FAILED, (signal, verdict)


def test_without_a_recorded_blast_radius_every_xr_counts(tmp_path: Path) -> None:
    target = _target(tmp_path)
    assert then.judge(target, _run(target, None, ["db-01"]), SIGNALS[:1])["outcome"] == Outcome.FAILED
    assert then.judge(target, _run(target, None, list(NAMES)), SIGNALS)["outcome"] == Outcome.PASSED


def test_a_fault_that_reaches_no_xr_cannot_pass_a_signal(tmp_path: Path) -> None:
    target = _target(tmp_path)
    with pytest.raises(AssertionError, match="the fault reaches none of the target's 2 composites"):
        then.judge(target, _run(target, [], []), SIGNALS[:1])


def test_a_managed_resource_signal_over_none_is_refused(tmp_path: Path) -> None:
    target = _target(tmp_path)
    timeline = [e for e in _run(target, ["db-01"], ["db-01"])  # db-01 composes nothing on Azure
                if not (e["what"] == tl.RESOLVED and e["name"] == "db-01-azure")]
    with pytest.raises(AssertionError, match="no managed resource of azure within the fault's blast radius"):
        then.judge(target, timeline, SIGNALS[1:2])


FLIP = [("the XGlobalDatabase is Ready=False", 10.0), ("the XGlobalDatabase is Ready=True", 10.0)]


def _one_after_the_other(target: targets.Target, down: tuple[str, ...]) -> list[dict[str, Any]]:
    """Both XRs Ready, the fault, then each XR of ``down`` leaves Ready and comes back before the next one leaves."""
    timeline = tl.Timeline()
    for name in NAMES:
        _condition(timeline, (PLURAL, name), "Ready", "True", "Available")
    timeline.mark_fault("delete-providerconfig")
    for name in down:
        _condition(timeline, (PLURAL, name), "Ready", "False", "Creating")
        _condition(timeline, (PLURAL, name), "Ready", "True", "Available")
    return timeline.to_json()


def test_each_xr_flips_on_its_own_clock(tmp_path: Path) -> None:
    """Failovers seconds apart are never down at one instant: each XR must leave Ready and come back, not all at
    once (on the realistic platform 20 XRs fail over within about 2 s of each other)."""
    target = _target(tmp_path)
    assert sequence.check(target, _one_after_the_other(target, NAMES), FLIP)["outcome"] == Outcome.PASSED
    verdict = sequence.check(target, _one_after_the_other(target, NAMES[:1]), FLIP)  # db-02 never left Ready
    assert verdict["outcome"] == Outcome.FAILED and verdict["failed_step"] == FLIP[0][0], verdict
