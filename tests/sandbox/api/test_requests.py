"""Request handling over HTTPS: patches, selectors, pagination, tables, auth and bad input."""

from __future__ import annotations

import json

import pytest

from tests.sandbox.api.http import Http, crd
from tests.support.sandboxes import Sandbox

MERGE, JSONP, SMP = ("application/merge-patch+json", "application/json-patch+json",
                     "application/strategic-merge-patch+json")


def pod(name: str) -> dict:
    return {"metadata": {"name": name, "labels": {"app": "x"}}, "spec": {"containers": [
        {"name": "main", "image": "a:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "side", "image": "b:1"}]}}


def test_merge_patch_null_removes_a_key(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    http.ok(http.post(path, {"metadata": {"name": "m"}, "data": {"a": "1", "b": "2"}}), 201)
    patched = http.ok(http.patch(f"{path}/m", {"data": {"a": None, "c": "3"}}, MERGE))
    assert patched["data"] == {"b": "2", "c": "3"}


def test_json_patch_failing_test_is_422_and_changes_nothing(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    created = http.ok(http.post(path, {"metadata": {"name": "j"}, "data": {"a": "1"}}), 201)
    response = http.patch(f"{path}/j", [{"op": "test", "path": "/data/a", "value": "2"},
                                        {"op": "replace", "path": "/data/a", "value": "3"}], JSONP)
    assert response.status_code == 422 and response.json()["kind"] == "Status"
    assert response.json()["message"].endswith("testing value at /data/a failed")
    after = http.ok(http.get(f"{path}/j"))
    assert after["data"] == {"a": "1"}
    assert after["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    ok = http.ok(http.patch(f"{path}/j", [{"op": "test", "path": "/data/a", "value": "1"},
                                          {"op": "add", "path": "/data/b", "value": "2"}], JSONP))
    assert ok["data"] == {"a": "1", "b": "2"}


def test_strategic_merge_merges_containers_by_name(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    http.ok(http.post(path, pod("p")), 201)
    patched = http.ok(http.patch(f"{path}/p", {"spec": {"containers": [
        {"name": "main", "image": "a:2", "env": [{"name": "B", "value": "2"}]},
        {"name": "side", "$patch": "delete"}]}}, SMP))
    containers = patched["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main"]
    assert containers[0]["image"] == "a:2"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


def test_strategic_merge_on_a_custom_resource_is_415(http: Http, ns: str) -> None:
    http.ok(http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                      crd("smp.example.org", "knobs", "Knob")), 201)
    path = f"/apis/smp.example.org/v1alpha1/namespaces/{ns}/knobs"
    http.ok(http.post(path, {"metadata": {"name": "k"}, "spec": {}}), 201)
    response = http.patch(f"{path}/k", {"spec": {"a": 1}}, SMP)
    assert response.status_code == 415 and "application/merge-patch+json" in response.json()["message"]


@pytest.mark.parametrize(("selector", "expected"), [
    ("tier=web", ["a", "b"]),
    ("tier==web", ["a", "b"]),
    ("tier!=web", ["c", "d"]),
    ("tier in (web,db)", ["a", "b", "c"]),
    ("tier notin (web)", ["c", "d"]),
    ("tier", ["a", "b", "c"]),
    ("!tier", ["d"]),
    ("tier=web,env=prod", ["a"]),
])
def test_label_selectors(http: Http, ns: str, selector: str, expected: list[str]) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    for name, labels in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "web"}), ("c", {"tier": "db"}),
                         ("d", {})):
        http.ok(http.post(path, {"metadata": {"name": name, "labels": labels}}), 201)
    listed = http.ok(http.get(path, params={"labelSelector": selector}))
    assert [i["metadata"]["name"] for i in listed["items"]] == expected


def test_field_selectors_on_events_and_unsupported_field(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/events"
    for name, obj, reason, etype in (("e1", "db", "CannotConnectToProvider", "Warning"),
                                     ("e2", "db", "CreatedExternalResource", "Normal"),
                                     ("e3", "dns", "CannotConnectToProvider", "Warning")):
        http.ok(http.post(path, {"metadata": {"name": name}, "reason": reason, "type": etype,
                                 "involvedObject": {"kind": "Cluster", "name": obj}}), 201)
    picked = http.ok(http.get(path, params={"fieldSelector": "involvedObject.name=db,type=Warning"}))
    assert [e["metadata"]["name"] for e in picked["items"]] == ["e1"]
    others = http.ok(http.get(path, params={"fieldSelector": "reason!=CannotConnectToProvider"}))
    assert [e["metadata"]["name"] for e in others["items"]] == ["e2"]
    everywhere = http.ok(http.get("/api/v1/events", params={"fieldSelector": f"metadata.namespace={ns}"}))
    assert len(everywhere["items"]) == 3
    bad = http.get(path, params={"fieldSelector": "spec.nonsense=1"})
    assert bad.status_code == 400 and "field label not supported" in bad.json()["message"]


def test_pagination_with_limit_and_continue(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    for i in range(7):
        http.ok(http.post(path, {"metadata": {"name": f"cm-{i}"}}), 201)
    seen, cont, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"continue": cont} if cont else {})}
        page = http.ok(http.get(path, params=params))
        seen += [i["metadata"]["name"] for i in page["items"]]
        pages += 1
        cont = page["metadata"].get("continue")
        if not cont:
            break
    assert seen == [f"cm-{i}" for i in range(7)] and pages == 3


