"""``--api-faults``: injected API errors, delays, cut, expired and stalled watches, seen through the official client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.support.paths import ROOT
from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for

AGENT = "xpchaos/0.0-test"  # what the harness sends; the faults below only hit this User-Agent
SEED = "7"
NS = "default"
Start = Callable[..., Sandbox]


def start(own_sandbox: Start, log: Path, spec: str, *extra: str) -> Sandbox:
    return own_sandbox("--api-faults", spec, "--api-faults-seed", SEED, "--api-faults-agent", "xpchaos/",
                       "--api-faults-log", str(log), *extra)


def api_client(sb: Sandbox, agent: str | None = AGENT) -> client.ApiClient:
    api = kubernetes.config.new_client_from_config(config_file=sb.kubeconfig)
    if agent is not None:
        api.user_agent = agent
    return api


def core(sb: Sandbox, agent: str | None = AGENT) -> client.CoreV1Api:
    return client.CoreV1Api(api_client(sb, agent))


def raw_get(api: client.ApiClient, path: str) -> tuple[int, bytes]:
    method, url, headers, body, _ = api.param_serialize("GET", path, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body)
    response.read()
    return response.status, response.data or b""


def logged(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def counters(sb: Sandbox) -> dict[str, int]:
    status, text = raw_get(api_client(sb, None), "/metrics")
    assert status == 200
    found = {}
    for line in text.decode().splitlines():
        if line.startswith("sandbox_injected_api_faults_total{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('"')[1]] = int(value)
    return found


def configmap(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"k": "v"}}


@pytest.mark.parametrize(("fault", "reason", "message"), [
    ("429", "TooManyRequests", "Too many requests, please try again later."),
    ("503", "ServiceUnavailable", "the server is currently unable to handle the request"),
    ("500", "InternalError", "Internal error occurred: injected by the sandbox (--api-faults)"),
])
def test_error_faults_answer_a_status_and_change_nothing(own_sandbox: Start, tmp_path: Path, fault: str,
                                                         reason: str, message: str) -> None:
    log = tmp_path / "faults.jsonl"
    sb = start(own_sandbox, log, f"{fault}=1.0", "--api-faults-retry-after", "3")
    # a POST: urllib3 never resends it, so the client sees the first answer (GETs: see the retry test below)
    with pytest.raises(ApiException) as refused:
        core(sb).create_namespaced_config_map(NS, configmap("refused"))
    assert refused.value.status == int(fault)
    body = json.loads(refused.value.body)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert (body["code"], body["reason"], body["message"]) == (int(fault), reason, message)
    headers = refused.value.headers or {}
    if fault == "500":
        assert "Retry-After" not in headers and "details" not in body
    else:
        assert headers["Retry-After"] == "3" and body["details"] == {"retryAfterSeconds": 3}
    # decided before the handler: nothing was created (a client the agent filter passes sees so)
    with pytest.raises(ApiException) as missing:
        core(sb, agent=None).read_namespaced_config_map("refused", NS)
    assert missing.value.status == 404
    [line] = logged(log)
    assert {k: line[k] for k in ("fault", "method", "path", "watch", "userAgent")} == {
        "fault": fault, "method": "POST", "path": f"/api/v1/namespaces/{NS}/configmaps", "watch": False,
        "userAgent": AGENT}
    assert "seconds" not in line and isinstance(line["time"], float)


def test_the_client_resends_a_get_answered_429_three_times_before_it_fails(own_sandbox: Start,
                                                                          tmp_path: Path) -> None:
    """urllib3's default Retry honours Retry-After on GETs: four requests reach the server for one call."""
    log = tmp_path / "faults.jsonl"
    sb = start(own_sandbox, log, "429=1.0", "--api-faults-retry-after", "0")
    with pytest.raises(ApiException) as refused:
        core(sb).list_namespaced_config_map(NS)
    assert refused.value.status == 429
    assert [(e["fault"], e["method"]) for e in logged(log)] == [("429", "GET")] * 4


