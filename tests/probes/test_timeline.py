"""Timeline and expectation logic without a cluster: synthetic entries."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.support.targets import MINIMAL
from xpchaos.core import target as targets
from xpchaos.probes import expectations
from xpchaos.probes import timeline as tl
from xpchaos.probes.dns_sampler import label


def test_wait_for_wakes_on_append_and_times_out() -> None:
    timeline = tl.Timeline()
    threading.Timer(0.05, lambda: timeline.mark_fault("x")).start()
    started = time.monotonic()
    found = timeline.wait_for(lambda es: [e for e in es if e.what == tl.MARK], time.monotonic() + 5)
    assert found and time.monotonic() - started < 1
    started = time.monotonic()
    assert not timeline.wait_for(lambda es: [e for e in es if e.what == tl.EVENT], time.monotonic() + 0.1)
    assert 0.1 <= time.monotonic() - started < 0.5


def test_concurrent_appends_keep_order_and_export_as_json() -> None:
    timeline = tl.Timeline()

    def add(n: int) -> None:
        for i in range(200):
            timeline.add(tl.K8S, tl.EVENT, name=f"{n}-{i}", count=i, involved={"kind": "Pod", "name": "p"})

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = timeline.entries()
    assert len(entries) == 1600 and [e.seq for e in entries] == list(range(1600))
    assert all(a.mono <= b.mono and a.wall <= b.wall for a, b in itertools.pairwise(entries))
    timeline.add(tl.DNS, tl.ANSWER, name="api", nameserver="127.0.0.1:53", answers=("192.0.2.10",))
    doc = json.loads(timeline.dumps())
    assert doc[-1]["answers"] == ["192.0.2.10"] and doc[-1]["at"].endswith("Z") and "t" in doc[-1]
    assert "answers" not in doc[0] and doc[0]["involved"] == {"kind": "Pod", "name": "p"}


@pytest.fixture
def target(tmp_path: Path) -> targets.Target:
    doc = yaml.safe_load(yaml.safe_dump(MINIMAL))
    azure = json.loads(json.dumps(doc["providers"]["aws"]))
    azure.update(role="secondary")
    azure["managedResources"] = [{"apiVersion": "sql.azure.upbound.io/v1beta1", "kind": "MSSQLServer",
                                  "plural": "mssqlservers", "name": "db2"}]
    doc["providers"]["azure"] = azure
    doc["composites"] = [{"apiVersion": "example.org/v1", "kind": "XDB", "plural": "xdbs", "name": "xr"}]
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc))
    return targets.load(path)


def _cond(timeline: tl.Timeline, kind: str, name: str, ctype: str, status: str, reason: str) -> None:
    timeline.add(tl.K8S, tl.CONDITION, kind=kind, name=name, type=ctype, status=status, reason=reason)


def _answers(timeline: tl.Timeline, target: targets.Target, answers: tuple[str, ...]) -> None:
    for ns in target.dns[0].nameservers:
        timeline.add(tl.DNS, tl.ANSWER, name=target.dns[0].name, nameserver=label(ns), answers=answers)


def _never(needs: str, state: expectations.State, at_deadline: bool) -> str | None:
    return None


def test_steps_in_order_with_measured_times(target: targets.Target) -> None:
    timeline = tl.Timeline()
    _cond(timeline, "mssqlservers", "db2", "Synced", "True", "ReconcileSuccess")
    _cond(timeline, "mssqlservers", "db2", "Ready", "True", "Available")
    _cond(timeline, "xdbs", "xr", "Ready", "True", "Available")
    _answers(timeline, target, ("192.0.2.10",))
    t0 = timeline.mark_fault("f").mono
    exp = expectations.failover(target, {"detect": 5})
    assert exp.evaluate(timeline.entries(), t0, time.monotonic(), _never) is None  # not known yet
    _cond(timeline, "clusters", "db", "Synced", "False", "ReconcileError")
    _cond(timeline, "xdbs", "xr", "Ready", "False", "Creating")
    _answers(timeline, target, ("198.51.100.20",))
    _cond(timeline, "xdbs", "xr", "Ready", "True", "Available")
    verdict = exp.evaluate(timeline.entries(), t0, time.monotonic(), _never)
    assert verdict and verdict["outcome"] == "passed", verdict
    times = verdict["times"]
    assert times["time_to_detect_s"] <= times["time_to_dns_convergence_s"] <= times["time_to_failover_s"]


def test_a_late_step_fails_with_how_late_and_unobservable_is_error(target: targets.Target) -> None:
    timeline = tl.Timeline()
    t0 = timeline.mark_fault("f").mono
    exp = expectations.failover(target, {"detect": 0.01}, only=["detect"])
    _cond(timeline, "clusters", "db", "Synced", "False", "ReconcileError")
    *before, signal = timeline.entries()
    late = [*before, dataclasses.replace(signal, mono=t0 + 0.05)]  # the error seen 50 ms after the fault
    verdict = exp.evaluate(late, t0, t0 + 0.05, _never)
    assert verdict and verdict["outcome"] == "failed" and verdict["late_by_s"] == 0.04, verdict
    assert verdict["steps"][0]["status"] == "late"
    verdict = expectations.failover(target, only=["promote"]).evaluate(
        timeline.entries(), t0, time.monotonic(), lambda needs, state, at_deadline: "API down")
    assert verdict and verdict["outcome"] == "error" and "API down" in verdict["reason"]


def test_signals_from_the_target_override_the_defaults(target: targets.Target, tmp_path: Path) -> None:
    doc = yaml.safe_load(target.path.read_text())
    doc["signals"] = {"mr_error": {"condition": {"type": "Synced", "status": "False", "reason": "Boom"}}}
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(doc))
    exp = expectations.failover(targets.load(tmp_path / "o.yaml"), only=["detect"])
    assert exp.error_condition["reason"] == "Boom" and "CannotConnectToProvider" in exp.error_events
    with pytest.raises(ValueError, match="unknown failover step"):
        expectations.failover(target, {"detct": 1})


def test_a_failure_after_a_watch_lost_its_history_is_not_proof(target: targets.Target) -> None:
    timeline = tl.Timeline()
    _cond(timeline, "xdbs", "xr", "Ready", "True", "Available")
    t0 = timeline.mark_fault("f").mono
    exp = expectations.failover(target, {"detect": 1}, only=["detect"])
    later = t0 + 10  # past the deadline: "not seen within 1 s"
    verdict = exp.evaluate(timeline.entries(), t0, later, _never)
    assert verdict and verdict["outcome"] == "failed", verdict
    timeline.add(tl.RECORDER, tl.RELIST, kind="clusters", name="clusters.rds.aws.upbound.io", status="clear",
                 message="re-listed")  # no condition changed while it was not watching: nothing was missed
    verdict = exp.evaluate(timeline.entries(), t0, later, _never)
    assert verdict and verdict["outcome"] == "failed", verdict
    timeline.add(tl.RECORDER, tl.RELIST, kind="clusters", name="clusters.rds.aws.upbound.io", status="blind",
                 message="re-listed; conditions changed meanwhile on db")
    verdict = exp.evaluate(timeline.entries(), t0, later, _never)
    assert verdict and verdict["outcome"] == "error", verdict
    assert "clusters.rds.aws.upbound.io lost its history" in verdict["reason"]
    assert verdict["unconfirmed"].startswith("every aws MR")


def test_a_late_step_seen_after_a_disconnection_is_not_proof(target: targets.Target) -> None:
    timeline = tl.Timeline()
    t0 = timeline.mark_fault("f").mono
    timeline.add(tl.RECORDER, tl.ERROR, kind="clusters", name="clusters.rds.aws.upbound.io",
                 message="ProtocolError: Response ended prematurely")
    timeline.add(tl.RECORDER, tl.SYNCED, kind="clusters", name="clusters.rds.aws.upbound.io")
    _cond(timeline, "clusters", "db", "Synced", "False", "ReconcileError")  # replayed on resume: when was it?
    seen = timeline.entries()[-1].mono
    exp = expectations.failover(target, {"detect": (seen - t0) / 2}, only=["detect"])  # seen "late"
    verdict = exp.evaluate(timeline.entries(), t0, seen + 1, _never)
    assert verdict and verdict["outcome"] == "error", verdict
    assert "was disconnected" in verdict["reason"] and "may have come sooner" in verdict["reason"]


def test_a_pass_stands_after_a_watch_lost_its_history(target: targets.Target) -> None:
    timeline = tl.Timeline()
    t0 = timeline.mark_fault("f").mono
    timeline.add(tl.RECORDER, tl.RELIST, kind="clusters", name="clusters.rds.aws.upbound.io", message="410")
    _cond(timeline, "clusters", "db", "Synced", "False", "ReconcileError")
    verdict = expectations.failover(target, {"detect": 60}, only=["detect"]).evaluate(
        timeline.entries(), t0, time.monotonic(), _never)
    assert verdict and verdict["outcome"] == "passed", verdict


def _warning(timeline: tl.Timeline, kind: str, plural: str, name: str) -> None:
    timeline.add(tl.K8S, tl.EVENT, name=f"{name}.{kind}", type="Warning", reason="CannotConnectToProvider", count=1,
                 involved={"apiVersion": "v1", "kind": kind, "name": name, "plural": plural})


def test_a_warning_event_counts_for_its_own_kind_only(target: targets.Target) -> None:
    timeline = tl.Timeline()
    _cond(timeline, "clusters", "db", "Synced", "True", "ReconcileSuccess")
    t0 = timeline.mark_fault("f").mono
    exp = expectations.failover(target, {"detect": 5}, only=["detect"])
    _warning(timeline, "Pod", "pods", "db")  # another kind's object with the MR's name
    assert exp.evaluate(timeline.entries(), t0, time.monotonic(), _never) is None
    _warning(timeline, "Cluster", "clusters", "db")
    verdict = exp.evaluate(timeline.entries(), t0, time.monotonic(), _never)
    assert verdict and verdict["outcome"] == "passed", verdict


def _warm(timeline: tl.Timeline, serving: str | None) -> float:
    """A warm standby (its MR healthy) before the fault, the XR naming ``serving``; the fault's instant."""
    _cond(timeline, "mssqlservers", "db2", "Synced", "True", "ReconcileSuccess")
    _cond(timeline, "mssqlservers", "db2", "Ready", "True", "Available")
    if serving:
        timeline.add(tl.K8S, tl.SERVING, kind="xdbs", name="xr", status=serving, initial=True)
    t0 = timeline.mark_fault("f").mono
    _cond(timeline, "clusters", "db", "Synced", "False", "ReconcileError")
    return t0


