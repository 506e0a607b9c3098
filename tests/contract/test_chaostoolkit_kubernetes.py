"""Contract: chaostoolkit-kubernetes (``chaosk8s``) activities, called for real, against the sandbox.

Each activity finds the sandbox the way it finds any cluster, through ``KUBECONFIG``; its return value is checked
and so is the cluster's state, read back independently with the official client. The last test runs a small
experiment through the ``chaos`` command line, as a user does.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from chaosk8s.crd import actions as crd_actions
from chaosk8s.crd import probes as crd_probes
from chaosk8s.event.probes import get_events
from chaosk8s.namespace.actions import create_namespace, delete_namespace
from chaosk8s.namespace.probes import namespace_exists
from chaosk8s.networking.actions import (
    create_network_policy,
    deny_all_egress,
    remove_deny_all_egress,
    remove_network_policy,
)
from chaosk8s.pod.probes import count_pods, pods_in_phase
from chaosk8s.secret.actions import create_secret, delete_secret
from chaosk8s.secret.probes import secret_exists
from chaoslib.exceptions import ActivityFailed
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.config import kube_config

pytestmark = pytest.mark.contract

CHAOS = Path(sys.executable).with_name("chaos")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def status_code(call: Any) -> int:
    try:
        call()
    except ApiException as exc:
        return int(exc.status)
    return 200


@pytest.fixture(scope="module")
def kube(sandbox: Any) -> client.ApiClient:
    """The independent reader: the official client on the sandbox's kubeconfig, not touched by chaosk8s."""
    return config.new_client_from_config(config_file=sandbox.kubeconfig)