def test_only_the_matching_user_agent_is_faulted(own_sandbox: Start, tmp_path: Path) -> None:
    log = tmp_path / "faults.jsonl"
    sb = start(own_sandbox, log, "500=1.0")
    plain = core(sb, agent=None)  # the client's own User-Agent, OpenAPI-Generator/...
    other = core(sb, agent="kubectl/v1.31.0 (linux/amd64)")
    plain.create_namespaced_config_map(NS, configmap("a"))
    other.create_namespaced_config_map(NS, configmap("b"))
    assert {c.metadata.name for c in plain.list_namespaced_config_map(NS).items} >= {"a", "b"}
    for call in (lambda: core(sb).list_namespaced_config_map(NS), lambda: core(sb).read_namespaced_config_map("a", NS),
                 lambda: core(sb).delete_namespaced_config_map("a", NS)):
        with pytest.raises(ApiException) as refused:
            call()
        assert refused.value.status == 500
    assert plain.read_namespaced_config_map("a", NS).metadata.name == "a"  # the DELETE changed nothing
    anonymous = api_client(sb)
    anonymous.configuration.api_key = {}  # no token: authentication comes first, the 401 is not a fault
    with pytest.raises(ApiException) as unauthorized:
        client.CoreV1Api(anonymous).list_namespaced_config_map(NS)
    assert unauthorized.value.status == 401
    assert [(e["method"], e["userAgent"]) for e in logged(log)] == [("GET", AGENT), ("GET", AGENT),
                                                                    ("DELETE", AGENT)]


def test_latency_delays_and_then_serves_the_request(own_sandbox: Start, tmp_path: Path) -> None:
    log = tmp_path / "faults.jsonl"
    sb = start(own_sandbox, log, "latency=1.0", "--api-faults-latency", "0.3:0.3")
    v1 = core(sb)
    created = v1.create_namespaced_config_map(NS, configmap("slow"))
    assert v1.read_namespaced_config_map("slow", NS).metadata.uid == created.metadata.uid
    assert [(e["fault"], e["method"], e["seconds"], e["watch"]) for e in logged(log)] == [
        ("latency", "POST", 0.3, False), ("latency", "GET", 0.3, False)]
    assert counters(sb)["latency"] == 2


def test_drop_watch_resets_the_stream_after_it_started(own_sandbox: Start, tmp_path: Path) -> None:
    log = tmp_path / "faults.jsonl"
    sb = start(own_sandbox, log, "drop-watch=1.0", "--api-faults-drop-after", "0.2")
    plain, v1 = core(sb, agent=None), core(sb)
    initial = [f"cm-{i}" for i in range(3)]
    for name in initial:
        plain.create_namespaced_config_map(NS, configmap(name))
    # a healthy watch would go on for its 30 s: every event received causes one more, up to `cap`
    cap, seen, ended = 2000, [], "cap"
    try:
        for event in watch.Watch().stream(v1.list_namespaced_config_map, NS, timeout_seconds=30):
            seen.append(event["object"].metadata.name)
            if len(seen) >= cap:
                break
            plain.create_namespaced_config_map(NS, configmap(f"live-{len(seen)}"))
        else:
            ended = "end"
    except urllib3.exceptions.ProtocolError:
        ended = "reset"
    assert ended in ("reset", "end") and len(seen) < cap
    assert seen == (initial + [f"live-{i}" for i in range(1, len(seen) - 2)])[:len(seen)]
    [line] = logged(log)
    assert (line["fault"], line["method"], line["path"], line["watch"]) == (
        "drop-watch", "GET", f"/api/v1/namespaces/{NS}/configmaps", True)
    assert 0.0 <= line["seconds"] <= 0.2
    assert counters(sb)["drop-watch"] == 1
    _, text = raw_get(api_client(sb, None), "/metrics")
    assert "apiserver_registered_watchers 0\n" in text.decode()  # the server let go of the cut watch


