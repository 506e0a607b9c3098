"""The timeline recorder and the failover probes against private sandboxes, faults made by hand."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.probes.cluster import Cluster
from tests.support.network import Proxy, free_port
from tests.support.targets import retarget
from tests.support.waiting import wait_for
from xpchaos.core import target as targets
from xpchaos.probes import failover, recorder
from xpchaos.probes import timeline as tl
from xpchaos.probes.expectations import failover as failover_expectation
from xpchaos.probes.recorder import TimelineRecorder

PRIMARY, SECONDARY = ("192.0.2.10",), ("198.51.100.20",)
FAST = {"detect": 15, "promote": 15, "xr_recovers": 15, "dns_secondary": 15}


def _via(c: Cluster, out: Path, server: str) -> targets.Target:
    """The cluster's target, reaching its API at ``server`` instead."""
    return targets.load(retarget(c.target.path, out, server))


def _names(c: Cluster, provider: str) -> list[str]:
    return [m.name for m in c.target.provider(provider).managed]


@pytest.mark.parametrize("crossplane", ["v1", "v2"])
def test_blueprint_failover_is_recorded_and_passes(cluster_for: Callable[..., Cluster],
                                                   recorders: Callable[..., TimelineRecorder], crossplane: str) -> None:
    c = cluster_for("blueprint", "--crossplane", crossplane)
    rec = recorders(c.target)
    assert rec.wait_synced(10), rec.errors
    steady = rec.timeline.wait_for(lambda es: failover.xr_is_ready(str(c.target.path)), time.monotonic() + 10)
    assert steady and failover.dns_answers_primary(str(c.target.path))
    rec.timeline.mark_fault("credentials-revoked")
    restore = c.revoke_credentials()
    try:
        verdict = failover.evaluate(rec, failover_expectation(c.target, FAST))
    finally:
        restore()
    assert verdict["outcome"] == "passed", verdict
    times = verdict["times"]
    assert 0 < times["time_to_detect_s"] <= times["time_to_failover_s"] < 15, times
    # the failover function updates DNS just before it sets Ready=True; the sampler asks every 100 ms
    assert 0 < times["time_to_dns_convergence_s"] <= times["time_to_failover_s"] + 0.15, times
    assert [s["status"] for s in verdict["steps"]] == ["met"] * 4
    assert not failover.dns_answers_primary(str(c.target.path))

    fault = rec.timeline.last_fault()
    assert fault is not None
    after = rec.timeline.entries(since=fault.mono)
    for name in _names(c, "aws"):  # a transition with the previous status, Ready untouched
        synced = [e for e in after if e.what == tl.CONDITION and e.name == name and e.type == "Synced"]
        assert synced and synced[0].status == "False" and synced[0].previous == "True", synced
        assert synced[0].reason == "ReconcileError" and "InvalidClientTokenId" in synced[0].message
        assert not [e for e in after if e.what == tl.CONDITION and e.name == name and e.type == "Ready"]
    xr = [e for e in after if e.kind == "xglobaldatabases" and e.type == "Ready"]
    flips = [(e.status, e.reason) for e in xr if e.previous != e.status]  # message changes are entries too
    assert flips[:2] == [("False", "Creating"), ("True", "Available")], xr
    dns = [e for e in after if e.what == tl.ANSWER]
    assert [e.answers for e in dns][:1] == [SECONDARY]

    # aggregated Events: the repeats arrive as MODIFIED with a growing count, each recorded
    def repeated(entries: list[tl.Entry]) -> list[tl.Entry]:
        return [e for e in entries if e.what == tl.EVENT and e.reason == "CannotConnectToProvider"
                and e.type == "Warning" and e.count >= 2 and e.mono >= fault.mono]

    again = rec.timeline.wait_for(repeated, time.monotonic() + 10)
    assert again, "no aggregated repeat of CannotConnectToProvider"
    same = [e for e in rec.timeline.entries() if e.what == tl.EVENT and e.name == again[0].name]
    assert [e.count for e in same] == sorted({e.count for e in same}) and same[0].count == 1
    assert same[0].involved["kind"] and same[0].involved["name"] in _names(c, "aws")
    assert same[0].namespace == (c.target.provider("aws").managed[0].namespace or "default")

    exported = json.loads(json.dumps(rec.timeline.to_json()))
    assert {"fault", "k8s", "dns", "recorder"} <= {e["source"] for e in exported}
    assert all(a["t"] <= b["t"] for a, b in itertools.pairwise(exported))

    rec.stop()
    assert rec.running_threads() == []