@pytest.fixture
def core(kube: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(kube)


@pytest.fixture
def k8s_env(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What a user's shell has: KUBECONFIG, a private HOME; TLS verified against the sandbox's CA."""
    env = {"KUBECONFIG": sandbox.kubeconfig, "HOME": str(tmp_path), "KUBERNETES_VERIFY_SSL": "true"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("KUBERNETES_CONTEXT", "KUBERNETES_HOST", "CHAOSTOOLKIT_IN_POD", "HTTP_PROXY", "NO_PROXY"):
        monkeypatch.delenv(key, raising=False)
    # chaosk8s checks $KUBECONFIG itself, then calls load_kube_config() without a path, which falls back to a
    # default the client computed from $KUBECONFIG when it was imported (before this fixture ran): give it the
    # value a fresh process started with this environment would have.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", sandbox.kubeconfig)
    # chaosk8s loads the kubeconfig into the client's process-wide default and sets class attributes: undo both
    monkeypatch.setattr(client.Configuration, "_default", getattr(client.Configuration, "_default", None),
                        raising=False)
    monkeypatch.setattr(client.Configuration, "verify_ssl", True, raising=False)
    monkeypatch.setattr(client.Configuration, "debug", False, raising=False)
    return env


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = unique("ctk")
    core.create_namespace({"metadata": {"name": name}})
    yield name
    if status_code(lambda: core.delete_namespace(name)) not in (200, 404):
        pytest.fail(f"could not delete namespace {name}")


# namespaces ----------------------------------------------------------------------------------------------------
def test_namespace_actions_and_probe(k8s_env: dict[str, str], core: client.CoreV1Api, tmp_path: Path) -> None:
    by_name, by_spec = unique("ctk-ns"), unique("ctk-ns-spec")
    assert namespace_exists(by_name) is False

    assert create_namespace(name=by_name) is None
    assert namespace_exists(by_name) is True
    assert core.read_namespace(by_name).status.phase == "Active"

    spec = tmp_path / "ns.yaml"
    spec.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": by_spec, "labels": {"team": "chaos"}}}))
    create_namespace(spec_path=str(spec))
    read = core.read_namespace(by_spec)
    assert read.metadata.labels["team"] == "chaos"
    assert read.metadata.labels["kubernetes.io/metadata.name"] == by_spec
    unsupported = tmp_path / "ns.txt"
    unsupported.write_text(spec.read_text())
    with pytest.raises(ActivityFailed, match="cannot process"):
        create_namespace(spec_path=str(unsupported))

    for name in (by_name, by_spec):
        delete_namespace(name)
        assert namespace_exists(name) is False
        assert status_code(lambda n=name: core.read_namespace(n)) == 404


# secrets -------------------------------------------------------------------------------------------------------
def test_secret_actions_and_probe(k8s_env: dict[str, str], core: client.CoreV1Api, namespace: str,
                                  tmp_path: Path) -> None:
    name = unique("creds")
    spec = tmp_path / "secret.yaml"
    spec.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": name, "labels": {"app": "db"}},
                                    "stringData": {"password": "hunter2"}}))
    assert secret_exists(name=name, ns=namespace) is False

    assert create_secret(str(spec), ns=namespace) is None

    assert secret_exists(name=name, ns=namespace) is True
    assert secret_exists(label_selector="app=db", ns=namespace) is True
    assert secret_exists(name=name, label_selector="app=web", ns=namespace) is False
    assert secret_exists(ns=namespace) is True
    stored = core.read_namespaced_secret(name, namespace)
    assert stored.type == "Opaque"
    assert stored.string_data is None
    assert {k: base64.b64decode(v).decode() for k, v in stored.data.items()} == {"password": "hunter2"}

    json_spec = tmp_path / "other.json"
    json_spec.write_text(json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other"},
                                     "data": {"k": base64.b64encode(b"v").decode()}}))
    create_secret(str(json_spec), ns=namespace)
    assert core.read_namespaced_secret("other", namespace).data == {"k": "dg=="}

    delete_secret(name, ns=namespace)
    assert secret_exists(name=name, ns=namespace) is False
    assert status_code(lambda: core.read_namespaced_secret(name, namespace)) == 404
    assert [s.metadata.name for s in core.list_namespaced_secret(namespace).items] == ["other"]


# custom resources ----------------------------------------------------------------------------------------------
@pytest.fixture
def crd_group(kube: client.ApiClient) -> Iterator[str]:
    """A namespaced kind (``probes``) and a cluster-scoped one (``targets``) in a group of this test's own."""
    group = f"{uuid.uuid4().hex[:8]}.ctk.xpchaos.io"
    ext = client.ApiextensionsV1Api(kube)
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    names = []
    for plural, kind, scope in (("probes", "Probe", "Namespaced"), ("targets", "Target", "Cluster")):
        crd = ext.create_custom_resource_definition({
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope, "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema,
                                   "subresources": {"status": {}}}]}})
        assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
        names.append(crd.metadata.name)
    yield group
    for name in names:
        ext.delete_custom_resource_definition(name)


