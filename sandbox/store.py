"""In-memory object storage with one global, monotonic resourceVersion and a bounded watch history.

Objects are kept per (group, plural) whatever version they are served in. Every change gets the next
resourceVersion and is appended to a bounded history (the "watch cache"), so watchers can resume from a
resourceVersion; one older than the history answers 410 Gone, as a real API server does.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

StorageKey = tuple[str, str]  # (group, plural)
ObjectKey = tuple[str, str]  # (namespace or "", name)


@dataclass(frozen=True)
class Change:
    """One committed change, as watchers see it."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    storage_key: StorageKey
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass(eq=False)
class Watcher:
    """A watch stream's subscription. ``accepts`` filters by namespace and selectors."""

    storage_key: StorageKey
    accepts: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue[Change] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    overflowed: bool = False

    def offer(self, change: Change) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            # a watcher that cannot keep up is closed; it resumes from its last resourceVersion
            self.overflowed = True


def object_key(obj: dict[str, Any]) -> ObjectKey:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


class Store:
    def __init__(self, history_size: int = 10_000) -> None:
        self.rv = 1
        self._objects: dict[StorageKey, dict[ObjectKey, dict[str, Any]]] = {}
        self._history: deque[Change] = deque(maxlen=history_size)
        self._watchers: dict[StorageKey, set[Watcher]] = {}

    # reading -------------------------------------------------------------------------------------------
    def get(self, storage_key: StorageKey, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(storage_key, {}).get((namespace, name))

    def items(self, storage_key: StorageKey, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Objects in (namespace, name) order; ``namespace=None`` means all namespaces."""
        bucket = self._objects.get(storage_key, {})
        for key in sorted(bucket):
            if namespace is None or key[0] == namespace:
                yield bucket[key]

    def count(self, storage_key: StorageKey, namespace: str | None = None) -> int:
        bucket = self._objects.get(storage_key, {})
        if namespace is None:
            return len(bucket)
        return sum(1 for ns, _ in bucket if ns == namespace)

    def storage_keys(self) -> list[StorageKey]:
        return list(self._objects)

    # writing -------------------------------------------------------------------------------------------
    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def put(self, storage_key: StorageKey, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (ADDED or MODIFIED) under a new resourceVersion and tell the watchers."""
        bucket = self._objects.setdefault(storage_key, {})
        key = object_key(obj)
        old = bucket.get(key)
        obj["metadata"]["resourceVersion"] = self.next_rv()
        bucket[key] = obj
        self._publish(Change(self.rv, "MODIFIED" if old else "ADDED", storage_key, obj, old))
        return obj

    def remove(self, storage_key: StorageKey, obj: dict[str, Any]) -> dict[str, Any]:
        """Remove ``obj`` for good; watchers get DELETED with a new resourceVersion."""
        bucket = self._objects.get(storage_key, {})
        old = bucket.pop(object_key(obj), None)
        if old is None:
            raise ApiError(404, f'{storage_key[1]} "{obj["metadata"]["name"]}" not found')
        final = copy.deepcopy(old)
        final["metadata"]["resourceVersion"] = self.next_rv()
        self._publish(Change(self.rv, "DELETED", storage_key, final, old))
        if not bucket:
            self._objects.pop(storage_key, None)
        return final

    def drop_storage(self, storage_key: StorageKey) -> list[dict[str, Any]]:
        """Remove every object of a kind (its CRD went away)."""
        return [self.remove(storage_key, obj) for obj in list(self.items(storage_key))]

    # watching ------------------------------------------------------------------------------------------
    def _publish(self, change: Change) -> None:
        self._history.append(change)
        for watcher in self._watchers.get(change.storage_key, ()):
            watcher.offer(change)

    def subscribe(self, watcher: Watcher, since_rv: int | None) -> list[Change]:
        """Register ``watcher``; return the changes after ``since_rv`` it missed (410 if too old)."""
        backlog: list[Change] = []
        if since_rv is not None and since_rv < self.rv:
            oldest = self._history[0].rv if self._history else self.rv + 1
            if since_rv < oldest - 1:
                raise ApiError(410, f"too old resource version: {since_rv} ({oldest - 1})", reason="Expired")
            for change in reversed(self._history):  # newest first: stop where the watcher left off
                if change.rv <= since_rv:
                    break
                if change.storage_key == watcher.storage_key:
                    backlog.append(change)
            backlog.reverse()
        self._watchers.setdefault(watcher.storage_key, set()).add(watcher)
        return backlog

    def unsubscribe(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.storage_key)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.storage_key]

    @property
    def watcher_count(self) -> int:
        return sum(len(w) for w in self._watchers.values())