def test_table_output_uses_printer_columns(http: Http, ns: str) -> None:
    http.ok(http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                      crd("table.example.org", "dials", "Dial")), 201)
    path = f"/apis/table.example.org/v1alpha1/namespaces/{ns}/dials"
    http.ok(http.post(path, {"metadata": {"name": "d"}, "spec": {}}), 201)
    http.ok(http.patch(f"{path}/d/status", {"status": {"conditions": [{"type": "Synced", "status": "False"},
                                                                      {"type": "Ready", "status": "True"}]}}))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = http.ok(http.get(path, headers={"Accept": accept}))
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "READY", "AGE"]
    assert table["rows"][0]["cells"][:2] == ["d", "True"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_requests_without_the_token_are_401(sandbox: Sandbox) -> None:
    anonymous = Http(sandbox, token=None)
    response = anonymous.get("/api/v1/namespaces")
    assert response.status_code == 401 and response.json()["kind"] == "Status"
    wrong = Http(sandbox, token="not-the-token")
    assert wrong.get("/api/v1/namespaces").status_code == 401
    assert anonymous.get("/version").json()["major"] == "1"


@pytest.mark.parametrize(("method", "path", "body", "content_type", "code"), [
    ("POST", "/api/v1/namespaces/{ns}/configmaps", b'{"metadata": {', "application/json", 400),
    ("POST", "/api/v1/namespaces/{ns}/configmaps", b"metadata: [unclosed", "application/yaml", 400),
    ("GET", "/api/v1/namespaces/{ns}/widgets", None, "application/json", 404),
    ("GET", "/apis/nope.example.org/v1/things", None, "application/json", 404),
    ("POST", "/api/v1/namespaces/{ns}/configmaps", b'{"kind": "Secret", "metadata": {"name": "x"}}',
     "application/json", 400),
    ("POST", "/api/v1/namespaces/{ns}/configmaps", b'{"metadata": {"name": "Bad_Name"}}', "application/json", 422),
    ("POST", "/api/v1/namespaces/{ns}/configmaps", b'{"metadata": {"name": "x", "namespace": "other"}}',
     "application/json", 400),
    ("POST", "/api/v1/namespaces/{ns}/configmaps", b'{"metadata": {"labels": {"a": "b"}}}', "application/json", 422),
    ("PATCH", "/api/v1/namespaces/{ns}/configmaps/x", b"{}", "text/plain", 415),
])
def test_bad_input_is_a_status_error_and_changes_nothing(http: Http, ns: str, method: str, path: str,
                                                         body: bytes | None, content_type: str, code: int) -> None:
    before = http.ok(http.get(f"/api/v1/namespaces/{ns}/configmaps"))
    response = http.request(method, path.format(ns=ns), raw=body, content_type=content_type)
    assert response.status_code == code, response.text
    status = response.json()
    assert status["kind"] == "Status" and status["status"] == "Failure" and status["code"] == code
    assert "Traceback" not in response.text and 'File "' not in response.text
    after = http.ok(http.get(f"/api/v1/namespaces/{ns}/configmaps"))
    assert after["items"] == before["items"]


def test_yaml_body_is_accepted(http: Http, ns: str) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n"
    created = http.ok(http.request("POST", f"/api/v1/namespaces/{ns}/configmaps", raw=body,
                                   content_type="application/yaml"), 201)
    assert created["data"] == {"a": "b"}


def test_oversize_body_is_413(http: Http, ns: str) -> None:
    huge = json.dumps({"metadata": {"name": "big"}, "data": {"x": "a" * (4 * 1024 * 1024)}}).encode()
    response = http.request("POST", f"/api/v1/namespaces/{ns}/configmaps", raw=huge)
    assert response.status_code == 413 and response.json()["reason"] == "RequestEntityTooLarge"
    assert http.get(f"/api/v1/namespaces/{ns}/configmaps/big").status_code == 404
