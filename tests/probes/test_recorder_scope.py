"""What the recorder keeps and what ``promote`` measures, on one blueprint platform with other teams' noise
(200 Events/s): only Events about the run's own objects reach the journal, and a warm standby's promotion is the
composite switching its serving side after the fault, not MRs that were healthy all along."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from tests.probes.cluster import Cluster
from tests.support import sandboxes
from tests.support.targets import edited, write
from tests.support.waiting import wait_for
from xpchaos.core import target as targets
from xpchaos.probes import expectations as ex
from xpchaos.probes import failover
from xpchaos.probes import timeline as tl
from xpchaos.probes.expectations import WARM_STANDBY, Expectation
from xpchaos.probes.recorder import TimelineRecorder

FAST = {"detect": 15, "promote": 15, "xr_recovers": 15, "dns_secondary": 15}
NOISE = {"namespaces": 2, "podsPerNamespace": 2, "eventsPerSecond": 200}
# the seed's platform (one XR, a Secret per cloud) with other teams' Events written beside it
PLATFORM: dict[str, Any] = {
    "apiVersion": "xpchaos.io/v1alpha1", "kind": "SandboxPlatform", "metadata": {"name": "noisy"},
    "spec": {
        "crossplane": {"namespace": "crossplane-system"},
        "clouds": {
            "aws": {"providerConfigs": [{"name": "aws-production",
                                         "credentials": {"source": "Secret", "secretName": "aws-creds"}}]},
            "azure": {"providerConfigs": [{"name": "azure-production",
                                           "credentials": {"source": "Secret", "secretName": "azure-creds"}}]},
        },
        "composites": [{"name": "production-db", "resourceNames": "fixed", "dnsName": "api.xpchaos.test"}],
        "noise": NOISE,
    },
}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("noisy")
    platform = write(base / "platform.yaml", PLATFORM)
    with sandboxes.running(base / "sandbox", *sandboxes.fast("blueprint"), "--platform", str(platform)) as box:
        box.wait_steady()
        yield Cluster(box, box.target, config.new_client_from_config(config_file=box.kubeconfig))


@pytest.fixture
def recorder(noisy: Cluster) -> Iterator[TimelineRecorder]:
    rec = TimelineRecorder(noisy.target, dns=bool(noisy.target.dns)).start()
    try:
        assert rec.wait_synced(10), rec.errors
        yield rec
    finally:
        rec.stop()


def _event(c: Cluster, name: str, involved: client.V1ObjectReference) -> None:
    c.core.create_namespaced_event("default", client.CoreV1Event(
        metadata=client.V1ObjectMeta(name=name), involved_object=involved, reason="CannotConnectToProvider",
        message="written by the test", type="Warning"))


def test_the_journal_keeps_only_events_about_the_runs_objects(noisy: Cluster, recorder: TimelineRecorder) -> None:
    """Under 200 Events/s of other teams' noise, the journal holds Events about the target's composites and
    their MRs only: not the noise, not an object of the same kind with another name, not an object of another
    kind with the same name."""
    noise = _noise_namespaces(noisy)
    watched_since = int(time.time())  # the recorder has synced: the noise from now on is what it must leave out
    wait_for(lambda: _written_since(noisy, noise, watched_since) >= 100, 10, what="100 noise Events while watched")
    mr = next(m for m in recorder.resolution.refs() if m.group.endswith("aws.upbound.io"))
    ref = client.V1ObjectReference(api_version=mr.api_version, kind=mr.kind, name=mr.name, namespace=mr.namespace)
    _event(noisy, "unrelated-same-kind", client.V1ObjectReference(api_version=mr.api_version, kind=mr.kind,
                                                                   name="someone-elses-db", namespace=mr.namespace))
    _event(noisy, "unrelated-same-name", client.V1ObjectReference(api_version="v1", kind="Pod", name=mr.name,
                                                                  namespace=mr.namespace or "default"))
    _event(noisy, "ours", ref)  # after the same-kind one on the same stream: it arrives after it, if at all
    ours = recorder.timeline.wait_for(lambda es: next((e for e in es if e.name == "ours"), None),
                                      time.monotonic() + 10)
    assert ours is not None and ours.involved == {"apiVersion": mr.api_version, "kind": mr.kind, "name": mr.name,
                                                  "plural": mr.plural}, ours
    kept = {(m.kind, m.namespace, m.name) for m in [*recorder.resolution.refs(), *noisy.target.composites]}
    journal = tl.entries_from_json(recorder.timeline.to_json())
    events = [e for e in journal if e.what == tl.EVENT]
    strangers = [e for e in events if (e.involved.get("kind"), e.involved.get("namespace"), e.involved.get("name"))
                 not in kept or e.namespace in noise]
    assert events and not strangers, strangers[:5]


def _written_since(c: Cluster, namespaces: set[str], since: int) -> int:
    """The noise Events created at or after ``since`` (seconds since the epoch) that are still kept."""
    return sum(1 for ns in namespaces for e in c.core.list_namespaced_event(ns).items
               if e.metadata.creation_timestamp.timestamp() >= since)


def _noise_namespaces(c: Cluster) -> set[str]:
    """The noise's namespaces, as the sandbox's platform.json records them."""
    truth = json.loads((c.sandbox.state_dir / "platform.json").read_text())
    return set(truth["noise"]["namespaces"])


def _expectation(target: targets.Target, rec: TimelineRecorder) -> Expectation:
    """The failover sequence over the MRs the recorder resolved from the composite."""
    return ex.sequence(target, FAST, None, None, None,
                       lambda provider: rec.resolution.mr_keys(target.provider(provider).name),
                       [(x.plural, x.namespace, x.name) for x in target.composites], target.dns)


def test_promotion_of_a_warm_standby_is_the_serving_side_switching(noisy: Cluster, recorder: TimelineRecorder,
                                                                    tmp_path: Path) -> None:
    """The standby's MRs are Synced and Ready before the fault: ``promote`` waits for the composite to name the
    standby as serving (status.failover.activeProvider) after the fault. A target whose composites name no
    serving side reads the same run as a warm standby, already healthy before the fault, never as a promotion."""
    expectation = _expectation(noisy.target, recorder)
    before = expectation.scan(recorder.timeline.entries(), time.monotonic())[1]
    standby_mrs = recorder.resolution.mr_keys("azure")
    assert standby_mrs and all(before.conditions[k]["Ready"][0] == "True" for k in standby_mrs), "not warm"
    recorder.timeline.mark_fault("credentials-revoked")
    restore = noisy.revoke_credentials()
    try:
        verdict = failover.evaluate(recorder, expectation)
    finally:
        restore()
    assert verdict["outcome"] == "passed", verdict
    steps = {s["name"]: s for s in verdict["steps"]}
    promote = steps["promote"]
    assert promote["basis"] == "status.failover.activeProvider switched to azure after the fault", promote
    assert promote["since_s"] > 0 and promote["at_s"] >= steps["detect"]["at_s"], steps
    serving = [e for e in recorder.timeline.entries() if e.what == tl.SERVING and not e.initial]
    assert [(e.previous, e.status) for e in serving][:1] == [("aws", "azure")], serving

    unnamed = targets.load(edited(noisy.target.path, tmp_path / "target.yaml",
                                  lambda doc: doc.setdefault("signals", {}).update(xr_serving={"field": ""})))
    fault = recorder.timeline.last_fault()
    assert fault is not None
    judged = _expectation(unnamed, recorder).evaluate(recorder.timeline.entries(), fault.mono, time.monotonic(),
                                                      lambda *_: None)
    assert judged is not None and judged["outcome"] == "passed", judged
    standby = {s["name"]: s for s in judged["steps"]}["promote"]
    assert standby["since_s"] == 0 and standby["basis"].startswith(WARM_STANDBY), standby