def test_gone_expires_a_watch_from_a_resource_version(own_sandbox: Start, tmp_path: Path) -> None:
    log = tmp_path / "faults.jsonl"
    sb = start(own_sandbox, log, "gone=1.0")
    plain, v1 = core(sb, agent=None), core(sb)
    plain.create_namespaced_config_map(NS, configmap("x"))
    rv = plain.list_namespaced_config_map(NS).metadata.resource_version

    # on the wire: 200, one ERROR event with the Status of an expired resourceVersion, end of stream
    response = v1.list_namespaced_config_map(NS, watch=True, resource_version=rv, timeout_seconds=30,
                                             _preload_content=False)
    assert response.status == 200
    [event] = [json.loads(line) for line in response.data.decode().splitlines()]
    assert event["type"] == "ERROR"
    status = event["object"]
    assert (status["kind"], status["status"], status["code"], status["reason"]) == ("Status", "Failure", 410,
                                                                                    "Expired")
    assert status["message"].startswith(f"too old resource version: {rv} (")

    # kubernetes.watch.Watch with timeout_seconds raises it as ApiException 410 ...
    with pytest.raises(ApiException) as expired:
        list(watch.Watch().stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=30))
    assert expired.value.status == 410 and expired.value.reason.startswith("Expired: too old resource version")
    # ... and without it, first re-watches once from the same resourceVersion
    with pytest.raises(ApiException) as again:
        list(watch.Watch().stream(v1.list_namespaced_config_map, NS, resource_version=rv))
    assert again.value.status == 410
    assert [e["fault"] for e in logged(log)] == ["gone"] * 4

    # a watch without a resourceVersion (initial list) is not eligible for gone
    stream = watch.Watch()
    for event in stream.stream(v1.list_namespaced_config_map, NS, timeout_seconds=30):
        assert (event["type"], event["object"].metadata.name) == ("ADDED", "x")
        stream.stop()
    assert counters(sb)["gone"] == 4 and len(logged(log)) == 4


def _registered_watchers(sb: Sandbox) -> int:
    _, text = raw_get(api_client(sb, None), "/metrics")
    line = next(x for x in text.decode().splitlines() if x.startswith("apiserver_registered_watchers "))
    return int(line.split()[1])


def test_stall_keeps_the_watch_open_and_sends_nothing_more(own_sandbox: Start, tmp_path: Path) -> None:
    """A half-open connection: the initial events come, then not one byte (no event, no bookmark, no end of the
    stream) although bookmarks are due every 0.2 s and an object changes; only the client's read timeout ends it.
    (Without ``_request_timeout`` the same watch would block for good, so the test never waits on one.)"""
    log = tmp_path / "faults.jsonl"
    sb = start(own_sandbox, log, "stall=1.0", "--api-faults-stall-after", "0", "--bookmark-interval", "0.2")
    plain, v1 = core(sb, agent=None), core(sb)
    plain.create_namespaced_config_map(NS, configmap("before"))

    # the same watch for a client the faults do not hit: bookmarks keep it well inside the read timeout until
    # the server ends it (so the read timeout below is a fair test of silence)
    heard = [e["type"] for e in watch.Watch().stream(plain.list_namespaced_config_map, NS, allow_watch_bookmarks=True,
                                                     timeout_seconds=1, _request_timeout=(5, 1.0))]
    assert heard[0] == "ADDED" and heard.count("BOOKMARK") >= 3, heard

    seen: list[tuple[str, str]] = []
    stalled = watch.Watch()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        for event in stalled.stream(v1.list_namespaced_config_map, NS, allow_watch_bookmarks=True, timeout_seconds=30,
                                    _request_timeout=(5, 1.0)):
            seen.append((event["type"], event["object"].metadata.name))
            plain.create_namespaced_config_map(NS, configmap("during"))  # never delivered
    assert seen == [("ADDED", "before")]
    [line] = logged(log)
    assert (line["fault"], line["method"], line["path"], line["watch"], line["seconds"]) == (
        "stall", "GET", f"/api/v1/namespaces/{NS}/configmaps", True, 0.0)
    assert counters(sb)["stall"] == 1
    # the client closed its end: the server lets go of the held connection
    wait_for(lambda: _registered_watchers(sb) == 0, 10, what="the server to let go of the stalled watch")


