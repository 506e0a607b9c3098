"""One scenario for the official ``kubernetes`` Python client against a sandbox, runnable under any client generation.

Usage::

    python k8s_client_scenario.py KUBECONFIG [--bookmark-kubeconfig KUBECONFIG] [--scenario main|gone]

It imports whichever ``kubernetes`` package comes first on ``sys.path`` (the test puts an older generation there
with ``PYTHONPATH``), uses only the client's public API, checks as it goes and prints one JSON line::

    {"client_version": "37.0.2", "client_path": "...", "scenario": "main", "checks": ["namespaces", ...]}

On the first failed check it prints ``FAILED <check>: <reason>`` on stderr and exits 1.

``--scenario main`` exercises the API surface; ``--scenario gone`` expects a sandbox started with
``--history-size 5`` and checks that a watch from a resourceVersion older than the history fails with 410 and that a
re-list plus watch from the fresh resourceVersion works. ``--bookmark-kubeconfig`` names a sandbox that sends
bookmarks often (``--bookmark-interval 0.2``); without it the bookmark check waits on the main one (5 s interval).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import kubernetes
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_equal(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def api_error(call: Callable[[], Any], status: int) -> dict[str, Any]:
    """Run ``call``, which must fail with ``status``; return the Status body it answered."""
    try:
        call()
    except ApiException as exc:
        expect_equal(exc.status, status, "HTTP status of the ApiException")
        try:
            body = json.loads(exc.body) if exc.body else {}
        except ValueError:
            raise CheckFailed(f"the {status} answer has no JSON Status body: {exc.body!r}") from None
        expect_equal(body.get("kind"), "Status", "kind of the error body")
        expect_equal(body.get("code"), status, "code in the Status body")
        return body
    raise CheckFailed(f"expected ApiException {status}, the call succeeded")


class Scenario:
    def __init__(self, kubeconfig: str, bookmark_kubeconfig: str | None) -> None:
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.bookmark_kubeconfig = bookmark_kubeconfig
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.ext = client.ApiextensionsV1Api(self.api)
        self.net = client.NetworkingV1Api(self.api)
        self.coord = client.CoordinationV1Api(self.api)
        self.events = client.EventsV1Api(self.api)
        self.run = uuid.uuid4().hex[:8]
        self.ns = f"k8s-contract-{self.run}"
        self.group = f"r{self.run}.contract.xpchaos.io"
        self.crds: list[str] = []
        self.checks: list[str] = []
        self.current = "connect"

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[None]:
        self.current = name
        yield
        self.checks.append(name)

    # helpers ---------------------------------------------------------------------------------------------
    def cm(self, name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None,
           finalizers: list[str] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "labels": labels or {}}
        if finalizers:
            meta["finalizers"] = finalizers
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"k": "v"}}

    def cm_names(self, **selectors: str) -> list[str]:
        items = self.core.list_namespaced_config_map(self.ns, **selectors).items
        return sorted(i.metadata.name for i in items)

    # the scenario ----------------------------------------------------------------------------------------
    def main(self) -> None:
        try:
            self.namespaces()
            self.secrets_and_configmaps()
            self.optimistic_concurrency()
            self.patches()
            self.custom_resources()
            self.finalizers()
            self.selectors()
            self.delete_collection()
            self.event_apis()
            self.other_groups()
            self.watch_lifecycle_and_resume()
            self.bookmarks()
            self.errors()
        finally:
            self.cleanup()

    def namespaces(self) -> None:
        with self.check("namespaces: create and list"):
            created = self.core.create_namespace({"metadata": {"name": self.ns, "labels": {"run": self.run}}})
            expect_equal(created.metadata.name, self.ns, "created namespace name")
            expect_equal(created.status.phase, "Active", "namespace phase")
            names = [n.metadata.name for n in self.core.list_namespace().items]
            expect(self.ns in names and "default" in names, f"namespace list lacks {self.ns} or default: {names}")
            by_label = self.core.list_namespace(label_selector=f"run={self.run}").items
            expect_equal([n.metadata.name for n in by_label], [self.ns], "namespaces selected by label")

    def secrets_and_configmaps(self) -> None:
        with self.check("secrets: string_data folded into base64 data"):
            body = client.V1Secret(metadata=client.V1ObjectMeta(name="creds"),
                                   string_data={"user": "admin", "password": "s3cr3t"},
                                   data={"raw": base64.b64encode(b"bytes").decode()})
            created = self.core.create_namespaced_secret(self.ns, body)
            expect_equal(created.type, "Opaque", "default secret type")
            read = self.core.read_namespaced_secret("creds", self.ns)
            expect(not read.string_data, f"stringData must not be stored: {read.string_data!r}")
            decoded = {k: base64.b64decode(v).decode() for k, v in (read.data or {}).items()}
            expect_equal(decoded, {"user": "admin", "password": "s3cr3t", "raw": "bytes"}, "secret data")
        with self.check("configmaps: create, read, list"):
            self.core.create_namespaced_config_map(
                self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"app": "x"}),
                                            data={"mode": "fast"}))
            read = self.core.read_namespaced_config_map("settings", self.ns)
            expect_equal(read.data, {"mode": "fast"}, "configmap data")
            expect(read.metadata.uid and read.metadata.resource_version and read.metadata.creation_timestamp,
                   "server-set metadata (uid, resourceVersion, creationTimestamp) missing")
            expect_equal(self.cm_names(label_selector="app=x"), ["settings"], "configmaps listed by label")

    def optimistic_concurrency(self) -> None:
        with self.check("replace with a stale resourceVersion: 409 Conflict"):
            first = self.core.read_namespaced_config_map("settings", self.ns)
            stale_rv = first.metadata.resource_version
            first.data = {"mode": "slow"}
            replaced = self.core.replace_namespaced_config_map("settings", self.ns, first)
            expect(replaced.metadata.resource_version != stale_rv, "replace did not change the resourceVersion")
            expect_equal(replaced.data, {"mode": "slow"}, "replaced data")
            stale = self.cm("settings", data={"mode": "lost-update"})
            stale["metadata"]["resourceVersion"] = stale_rv
            status = api_error(lambda: self.core.replace_namespaced_config_map("settings", self.ns, stale), 409)
            expect_equal(status.get("reason"), "Conflict", "reason of the stale replace")
            expect_equal(self.core.read_namespaced_config_map("settings", self.ns).data, {"mode": "slow"},
                         "data after the rejected replace")

    def patches(self) -> None:
        with self.check("patch: json patch (list body) on a built-in"):
            ops = [{"op": "add", "path": "/data/extra", "value": "1"},
                   {"op": "replace", "path": "/data/mode", "value": "json-patched"}]
            patched = self.core.patch_namespaced_config_map("settings", self.ns, ops)
            expect_equal(patched.data, {"mode": "json-patched", "extra": "1"}, "data after json patch")
            failing = [{"op": "test", "path": "/data/mode", "value": "other"}]
            api_error(lambda: self.core.patch_namespaced_config_map("settings", self.ns, failing), 422)
        with self.check("patch: strategic merge (dict body) on a built-in"):
            pod = {"metadata": {"name": "web", "labels": {"app": "web"}},
                   "spec": {"containers": [{"name": "main", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
                                           {"name": "side", "image": "busybox:1"}]}}
            self.core.create_namespaced_pod(self.ns, pod)
            patch = {"metadata": {"labels": {"tier": "front"}},
                     "spec": {"containers": [{"name": "main", "image": "nginx:2",
                                              "env": [{"name": "B", "value": "2"}]}]}}
            patched = self.core.patch_namespaced_pod("web", self.ns, patch)
            containers = {c.name: c for c in patched.spec.containers}
            expect_equal(sorted(containers), ["main", "side"], "containers merged by name (strategic merge)")
            expect_equal(containers["main"].image, "nginx:2", "patched image")
            expect_equal([(e.name, e.value) for e in containers["main"].env], [("A", "1"), ("B", "2")],
                         "env merged by name")
            expect_equal(patched.metadata.labels, {"app": "web", "tier": "front"}, "labels merged")
            expect_equal(patched.status.phase, "Pending", "a new pod is Pending (no kubelet)")

    def custom_resources(self) -> None:
        status_sub = {"status": {}}
        schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}

        def crd(plural: str, kind: str, scope: str) -> dict[str, Any]:
            return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                    "metadata": {"name": f"{plural}.{self.group}"},
                    "spec": {"group": self.group, "scope": scope,
                             "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                                       "listKind": f"{kind}List"},
                             "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema,
                                           "subresources": status_sub}]}}

        with self.check("CRDs: create cluster-scoped and namespaced, Established"):
            for body in (crd("gadgets", "Gadget", "Namespaced"), crd("clusterwidgets", "ClusterWidget", "Cluster")):
                created = self.ext.create_custom_resource_definition(body)
                self.crds.append(created.metadata.name)
                conditions = {c.type: c.status for c in created.status.conditions or []}
                expect_equal(conditions.get("Established"), "True", f"Established condition of {created.metadata.name}")
                expect_equal(created.status.stored_versions, ["v1"], "storedVersions")
            listed = [c.metadata.name for c in self.ext.list_custom_resource_definition().items]
            expect(all(name in listed for name in self.crds), f"CRDs not listed: {self.crds} vs {listed}")

        group, version = self.group, "v1"
        with self.check("custom objects (namespaced): create, get, list, merge patch, status, delete"):
            body = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1", "labels": {"c": "1"}},
                    "spec": {"size": 1, "colour": "red"}, "status": {"ignored": True}}
            created = self.custom.create_namespaced_custom_object(group, version, self.ns, "gadgets", body)
            expect_equal(created["metadata"]["generation"], 1, "generation of a new custom object")
            expect("status" not in created, "status must be dropped on create when the status subresource is on")
            got = self.custom.get_namespaced_custom_object(group, version, self.ns, "gadgets", "g1")
            expect_equal(got["spec"], {"size": 1, "colour": "red"}, "custom object spec")
            listed = self.custom.list_namespaced_custom_object(group, version, self.ns, "gadgets",
                                                               label_selector="c=1")
            expect_equal(listed["kind"], "GadgetList", "list kind")
            expect_equal([i["metadata"]["name"] for i in listed["items"]], ["g1"], "listed custom objects")
            patched = self.custom.patch_namespaced_custom_object(
                group, version, self.ns, "gadgets", "g1",
                {"spec": {"size": 2, "colour": None}, "status": {"phase": "ignored"}})
            expect_equal(patched["spec"], {"size": 2}, "spec after merge patch (null removes a key)")
            expect_equal(patched["metadata"]["generation"], 2, "generation after a spec change")
            expect("status" not in patched, "a main-resource patch must not write status")
            with_status = self.custom.patch_namespaced_custom_object_status(
                group, version, self.ns, "gadgets", "g1", {"status": {"phase": "Ready"}, "spec": {"size": 99}})
            expect_equal(with_status["status"], {"phase": "Ready"}, "status after patch_*_status")
            expect_equal(with_status["spec"], {"size": 2}, "a status patch must not write spec")
            expect_equal(with_status["metadata"]["generation"], 2, "a status change keeps the generation")
            self.custom.delete_namespaced_custom_object(group, version, self.ns, "gadgets", "g1")
            api_error(lambda: self.custom.get_namespaced_custom_object(group, version, self.ns, "gadgets", "g1"),
                      404)

        with self.check("custom objects (cluster-scoped): create, get, list, status, delete"):
            name = f"w-{self.run}"
            body = {"apiVersion": f"{group}/v1", "kind": "ClusterWidget", "metadata": {"name": name},
                    "spec": {"replicas": 3}}
            created = self.custom.create_cluster_custom_object(group, version, "clusterwidgets", body)
            expect("namespace" not in created["metadata"], "a cluster-scoped object has no namespace")
            got = self.custom.get_cluster_custom_object(group, version, "clusterwidgets", name)
            expect_equal(got["spec"], {"replicas": 3}, "cluster custom object spec")
            listed = self.custom.list_cluster_custom_object(group, version, "clusterwidgets")
            expect_equal([i["metadata"]["name"] for i in listed["items"]], [name], "cluster custom objects")
            status = self.custom.patch_cluster_custom_object_status(group, version, "clusterwidgets", name,
                                                                    {"status": {"ready": 3}})
            expect_equal(status["status"], {"ready": 3}, "cluster object status")
            expect_equal(self.custom.get_cluster_custom_object_status(group, version, "clusterwidgets",
                                                                      name)["status"], {"ready": 3},
                         "status read through the status subresource")
            self.custom.delete_cluster_custom_object(group, version, "clusterwidgets", name)
            listed = self.custom.list_cluster_custom_object(group, version, "clusterwidgets")
            expect_equal(listed["items"], [], "cluster custom objects after delete")

    def finalizers(self) -> None:
        with self.check("finalizers: delete sets deletionTimestamp, removing the finalizer completes it"):
            before = self.core.list_namespaced_config_map(self.ns, field_selector="metadata.name=held")
            self.core.create_namespaced_config_map(self.ns, self.cm("held", finalizers=["contract.xpchaos.io/hold"]))
            self.core.delete_namespaced_config_map("held", self.ns)
            held = self.core.read_namespaced_config_map("held", self.ns)
            expect(held.metadata.deletion_timestamp is not None, "deletionTimestamp not set on a finalized object")
            expect_equal(held.metadata.finalizers, ["contract.xpchaos.io/hold"], "finalizers kept")
            self.core.patch_namespaced_config_map("held", self.ns, {"metadata": {"finalizers": None}})
            api_error(lambda: self.core.read_namespaced_config_map("held", self.ns), 404)
            history: list[tuple[str, bool]] = []
            stream = watch.Watch().stream(self.core.list_namespaced_config_map, self.ns,
                                          field_selector="metadata.name=held",
                                          resource_version=before.metadata.resource_version, timeout_seconds=10)
            try:
                for event in stream:
                    history.append((event["type"], event["object"].metadata.deletion_timestamp is not None))
                    if event["type"] == "DELETED":
                        break
            finally:
                stream.close()
            expect_equal(history, [("ADDED", False), ("MODIFIED", True), ("DELETED", True)],
                         "watch history of a finalized delete (type, deletionTimestamp set)")
        with self.check("finalizers on a custom object"):
            body = {"apiVersion": f"{self.group}/v1", "kind": "Gadget",
                    "metadata": {"name": "g-final", "finalizers": ["contract.xpchaos.io/hold"]}, "spec": {}}
            self.custom.create_namespaced_custom_object(self.group, "v1", self.ns, "gadgets", body)
            self.custom.delete_namespaced_custom_object(self.group, "v1", self.ns, "gadgets", "g-final")
            held = self.custom.get_namespaced_custom_object(self.group, "v1", self.ns, "gadgets", "g-final")
            expect(bool(held["metadata"].get("deletionTimestamp")), "deletionTimestamp not set on a custom object")
            self.custom.patch_namespaced_custom_object(self.group, "v1", self.ns, "gadgets", "g-final",
                                                       {"metadata": {"finalizers": []}})
            api_error(lambda: self.custom.get_namespaced_custom_object(self.group, "v1", self.ns, "gadgets",
                                                                       "g-final"), 404)

    def selectors(self) -> None:
        with self.check("label selectors: =, !=, in, notin, exists, !exists"):
            sel = f"sel={self.run}"
            self.core.create_namespaced_config_map(self.ns, self.cm("sel-a", {"sel": self.run, "tier": "web",
                                                                              "env": "prod"}))
            self.core.create_namespaced_config_map(self.ns, self.cm("sel-b", {"sel": self.run, "tier": "db",
                                                                              "env": "dev"}))
            self.core.create_namespaced_config_map(self.ns, self.cm("sel-c", {"sel": self.run, "tier": "web"}))
            cases = {
                "tier=web": ["sel-a", "sel-c"],
                "tier==db": ["sel-b"],
                "tier!=web": ["sel-b"],
                "env in (prod,dev)": ["sel-a", "sel-b"],
                "env notin (prod)": ["sel-b", "sel-c"],
                "env": ["sel-a", "sel-b"],
                "!env": ["sel-c"],
                "tier=web,env": ["sel-a"],
            }
            for selector, expected in cases.items():
                expect_equal(self.cm_names(label_selector=f"{sel},{selector}"), expected,
                             f"configmaps for labelSelector {selector!r}")
        with self.check("field selectors: metadata.name =, !="):
            expect_equal(self.cm_names(field_selector="metadata.name=sel-b"), ["sel-b"], "metadata.name=sel-b")
            expect_equal(self.cm_names(label_selector=f"sel={self.run}", field_selector="metadata.name!=sel-b"),
                         ["sel-a", "sel-c"], "metadata.name!=sel-b")
            status = api_error(lambda: self.core.list_namespaced_config_map(self.ns, field_selector="data.k=v"), 400)
            expect_equal(status.get("reason"), "BadRequest", "reason for an unsupported field selector")

    def delete_collection(self) -> None:
        with self.check("delete_collection with a label selector"):
            self.core.delete_collection_namespaced_config_map(self.ns, label_selector=f"sel={self.run},tier=web")
            expect_equal(self.cm_names(label_selector=f"sel={self.run}"), ["sel-b"], "configmaps left")
            expect_equal(self.cm_names(label_selector="app=x"), ["settings"], "unselected configmap kept")

    def event_apis(self) -> None:
        micro = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        pod = self.core.read_namespaced_pod("web", self.ns)
        with self.check("events: core/v1 create, field selectors involvedObject.name, reason, type"):
            regarding = {"apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": self.ns,
                         "uid": pod.metadata.uid}
            core_event = {
                "metadata": {"name": "web.backoff"}, "involvedObject": regarding, "reason": "BackOff",
                "message": "Back-off restarting failed container", "type": "Warning", "count": 1,
                "eventTime": micro, "action": "Restarting", "reportingComponent": "kubelet",
                "reportingInstance": "node-1", "source": {"component": "kubelet"},
            }
            self.core.create_namespaced_event(self.ns, core_event)
            normal = dict(core_event, metadata={"name": "other.started"}, reason="Started", type="Normal",
                          message="Started", involvedObject=dict(regarding, name="other", uid="0"))
            self.core.create_namespaced_event(self.ns, normal)

            def names(selector: str) -> list[str]:
                return sorted(e.metadata.name for e in
                              self.core.list_namespaced_event(self.ns, field_selector=selector).items)

            expect_equal(names("involvedObject.name=web"), ["web.backoff"], "involvedObject.name=web")
            expect_equal(names("reason=Started"), ["other.started"], "reason=Started")
            expect_equal(names("type=Warning"), ["web.backoff"], "type=Warning")
            expect_equal(names("type!=Warning,involvedObject.kind=Pod"), ["other.started"], "type!=Warning")
        with self.check("events: events.k8s.io/v1 sees the core/v1 event and vice versa"):
            new_list = self.events.list_namespaced_event(self.ns, field_selector="regarding.name=web").items
            expect_equal([e.metadata.name for e in new_list], ["web.backoff"], "events.k8s.io list by regarding.name")
            seen = new_list[0]
            core_seen = self.core.read_namespaced_event("web.backoff", self.ns)
            expect_equal(seen.metadata.uid, core_seen.metadata.uid, "same object under both APIs (uid)")
            expect_equal(seen.note, core_seen.message, "note <-> message")
            expect_equal(seen.regarding.name, "web", "regarding.name")
            expect_equal(seen.reporting_controller, "kubelet", "reportingController <-> reportingComponent")
            expect_equal(seen.deprecated_count, 1, "deprecatedCount <-> count")
            created = self.events.create_namespaced_event(self.ns, {
                "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.scheduled"},
                "eventTime": micro, "reportingController": "scheduler", "reportingInstance": "scheduler-1",
                "action": "Binding", "reason": "Scheduled", "note": "assigned to node-1", "type": "Normal",
                "regarding": regarding})
            via_core = self.core.read_namespaced_event("web.scheduled", self.ns)
            expect_equal(via_core.metadata.uid, created.metadata.uid, "events.k8s.io event read via core (uid)")
            expect_equal(via_core.message, "assigned to node-1", "message from note")
            expect_equal(via_core.involved_object.name, "web", "involvedObject from regarding")
            expect_equal(via_core.reporting_component, "scheduler", "reportingComponent from reportingController")
            self.events.delete_namespaced_event("web.scheduled", self.ns)
            api_error(lambda: self.core.read_namespaced_event("web.scheduled", self.ns), 404)

    def other_groups(self) -> None:
        with self.check("networking.k8s.io/v1 NetworkPolicy and coordination.k8s.io/v1 Lease"):
            policy = {"metadata": {"name": "deny-egress"},
                      "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]}}
            created = self.net.create_namespaced_network_policy(self.ns, policy)
            expect_equal(created.spec.policy_types, ["Egress"], "policyTypes")
            expect_equal([p.metadata.name for p in self.net.list_namespaced_network_policy(self.ns).items],
                         ["deny-egress"], "network policies")
            self.net.delete_namespaced_network_policy("deny-egress", self.ns)
            expect_equal(self.net.list_namespaced_network_policy(self.ns).items, [], "network policies after delete")
            lease = self.coord.create_namespaced_lease(self.ns, {
                "metadata": {"name": "leader"},
                "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})
            lease.spec.holder_identity = "b"
            renewed = self.coord.replace_namespaced_lease("leader", self.ns, lease)
            expect_equal(renewed.spec.holder_identity, "b", "lease holder after replace")
            expect_equal(renewed.spec.lease_duration_seconds, 15, "lease duration kept")

    def watch_lifecycle_and_resume(self) -> None:
        label = f"watch={self.run}"
        name = "watched"
        with self.check("watch: ADDED, MODIFIED, DELETED in order for changes made by another thread"):
            start_rv = self.core.list_namespaced_config_map(self.ns, label_selector=label).metadata.resource_version
            seen = {"ADDED": threading.Event(), "MODIFIED": threading.Event()}
            failures: list[str] = []

            def mutate() -> None:
                try:
                    self.core.create_namespaced_config_map(self.ns, self.cm(name, {"watch": self.run}))
                    if not seen["ADDED"].wait(20):
                        raise CheckFailed("the watcher did not report ADDED")
                    self.core.patch_namespaced_config_map(name, self.ns, {"data": {"k": "v2"}})
                    if not seen["MODIFIED"].wait(20):
                        raise CheckFailed("the watcher did not report MODIFIED")
                    self.core.delete_namespaced_config_map(name, self.ns)
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

            watcher = watch.Watch()
            stream = watcher.stream(self.core.list_namespaced_config_map, self.ns, label_selector=label,
                                    resource_version=start_rv, timeout_seconds=25)
            mutator = threading.Thread(target=mutate, name="mutator", daemon=True)
            mutator.start()
            received: list[tuple[str, str, str, dict[str, str] | None]] = []
            try:
                for event in stream:
                    obj = event["object"]
                    received.append((event["type"], obj.metadata.name, obj.metadata.resource_version, obj.data))
                    if event["type"] in seen:
                        seen[event["type"]].set()
                    if event["type"] == "DELETED":
                        break
            finally:
                stream.close()
                for flag in seen.values():
                    flag.set()  # never leave the mutator waiting
                mutator.join(10)
            expect(not failures, f"the mutating thread failed: {failures}")
            expect_equal([(t, n) for t, n, _, _ in received],
                         [("ADDED", name), ("MODIFIED", name), ("DELETED", name)], "watch event sequence")
            expect_equal(received[1][3], {"k": "v2"}, "MODIFIED carries the new data")
            rvs = [int(rv) for _, _, rv, _ in received]
            expect(rvs == sorted(rvs) and len(set(rvs)) == 3 and rvs[0] > int(start_rv),
                   f"resourceVersions must increase past the list's: {start_rv} then {rvs}")
        with self.check("watch resume from an older resourceVersion replays exactly the missed events"):
            added_rv = received[0][2]
            self.core.create_namespaced_config_map(self.ns, self.cm("sentinel", {"watch": self.run}))
            replayed: list[tuple[str, str]] = []
            resumed = watch.Watch().stream(self.core.list_namespaced_config_map, self.ns, label_selector=label,
                                           resource_version=added_rv, timeout_seconds=10)
            try:
                for event in resumed:
                    replayed.append((event["type"], event["object"].metadata.name))
                    if event["object"].metadata.name == "sentinel":
                        break
            finally:
                resumed.close()
            expect_equal(replayed, [("MODIFIED", name), ("DELETED", name), ("ADDED", "sentinel")],
                         f"events replayed after resourceVersion {added_rv}")

    def bookmarks(self) -> None:
        with self.check("watch with allow_watch_bookmarks yields BOOKMARK events"):
            api = config.new_client_from_config(config_file=self.bookmark_kubeconfig) if self.bookmark_kubeconfig \
                else self.api
            core = client.CoreV1Api(api)
            namespace = "default" if self.bookmark_kubeconfig else self.ns
            rv = core.list_namespaced_config_map(namespace).metadata.resource_version
            bookmark = None
            stream = watch.Watch().stream(core.list_namespaced_config_map, namespace, resource_version=rv,
                                          allow_watch_bookmarks=True, timeout_seconds=8)
            try:
                for event in stream:
                    if event["type"] == "BOOKMARK":
                        bookmark = event["raw_object"]
                        break
            finally:
                stream.close()
            expect(bookmark is not None, "no BOOKMARK within the watch's timeout")
            assert bookmark is not None
            expect_equal(bookmark.get("kind"), "ConfigMap", "kind of the bookmark object")
            bookmark_rv = (bookmark.get("metadata") or {}).get("resourceVersion")
            expect(bookmark_rv is not None and int(bookmark_rv) >= int(rv),
                   f"bookmark resourceVersion {bookmark_rv!r} is not at or past {rv}")

    def errors(self) -> None:
        with self.check("errors: missing object is 404 with a NotFound Status"):
            status = api_error(lambda: self.core.read_namespaced_config_map("no-such-thing", self.ns), 404)
            expect_equal(status.get("reason"), "NotFound", "reason")
            expect_equal((status.get("details") or {}).get("name"), "no-such-thing", "details.name")
            expect('"no-such-thing" not found' in status.get("message", ""), f"message: {status.get('message')}")
        with self.check("errors: an invalid name is 422 Invalid with a metadata.name cause"):
            status = api_error(lambda: self.core.create_namespaced_config_map(self.ns, self.cm("Bad_Name")), 422)
            expect_equal(status.get("reason"), "Invalid", "reason")
            fields = [c.get("field") for c in (status.get("details") or {}).get("causes") or []]
            expect("metadata.name" in fields, f"causes name metadata.name: {fields}")
        with self.check("errors: already exists is 409 AlreadyExists"):
            status = api_error(lambda: self.core.create_namespaced_config_map(self.ns, self.cm("settings")), 409)
            expect_equal(status.get("reason"), "AlreadyExists", "reason")

    def cleanup(self) -> None:
        for name in self.crds:
            with contextlib.suppress(ApiException):
                self.ext.delete_custom_resource_definition(name)
        with contextlib.suppress(ApiException):
            self.core.delete_namespace(self.ns)

    # the 410 scenario ------------------------------------------------------------------------------------
    def gone(self) -> None:
        """Against a sandbox with --history-size 5: an expired resourceVersion is 410; re-list and watch works."""
        try:
            self.core.create_namespace({"metadata": {"name": self.ns}})
            label = f"gone={self.run}"
            with self.check("watch from a resourceVersion older than the history: ApiException 410"):
                old_rv = self.core.list_namespaced_config_map(self.ns).metadata.resource_version
                for i in range(7):
                    self.core.create_namespaced_config_map(self.ns, self.cm(f"churn-{i}", {"gone": self.run}))
                received: list[str] = []
                stream = watch.Watch().stream(self.core.list_namespaced_config_map, self.ns,
                                              resource_version=old_rv, timeout_seconds=10)
                try:
                    for event in stream:
                        received.append(event["type"])
                except ApiException as exc:
                    expect_equal(exc.status, 410, "status of the expired watch")
                    expect("Expired" in str(exc.reason) or "too old" in str(exc.reason),
                           f"reason of the expired watch: {exc.reason!r}")
                else:
                    raise CheckFailed(f"the watch from expired resourceVersion {old_rv} ended without 410; "
                                      f"events {received}")
                finally:
                    stream.close()
                expect_equal(received, [], "events before the 410")
            with self.check("re-list, then watch from the fresh resourceVersion"):
                listing = self.core.list_namespaced_config_map(self.ns, label_selector=label)
                expect_equal(len(listing.items), 7, "configmaps in the re-list")
                fresh_rv = listing.metadata.resource_version
                self.core.create_namespaced_config_map(self.ns, self.cm("after", {"gone": self.run}))
                events: list[tuple[str, str]] = []
                stream = watch.Watch().stream(self.core.list_namespaced_config_map, self.ns, label_selector=label,
                                              resource_version=fresh_rv, timeout_seconds=10)
                try:
                    for event in stream:
                        events.append((event["type"], event["object"].metadata.name))
                        break
                finally:
                    stream.close()
                expect_equal(events, [("ADDED", "after")], "events after the fresh resourceVersion")
        finally:
            with contextlib.suppress(ApiException):
                self.core.delete_namespace(self.ns)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kubeconfig")
    parser.add_argument("--bookmark-kubeconfig")
    parser.add_argument("--scenario", choices=("main", "gone"), default="main")
    args = parser.parse_args(argv)
    scenario: Scenario | None = None
    try:
        scenario = Scenario(args.kubeconfig, args.bookmark_kubeconfig)
        scenario.gone() if args.scenario == "gone" else scenario.main()
    except CheckFailed as exc:
        print(f"FAILED {scenario.current if scenario else 'connect'}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        traceback.print_exc()
        detail = f" {exc.body}" if isinstance(exc, ApiException) else ""
        print(f"FAILED {scenario.current if scenario else 'connect'}: unexpected {type(exc).__name__}: "
              f"{exc}{detail}", file=sys.stderr)
        return 1
    print(json.dumps({"client_version": kubernetes.__version__, "client_path": kubernetes.__file__,
                      "scenario": args.scenario, "run": scenario.run, "checks": scenario.checks}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