def test_crd_activities(k8s_env: dict[str, str], kube: client.ApiClient, namespace: str, crd_group: str,
                        tmp_path: Path) -> None:
    custom = client.CustomObjectsApi(kube)
    group = crd_group
    probe = {"apiVersion": f"{group}/v1", "kind": "Probe", "metadata": {"name": "latency"},
             "spec": {"target": "db", "thresholdMs": 200}}

    created = crd_actions.create_custom_object(group, "v1", "probes", ns=namespace, resource=probe)
    assert created["metadata"]["name"] == "latency" and created["metadata"]["namespace"] == namespace
    assert created["metadata"]["uid"]
    again = crd_actions.create_custom_object(group, "v1", "probes", ns=namespace, resource=probe)
    assert again["kind"] == "Status" and again["reason"] == "AlreadyExists"  # chaosk8s hands back the 409 body

    got = crd_probes.get_custom_object(group, "v1", "probes", "latency", ns=namespace)
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    assert got["spec"] == {"target": "db", "thresholdMs": 200}

    from_file = tmp_path / "probe.yaml"
    from_file.write_text(yaml.safe_dump({**probe, "metadata": {"name": "errors"}, "spec": {"target": "api"}}))
    crd_actions.create_custom_object(group, "v1", "probes", ns=namespace, resource_as_yaml_file=str(from_file))
    listed = crd_probes.list_custom_objects(group, "v1", "probes", ns=namespace)
    assert listed["kind"] == "ProbeList"
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["errors", "latency"]

    # patch_custom_object sends a JSON Patch (it forces Content-Type application/json-patch+json)
    patched = crd_actions.patch_custom_object(
        group, "v1", "probes", "latency", ns=namespace,
        resource=[{"op": "replace", "path": "/spec/thresholdMs", "value": 500},
                  {"op": "add", "path": "/metadata/labels", "value": {"severity": "high"}}])
    assert patched["spec"]["thresholdMs"] == 500
    assert patched["metadata"]["generation"] == 2
    stored = custom.get_namespaced_custom_object(group, "v1", namespace, "probes", "latency")
    assert stored["spec"] == {"target": "db", "thresholdMs": 500}
    assert stored["metadata"]["labels"] == {"severity": "high"}
    with pytest.raises(ActivityFailed, match="Failed to patch"):
        crd_actions.patch_custom_object(group, "v1", "probes", "latency", ns=namespace,
                                        resource=[{"op": "test", "path": "/spec/target", "value": "nope"}])

    deleted = crd_actions.delete_custom_object(group, "v1", "probes", "latency", ns=namespace)
    assert deleted["metadata"]["name"] == "latency"  # custom resources answer DELETE with the object
    assert status_code(lambda: custom.get_namespaced_custom_object(group, "v1", namespace, "probes",
                                                                   "latency")) == 404
    with pytest.raises(ActivityFailed):
        crd_probes.get_custom_object(group, "v1", "probes", "latency", ns=namespace)
    with pytest.raises(ActivityFailed, match="Failed to delete"):
        crd_actions.delete_custom_object(group, "v1", "probes", "latency", ns=namespace)

    target_name = unique("primary")
    target = crd_actions.create_cluster_custom_object(
        group, "v1", "targets", resource={"apiVersion": f"{group}/v1", "kind": "Target",
                                          "metadata": {"name": target_name}, "spec": {"region": "eu-west-1"}})
    assert "namespace" not in target["metadata"]
    assert crd_probes.get_cluster_custom_object(group, "v1", "targets", target_name)["spec"] == {
        "region": "eu-west-1"}
    assert [i["metadata"]["name"] for i in crd_probes.list_cluster_custom_objects(group, "v1", "targets")["items"]] \
        == [target_name]
    assert custom.get_cluster_custom_object(group, "v1", "targets", target_name)["metadata"]["uid"] == \
        target["metadata"]["uid"]
    crd_actions.delete_cluster_custom_object(group, "v1", "targets", target_name)
    assert custom.list_cluster_custom_object(group, "v1", "targets")["items"] == []


# networking ----------------------------------------------------------------------------------------------------
def test_network_policy_activities(k8s_env: dict[str, str], kube: client.ApiClient, namespace: str,
                                   tmp_path: Path) -> None:
    net = client.NetworkingV1Api(kube)
    spec = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "isolate-db"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"], "ingress": []}}

    assert create_network_policy(spec=spec, ns=namespace) is None
    stored = net.read_namespaced_network_policy("isolate-db", namespace)
    assert stored.spec.pod_selector.match_labels == {"app": "db"}
    assert stored.spec.policy_types == ["Ingress"]

    from_file = tmp_path / "policy.yaml"
    from_file.write_text(yaml.safe_dump({**spec, "metadata": {"name": "from-file"}}))
    create_network_policy(spec_path=str(from_file), ns=namespace)
    assert sorted(p.metadata.name for p in net.list_namespaced_network_policy(namespace).items) == [
        "from-file", "isolate-db"]

    remove_network_policy("isolate-db", ns=namespace)
    remove_network_policy("from-file", ns=namespace)
    assert net.list_namespaced_network_policy(namespace).items == []
    with pytest.raises(ApiException) as missing:
        remove_network_policy("isolate-db", ns=namespace)
    assert missing.value.status == 404

    deny_all_egress(label_selectors={"app": "web"}, ns=namespace)
    egress = net.read_namespaced_network_policy("chaostoolkit-deny-all-egress", namespace)
    assert egress.spec.policy_types == ["Egress"]
    assert egress.spec.pod_selector.match_labels == {"app": "web"}
    assert not egress.spec.egress  # no rule: all egress denied
    remove_deny_all_egress(ns=namespace)
    assert status_code(lambda: net.read_namespaced_network_policy("chaostoolkit-deny-all-egress",
                                                                  namespace)) == 404