def test_discovery_version_and_health_are_never_faulted(own_sandbox: Start, tmp_path: Path) -> None:
    log = tmp_path / "faults.jsonl"
    every = ",".join(f"{name}=1.0" for name in ("latency", "500", "503", "429", "drop-watch", "gone", "stall"))
    sb = start(own_sandbox, log, every, "--api-faults-latency", "0:0")
    api = api_client(sb)
    # (not client.VersionApi: it asks for /version/, which the sandbox does not serve)
    assert json.loads(raw_get(api, "/version")[1])["gitVersion"]
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    assert client.ApisApi(api).get_api_versions().groups
    assert client.CoreV1Api(api).get_api_resources().resources
    assert client.AppsApi(api).get_api_group().name == "apps"
    assert client.AppsV1Api(api).get_api_resources().group_version == "apps/v1"
    for path in ("/api", "/apis", "/apis/apps", "/apis/apps/v1", "/version", "/openapi/v3", "/openapi/v3/api/v1",
                 "/healthz", "/readyz", "/livez", "/metrics"):
        assert raw_get(api, path)[0] == 200, path
    assert logged(log) == []
    # a resource request is eligible: all rates are 1.0, one roll, and latency comes first in the order
    assert client.CoreV1Api(api).list_namespaced_config_map(NS).items == []
    assert [(e["fault"], e["path"]) for e in logged(log)] == [("latency", f"/api/v1/namespaces/{NS}/configmaps")]


def test_the_log_and_the_metrics_agree_and_a_seed_repeats_the_rolls(own_sandbox: Start, tmp_path: Path) -> None:
    spec = "latency=0.2,500=0.2,503=0.2,429=0.2"
    outcomes: list[list[str]] = []
    for run in range(2):
        log = tmp_path / f"faults-{run}.jsonl"
        sb = start(own_sandbox, log, spec, "--api-faults-latency", "0:0")
        v1, results = core(sb), []
        for i in range(40):
            try:
                v1.create_namespaced_config_map(NS, configmap(f"c{i}"))
                results.append("201")
            except ApiException as refused:
                results.append(str(refused.status))
        outcomes.append(results)
        faults = Counter(e["fault"] for e in logged(log))
        assert faults == Counter({k: v for k, v in counters(sb).items() if v})
        # every error answer is one logged fault; the latency ones were served
        assert faults["500"] + faults["503"] + faults["429"] == sum(r != "201" for r in results)
        assert set(faults) >= {"500", "503", "429", "latency"}  # seed 7 happens to hit each of them
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(("flags", "problem"), [
    (["--api-faults", "bogus=2"], "--api-faults 'bogus=2': expected NAME=RATE with NAME one of latency, 500, 503, "
                                  "429, drop-watch, gone, stall, 504"),
    (["--api-faults", "504=1", "--api-faults-only", "create"],
     "--api-faults-only 'create': expected VERB:RESOURCE,..., e.g. create:leases"),
    (["--api-faults", "stall=1", "--api-faults-stall-after", "-1"],
     "--api-faults-stall-after '-1': expected a number of seconds >= 0"),
    (["--api-faults", "503=1.5"], "--api-faults '503=1.5': RATE is a probability between 0 and 1"),
    (["--api-faults", "latency=x"], "--api-faults 'latency=x': 'x' is not a number"),
    (["--api-faults", "latency=1", "--api-faults-latency", "0.5"],
     "--api-faults-latency '0.5': expected MIN:MAX in seconds, e.g. 0.05:0.5"),
    (["--api-faults", "latency=1", "--api-faults-latency", "2:1"], "--api-faults-latency '2:1': MIN is greater "
                                                                    "than MAX"),
])
def test_a_bad_value_stops_the_server_with_one_line(tmp_path: Path, flags: list[str], problem: str) -> None:
    state = tmp_path / "sb"
    result = subprocess.run([sys.executable, "-m", "xpchaos.sandbox", "serve", "--state-dir", str(state), *flags],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"sandbox: cannot start: {problem}"]
    assert not state.exists()  # refused before anything was written or bound
