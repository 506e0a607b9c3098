"""The failover judged by the blast radius: the XRs the fault reaches must fail over, the other listed XRs must stay
Ready while they do, and only the reached XRs' DNS records must switch. Judged here over timelines written by hand
(the sandbox's realistic platform, end to end: tests/experiments/test_realistic.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import targets as target_files
from xpchaos.core import target as targets
from xpchaos.core.outcome import Outcome
from xpchaos.probes import composed, per_composite
from xpchaos.probes import timeline as tl
from xpchaos.probes.expectations import State

PLURAL = "xglobaldatabases"
WINDOW = 30.0


def _target(tmp_path: Path, names: list[str]) -> targets.Target:
    return target_files.several_composites(tmp_path / "target.yaml", names)


def _ready(timeline: tl.Timeline, name: str, status: str) -> tl.Entry:
    return timeline.add(tl.K8S, tl.CONDITION, kind=PLURAL, name=name, type="Ready", status=status,
                        reason="Available" if status == "True" else "ReconcileError")


def _judge(target: targets.Target, reached: list[str] | None, records: list[str] | None = None
           ) -> per_composite.PerComposite:
    return per_composite.failover(target, composed.Resolution(), {"xr_recovers": WINDOW}, only=["xr_recovers"],
                                  lost="aws", reached=reached, records=records)


def _observed(_needs: str, _state: State, _at_deadline: bool) -> str | None:
    return None


def _fault(timeline: tl.Timeline, names: list[str]) -> float:
    for name in names:  # the state found before the fault
        _ready(timeline, name, "True")
    return timeline.mark_fault("delete-providerconfig").mono


def test_a_spared_xr_that_stays_ready_passes_once_the_reached_ones_failed_over(tmp_path: Path) -> None:
    target, timeline = _target(tmp_path, ["db-01", "db-02"]), tl.Timeline()
    judged = _judge(target, ["db-01"])
    t0 = _fault(timeline, ["db-01", "db-02"])
    _ready(timeline, "db-01", "False")
    assert judged.evaluate(timeline.entries(), t0, time.monotonic(), _observed) is None  # db-01 not back yet
    _ready(timeline, "db-01", "True")
    verdict = judged.evaluate(timeline.entries(), t0, time.monotonic(), _observed)
    assert verdict is not None and verdict["outcome"] == Outcome.PASSED, verdict
    by_name = {c["name"]: c for c in verdict["composites"]}
    assert {n: (c["blast"], c["outcome"]) for n, c in by_name.items()} == {
        "db-01": ("reached", Outcome.PASSED), "db-02": ("spared", Outcome.PASSED)}
    assert "1 outside the blast radius stayed Ready" in verdict["reason"]
    assert [s["name"] for s in verdict["steps"]] == ["xr_recovers", "stays_ready"]


def test_a_spared_xr_that_goes_unready_fails_with_the_instant(tmp_path: Path) -> None:
    target, timeline = _target(tmp_path, ["db-01", "db-02"]), tl.Timeline()
    judged = _judge(target, ["db-01"])
    t0 = _fault(timeline, ["db-01", "db-02"])
    _ready(timeline, "db-01", "False")
    went = _ready(timeline, "db-02", "False")
    _ready(timeline, "db-01", "True")
    _ready(timeline, "db-02", "True")  # back again: leaving Ready at all is the failure
    verdict = judged.evaluate(timeline.entries(), t0, time.monotonic(), _observed)
    assert verdict is not None and verdict["outcome"] == Outcome.FAILED, verdict
    assert verdict["failed_step"] == "stays_ready" and verdict["reason"].startswith("db-02: db-02 left Ready")
    spared = next(c for c in verdict["composites"] if c["name"] == "db-02")
    assert spared["outcome"] == Outcome.FAILED and spared["failed_step"] == "stays_ready"
    assert spared["unready_at_s"] == round(went.mono - t0, 3)
    assert verdict["composites"][0]["name"] == "db-02"  # the failed one first


def test_leaving_ready_before_the_fault_does_not_count(tmp_path: Path) -> None:
    target, timeline = _target(tmp_path, ["db-01", "db-02"]), tl.Timeline()
    _ready(timeline, "db-02", "False")
    t0 = _fault(timeline, ["db-01", "db-02"])
    _ready(timeline, "db-01", "False")
    _ready(timeline, "db-01", "True")
    verdict = _judge(target, ["db-01"]).evaluate(timeline.entries(), t0, time.monotonic(), _observed)
    assert verdict is not None and verdict["outcome"] == Outcome.PASSED, verdict


def test_when_nothing_is_reached_the_spared_xrs_are_watched_for_the_whole_window(tmp_path: Path) -> None:
    target, timeline = _target(tmp_path, ["db-01", "db-02"]), tl.Timeline()
    judged = _judge(target, [], records=[])
    t0 = _fault(timeline, ["db-01", "db-02"])
    assert judged.evaluate(timeline.entries(), t0, t0 + WINDOW - 1, _observed) is None
    verdict = judged.evaluate(timeline.entries(), t0, t0 + WINDOW + 1, _observed)
    assert verdict is not None and verdict["outcome"] == Outcome.PASSED, verdict
    assert {c["blast"] for c in verdict["composites"]} == {"spared"}


def test_a_spared_xr_that_could_not_be_watched_reads_error(tmp_path: Path) -> None:
    target, timeline = _target(tmp_path, ["db-01", "db-02"]), tl.Timeline()
    t0 = _fault(timeline, ["db-01", "db-02"])
    verdict = _judge(target, []).evaluate(timeline.entries(), t0, t0 + WINDOW + 1,
                                          lambda _n, _s, _d: "the watch on xglobaldatabases is down")
    assert verdict is not None and verdict["outcome"] == Outcome.ERROR, verdict
    assert verdict["failed_step"] == "stays_ready"


def test_a_spared_xr_watched_blind_over_a_change_reads_error(tmp_path: Path) -> None:
    target, timeline = _target(tmp_path, ["db-01", "db-02"]), tl.Timeline()
    t0 = _fault(timeline, ["db-01", "db-02"])
    timeline.add(tl.RECORDER, tl.RELIST, kind=PLURAL, name="xglobaldatabases", status="blind")
    verdict = _judge(target, []).evaluate(timeline.entries(), t0, t0 + WINDOW + 1, _observed)
    assert verdict is not None and verdict["outcome"] == Outcome.ERROR, verdict
    assert "lost its history" in verdict["reason"]


def test_without_a_blast_radius_every_listed_xr_must_fail_over(tmp_path: Path) -> None:
    target, timeline = _target(tmp_path, ["db-01", "db-02"]), tl.Timeline()
    t0 = _fault(timeline, ["db-01", "db-02"])
    _ready(timeline, "db-01", "False")
    _ready(timeline, "db-01", "True")
    verdict = _judge(target, None).evaluate(timeline.entries(), t0, t0 + WINDOW + 1, _observed)
    assert verdict is not None and verdict["outcome"] == Outcome.FAILED, verdict
    assert verdict["failed_step"] == "xr_recovers" and verdict["reason"].startswith("db-02")
    assert all("blast" not in c for c in verdict["composites"])


@pytest.mark.parametrize("reached", [[], ["db-01"]])
def test_one_xr_is_always_in_the_blast_radius(tmp_path: Path, reached: list[str]) -> None:
    judged = _judge(_target(tmp_path, ["db-01"]), reached)
    assert [(p.kind, p.name) for p in judged.parts] == [("composite", "db-01")] and not judged.blast


def test_only_the_records_the_reached_xrs_compose_must_switch(tmp_path: Path) -> None:
    target = _target(tmp_path, ["db-01", "db-02", "db-03"])
    judged = per_composite.failover(target, composed.Resolution(), lost="aws", reached=["db-01"],
                                    records=["db-01.example.org"])
    assert [(p.kind, p.name) for p in judged.parts] == [
        ("composite", "db-01"), ("spared", "db-02"), ("spared", "db-03"), ("record", "db-01.example.org")]
    every = per_composite.failover(target, composed.Resolution(), lost="aws")
    assert [p.name for p in every.parts if p.kind == "record"] == [f"db-0{i}.example.org" for i in (1, 2, 3)]


def test_the_reach_recorded_before_a_fault_belongs_to_that_fault_only() -> None:
    timeline = tl.Timeline()
    reach = timeline.mark_reach("delete-providerconfig", "aws", ["db-01", "team-a/orders-01"], ["db-01.example.org"])
    first = timeline.mark_fault("delete-providerconfig")
    second = timeline.mark_fault("block-provider-api")  # no blast radius recorded for this one
    found: Any = timeline.reach_of(first)
    assert found == reach and found.involved == {"composites": "db-01,team-a/orders-01",
                                                 "records": "db-01.example.org"}
    assert timeline.reach_of(second) is None
    back = tl.entries_from_json(timeline.to_json())
    assert back[0].involved == reach.involved  # it survives the journal
