"""A test-side recorder: watches (official kubernetes client) feed a timeline that tests wait on.

Waiting is on a threading.Condition notified by each watch event, with a deadline; nothing sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, watch


@dataclass(frozen=True)
class Seen:
    at: float  # time.monotonic()
    kind: str
    name: str
    type: str  # ADDED/MODIFIED/DELETED
    obj: dict[str, Any]

    def condition(self, type_: str) -> tuple[str, str, str] | None:
        for cond in (self.obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == type_:
                return cond.get("status", ""), cond.get("reason", ""), cond.get("message", "")
        return None


@dataclass
class Observer:
    api: client.ApiClient
    seen: list[Seen] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stops: list[watch.Watch] = field(default_factory=list)
    stopping: bool = False

    def watch_custom(self, group: str, version: str, plural: str) -> None:
        custom = client.CustomObjectsApi(self.api)
        self._start(lambda **kw: custom.list_cluster_custom_object(group, version, plural, **kw), plural)

    def watch_events(self) -> None:
        core = client.CoreV1Api(self.api)
        self._start(lambda **kw: core.list_event_for_all_namespaces(**kw), "events", typed=True)

    def _start(self, lister: Callable[..., Any], kind: str, typed: bool = False) -> None:
        stream = watch.Watch()
        self.stops.append(stream)
        ready = threading.Event()

        def run() -> None:
            kwargs: dict[str, Any] = {"timeout_seconds": 120, "allow_watch_bookmarks": True}
            try:
                for event in stream.stream(lister, **kwargs):
                    ready.set()
                    obj = event["raw_object"] if typed else event["object"]
                    if event["type"] == "BOOKMARK":
                        continue
                    with self.changed:
                        self.seen.append(Seen(time.monotonic(), kind, obj["metadata"]["name"], event["type"], obj))
                        self.changed.notify_all()
            except Exception:
                if not self.stopping:  # the sandbox going away at teardown ends the stream; anything else is news
                    raise
            finally:
                ready.set()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)  # the initial ADDED events prove the watch is live

    def wait(self, predicate: Callable[[list[Seen]], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                result = predicate(self.seen)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
                self.changed.wait(left)

    def first(self, kind: str, name: str, check: Callable[[Seen], bool], after: float = 0.0) -> Seen | None:
        return next((s for s in self.seen if s.kind == kind and s.name == name and s.at >= after and check(s)), None)

    def stop(self) -> None:
        self.stopping = True
        for stream in self.stops:
            stream.stop()


def condition_is(type_: str, status: str, reason: str | None = None) -> Callable[[Seen], bool]:
    def check(seen: Seen) -> bool:
        cond = seen.condition(type_)
        return cond is not None and cond[0] == status and (reason is None or cond[1] == reason)

    return check