def test_promote_waits_for_the_serving_side_to_switch(target: targets.Target) -> None:
    timeline = tl.Timeline()
    t0 = _warm(timeline, "aws")
    exp = expectations.failover(target, {"detect": 5, "promote": 5}, only=["detect", "promote"])
    assert exp.evaluate(timeline.entries(), t0, time.monotonic(), _never) is None  # healthy MRs are not enough
    missed = exp.evaluate(timeline.entries(), t0, t0 + 6, _never)
    assert missed and missed["failed_step"] == "promote" and missed["late_by_s"] is None, missed
    switched = timeline.add(tl.K8S, tl.SERVING, kind="xdbs", name="xr", status="azure", previous="aws")
    verdict = exp.evaluate(timeline.entries(), t0, time.monotonic(), _never)
    assert verdict and verdict["outcome"] == "passed", verdict
    promote = verdict["steps"][1]
    assert promote["at_s"] == round(switched.mono - t0, 3), promote  # met at the switch, not at t0
    assert promote["basis"] == "status.failover.activeProvider switched to azure after the fault"


def test_promote_of_a_standby_naming_no_side_says_warm_standby(target: targets.Target) -> None:
    timeline = tl.Timeline()
    t0 = _warm(timeline, None)
    exp = expectations.failover(target, {"detect": 5, "promote": 5}, only=["detect", "promote"])
    verdict = exp.evaluate(timeline.entries(), t0, time.monotonic(), _never)
    assert verdict and verdict["outcome"] == "passed", verdict
    promote = verdict["steps"][1]
    assert promote["since_s"] == 0 and promote["basis"].startswith(expectations.WARM_STANDBY), promote
