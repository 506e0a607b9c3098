"""Composed resources resolved at run time: the recorder finds each XR's managed resources from its refs, checks
the ones the target lists, follows a composite whose refs change, and the failover is judged per XR."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.probes.cluster import Cluster
from tests.support.waiting import wait_for
from xpchaos.core import target as targets
from xpchaos.probes import failover, per_composite
from xpchaos.probes import timeline as tl
from xpchaos.probes.recorder import TimelineRecorder

FAST = {"detect": 15, "promote": 15, "xr_recovers": 15, "dns_secondary": 15}
XR = ("database.example.org", "v1alpha1", "xglobaldatabases", "production-db")


def _without_managed(c: Cluster, out: Path, extra: dict[str, Any] | None = None) -> targets.Target:
    """The seed's target with no managed resources listed (or only ``extra``, on AWS)."""
    doc = yaml.safe_load(c.target.path.read_text())
    for provider in doc["providers"].values():
        provider["managedResources"] = []
    if extra is not None:
        doc["providers"]["aws"]["managedResources"] = [extra]
    out.write_text(yaml.safe_dump(doc))
    return targets.load(out)


def test_the_seed_resolves_what_its_target_lists(cluster_for: Callable[..., Cluster],
                                                 recorders: Callable[..., TimelineRecorder]) -> None:
    c = cluster_for("blueprint")
    rec = recorders(c.target)
    assert rec.wait_synced(10), rec.errors
    assert rec.problem is None
    for name, provider in c.target.providers.items():
        listed = sorted((m.plural, m.namespace, m.name) for m in provider.managed)
        assert sorted(rec.resolution.mr_keys(name, "production-db")) == listed, name
    resolved = [e for e in rec.timeline.entries() if e.what == tl.RESOLVED]
    assert len(resolved) == sum(len(p.managed) for p in c.target.providers.values())
    assert {e.involved["composite"] for e in resolved} == {"production-db"}


def test_a_listed_mr_that_no_xr_composes_reads_error(cluster_for: Callable[..., Cluster],
                                                     recorders: Callable[..., TimelineRecorder],
                                                     tmp_path: Path) -> None:
    c = cluster_for("blueprint")
    stray = {"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Cluster", "plural": "clusters",
             "name": "not-composed-by-anyone"}
    tgt = _without_managed(c, tmp_path / "stray.yaml", stray)
    rec = recorders(tgt)
    rec.timeline.mark_fault("credentials-revoked")
    verdict = failover.evaluate(rec, per_composite.failover(tgt, rec.resolution, FAST))
    assert verdict["outcome"] == "error", verdict
    assert "providers.aws.managedResources" in verdict["reason"] and "not-composed-by-anyone" in verdict["reason"]
    assert str(tmp_path / "stray.yaml") in verdict["reason"]


def test_an_xr_whose_refs_change_is_followed(cluster_for: Callable[..., Cluster],
                                             recorders: Callable[..., TimelineRecorder], tmp_path: Path) -> None:
    c = cluster_for("stock")
    tgt = _without_managed(c, tmp_path / "t.yaml")
    rec = recorders(tgt)
    assert rec.wait_synced(10), rec.errors
    custom = client.CustomObjectsApi(c.api)
    xr = custom.get_cluster_custom_object(*XR)
    old = next(r for r in xr["spec"]["resourceRefs"] if r["kind"] == "Cluster")
    assert ("clusters", None, old["name"]) in rec.resolution.mr_keys("aws", "production-db")
    # a re-created MR, as Crossplane makes one: the XR's refs name it, and it carries the XR's label
    refs = [r for r in xr["spec"]["resourceRefs"] if r is not old] + [{**old, "name": "production-db-aurora-again"}]
    custom.patch_cluster_custom_object(*XR, {"spec": {"resourceRefs": refs}})
    source = custom.get_cluster_custom_object("rds.aws.upbound.io", "v1beta1", "clusters", old["name"])
    custom.create_cluster_custom_object("rds.aws.upbound.io", "v1beta1", "clusters", {
        "apiVersion": source["apiVersion"], "kind": "Cluster",
        "metadata": {"name": "production-db-aurora-again", "labels": source["metadata"]["labels"]},
        "spec": source["spec"]})

    def followed() -> bool:
        keys = rec.resolution.mr_keys("aws", "production-db")
        return ("clusters", None, "production-db-aurora-again") in keys and ("clusters", None, old["name"]) not in keys

    wait_for(followed, 10, what="the recorder following the XR's new refs")
    changes = {(e.status, e.name) for e in rec.timeline.entries() if e.what == tl.RESOLVED and not e.initial}
    assert changes == {("added", "production-db-aurora-again"), ("removed", old["name"])}
    # the new MR is watched: its conditions reach the timeline (set here as its provider would; the sandbox's
    # simulated providers reconcile only the MRs of the platform they started with)
    custom.patch_cluster_custom_object_status("rds.aws.upbound.io", "v1beta1", "clusters",
                                              "production-db-aurora-again", {"status": {"conditions": [
                                                  {"type": "Synced", "status": "True", "reason": "ReconcileSuccess",
                                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
    wait_for(lambda: any(e.what == tl.CONDITION and e.name == "production-db-aurora-again"
                         for e in rec.timeline.entries()), 10, what="the new MR's conditions on the timeline")


@pytest.mark.parametrize("crossplane", ["v1", "v2"])
def test_one_xr_reads_as_the_aggregate_sequence_with_its_own_entry(cluster_for: Callable[..., Cluster],
                                                                  recorders: Callable[..., TimelineRecorder],
                                                                  crossplane: str) -> None:
    c = cluster_for("blueprint", "--crossplane", crossplane)
    rec = recorders(c.target)
    assert rec.wait_synced(10), rec.errors
    assert rec.problem is None  # v2: namespaced MRs of *.m.upbound.io, resolved in the XR's namespace
    wait_for(lambda: failover.xr_is_ready(str(c.target.path)), 10, what="the XR Ready")
    restore = c.revoke_credentials()
    try:
        rec.timeline.mark_fault("credentials-revoked")
        started = time.monotonic()
        verdict = failover.evaluate(rec, per_composite.failover(c.target, rec.resolution, FAST))
    finally:
        restore()
    assert verdict["outcome"] == "passed", verdict
    assert [s["name"] for s in verdict["steps"]] == ["detect", "promote", "xr_recovers", "dns_secondary"]
    assert verdict["reason"] == "every step within its deadline"
    [own] = verdict["composites"]
    [xr] = c.target.composites
    assert own["name"] == (f"{xr.namespace}/production-db" if crossplane == "v2" else "production-db")
    assert own["outcome"] == "passed"
    assert own["times"] == verdict["times"] and all(isinstance(v, float) for v in own["times"].values())
    assert time.monotonic() - started < 15
