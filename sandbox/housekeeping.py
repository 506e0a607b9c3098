"""What a real cluster's background loops would do to stored objects: Events expire after their TTL.

kube-apiserver stores each Event under an etcd lease of ``--event-ttl`` taken when the Event is written (created
or updated), so an Event lives that long after its last write, whatever timestamps its body carries (a client may
post an Event whose ``lastTimestamp`` is a year old). The sweep does the same: it notes when it first saw each
Event at its current resourceVersion, and removes those not written again within the TTL.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from .cluster import Cluster

EVENTS_KEY = ("", "events")
MAX_SWEEP_INTERVAL = 30.0  # seconds; shorter TTLs sweep more often (a quarter of the TTL)


class EventExpiry:
    """Removes Events not written within ``ttl`` of the sweep that first saw their current version."""

    def __init__(self, cluster: Cluster, ttl: timedelta) -> None:
        self.cluster = cluster
        self.ttl = ttl.total_seconds()
        self._written: dict[tuple[str, str], tuple[str, float]] = {}  # (namespace, name) -> (resourceVersion, seen)

    def sweep(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        seen: dict[tuple[str, str], tuple[str, float]] = {}
        expired = []
        for event in self.cluster.store.items(EVENTS_KEY):
            meta = event["metadata"]
            key, rv = (meta.get("namespace", ""), meta["name"]), meta.get("resourceVersion", "")
            previous = self._written.get(key)
            written = previous[1] if previous and previous[0] == rv else now
            if now - written >= self.ttl:
                expired.append(event)
            else:
                seen[key] = (rv, written)
        for event in expired:
            self.cluster.store.remove(EVENTS_KEY, event)
        self._written = seen
        return len(expired)


async def run(cluster: Cluster, event_ttl: timedelta) -> None:
    expiry = EventExpiry(cluster, event_ttl)
    every = min(MAX_SWEEP_INTERVAL, expiry.ttl / 4)
    while True:
        await asyncio.sleep(every)  # a periodic sweep, like the lease's expiry; nothing waits on it
        expiry.sweep()