# events --------------------------------------------------------------------------------------------------------
def test_get_events(k8s_env: dict[str, str], core: client.CoreV1Api, namespace: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for i, (reason, kind) in enumerate((("Killing", "Warning"), ("Pulled", "Normal"), ("Started", "Normal"))):
        core.create_namespaced_event(namespace, {
            "metadata": {"name": f"web.{i}", "labels": {"chaos": "yes" if i else "no"}},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": namespace},
            "reason": reason, "message": f"{reason} container", "type": kind, "eventTime": now,
            "action": reason, "reportingComponent": "kubelet", "reportingInstance": "node-1"})

    everything = get_events(field_selector=f"regarding.namespace={namespace}")
    assert everything["kind"] == "EventList" and everything["apiVersion"] == "events.k8s.io/v1"
    assert sorted(e["metadata"]["name"] for e in everything["items"]) == ["web.0", "web.1", "web.2"]
    killing = next(e for e in everything["items"] if e["metadata"]["name"] == "web.0")
    assert killing["note"] == "Killing container"  # events.k8s.io/v1 field names
    assert killing["regarding"]["name"] == "web"
    assert killing["reportingController"] == "kubelet"
    assert "message" not in killing and "involvedObject" not in killing

    warnings = get_events(field_selector=f"regarding.namespace={namespace},type=Warning")
    assert [e["metadata"]["name"] for e in warnings["items"]] == ["web.0"]
    labelled = get_events(label_selector="chaos=yes", field_selector=f"regarding.namespace={namespace}")
    assert sorted(e["metadata"]["name"] for e in labelled["items"]) == ["web.1", "web.2"]
    page = get_events(field_selector=f"regarding.namespace={namespace}", limit=2)
    assert len(page["items"]) == 2 and page["metadata"].get("continue")

    core_view = core.list_namespaced_event(namespace, field_selector="reason=Killing").items
    assert [(e.metadata.uid, e.message) for e in core_view] == [(killing["metadata"]["uid"], "Killing container")]


# pods ----------------------------------------------------------------------------------------------------------
def _pod(name: str, app: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": "registry.example/app:1"}]}}


def test_pod_phase_probes(k8s_env: dict[str, str], core: client.CoreV1Api, namespace: str) -> None:
    app = unique("app")
    selector = f"app={app}"
    with pytest.raises(ActivityFailed, match="no pods"):
        pods_in_phase(selector, ns=namespace)
    assert count_pods(selector, ns=namespace) == 0

    core.create_namespaced_pod(namespace, _pod("web-0", app))
    assert core.read_namespaced_pod("web-0", namespace).status.phase == "Pending"  # no kubelet in the sandbox
    with pytest.raises(ActivityFailed, match="is in phase 'Pending' but should be 'Running'"):
        pods_in_phase(selector, phase="Running", ns=namespace)
    assert pods_in_phase(selector, phase="Running", ns=namespace, raise_on_invalid_phase=False) is False
    assert pods_in_phase(selector, phase="Pending", ns=namespace) is True

    # play the kubelet: the status subresource takes the phase, the main resource would not
    core.patch_namespaced_pod("web-0", namespace, {"status": {"phase": "Running"}})
    assert core.read_namespaced_pod("web-0", namespace).status.phase == "Pending"
    core.patch_namespaced_pod_status("web-0", namespace, {"status": {"phase": "Running"}})
    assert core.read_namespaced_pod_status("web-0", namespace).status.phase == "Running"

    assert pods_in_phase(selector, phase="Running", ns=namespace) is True
    assert count_pods(selector, ns=namespace) == 1
    assert count_pods(selector, phase="Running", ns=namespace) == 1

    core.create_namespaced_pod(namespace, _pod("web-1", app))  # left Pending
    with pytest.raises(ActivityFailed, match="Pending"):
        pods_in_phase(selector, phase="Running", ns=namespace)
    assert count_pods(selector, ns=namespace) == 2
    assert count_pods(selector, phase="Running", ns=namespace) == 1
    assert count_pods(selector, phase="Pending", ns=namespace) == 1
    assert count_pods(f"app={app}-other", ns=namespace) == 0


# a whole experiment --------------------------------------------------------------------------------------------
def test_experiment_runs_through_the_chaos_cli(k8s_env: dict[str, str], kube: client.ApiClient, namespace: str,
                                               tmp_path: Path) -> None:
    """Steady state (namespace exists), method (a deny-all NetworkPolicy), rollback (remove it)."""
    net = client.NetworkingV1Api(kube)
    policy = unique("chaos-deny")
    activity = {"type": "python", "module": "chaosk8s.networking.actions"}
    experiment = {
        "version": "1.0.0",
        "title": "The namespace survives a deny-all network policy",
        "description": "xpchaos contract test of chaostoolkit-kubernetes against the sandbox",
        "steady-state-hypothesis": {
            "title": "the namespace exists",
            "probes": [{"type": "probe", "name": "namespace-exists", "tolerance": True,
                        "provider": {"type": "python", "module": "chaosk8s.namespace.probes",
                                     "func": "namespace_exists", "arguments": {"name": namespace}}}],
        },
        "method": [{"type": "action", "name": "deny-all-traffic",
                    "provider": {**activity, "func": "create_network_policy", "arguments": {
                        "ns": namespace,
                        "spec": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                 "metadata": {"name": policy},
                                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}}}}],
        "rollbacks": [{"type": "action", "name": "allow-traffic-again",
                       "provider": {**activity, "func": "remove_network_policy",
                                    "arguments": {"name": policy, "ns": namespace}}}],
    }
    source = tmp_path / "experiment.json"
    source.write_text(json.dumps(experiment))
    journal_path = tmp_path / "journal.json"
    settings = tmp_path / "settings.yaml"
    settings.write_text("{}\n")
    before = net.list_namespaced_network_policy(namespace).metadata.resource_version
    assert CHAOS.is_file(), f"the chaos command is not installed next to {sys.executable}"

    result = subprocess.run(
        [str(CHAOS), "--no-version-check", "--no-log-file", "--settings", str(settings), "run",
         "--journal-path", str(journal_path), str(source)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, **k8s_env})
    assert result.returncode == 0, f"chaos run failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"

    journal = json.loads(journal_path.read_text())
    assert journal["status"] == "completed"
    assert journal["deviated"] is False
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    assert [r["status"] for r in journal["run"]] == ["succeeded"]
    assert [(r["activity"]["name"], r["status"]) for r in journal["rollbacks"]] == [
        ("allow-traffic-again", "succeeded")]

    # gone after the rollbacks, and it did exist in between: the watch history since `before` says so
    assert net.list_namespaced_network_policy(namespace).items == []
    history = []
    stream = watch.Watch().stream(net.list_namespaced_network_policy, namespace, resource_version=before,
                                  timeout_seconds=10)
    try:
        for event in stream:
            history.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                break
    finally:
        stream.close()
    assert history == [("ADDED", policy), ("DELETED", policy)]
