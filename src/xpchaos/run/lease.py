"""One run at a time per target: a ``coordination.k8s.io/v1`` Lease held for the whole run and renewed meanwhile.

Taking it is a create (409 when someone holds it) or, when the holder stopped renewing for longer than the lease
duration, an update at the resourceVersion read (409 when another run took it first). A second run is told who
holds it and since when. The lease is deleted at the end; one left by a killed run expires by itself.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core.errors import XpchaosError
from xpchaos.core.target import Target

DURATION = 60  # seconds without renewal after which a lease counts as abandoned
RENEW_EVERY = 20.0


class LeaseHeld(XpchaosError, RuntimeError):
    """Another run holds the target's lease; the message says who and since when."""


def holder_identity() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def lease_name(target: Target) -> str:
    return target.safety.lease_name or f"xpchaos-{target.name}"[:63]


@dataclass
class Lease:
    api: client.ApiClient
    namespace: str
    name: str
    identity: str
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    @property
    def _coord(self) -> Any:
        return client.CoordinationV1Api(self.api)

    def _body(self, acquired: dt.datetime, rv: str | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace,
                                "labels": {"app.kubernetes.io/managed-by": "xpchaos"}}
        if rv:
            meta["resourceVersion"] = rv
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": DURATION,
                         "acquireTime": _stamp(acquired), "renewTime": _stamp(_now())}}

    def acquire(self) -> Lease:
        """Take the lease or raise ``LeaseHeld``; then keep renewing it until ``release``."""
        try:
            self._coord.create_namespaced_lease(self.namespace, self._body(_now()))
        except ApiException as exc:
            if exc.status != 409:
                raise
            self._take_over()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="xpchaos-lease", daemon=True)
        self._thread.start()
        return self

    def _take_over(self) -> None:
        current = self._coord.read_namespaced_lease(self.name, self.namespace)
        spec = current.spec
        renewed = _parse(spec.renew_time.isoformat() if isinstance(spec.renew_time, dt.datetime)
                         else spec.renew_time)
        duration = spec.lease_duration_seconds or DURATION
        if renewed is not None and (_now() - renewed).total_seconds() < duration:
            since = spec.acquire_time.isoformat() if isinstance(spec.acquire_time, dt.datetime) else spec.acquire_time
            raise LeaseHeld(f"another run holds the lease {self.namespace}/{self.name}: {spec.holder_identity}, "
                            f"since {since} (renewed {(_now() - renewed).total_seconds():.0f} s ago); "
                            "nothing was changed")
        try:  # abandoned: take it at the version read, so two takers cannot both win
            self._coord.replace_namespaced_lease(self.name, self.namespace,
                                                 self._body(_now(), current.metadata.resource_version))
        except ApiException as exc:
            if exc.status == 409:
                raise LeaseHeld(f"another run took the abandoned lease {self.namespace}/{self.name} first; "
                                "nothing was changed") from None
            raise

    def _renew(self) -> None:
        assert self._stop is not None
        while not self._stop.wait(RENEW_EVERY):
            try:
                self._coord.patch_namespaced_lease(self.name, self.namespace,
                                                   {"spec": {"renewTime": _stamp(_now())}})
            except (ApiException, OSError):
                continue  # the next renewal tries again; the lease lasts DURATION seconds

    def release(self) -> None:
        if self._stop is not None:
            self._stop.set()
        try:
            current = self._coord.read_namespaced_lease(self.name, self.namespace)
            if current.spec.holder_identity == self.identity:
                self._coord.delete_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise


def for_target(api: client.ApiClient, target: Target) -> Lease:
    return Lease(api, target.safety.lease_namespace, lease_name(target), holder_identity())
