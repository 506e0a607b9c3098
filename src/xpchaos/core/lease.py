"""One fault at a time per target: a ``coordination.k8s.io/v1`` Lease held while a fault can be in place.

``xpchaos run``, plain ``chaos run`` (the ``xpchaos-safety`` control), ``xpchaos gate --target`` and ``xpchaos
gameday`` take it before their first change and release it after the last rollback (``hold``). Taking it is a
create (409 when someone holds it) or, when the holder stopped renewing for longer than the lease duration, an
update at the resourceVersion read (409 when another run took it first). A second run is told who holds it and
since when, and changes nothing. The create is ``api_retry.create_or_adopt``'s: when an earlier attempt was applied
though its answer was lost, the 409 finds this run's own holder there, and the lease is ours.

Runs nested in a holder (a game day's experiments, a gate's scenarios in its pytest process, the safety control of
an experiment ``xpchaos run`` runs) do not refuse themselves: the holder puts ``namespace/name=identity`` in
``$XPCHAOS_LEASE`` while it holds the lease, which its threads and child processes inherit; a run that finds the
lease held by the identity it inherited joins it (neither renews nor releases it). The lease is deleted at the end;
one left by a killed run expires by itself.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from xpchaos.core import api_retry, kube
from xpchaos.core.errors import InputError, XpchaosError
from xpchaos.core.target import Target

logger = logging.getLogger("xpchaos.lease")
DURATION = 60  # seconds without renewal after which a lease counts as abandoned
RENEW_EVERY = 20.0
HOLDER_ENV = "XPCHAOS_LEASE"  # "namespace/name=identity" of the lease this process or a parent holds


class LeaseHeld(XpchaosError, RuntimeError):
    """Another run holds the target's lease; the message says who and since when."""


class LeaseRefused(InputError):
    """``hold``'s refusal: one line naming the command, the holder and since when; exit code 2, nothing changed."""


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


def inherited(namespace: str, name: str) -> str | None:
    """The identity a holder of this lease (this process or a parent) passed down, if any."""
    key, _, identity = os.environ.get(HOLDER_ENV, "").partition("=")
    return (identity or None) if key == f"{namespace}/{name}" else None


def _when(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


@dataclass
class Lease:
    api: client.ApiClient
    namespace: str
    name: str
    identity: str
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None
    joined: bool = False  # held by the run this one is nested in: not ours to renew or release
    _passed_down: str | None = None  # $XPCHAOS_LEASE before we set it

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

    def _holder(self) -> str | None:
        try:
            return str(self._coord.read_namespaced_lease(self.name, self.namespace).spec.holder_identity or "")
        except ApiException as exc:
            if exc.status != 404:
                raise
            return None

    def acquire(self) -> Lease:
        """Take the lease or raise ``LeaseHeld``; then keep renewing it until ``release``. Joins it instead when
        the run this one is nested in holds it."""
        if inherited(self.namespace, self.name) == self.identity and self._holder() == self.identity:
            self.joined = True
            return self
        try:
            api_retry.create_or_adopt(
                lambda: self._coord.create_namespaced_lease(self.namespace, self._body(_now())),
                lambda: self._coord.read_namespaced_lease(self.name, self.namespace),
                lambda found: found.spec.holder_identity == self.identity,
                f"taking the Lease {self.namespace}/{self.name}")
        except ApiException as exc:
            if exc.status != 409:
                raise
            self._take_over()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="xpchaos-lease", daemon=True)
        self._thread.start()
        self._passed_down = os.environ.get(HOLDER_ENV)
        os.environ[HOLDER_ENV] = f"{self.namespace}/{self.name}={self.identity}"
        return self

    def _take_over(self) -> None:
        current = self._coord.read_namespaced_lease(self.name, self.namespace)
        spec = current.spec
        renewed = _parse(spec.renew_time.isoformat() if isinstance(spec.renew_time, dt.datetime)
                         else spec.renew_time)
        duration = spec.lease_duration_seconds or DURATION
        if renewed is not None and (_now() - renewed).total_seconds() < duration:
            since = _when(spec.acquire_time)
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
        if self.joined:
            return
        if self._stop is not None:
            self._stop.set()
        if self._passed_down is None:
            os.environ.pop(HOLDER_ENV, None)
        else:
            os.environ[HOLDER_ENV] = self._passed_down
        try:
            current = self._coord.read_namespaced_lease(self.name, self.namespace)
            if current.spec.holder_identity == self.identity:
                api_retry.delete_or_gone(lambda: self._coord.delete_namespaced_lease(self.name, self.namespace),
                                         f"releasing the Lease {self.namespace}/{self.name}")
        except ApiException as exc:
            if exc.status != 404:
                raise


    def end(self) -> None:
        """Release (unless joined) and close the client; a release that fails is a warning: the lease expires
        ``DURATION`` s after its last renewal, and the run's outcome stands."""
        try:
            self.release()
        except (ApiException, HTTPError, OSError) as exc:
            logger.warning("could not release the lease %s/%s (%s); it expires %d s after its last renewal",
                           self.namespace, self.name, type(exc).__name__, DURATION)
        finally:
            self.api.close()


def _gone(identity: str) -> bool:
    """Whether ``user@host:pid`` names a process of this machine that no longer runs (a killed run's)."""
    host, _, pid = identity.rpartition("@")[2].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's run: only its expiry tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it runs, as another user
    return False


def release_abandoned(api: client.ApiClient, target: Target) -> str | None:
    """Delete the target's Lease when its holder is a process of this machine that is gone (``xpchaos restore``
    after a killed run), and say so; a live or another machine's holder is only named (it expires by itself)."""
    name, namespace = lease_name(target), target.safety.lease_namespace
    coord: Any = client.CoordinationV1Api(api)
    try:
        current = coord.read_namespaced_lease(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    holder = str(current.spec.holder_identity or "")
    if _gone(holder):
        api_retry.delete_or_gone(lambda: coord.delete_namespaced_lease(name, namespace),
                                 f"releasing the Lease {namespace}/{name}")
        return f"released the Lease {namespace}/{name} of {holder} (that process is gone)"
    return (f"the Lease {namespace}/{name} is held by {holder}, renewed {_when(current.spec.renew_time)}; "
            f"it expires {DURATION} s after its last renewal")


def for_target(api: client.ApiClient, target: Target) -> Lease:
    """The target's lease, as this run would hold it: under the identity inherited from a holder this run is nested
    in, else its own."""
    namespace, name = target.safety.lease_namespace, lease_name(target)
    return Lease(api, namespace, name, inherited(namespace, name) or holder_identity())


def take(target: Target, command: str) -> Lease:
    """Take the target's lease on a client of its own (joined when a holder this run is nested in has it); ``end``
    releases it and closes the client. ``LeaseRefused``, one line naming the holder and since when, before anything
    changed, when another run holds it or the cluster cannot be asked."""
    api = kube.client_for(target)
    try:
        return for_target(api, target).acquire()
    except LeaseHeld as exc:
        api.close()
        raise LeaseRefused(f"{command}: {exc}") from None
    except (ApiException, HTTPError, OSError) as exc:  # e.g. the cluster does not answer
        api.close()
        raise LeaseRefused(f"{command}: {target.path}: cannot take the lease {held_name(target)} "
                           f"({type(exc).__name__}); nothing was changed") from None


@contextmanager
def hold(target: Target, command: str) -> Iterator[Lease]:
    """``take`` for the block, ``end`` after it."""
    held = take(target, command)
    try:
        yield held
    finally:
        held.end()


def held_name(target: Target) -> str:
    return f"{target.safety.lease_namespace}/{lease_name(target)}"
