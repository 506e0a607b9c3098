"""Object semantics over HTTPS: create, update, status, generation, finalizers, namespaces, CRDs."""

from __future__ import annotations

import base64

from tests.sandbox.api.http import Http, crd


def cm(name: str, **extra: object) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **extra}, "data": {"k": "v"}}


def test_create_sets_server_fields_and_global_monotonic_resource_version(http: Http, ns: str) -> None:
    first = http.ok(http.post(f"/api/v1/namespaces/{ns}/configmaps", cm("a")), 201)
    second = http.ok(http.post(f"/api/v1/namespaces/{ns}/secrets",
                               {"metadata": {"name": "s"}, "stringData": {"x": "y"}}), 201)
    meta = first["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and meta["namespace"] == ns
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    listed = http.ok(http.get(f"/api/v1/namespaces/{ns}/configmaps"))
    assert int(listed["metadata"]["resourceVersion"]) >= int(second["metadata"]["resourceVersion"])


def test_secret_string_data_is_folded_into_base64_data(http: Http, ns: str) -> None:
    created = http.ok(http.post(f"/api/v1/namespaces/{ns}/secrets",
                                {"metadata": {"name": "creds"}, "data": {"a": base64.b64encode(b"1").decode()},
                                 "stringData": {"b": "two"}}), 201)
    assert "stringData" not in created and created["type"] == "Opaque"
    assert base64.b64decode(created["data"]["b"]) == b"two" and base64.b64decode(created["data"]["a"]) == b"1"


def test_secret_values_must_be_strings_and_data_base64(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/secrets"
    for body in ({"metadata": {"name": "b"}, "stringData": {"x": True}},
                 {"metadata": {"name": "b"}, "data": {"x": "not base64!"}}):
        response = http.post(path, body)
        assert response.status_code == 400 and "cannot be handled as a Secret" in response.json()["message"]
    assert http.get(f"{path}/b").status_code == 404


def test_generate_name(http: Http, ns: str) -> None:
    created = http.ok(http.post(f"/api/v1/namespaces/{ns}/configmaps",
                                {"metadata": {"generateName": "gen-"}, "data": {}}), 201)
    assert created["metadata"]["name"].startswith("gen-") and len(created["metadata"]["name"]) == 9


def test_duplicate_create_is_409_already_exists(http: Http, ns: str) -> None:
    http.ok(http.post(f"/api/v1/namespaces/{ns}/configmaps", cm("dup")), 201)
    response = http.post(f"/api/v1/namespaces/{ns}/configmaps", cm("dup"))
    assert response.status_code == 409 and response.json()["reason"] == "AlreadyExists"


def test_put_with_stale_resource_version_is_409_and_changes_nothing(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    created = http.ok(http.post(path, cm("c")), 201)
    fresh = dict(created, data={"k": "new"})
    updated = http.ok(http.put(f"{path}/c", fresh))
    stale = dict(created, data={"k": "stale"})
    response = http.put(f"{path}/c", stale)
    assert response.status_code == 409 and response.json()["reason"] == "Conflict"
    assert "the object has been modified" in response.json()["message"]
    assert http.ok(http.get(f"{path}/c"))["data"] == {"k": "new"}
    assert updated["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]


def test_status_subresource_is_kept_apart_from_spec(http: Http, ns: str) -> None:
    http.ok(http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                      crd("status.example.org", "widgets", "Widget")), 201)
    path = f"/apis/status.example.org/v1alpha1/namespaces/{ns}/widgets"
    created = http.ok(http.post(path, {"apiVersion": "status.example.org/v1alpha1", "kind": "Widget",
                                       "metadata": {"name": "w"}, "spec": {"size": 1},
                                       "status": {"ignored": True}}), 201)
    assert "status" not in created and created["metadata"]["generation"] == 1
    # main resource: status changes are ignored, spec changes bump generation
    main = http.ok(http.patch(f"{path}/w", {"spec": {"size": 2}, "status": {"phase": "sneaky"}}))
    assert main["spec"]["size"] == 2 and "status" not in main and main["metadata"]["generation"] == 2
    # status subresource: spec changes are ignored, generation stays
    status = http.ok(http.patch(f"{path}/w/status", {"spec": {"size": 99}, "status": {"phase": "Ready"}}))
    assert status["status"] == {"phase": "Ready"} and status["spec"]["size"] == 2
    assert status["metadata"]["generation"] == 2
    # a metadata-only change does not bump generation
    labelled = http.ok(http.patch(f"{path}/w", {"metadata": {"labels": {"a": "b"}}}))
    assert labelled["metadata"]["generation"] == 2 and labelled["status"] == {"phase": "Ready"}


def test_custom_resource_put_requires_resource_version(http: Http, ns: str) -> None:
    http.ok(http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                      crd("put.example.org", "gadgets", "Gadget")), 201)
    path = f"/apis/put.example.org/v1alpha1/namespaces/{ns}/gadgets"
    http.ok(http.post(path, {"metadata": {"name": "g"}, "spec": {}}), 201)
    response = http.put(f"{path}/g", {"apiVersion": "put.example.org/v1alpha1", "kind": "Gadget",
                                      "metadata": {"name": "g"}, "spec": {"x": 1}})
    assert response.status_code == 422 and "resourceVersion" in response.json()["message"]


def test_delete_with_finalizers_waits_for_the_last_finalizer(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    http.ok(http.post(path, cm("held", finalizers=["example.org/a", "example.org/b"])), 201)
    deleting = http.ok(http.delete(f"{path}/held"))
    assert deleting["metadata"]["deletionTimestamp"]
    again = http.ok(http.delete(f"{path}/held"))  # deleting twice changes nothing
    assert again["metadata"]["resourceVersion"] == deleting["metadata"]["resourceVersion"]
    added = http.patch(f"{path}/held", {"metadata": {"finalizers": ["example.org/a", "example.org/b", "new"]}})
    assert added.status_code == 422
    http.ok(http.patch(f"{path}/held", [{"op": "remove", "path": "/metadata/finalizers/0"}],
                       "application/json-patch+json"))
    assert http.get(f"{path}/held").status_code == 200
    http.ok(http.patch(f"{path}/held", {"metadata": {"finalizers": None}}))
    assert http.get(f"{path}/held").status_code == 404


def test_delete_without_finalizers_answers_status_for_builtins_and_object_for_custom(http: Http, ns: str) -> None:
    http.ok(http.post(f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "s"}}), 201)
    body = http.ok(http.delete(f"/api/v1/namespaces/{ns}/secrets/s"))
    assert body["kind"] == "Status" and body["status"] == "Success" and body["details"]["name"] == "s"


def test_delete_collection_with_label_selector(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        http.ok(http.post(path, cm(name, labels={"tier": tier})), 201)
    deleted = http.ok(http.delete(path, params={"labelSelector": "tier=web"}))
    assert sorted(i["metadata"]["name"] for i in deleted["items"]) == ["a", "b"]
    remaining = http.ok(http.get(path))
    assert [i["metadata"]["name"] for i in remaining["items"]] == ["c"]


def test_namespace_lifecycle(http: Http) -> None:
    assert http.post("/api/v1/namespaces/nowhere/configmaps", cm("x")).status_code == 404
    http.ok(http.post("/api/v1/namespaces", {"metadata": {"name": "doomed"}}), 201)
    http.ok(http.post("/api/v1/namespaces/doomed/configmaps", cm("plain")), 201)
    http.ok(http.post("/api/v1/namespaces/doomed/configmaps", cm("held", finalizers=["example.org/x"])), 201)
    terminating = http.ok(http.delete("/api/v1/namespaces/doomed"))
    assert terminating["status"]["phase"] == "Terminating"
    assert http.get("/api/v1/namespaces/doomed/configmaps/plain").status_code == 404
    refused = http.post("/api/v1/namespaces/doomed/configmaps", cm("late"))
    assert refused.status_code == 403 and "being terminated" in refused.json()["message"]
    http.ok(http.patch("/api/v1/namespaces/doomed/configmaps/held", {"metadata": {"finalizers": None}}))
    assert http.get("/api/v1/namespaces/doomed").status_code == 404


def test_crd_serves_cluster_and_namespaced_kinds_live_and_deletion_removes_them(http: Http, ns: str) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    created = http.ok(http.post(crds, crd("live.example.org", "things", "Thing", scope="Cluster")), 201)
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    http.ok(http.post(crds, crd("live.example.org", "bits", "Bit")), 201)
    resources = http.ok(http.get("/apis/live.example.org/v1alpha1"))["resources"]
    names = {r["name"]: r["namespaced"] for r in resources}
    assert names == {"things": False, "things/status": False, "bits": True, "bits/status": True}
    thing = http.ok(http.post("/apis/live.example.org/v1alpha1/things", {"metadata": {"name": "t"}}), 201)
    assert "namespace" not in thing["metadata"]
    http.ok(http.post(f"/apis/live.example.org/v1alpha1/namespaces/{ns}/bits", {"metadata": {"name": "b"}}), 201)
    http.ok(http.delete(f"{crds}/things.live.example.org"))
    assert http.get("/apis/live.example.org/v1alpha1/things").status_code == 404
    assert http.get(f"/apis/live.example.org/v1alpha1/namespaces/{ns}/bits/b").status_code == 200
    groups = [g["name"] for g in http.ok(http.get("/apis"))["groups"]]
    assert "live.example.org" in groups


def test_events_are_one_store_served_by_two_apis(http: Http, ns: str) -> None:
    event = {"metadata": {"name": "e1"}, "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": ns},
             "reason": "Tested", "message": "hello", "type": "Warning", "count": 3,
             "source": {"component": "test"}}
    http.ok(http.post(f"/api/v1/namespaces/{ns}/events", event), 201)
    new = http.ok(http.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events/e1"))
    assert new["apiVersion"] == "events.k8s.io/v1"
    assert new["regarding"]["name"] == "x" and new["note"] == "hello" and new["deprecatedCount"] == 3
    by_field = http.ok(http.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events",
                                params={"fieldSelector": "regarding.name=x,reason=Tested"}))
    assert [e["metadata"]["name"] for e in by_field["items"]] == ["e1"]
