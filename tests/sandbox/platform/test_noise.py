"""Other teams' noise: namespaces, Running pods, and Event writes at the configured rate, measured the way a
watcher pays for them (ADDED and MODIFIED events on a watch over every namespace, over a window)."""

from __future__ import annotations

import time

from kubernetes import watch

from tests.sandbox.platform.platforms import Platform

WINDOW = 3.0  # seconds the rate is measured over
TOLERANCE = 0.25  # the writer catches up every 20 ms; the watch start and the window's edges blur the count


def test_noise_namespaces_and_pods(realistic: Platform) -> None:
    noise = realistic.truth["noise"]
    assert noise["eventsPerSecond"] == 200 and len(noise["namespaces"]) == 8
    for namespace in noise["namespaces"]:
        pods = realistic.core.list_namespaced_pod(namespace).items
        assert len(pods) == 5 and {p.status.phase for p in pods} == {"Running"}


def test_events_arrive_at_the_configured_rate(realistic: Platform) -> None:
    namespaces = set(realistic.truth["noise"]["namespaces"])
    rv = realistic.core.list_event_for_all_namespaces(limit=1).metadata.resource_version
    stream = watch.Watch()
    counted, started = 0, time.monotonic()
    for event in stream.stream(realistic.core.list_event_for_all_namespaces, resource_version=rv,
                               timeout_seconds=int(WINDOW) + 5):
        if time.monotonic() - started >= WINDOW:
            break
        if event["type"] in ("ADDED", "MODIFIED") and event["object"].metadata.namespace in namespaces:
            counted += 1
    stream.stop()
    rate = counted / WINDOW
    expected = realistic.truth["noise"]["eventsPerSecond"]
    assert abs(rate - expected) <= expected * TOLERANCE, f"{rate:.0f} Events/s, configured {expected}"
