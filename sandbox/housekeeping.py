"""What a real cluster's background loops would do to stored objects: Events expire after their TTL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from .cluster import Cluster

EVENTS_KEY = ("", "events")


def expire_events(cluster: Cluster, ttl: timedelta) -> int:
    """Remove events not updated within ``ttl`` (the API server's --event-ttl, 1h by default)."""
    cutoff = (datetime.now(UTC) - ttl).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = []
    for event in cluster.store.items(EVENTS_KEY):
        stamp = (event.get("lastTimestamp") or event.get("eventTime") or
                 event["metadata"].get("creationTimestamp") or "")
        if stamp[:20] < cutoff:
            expired.append(event)
    for event in expired:
        cluster.store.remove(EVENTS_KEY, event)
    return len(expired)


async def run(cluster: Cluster, event_ttl: timedelta, every: float = 30.0) -> None:
    while True:
        await asyncio.sleep(every)  # a periodic sweep, like the real TTL; nothing waits on it
        expire_events(cluster, event_ttl)