def test_every_event_reaches_the_timeline(cluster_for: Callable[..., Cluster],
                                          recorders: Callable[..., TimelineRecorder]) -> None:
    """Every Event written about a kept object reaches the timeline, each after it was written (the lag's figures:
    bench/detection.py)."""
    c = cluster_for("stock")
    rec = recorders(c.target, dns=False)
    assert rec.wait_synced(10)
    mr = c.target.provider("aws").managed[0]
    about = client.V1ObjectReference(api_version=mr.api_version, kind=mr.kind, name=mr.name, namespace=mr.namespace)
    lags = []
    for i in range(20):
        name = f"lag-{i}"
        written = time.monotonic()
        c.core.create_namespaced_event("default", client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=name), involved_object=about,
            reason="LagProbe", message=str(i), type="Normal"))
        def arrived(entries: list[tl.Entry], n: str = name) -> tl.Entry | None:
            return next((e for e in reversed(entries) if e.name == n), None)

        seen = rec.timeline.wait_for(arrived, time.monotonic() + 5)
        assert seen is not None, f"event {name} never reached the timeline"
        lags.append(seen.mono - written)
    assert all(lag >= 0 for lag in lags)  # recorded after it was written, on the same monotonic clock


def test_stock_fails_at_the_xr_step_not_error(cluster_for: Callable[..., Cluster],
                                              recorders: Callable[..., TimelineRecorder]) -> None:
    c = cluster_for("stock")
    rec = recorders(c.target)
    assert rec.wait_synced(10), rec.errors
    rec.timeline.mark_fault("credentials-revoked")
    restore = c.revoke_credentials()
    try:
        started = time.monotonic()
        verdict = failover.evaluate(rec, failover_expectation(c.target, {**FAST, "xr_recovers": 3}))
        took = time.monotonic() - started
    finally:
        restore()
    assert verdict["outcome"] == "failed" and verdict["failed_step"] == "xr_recovers", verdict
    assert verdict["late_by_s"] is None and "not seen within 3 s" in verdict["reason"]
    assert verdict["observed"].startswith("the XR never left Ready"), verdict
    assert 3 <= took < 4.5  # returned once the deadline had passed, not at the end of every deadline
    assert [s["status"] for s in verdict["steps"]] == ["met", "met", "missed", "pending"]
    assert verdict["times"]["time_to_detect_s"] is not None and verdict["times"]["time_to_failover_s"] is None
    # and DNS never changed: the DNS step alone fails too (failed, not error)
    dns_only = failover_expectation(c.target, {"detect": 3, "dns_secondary": 1}, only=["detect", "dns_secondary"])
    verdict = failover.evaluate(rec, dns_only)
    assert verdict["outcome"] == "failed" and verdict["failed_step"] == "dns_secondary", verdict
    assert verdict["observed"].endswith(": 192.0.2.10"), verdict
    assert all(e.answers == PRIMARY for e in rec.timeline.entries() if e.what == tl.ANSWER)


def test_unreachable_api_reads_error(cluster_for: Callable[..., Cluster], recorders: Callable[..., TimelineRecorder],
                                     tmp_path: Path) -> None:
    c = cluster_for("stock")
    closed = _via(c, tmp_path / "closed.yaml", f"https://127.0.0.1:{free_port()}")
    rec = recorders(closed)
    rec.timeline.mark_fault("credentials-revoked")
    started = time.monotonic()
    verdict = failover.evaluate(rec, failover_expectation(closed, FAST))
    assert verdict["outcome"] == "error" and verdict["failed_step"] == "detect", verdict
    assert "could not observe" in verdict["reason"] and "Connection refused" in verdict["reason"], verdict
    assert time.monotonic() - started < 3
    errors = [e for e in rec.timeline.entries() if e.what == tl.ERROR]
    assert errors and all(e.source == tl.RECORDER for e in errors)
    with pytest.raises(Exception, match="Connection refused"):
        failover.xr_is_ready(str(closed.path))
    rec.stop()  # while the watches back off between retries
    assert rec.running_threads() == []


def test_unreachable_dns_reads_error(cluster_for: Callable[..., Cluster], recorders: Callable[..., TimelineRecorder],
                                     tmp_path: Path) -> None:
    import yaml

    c = cluster_for("blueprint")
    doc = yaml.safe_load(c.target.path.read_text())
    doc["dns"][0]["nameservers"].append(f"127.0.0.1:{free_port()}")  # nothing answers there
    (tmp_path / "target.yaml").write_text(yaml.safe_dump(doc))
    from xpchaos.core.target import load

    tgt = load(tmp_path / "target.yaml")
    rec = recorders(tgt)
    assert rec.wait_synced(10)
    rec.timeline.mark_fault("credentials-revoked")
    restore = c.revoke_credentials()
    try:
        verdict = failover.evaluate(rec, failover_expectation(tgt, FAST))
    finally:
        restore()
    assert verdict["outcome"] == "error" and verdict["failed_step"] == "dns_secondary", verdict
    assert "DNS unreachable" in verdict["reason"] and str(doc["dns"][0]["nameservers"][-1]) in verdict["reason"]
    assert verdict["steps"][2]["status"] == "met"  # the rest was observed: only DNS could not be
    with pytest.raises(Exception):  # noqa: B017 - dnspython's timeout
        failover.dns_answers_primary(str(tgt.path))
    rec.stop()  # a query to the dead nameserver may be in flight
    assert rec.running_threads() == []


