"""Events expire ``--event-ttl`` after their last write, as kube-apiserver's etcd lease does, whatever timestamps
their bodies carry (a real cluster keeps an Event posted with a year-old ``lastTimestamp`` for the whole TTL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for

TTL = 4  # seconds; the sandbox sweeps every TTL / 4


def event(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "involvedObject": {"kind": "Pod", "name": "victim"}, "reason": "Killing",
            "type": "Normal", "message": "stopping", "count": 1,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}  # long past


def exists(core: Any, name: str) -> bool:
    try:
        core.read_namespaced_event(name, "default")
        return True
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise


def test_an_event_lives_the_ttl_from_its_last_write(own_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = own_sandbox("--event-ttl", str(TTL))
    core: Any = client.CoreV1Api(config.new_client_from_config(config_file=sandbox.kubeconfig))
    core.create_namespaced_event("default", event("first"))
    time.sleep(TTL / 2)  # spaces the two writes half a TTL apart: the thing under test is their distance
    core.create_namespaced_event("default", event("second"))
    wait_for(lambda: not exists(core, "first"), timeout=3 * TTL, what="the first Event to expire")
    assert exists(core, "second"), "an Event written half a TTL later expired with the first one"
    wait_for(lambda: not exists(core, "second"), timeout=3 * TTL, what="the second Event to expire")


def test_a_write_renews_the_ttl(own_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = own_sandbox("--event-ttl", str(TTL))
    core: Any = client.CoreV1Api(config.new_client_from_config(config_file=sandbox.kubeconfig))
    core.create_namespaced_event("default", event("kept"))
    core.create_namespaced_event("default", event("left"))
    # keep writing "kept" (as a kubelet bumps an Event's count) until "left", written at the same time, expires
    count = 1
    while exists(core, "left"):
        count += 1
        core.patch_namespaced_event("kept", "default", {"count": count})
        time.sleep(TTL / 8)  # the pace of the writes, not a wait for a condition
        assert count < 8 * 3 * TTL, "the untouched Event never expired"
    assert exists(core, "kept"), f"an Event written {count - 1} times since expired with the untouched one"
