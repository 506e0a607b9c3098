"""Other teams on the same cluster: their namespaces, pods and a steady stream of Events, so what watching the
platform costs can be measured where it is paid, on a busy cluster.

``eventsPerSecond`` counts Event writes (a new Event, or a repeat counted on an existing one, as client-go's
recorder aggregates them): what a watch on Events receives as ADDED and MODIFIED. The Events kept per run are
bounded (``eventsKept``): past it the oldest is deleted, standing in for the API server's one-hour Event TTL,
which at these rates would otherwise keep hundreds of thousands.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from typing import Any

from ..cluster import Cluster
from ..lifecycle import now
from ..patching import MERGE_PATCH
from .kinds import rtype
from .layout import suffix
from .spec import NoiseSpec

TEAMS = ("checkout", "search", "billing", "analytics", "identity", "inventory", "messaging", "reporting",
         "recommendations", "notifications", "shipping", "catalog")
REASONS = (("Normal", "Scheduled", "Successfully assigned {pod} to node"), ("Normal", "Pulled",
           "Container image \"{image}\" already present on machine"), ("Normal", "Created", "Created container app"),
           ("Normal", "Started", "Started container app"), ("Warning", "BackOff",
           "Back-off restarting failed container app in pod {pod}"), ("Warning", "Unhealthy",
           "Readiness probe failed: HTTP probe failed with statuscode: 503"))
REGISTRY = "registry.example.test"
TICK = 0.02  # seconds between bursts: 200 Events/s arrive as 4 every 20 ms


def namespaces(spec: NoiseSpec) -> list[str]:
    return [f"{TEAMS[i % len(TEAMS)]}-prod" + (f"-{i // len(TEAMS) + 1}" if i >= len(TEAMS) else "")
            for i in range(spec.namespaces)]


def populate(cluster: Cluster, spec: NoiseSpec) -> dict[str, list[str]]:
    """Create the namespaces and their Running pods; returns namespace -> pod names."""
    ns_type, pod_type = rtype(cluster, "", "v1", "namespaces"), rtype(cluster, "", "v1", "pods")
    out: dict[str, list[str]] = {}
    for index, namespace in enumerate(namespaces(spec)):
        app = TEAMS[index % len(TEAMS)]
        if cluster.store.get(("", "namespaces"), "", namespace) is None:  # a platform's own may share the name
            cluster.create(ns_type, "", {"metadata": {"name": namespace, "labels": {"team": app}}})
        out[namespace] = []
        for i in range(spec.pods_per_namespace):
            name = f"{app}-7f9c{index:02d}b6d4-{suffix()}"
            image = f"{REGISTRY}/{app}:1.{i}.0"
            pod = cluster.create(pod_type, namespace, {"metadata": {"name": name, "labels": {"app": app}},
                                                       "spec": {"containers": [{"name": "app", "image": image}]}})
            cluster.patch(pod_type, namespace, name, MERGE_PATCH, {"status": {
                "phase": "Running", "podIP": f"10.244.{index % 3}.{100 + i}",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "started": True,
                                       "image": image, "imageID": f"{image}@sha256:{'0' * 64}",
                                       "state": {"running": {"startedAt": pod["metadata"]["creationTimestamp"]}}}]}},
                subresource="status")
            out[namespace].append(name)
    return out


class EventNoise:
    """Writes ``rate`` Events per second over the noise namespaces, half new, half repeats."""

    def __init__(self, cluster: Cluster, pods: dict[str, list[str]], rate: float, kept: int) -> None:
        self.cluster, self.rate = cluster, rate
        # without pods, Events are about the namespaces themselves
        self.targets = [(ns, pod) for ns, names in pods.items() for pod in names] or [(ns, "") for ns in pods]
        self.kept: deque[tuple[str, str]] = deque()
        self.limit = kept
        self.events = rtype(cluster, "", "v1", "events")
        self.written = 0
        self.random = random.Random()

    async def run(self) -> None:
        started = time.monotonic()
        while True:
            due = int((time.monotonic() - started) * self.rate) - self.written
            for _ in range(max(0, due)):
                self._write()
            await asyncio.sleep(TICK)

    def _write(self) -> None:
        self.written += 1
        if self.kept and self.random.random() < 0.5:
            namespace, name = self.kept[self.random.randrange(len(self.kept))]
            current = self.cluster.store.get(("", "events"), namespace, name)
            if current is not None:
                self.cluster.patch(self.events, namespace, name, MERGE_PATCH,
                                   {"count": int(current.get("count") or 1) + 1, "lastTimestamp": now()})
                return
        namespace, pod = self.targets[self.written % len(self.targets)]
        etype, reason, text = REASONS[self.written % len(REASONS)]
        name = f"{pod or namespace}.{time.time_ns():x}"
        stamp = now()
        self.cluster.create(self.events, namespace, {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ({"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": namespace} if pod else
                               {"apiVersion": "v1", "kind": "Namespace", "name": namespace}),
            "reason": reason, "message": text.format(pod=pod, image=f"{REGISTRY}/{namespace.split('-')[0]}:1.0.0"),
            "type": etype, "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "kubelet", "host": "node"}, "reportingComponent": "kubelet"})
        self.kept.append((namespace, name))
        while len(self.kept) > self.limit:
            old_ns, old_name = self.kept.popleft()
            current = self.cluster.store.get(("", "events"), old_ns, old_name)
            if current is not None:
                self.cluster.delete(self.events, old_ns, old_name)

    def describe(self) -> dict[str, Any]:
        return {"eventsPerSecond": self.rate, "namespaces": sorted({ns for ns, _ in self.targets})}
