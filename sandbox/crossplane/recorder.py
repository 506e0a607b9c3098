"""Kubernetes Events as client-go's recorder writes them, with its aggregation of repeats.

Repeats of the same (object, type, reason, message, source) update one Event: ``count`` + 1 and a new
``lastTimestamp`` (a MODIFIED watch event), as client-go's EventCorrelator does. Events about cluster-scoped
objects go to namespace ``default``.
"""

from __future__ import annotations

import time
from typing import Any

from ..cluster import Cluster
from ..lifecycle import now
from ..patching import MERGE_PATCH

AGGREGATE_WINDOW = 600.0  # client-go: repeats within 10 minutes are counted on one Event


class Recorder:
    def __init__(self, cluster: Cluster, host: str = "xpchaos-sandbox") -> None:
        self.cluster = cluster
        self.host = host
        self.events = cluster.registry.get("", "v1", "events")
        self._seen: dict[tuple[str, ...], tuple[str, str, float]] = {}  # key -> (namespace, name, first seen)

    def event(self, obj: dict[str, Any], etype: str, reason: str, message: str, component: str) -> None:
        assert self.events is not None
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), etype, reason, message, component)
        stamp = now()
        seen = self._seen.get(key)
        if seen and time.monotonic() - seen[2] < AGGREGATE_WINDOW:
            current = self.cluster.store.get(("", "events"), seen[0], seen[1])
            if current is not None:
                patch = {"count": int(current.get("count") or 1) + 1, "lastTimestamp": stamp}
                self.cluster.patch(self.events, seen[0], seen[1], MERGE_PATCH, patch)
                return
        name = f"{meta['name']}.{time.time_ns():x}"
        body = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
                               "name": meta["name"], "uid": meta.get("uid", ""),
                               "resourceVersion": meta.get("resourceVersion", ""),
                               **({"namespace": meta["namespace"]} if meta.get("namespace") else {})},
            "reason": reason, "message": message, "type": etype, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": component, "host": self.host},
            "reportingComponent": component, "reportingInstance": self.host,
        }
        self.cluster.create(self.events, namespace, body)
        self._seen[key] = (namespace, name, time.monotonic())
