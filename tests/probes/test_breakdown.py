"""Where the time went (xpchaos.probes.breakdown) over synthetic timelines: the parts follow the milestones in the
order the platform reached them and add up to each recovery time."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from xpchaos.probes import breakdown
from xpchaos.probes import timeline as tl
from xpchaos.probes.expectations import WARM_STANDBY

T0 = 500.0
MR, OTHER_MR, XR = ("clusters", None, "db"), ("mssqlservers", None, "db2"), ("xdbs", None, "xr")
ERROR = {"type": "Synced", "status": "False", "reason": "ReconcileError"}


def _entries(*specs: tuple[float, str, dict[str, Any]]) -> list[tl.Entry]:
    timeline = tl.Timeline()
    return [dataclasses.replace(timeline.add(tl.K8S, what, **fields), mono=T0 + at) for at, what, fields in specs]


def _verdict(detect: float | None, promote: float | None, recovers: float | None, dns: float | None,
             client: float | None) -> dict[str, Any]:
    steps = [{"name": n, "at_s": v} for n, v in (("detect", detect), ("promote", promote), ("xr_recovers", recovers))
             if v is not None]
    return {"outcome": "passed", "steps": steps,
            "times": {"time_to_dns_convergence_s": dns, "time_to_client_visible_s": client}}


def _parts(verdict: dict[str, Any], entries: list[tl.Entry]) -> list[dict[str, Any]]:
    return breakdown.parts(verdict, entries, T0, [MR], [XR], ERROR, ("CannotConnectToProvider",), "Ready",
                           "aws", "azure")


def test_the_parts_follow_the_milestones_and_add_up_to_the_client_visible_time() -> None:
    entries = _entries(
        (-3.0, tl.CONDITION, {"kind": "clusters", "name": "db", "type": "Synced", "status": "False",
                              "reason": "ReconcileError"}),  # before the fault: not its effect
        (0.8, tl.CONDITION, {"kind": "mssqlservers", "name": "db2", "type": "Synced", "status": "False",
                             "reason": "ReconcileError"}),  # the other side's MR: not the faulted one
        (1.5, tl.EVENT, {"type": "Warning", "reason": "CannotConnectToProvider", "involved": {"name": "db"}}),
        (3.0, tl.CONDITION, {"kind": "xdbs", "name": "xr", "type": "Ready", "status": "False", "reason": "x"}))
    found = _parts(_verdict(detect=2.0, promote=4.0, recovers=4.5, dns=4.4, client=6.4), entries)
    assert [p["name"] for p in found] == ["first_effect", "detected", "reacted", "promoted", "dns", "recovered",
                                          "client"]
    assert [p["took_s"] for p in found] == pytest.approx([1.5, 0.5, 1.0, 1.0, 0.4, 0.1, 1.9])
    assert sum(p["took_s"] for p in found) == pytest.approx(6.4)  # the client-visible convergence
    assert all(a["to_s"] == b["from_s"] for a, b in itertools.pairwise(found))
    assert found[0]["what"] == "waiting for aws's poll: the first aws MR error"
    assert found[-1]["what"].startswith("TTL")


def test_a_failure_shows_the_parts_up_to_where_it_stopped() -> None:
    entries = _entries((1.0, tl.CONDITION, {"kind": "clusters", "name": "db", "type": "Synced", "status": "False",
                                            "reason": "ReconcileError"}))
    verdict = _verdict(detect=1.0, promote=1.0, recovers=None, dns=None, client=None)
    verdict["steps"][1]["basis"] = f"{WARM_STANDBY} (no XR names its serving side)"  # nothing was promoted
    found = _parts(verdict, entries)
    assert [(p["name"], p["took_s"]) for p in found] == [("first_effect", 1.0), ("detected", 0.0)]


def test_a_switch_of_serving_side_is_the_reaction_and_no_ttl_adds_no_part() -> None:
    entries = _entries((2.0, tl.SERVING, {"kind": "xdbs", "name": "xr", "status": "azure", "previous": "aws"}))
    found = _parts(_verdict(detect=1.0, promote=2.5, recovers=3.0, dns=3.0, client=3.0), entries)
    assert [p["name"] for p in found] == ["detected", "reacted", "promoted", "recovered", "dns"]
    assert found[1]["from_s"] == 1.0 and found[1]["to_s"] == 2.0
