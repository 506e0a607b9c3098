"""Stop conditions of a game day, checked before every step and continuously while a fault is in place.

- the emergency-stop ConfigMap named in the target exists (anyone can create it to stop a game day at once);
- more XRs outside the experiment's blast radius are not Ready than the target allows (``maxUnhealthyXRs``). The
  XRs looked at are those of the target's kinds (a claim stands for the kind of the XR it is bound to) and of the
  blast radius; those the fault reaches (``xpchaos.run.blast_radius``) are expected to fail over and are not
  counted, listed or not. Without a blast radius (tagged scenarios, whose faults are not known beforehand) the
  target's own XRs are left out instead.

``Monitor`` looks every second in a thread; when a condition trips it interrupts the main thread, so the running
experiment stops and its rollbacks run at once, and ``reason`` says why.
"""

from __future__ import annotations

import _thread
import threading
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import platform_graph as graph
from xpchaos.core.target import Target
from xpchaos.run.blast_radius import BlastRadius, listed_composites

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


class Scope:
    """Which XRs the stop condition looks at and which it leaves out; worked out once per step (claims resolved)."""

    def __init__(self, api: client.ApiClient, target: Target, radii: list[BlastRadius] | None = None) -> None:
        self.kinds: set[tuple[str, str, str]] = set()  # group, version, plural
        self.spared: set[tuple[str, str | None, str]] = \
            {c.key for r in radii for c in r.composites} if radii is not None else listed_composites(api, target)
        for api_version, kind in self._xr_kinds(api, target, radii or []):
            try:
                ref = graph.ref_to(api, api_version, kind, "x")
            except graph.WalkError:
                continue
            self.kinds.add((ref.group, ref.version, ref.plural))

    @staticmethod
    def _xr_kinds(api: client.ApiClient, target: Target, radii: list[BlastRadius]) -> set[tuple[str, str]]:
        """(apiVersion, kind) of the target's XRs (a claim's bound XR) and of the blast radius's."""
        out = {(c.api_version, c.kind) for r in radii for c in r.composites if c.kind}
        for ref in target.composites:
            try:
                xr, _obj = graph.composite(api, ref)
            except (graph.WalkError, ApiException):
                out.add((ref.api_version, ref.kind))
                continue
            out.add((xr.api_version, xr.kind))
        return out


def unhealthy_outside(api: client.ApiClient, target: Target, scope: Scope | None = None) -> list[str]:
    """XRs outside the blast radius (without one: other than the target's own) that are not Ready."""
    scope = scope or Scope(api, target)
    custom: Any = client.CustomObjectsApi(api)
    found = []
    for group, version, plural in sorted(scope.kinds):
        listed = custom.list_cluster_custom_object(group, version, plural, _request_timeout=(5, 10))
        for obj in listed.get("items", []):
            meta = obj.get("metadata") or {}
            where_it_is = (meta.get("namespace") or None, meta.get("name"))
            # an XR known only by its MRs' crossplane.io/composite label has no kind in the radius
            spared = {(obj.get("kind"), *where_it_is), ("", *where_it_is)} & scope.spared
            if not spared and _not_ready(obj):
                where = f"{meta['namespace']}/" if meta.get("namespace") else ""
                found.append(f"{plural}/{where}{meta['name']}")
    return found


def check(api: client.ApiClient, target: Target, scope: Scope | None = None) -> str | None:
    """Why the game day must stop now, or None."""
    reason = _emergency_stop(api, target)
    if reason:
        return reason
    bad = unhealthy_outside(api, target, scope)
    if len(bad) > target.safety.max_unhealthy_xrs:
        return (f"{len(bad)} XR(s) outside the blast radius are not Ready ({', '.join(bad[:5])}); the target allows "
                f"{target.safety.max_unhealthy_xrs}")
    return None


class Monitor:
    """Checks the stop conditions every second while a step runs; trips by interrupting the main thread."""

    def __init__(self, api: client.ApiClient, target: Target, interval: float = INTERVAL,
                 scope: Scope | None = None) -> None:
        self.api, self.target, self.interval = api, target, interval
        self.scope = scope or Scope(api, target)
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
                reason = check(self.api, self.target, self.scope)
            except (ApiException, OSError):
                continue  # the API blinking is not a reason to stop; the run's own probes will say error
            if reason and not self._stop.is_set():
                self.reason = reason
                _thread.interrupt_main()  # as Ctrl-C: the experiment stops and its rollbacks run
                return
