"""How a simulated controller waits: on its own per-object timers (polls, backoff) or on a watched change."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from ..cluster import Cluster
from ..store import Change, StorageKey, Watcher


class Scheduler:
    def __init__(self, cluster: Cluster, kinds: list[StorageKey]) -> None:
        self.cluster = cluster
        self.queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=100_000)
        self.watchers = [Watcher(kind, lambda _obj: True, self.queue) for kind in dict.fromkeys(kinds)]
        for watcher in self.watchers:
            cluster.store.subscribe(watcher, None)
        self.due: dict[Any, float] = {}

    def at(self, key: Any, delay: float) -> None:
        self.due[key] = time.monotonic() + delay

    def soonest(self, key: Any, delay: float) -> None:
        """Reconcile ``key`` after ``delay`` unless it is already due sooner."""
        at = time.monotonic() + delay
        if key not in self.due or self.due[key] > at:
            self.due[key] = at

    async def wait(self) -> tuple[list[Any], list[Change]]:
        """Block until something is due or a watched change arrives; return (due keys, changes)."""
        changes: list[Change] = []
        timeout = max(0.0, min(self.due.values(), default=time.monotonic() + 3600) - time.monotonic())
        # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancel that races a finished get()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                changes.append(await self.queue.get())
        while not self.queue.empty():
            changes.append(self.queue.get_nowait())
        now = time.monotonic()
        ready = [key for key, at in self.due.items() if at <= now]
        for key in ready:
            del self.due[key]
        return ready, changes

    def close(self) -> None:
        for watcher in self.watchers:
            self.cluster.store.unsubscribe(watcher)
