"""Stop conditions of a game day, checked before every step and continuously while a fault is in place.

- the emergency-stop ConfigMap named in the target exists (anyone can create it to stop a game day at once);
- more XRs outside the experiment's blast radius (XRs of the target's kinds that are not the target's own) are
  not Ready than the target allows.

``Monitor`` looks every second in a thread; when a condition trips it interrupts the main thread, so the running
experiment stops and its rollbacks run at once, and ``reason`` says why.
"""

from __future__ import annotations

import _thread
import threading
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core.target import Target

INTERVAL = 1.0


def _emergency_stop(api: client.ApiClient, target: Target) -> str | None:
    ns, name = target.safety.emergency_stop_namespace, target.safety.emergency_stop_name
    try:
        client.CoreV1Api(api).read_namespaced_config_map(name, ns, _request_timeout=(5, 10))
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return f"emergency stop: the ConfigMap {ns}/{name} exists (delete it to allow runs again)"


def _not_ready(obj: dict[str, Any]) -> bool:
    conds = (obj.get("status") or {}).get("conditions") or []
    return not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def unhealthy_outside(api: client.ApiClient, target: Target) -> list[str]:
    """XRs of the target's kinds, other than the target's own, that are not Ready."""
    mine = {(c.namespace or None, c.name) for c in target.composites}
    kinds = {(c.group, c.version, c.plural) for c in target.composites}
    custom: Any = client.CustomObjectsApi(api)
    found = []
    for group, version, plural in sorted(kinds):
        listed = custom.list_cluster_custom_object(group, version, plural, _request_timeout=(5, 10))
        for obj in listed.get("items", []):
            meta = obj.get("metadata") or {}
            if (meta.get("namespace") or None, meta.get("name")) not in mine and _not_ready(obj):
                where = f"{meta['namespace']}/" if meta.get("namespace") else ""
                found.append(f"{plural}/{where}{meta['name']}")
    return found


def check(api: client.ApiClient, target: Target) -> str | None:
    """Why the game day must stop now, or None."""
    reason = _emergency_stop(api, target)
    if reason:
        return reason
    bad = unhealthy_outside(api, target)
    if len(bad) > target.safety.max_unhealthy_xrs:
        return (f"{len(bad)} XR(s) outside the blast radius are not Ready ({', '.join(bad[:5])}); the target allows "
                f"{target.safety.max_unhealthy_xrs}")
    return None


class Monitor:
    """Checks the stop conditions every second while a step runs; trips by interrupting the main thread."""

    def __init__(self, api: client.ApiClient, target: Target, interval: float = INTERVAL) -> None:
        self.api, self.target, self.interval = api, target, interval
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="xpchaos-stop-conditions", daemon=True)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                reason = check(self.api, self.target)
            except (ApiException, OSError):
                continue  # the API blinking is not a reason to stop; the run's own probes will say error
            if reason and not self._stop.is_set():
                self.reason = reason
                _thread.interrupt_main()  # as Ctrl-C: the experiment stops and its rollbacks run
                return
