"""Watch streams over HTTPS: resume, selectors, bookmarks, timeouts, 410 Gone."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable

from tests.sandbox.api.http import Http
from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for


def names(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def collect(http: Http, path: str, until: Callable[[list[dict]], bool], **params: object) -> list[dict]:
    """Read a watch until ``until`` holds; timeoutSeconds is the deadline (the server closes the stream)."""
    events: list[dict] = []
    with contextlib.closing(http.watch(path, timeoutSeconds=params.pop("timeoutSeconds", 10), **params)) as stream:
        for event in stream:
            events.append(event)
            if until(events):
                break
    return events


def test_watch_without_resource_version_starts_with_current_objects(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    for name in ("a", "b"):
        http.ok(http.post(path, {"metadata": {"name": name}}), 201)
    events = collect(http, path, lambda ev: len(ev) >= 2)
    assert names(events) == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_resumes_from_a_resource_version_and_accepts_capital_true(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    start = http.ok(http.get(path))["metadata"]["resourceVersion"]
    http.ok(http.post(path, {"metadata": {"name": "x"}}), 201)
    http.ok(http.patch(f"{path}/x", {"data": {"a": "1"}}))
    http.ok(http.delete(f"{path}/x"))
    events: list[dict] = []
    with http.session.get(http.base + path, params={"watch": "True", "resourceVersion": start,
                                                    "timeoutSeconds": 10}, stream=True, timeout=30) as stream:
        for line in stream.iter_lines():
            events.append(json.loads(line))
            if len(events) == 3:
                break
    assert names(events) == [("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(start)


def test_live_changes_reach_the_watcher_in_order(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    rv = http.ok(http.get(path))["metadata"]["resourceVersion"]
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": 10}
    # the server subscribes before it sends the response headers, so writes after this line are seen live
    with http.session.get(http.base + path, params=params, stream=True, timeout=30) as stream:
        writer = threading.Thread(target=lambda: [
            http.ok(http.post(path, {"metadata": {"name": f"live-{i}"}}), 201) for i in range(5)])
        writer.start()
        events = []
        for line in stream.iter_lines():
            events.append(json.loads(line))
            if len(events) == 5:
                break
        writer.join(10)
    assert names(events) == [("ADDED", f"live-{i}") for i in range(5)]


def test_label_change_turns_modified_into_added_and_deleted(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    rv = http.ok(http.get(path))["metadata"]["resourceVersion"]
    http.ok(http.post(path, {"metadata": {"name": "m", "labels": {"pick": "no"}}}), 201)
    http.ok(http.patch(f"{path}/m", {"metadata": {"labels": {"pick": "yes"}}}))
    http.ok(http.patch(f"{path}/m", {"data": {"a": "1"}}))
    http.ok(http.patch(f"{path}/m", {"metadata": {"labels": {"pick": "no"}}}))
    events = collect(http, path, lambda ev: len(ev) >= 3, resourceVersion=rv, labelSelector="pick=yes")
    assert names(events) == [("ADDED", "m"), ("MODIFIED", "m"), ("DELETED", "m")]


def test_timeout_seconds_ends_the_stream(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    rv = http.ok(http.get(path))["metadata"]["resourceVersion"]
    events = list(http.watch(path, resourceVersion=rv, timeoutSeconds=1))
    assert events == []  # the generator returned: the server closed the stream


def test_bookmarks_carry_the_current_resource_version(own_sandbox: Callable[..., Sandbox]) -> None:
    http = Http(own_sandbox("--bookmark-interval", "0.1"))
    path = "/api/v1/namespaces/default/configmaps"
    rv = http.ok(http.get(path))["metadata"]["resourceVersion"]
    http.ok(http.post(path, {"metadata": {"name": "b"}}), 201)
    events = collect(http, path, lambda ev: any(e["type"] == "BOOKMARK" for e in ev), resourceVersion=rv,
                     allowWatchBookmarks="true")
    bookmark = next(e for e in events if e["type"] == "BOOKMARK")
    assert bookmark["object"]["kind"] == "ConfigMap"
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= int(events[0]["object"]["metadata"][
        "resourceVersion"])


def test_send_initial_events_ends_with_an_annotated_bookmark(http: Http, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    http.ok(http.post(path, {"metadata": {"name": "i"}}), 201)
    events = collect(http, path, lambda ev: ev[-1]["type"] == "BOOKMARK", sendInitialEvents="true",
                     resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true")
    assert names(events)[0] == ("ADDED", "i")
    assert events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_too_old_resource_version_is_410_gone(own_sandbox: Callable[..., Sandbox]) -> None:
    http = Http(own_sandbox("--history-size", "5"))
    path = "/api/v1/namespaces/default/configmaps"
    old = http.ok(http.get(path))["metadata"]["resourceVersion"]
    for i in range(8):
        http.ok(http.post(path, {"metadata": {"name": f"c{i}"}}), 201)
    events = collect(http, path, lambda ev: True, resourceVersion=old)
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
    fresh = http.ok(http.get(path))["metadata"]["resourceVersion"]
    http.ok(http.post(path, {"metadata": {"name": "after"}}), 201)
    resumed = collect(http, path, lambda ev: True, resourceVersion=fresh)
    assert names(resumed) == [("ADDED", "after")]


def registered_watchers(http: Http) -> int:
    text = http.get("/metrics").text
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("apiserver_registered_watchers")))


def test_a_client_that_hangs_up_is_unsubscribed(own_sandbox: Callable[..., Sandbox]) -> None:
    http = Http(own_sandbox())
    before = registered_watchers(http)
    streams = [http.session.get(http.base + "/api/v1/namespaces/default/configmaps",
                                params={"watch": "true", "resourceVersion": "1", "timeoutSeconds": 600},
                                stream=True, timeout=30) for _ in range(5)]
    assert registered_watchers(http) == before + 5
    for stream in streams:
        stream.close()  # an unfinished streamed response: requests drops the connection
    # a metric polled with a deadline: there is no event for "the server noticed"
    wait_for(lambda: registered_watchers(http) == before, 10,
             what="the watchers of closed connections unregistered")