def test_resume_after_410_records_what_happened(cluster_for: Callable[..., Cluster],
                                                recorders: Callable[..., TimelineRecorder], tmp_path: Path) -> None:
    c = cluster_for("blueprint", "--history-size", "5")
    host, port = c.sandbox.api.removeprefix("https://").rsplit(":", 1)
    proxy = Proxy((host, int(port)))
    try:
        via = _via(c, tmp_path / "via-proxy.yaml", f"https://127.0.0.1:{proxy.port}")
        rec = recorders(via)
        assert rec.wait_synced(10), rec.errors
        mssql_before = [e for e in rec.timeline.entries() if e.name == "production-db-mssql"]
        proxy.cut()  # every watch disconnected, reconnects refused
        assert rec.timeline.wait_for(lambda es: [e for e in es if e.what == tl.ERROR], time.monotonic() + 5)
        restore = c.revoke_credentials()  # many changes while nobody watches: far more than 5
        custom = client.CustomObjectsApi(c.api)
        aws = c.target.provider("aws").managed

        def all_errored() -> bool:
            for m in aws:
                obj: Any = custom.get_cluster_custom_object(m.group, m.version, m.plural, m.name)
                if not any(x["type"] == "Synced" and x["status"] == "False" for x in obj["status"]["conditions"]):
                    return False
            return True

        wait_for(all_errored, 10, what="every aws MR Synced=False")
        proxy.restore()
        try:
            def caught_up(entries: list[tl.Entry]) -> bool:
                return all(any(e.name == m.name and e.type == "Synced" and e.status == "False" for e in entries)
                           for m in aws)

            assert rec.timeline.wait_for(caught_up, time.monotonic() + 10), rec.errors
        finally:
            restore()
        relisted = [e for e in rec.timeline.entries() if e.what == tl.RELIST]
        assert relisted and "410" in relisted[0].message
        synced_again = [e for e in rec.timeline.entries() if e.what == tl.SYNCED and e.seq > relisted[0].seq]
        assert synced_again
        errors = [e.mono for e in rec.timeline.entries() if e.name in {m.name for m in aws} and e.status == "False"]
        assert all(not e.initial for e in rec.timeline.entries() if e.mono in errors)
        # only real changes after the re-list: the untouched Azure MR was not recorded again
        assert [e for e in rec.timeline.entries() if e.name == "production-db-mssql"] == mssql_before
        rec.stop()
        assert rec.running_threads() == []
    finally:
        proxy.close()


def test_active_recorder_for_chaos_toolkit(cluster_for: Callable[..., Cluster]) -> None:
    c = cluster_for("stock")
    assert failover.failover_completes(str(c.target.path))["outcome"] == "error"  # nothing records
    rec = recorder.start_recording(c.target)
    try:
        assert recorder.active() is rec and rec.wait_synced(10)
        verdict = failover.failover_completes(configuration={"xpchaos_target": str(c.target.path)})
        assert verdict["outcome"] == "error" and "no fault marker" in verdict["reason"]
    finally:
        assert recorder.stop_recording() is rec
    assert recorder.active() is None


def test_a_silent_api_reads_error_at_the_deadline(cluster_for: Callable[..., Cluster],
                                                  recorders: Callable[..., TimelineRecorder], tmp_path: Path) -> None:
    """An API that accepts connections but never answers: no error yet, but nothing observed by the deadline."""
    import socket

    c = cluster_for("stock")
    with socket.create_server(("127.0.0.1", 0)) as silent:  # never accepts: the TLS handshake hangs
        silent_target = _via(c, tmp_path / "silent.yaml", f"https://127.0.0.1:{silent.getsockname()[1]}")
        rec = recorders(silent_target, dns=False)
        rec.timeline.mark_fault("credentials-revoked")
        verdict = failover.evaluate(rec, failover_expectation(silent_target, {"detect": 1}, only=["detect"]))
        assert verdict["outcome"] == "error" and "not connected yet" in verdict["reason"], verdict
        rec.stop()
        # a thread inside the TLS handshake cannot be woken: the connect timeout ends each attempt, urllib3 makes
        # four, so every thread ends within 4 x 5 s and none is left for good
        wait_for(lambda: rec.running_threads() == [], timeout=4 * recorder.LIST_TIMEOUT[0] + 10,
                 what="every recorder thread to end after stop()")
