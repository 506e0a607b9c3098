"""The TimelineRecorder: watches (official ``kubernetes`` client) and a DNS sampler feeding one Timeline.

One thread per watched resource: every composite kind named by the Target and every kind of managed resource its
composites compose (only those objects are recorded), and per such kind the Events about them (the API server
selects the kind and apiVersion, the recorder the objects it keeps: other teams' Events never reach the timeline).
A composite's serving side (``signals.xr_serving``, e.g. ``status.failover.activeProvider``) is recorded as a
``serving`` entry whenever it changes. The composed resources are
resolved from the composites' refs when the recorder starts (``composed.resolve``; the resolution goes on the
timeline as ``composed`` entries) and followed while it runs: an MR labelled as composed by one of the XRs that
appears, or a resolved one that goes, makes the recorder resolve that composite again. MRs the Target lists must be
among those resolved, else the recorder cannot judge (``problem``). Each thread lists once, then watches from the
list's resourceVersion
with bookmarks; a stream that ends is resumed from the last resourceVersion seen (objects or bookmarks); a
410 Gone re-lists and records only what really changed against what it knew; connection errors are retried
with tenacity's exponential backoff and recorded as ``error`` entries. ``stop()`` closes the streams.

A stream that stays open but silent (a half-open connection behind a replaced load balancer or API server: no
event, no bookmark, no end) is *stalled*: the watch's read timeout (``stall_after`` seconds, longer than the API
server's bookmark interval) ends it, an ``error`` entry with status ``stalled`` goes on the timeline, the stall is
counted (``api_retry.count("watch stall")``, in the journal's ``xpchaos-api`` entry) and the watch resumes from the
last resourceVersion, which delivers what the stall held back. A stall not yet timed out when a verdict is due is
found by ``behind``: a watched condition that changed on the server after the stream last heard anything.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import urllib3
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from tenacity import Retrying, retry_if_exception

from xpchaos.core import api_retry, kube, platform_graph
from xpchaos.core.errors import InputError
from xpchaos.core.target import ObjectRef, Target

from . import composed, expectations
from . import timeline as tl
from .dns_sampler import DnsSampler

WATCH_TIMEOUT = 240  # seconds a watch request lasts before it is resumed from its resourceVersion
LIST_TIMEOUT = (5, 30)  # connect, read
# A watch's client-side read timeout: the server ends the request after timeoutSeconds, so a stream silent for
# longer than that plus this slack is stalled (a half-open connection, an API server replaced): it is resumed.
WATCH_READ_SLACK = 15
# With allowWatchBookmarks the API server's watch cache sends a bookmark at least every minute (and 2 s before
# timeoutSeconds), so a healthy stream is never silent longer than that; silent for WATCH_STALL seconds (the
# read timeout between two bytes), it is stalled. $XPCHAOS_WATCH_STALL sets it for a cluster that bookmarks more
# often (the sandbox: --bookmark-interval) or not at all.
WATCH_STALL = 75.0
STALL_ENV = "XPCHAOS_WATCH_STALL"
CLOCK_SLACK = 2  # seconds the cluster's clock may be behind ours when a re-list reads lastTransitionTimes
# ``behind``: a change the server holds this long without the stream having delivered it (or anything after it) is
# held back, not on its way; a stream that flows delivers in milliseconds
BEHIND_GRACE = 3.0
BEHIND_TIMEOUT = (2, 5)  # connect, read: the check runs while a verdict waits


class _RawWatch(watch.Watch):
    """A Watch that hands back the JSON dicts as they came (no model deserialisation)."""

    def get_return_type(self, func: Callable[..., Any]) -> Any:
        return None


@dataclass
class _Stream:
    """One watched resource: how to list it, which objects to keep, and what is known about them."""

    label: str  # the plural.group, or events/plural.group for the Events about that kind's objects
    kind: str  # "events" or the plural
    lister: Callable[..., Any]
    wanted: Callable[[dict[str, Any]], bool]
    managed: bool = False  # a kind of managed resource: its objects may be composed anew while the run goes on
    about: tuple[str, str] = ("", "")  # events: the (apiVersion, plural) of the objects they are about
    rv: str | None = None
    known: dict[tuple[str | None, str], Any] = field(default_factory=dict)
    # the lastTransitionTime of each condition as delivered, per (object, type): what ``behind`` compares
    transitions: dict[tuple[tuple[str | None, str], str], str] = field(default_factory=dict)
    synced: bool = False
    heard: float = 0.0  # time.time() of the last list, event or bookmark: what the stream knew up to
    relisting_since: float | None = None  # a 410 ended the watch; the re-list covers the gap from then
    failures: int = 0
    stalls: int = 0
    last_error: str = ""
    watch: _RawWatch | None = None
    thread: threading.Thread | None = None


class TimelineRecorder:
    def __init__(self, target: Target, timeline: tl.Timeline | None = None, api: client.ApiClient | None = None,
                 dns: bool = True, dns_interval: float = 0.1, watch_timeout: int = WATCH_TIMEOUT,
                 composer: composed.Composer = platform_graph.composed, stall_after: float | None = None) -> None:
        self.target = target
        self.stall_after = stall_after if stall_after is not None else stall_default()
        self._behind: tuple[float, str | None] | None = None  # (when, what) of the last check, for a second
        self.timeline = timeline or tl.Timeline()
        self._api = api
        self._stopping = threading.Event()
        self._watch_timeout = watch_timeout
        self._streams: list[_Stream] = []
        self._composer = composer
        self._resolver: client.ApiClient | None = None  # the client the composed resources are read with
        self._resolving: threading.Thread | None = None
        self._streams_lock = threading.Lock()
        self.resolution = composed.Resolution()
        self.resolved = False
        self.problem: str | None = None  # why the composed resources cannot be judged (not found, a mismatch)
        self._resolve_error = ""  # the last error of a resolution that is retried
        self._resolve_failures = 0
        self._names: dict[tuple[str, str, str], set[tuple[str | None, str]]] = {}  # per MR kind: objects kept
        self._xr_names: dict[tuple[str | None, str], str] = {}  # (namespace, XR name) -> the composite's label
        self._following = threading.Lock()
        self._serving_field = expectations.serving_field(target)  # where an XR names its serving side, if anywhere
        self._serving: dict[tuple[str | None, str], str] = {}  # per XR: the side it names
        self.dns = DnsSampler(target.dns, self.timeline, dns_interval) if dns and target.dns else None

    # lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> TimelineRecorder:
        if self._api is None:
            try:
                self._api = kube.api_client(self.target.kubeconfig, self.target.context)
            except Exception as exc:  # a kubeconfig that cannot be used is "could not observe"
                self.timeline.add(tl.RECORDER, tl.ERROR, kind="kubeconfig", message=f"{type(exc).__name__}: {exc}")
                self._streams = []
                if self.dns:
                    self.dns.start()
                return self
        self._resolver = _bounded(self._api)
        self._streams = self._new_streams(self.target.composites, managed=False)
        for stream in self._streams:
            self._start_stream(stream)
        self._resolving = threading.Thread(target=self._resolve, name="xpchaos-composed", daemon=True)
        self._resolving.start()
        if self.dns:
            self.dns.start()
        return self

    def _start_stream(self, stream: _Stream) -> None:
        stream.thread = threading.Thread(target=self._run, args=(stream,), name=f"xpchaos-watch-{stream.label}",
                                         daemon=True)
        stream.thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every watch and the DNS sampler; returns within about ``timeout`` seconds."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        if self.dns:
            self.dns.signal_stop()  # both wind down at once
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            while stream.thread is not None and stream.thread.is_alive() and time.monotonic() < deadline:
                if stream.watch is not None:
                    stream.watch.stop()  # shuts the socket down: the blocked read returns
                stream.thread.join(0.05)
        if self._resolving is not None:
            self._resolving.join(max(0.0, deadline - time.monotonic()))
        if self.dns:
            self.dns.stop(max(0.0, deadline - time.monotonic()))

    def running_threads(self) -> list[str]:
        """The watch and DNS threads still alive: none once ``stop`` has done its job."""
        with self._streams_lock:
            threads = [s.thread for s in self._streams if s.thread is not None]
        threads += [self._resolving] if self._resolving is not None else []
        threads += self.dns.threads() if self.dns else []
        return [t.name for t in threads if t.is_alive()]

    def __enter__(self) -> TimelineRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_synced(self, timeout: float) -> bool:
        """True once the composed resources are resolved, every watch has listed its objects (and the DNS sampler
        answered once per nameserver)."""
        def ready(entries: list[tl.Entry]) -> bool:
            return self.synced
        return bool(self.timeline.wait_for(ready, time.monotonic() + timeout))

    @property
    def synced(self) -> bool:
        # resolution first: it adds the managed resources' streams before it says resolved, so the streams read
        # after it include them (read the other way round, new unsynced streams could slip in between)
        resolved = self.resolved or self.problem is not None
        with self._streams_lock:
            k8s = bool(self._streams) and all(s.synced for s in self._streams)
        return resolved and k8s and (self.dns is None or self.dns.synced)

    @property
    def errors(self) -> dict[str, str]:
        """The current error of every watch that is not connected (empty when all are)."""
        return {s.label: s.last_error for s in self._streams if s.last_error}

    def unobservable(self, strict: bool = False) -> str | None:
        """Why the cluster cannot be observed right now, or None: no watch at all (unusable kubeconfig), a watch
        that never connected and has an error, or one failing repeatedly; composed resources that cannot be
        resolved, or not those the Target lists. ``strict`` (a deadline has passed): also a watch not connected
        yet or currently disconnected, and composed resources not resolved yet."""
        if not self._streams:
            errors = [e for e in self.timeline.entries() if e.source == tl.RECORDER and e.what == tl.ERROR]
            return errors[-1].message if errors else "the recorder has not been started"
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            if stream.last_error and (strict or not stream.synced or stream.failures >= 3):
                return f"watch {stream.label}: {stream.last_error}"
            if strict and not stream.synced:
                return f"watch {stream.label}: not connected yet"
        if self.problem:
            return self.problem
        if not self.resolved and self._resolve_error and (strict or self._resolve_failures >= 3):
            return f"composed resources: {self._resolve_error}"
        if not self.resolved and strict:
            return "composed resources: not resolved yet"
        return self.behind() if strict else None

    def behind(self) -> str | None:
        """Why a watch may be holding changes back, or None: listed now, a kept object has a condition whose
        lastTransitionTime is not the one its stream delivered (a transition, or two, it has not seen) although it
        is at least ``BEHIND_GRACE`` seconds old, and the stream has heard nothing (no event, no bookmark) for as
        long. A stream that flows delivers a change in milliseconds, so it is stalled and its read timeout has not
        fired yet. Asked at a
        deadline, before a step is called missed (and answered from the last check for a second, as the composites
        of one run are judged together). Events are not checked: the steps follow the conditions."""
        now = time.monotonic()
        if self._behind is not None and now - self._behind[0] < 1.0:
            return self._behind[1]
        with self._streams_lock:
            streams = [s for s in self._streams if s.kind != "events" and s.synced]
        found = next((why for why in map(self._held_back, streams) if why), None)
        self._behind = (now, found)
        return found

    def _held_back(self, stream: _Stream) -> str | None:
        heard = stream.heard
        try:
            response = stream.lister(_preload_content=False, _request_timeout=BEHIND_TIMEOUT)
            try:
                items = json.loads(response.data).get("items") or []
            finally:
                response.release_conn()
        except Exception as exc:
            return f"watch {stream.label}: could not compare it with the API server: {_describe(exc)}"
        now = time.time()
        if now - heard < BEHIND_GRACE:
            return None
        for obj in filter(stream.wanted, items):
            for cond in (obj.get("status") or {}).get("conditions") or []:
                stamp = cond.get("lastTransitionTime")
                changed = _epoch(stamp)
                if stamp != stream.transitions.get((_key(obj), cond.get("type"))) and changed <= now - BEHIND_GRACE:
                    return (f"watch {stream.label}: silent for {now - heard:.1f} s, though {_key(obj)[1]}'s "
                            f"{cond.get('type')} changed {now - changed:.0f} s ago (stalled)")
        return None

    # the watched resources ----------------------------------------------------------------------------------
    def _resolve(self) -> None:
        """Resolve every composite's composed resources (retried with backoff until it works or the recorder
        stops), put them on the timeline, check the Target's own list, then watch their kinds."""
        assert self._resolver is not None and self._api is not None
        while not self._stopping.is_set():
            try:
                composed.resolve(self._resolver, self.target, self._composer, into=self.resolution)
                break
            except InputError as exc:  # a composite that does not exist or is none: no retry will help
                self.problem = f"could not resolve the composed resources: {exc}"
                self.timeline.add(tl.RECORDER, tl.ERROR, kind="composed", message=self.problem)
                return
            except Exception as exc:
                self._resolve_failures += 1
                api_retry.count("resolve composed")
                text = _describe(exc)
                if text != self._resolve_error:
                    self._resolve_error = text
                    self.timeline.add(tl.RECORDER, tl.ERROR, kind="composed", message=f"composed resources: {text}")
                self._stopping.wait(min(5.0, 0.1 * 2 ** (self._resolve_failures - 1)) * random.uniform(0.8, 1.2))
        if self._stopping.is_set():
            return
        for fields in self.resolution.as_entries():
            self.timeline.add(tl.RECORDER, tl.RESOLVED, initial=True, **fields)
        self.problem = self.resolution.mismatch(self.target)
        if self.problem:
            self.timeline.add(tl.RECORDER, tl.ERROR, kind="composed", message=self.problem)
        listed = [m for p in self.target.providers.values() for m in p.managed]
        with self._streams_lock:
            if self._stopping.is_set():
                return
            added = self._new_streams([*self.resolution.refs(), *listed], managed=True)
            self._streams += added
            for stream in added:
                self._start_stream(stream)
        self.resolved, self._resolve_error = True, ""
        self.timeline.notify()

    def _new_streams(self, refs: list[ObjectRef] | tuple[ObjectRef, ...], managed: bool) -> list[_Stream]:
        """Keep the objects ``refs`` name; for each kind not watched yet, a stream of its objects and one of the
        Events about them."""
        custom = client.CustomObjectsApi(self._api)
        streams = []
        for ref in refs:
            kind = (ref.group, ref.version, ref.plural)
            if kind not in self._names:
                names: set[tuple[str | None, str]] = set()
                self._names[kind] = names

                def lister(_g: str = ref.group, _v: str = ref.version, _p: str = ref.plural, **kw: Any) -> Any:
                    return custom.list_cluster_custom_object(_g, _v, _p, **kw)

                def wanted(obj: dict[str, Any], _names: set[tuple[str | None, str]] = names) -> bool:
                    return _key(obj) in _names

                streams.append(_Stream(f"{ref.plural}.{ref.group}", ref.plural, lister, wanted, managed=managed))
                streams.append(self._event_stream(ref, names))
            self._names[kind].add((ref.namespace, ref.name))
        return sorted(streams, key=lambda stream: stream.label)

    def _event_stream(self, ref: ObjectRef, names: set[tuple[str | None, str]]) -> _Stream:
        """The Events about the kept objects of ``ref``'s kind: the API server selects the kind and apiVersion
        (core/v1 Events' field selectors; other teams' Events never reach the recorder), the recorder the names
        (a field selector holds one name, and the kept objects change while the run goes on)."""
        selector = f"involvedObject.apiVersion={ref.api_version},involvedObject.kind={ref.kind}"
        events = client.CoreV1Api(self._api).list_event_for_all_namespaces

        def lister(**kw: Any) -> Any:
            return events(field_selector=selector, **kw)

        def about(obj: dict[str, Any]) -> bool:
            involved = obj.get("involvedObject") or obj.get("regarding") or {}
            return (involved.get("namespace") or None, involved.get("name", "")) in names

        return _Stream(f"events/{ref.plural}.{ref.group}", "events", lister, about,
                       about=(ref.api_version, ref.plural))

    def _unwanted(self, stream: _Stream, etype: str, obj: dict[str, Any], initial: bool = False) -> None:
        """An object of a managed kind the recorder does not keep: if it is labelled as composed by the XR of one
        of the Target's composites, that composite is resolved again, and the object kept if it is now composed."""
        if not stream.managed:
            return
        meta = obj.get("metadata") or {}
        xr = (meta.get("labels") or {}).get(composed.COMPOSITE_LABEL)
        owner = self._xr_names.get((meta.get("namespace") or None, xr)) if xr else None
        if owner is not None and self._follow(owner) and stream.wanted(obj):
            self._apply(stream, etype, obj, initial=initial)

    def _follow(self, composite: str) -> bool:
        """Resolve ``composite`` again and record what changed; True when something did."""
        ref = self.resolution.composites.get(composite)
        if ref is None or self._resolver is None:
            return False
        with self._following:
            try:
                refs = self._composer(self._resolver, ref)
            except Exception as exc:
                self.timeline.add(tl.RECORDER, tl.ERROR, kind="composed", name=composite,
                                  message=f"could not resolve {ref.describe()} again: {_describe(exc)}")
                return False
            added, removed = self.resolution.replace(self.target, composite, refs)
            for change, mrs in (("added", added), ("removed", removed)):
                for mr in mrs:
                    provider = composed.provider_of(self.target, mr) or ""
                    self.timeline.add(tl.RECORDER, tl.RESOLVED, **composed.entry(ref, composite, provider, mr, change))
                    names = self._names.get((mr.group, mr.version, mr.plural))
                    if names is None:  # a kind none of the composites composed when the run began
                        self.timeline.add(tl.RECORDER, tl.ERROR, kind="composed", name=composite,
                                          message=f"{ref.describe()} now composes {mr.kind} {mr.plural}.{mr.group}, "
                                                  "a kind the recorder does not watch")
                    elif change == "added":
                        names.add((mr.namespace, mr.name))
            return bool(added or removed)

    def _learn(self, stream: _Stream, obj: dict[str, Any]) -> None:
        """Note which XR a kept MR's label names, so that MRs composed anew for it are recognised."""
        meta = obj.get("metadata") or {}
        xr = str((meta.get("labels") or {}).get(composed.COMPOSITE_LABEL) or "")
        owner = self.resolution.owner((stream.kind, *_key(obj))) if xr and stream.managed else None
        if owner is not None:
            self._xr_names[(meta.get("namespace") or None, xr)] = owner

    # one thread per stream ----------------------------------------------------------------------------------
    def _run(self, stream: _Stream) -> None:
        def retryable(exc: BaseException) -> bool:
            return not self._stopping.is_set()

        def wait(state: Any) -> float:
            return min(5.0, 0.1 * 2 ** max(stream.failures - 1, 0)) * random.uniform(0.8, 1.2)

        def before_sleep(state: Any) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self._failed(stream, exc)

        def sleep(seconds: float) -> None:
            self._stopping.wait(seconds)  # stop() interrupts the backoff

        retrying = Retrying(retry=retry_if_exception(retryable), wait=wait, sleep=sleep, before_sleep=before_sleep,
                            reraise=False, stop=lambda state: self._stopping.is_set())
        try:
            for attempt in retrying:
                with attempt:
                    self._session(stream)
        except Exception:  # stopping (RetryError) or an error after stop: nothing left to report
            pass

    def _failed(self, stream: _Stream, exc: BaseException | None) -> None:
        if self._stopping.is_set() or exc is None:
            return
        stream.failures += 1
        api_retry.count("watch reconnect")
        text = _describe(exc)
        if text != stream.last_error:  # errors are entries of their own, once per distinct error
            stream.last_error = text
            self.timeline.add(tl.RECORDER, tl.ERROR, kind=stream.kind, name=stream.label, message=text)
        else:
            self.timeline.notify()

    def _session(self, stream: _Stream) -> None:
        """List if needed, then watch until the stream ends; returns normally only when stopping."""
        while not self._stopping.is_set():
            if stream.rv is None:
                self._list(stream)
            try:
                self._watch(stream)
            except ApiException as exc:
                if exc.status == 410:  # too old: re-list, record only the real differences
                    stream.relisting_since, stream.rv = stream.heard, None
                    continue
                raise
            except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.MaxRetryError) as exc:
                if not _read_timeout(exc) or self._stopping.is_set():
                    raise
                self._stalled(stream)  # then resumed at once from stream.rv: the server still has what was missed

    def _stalled(self, stream: _Stream) -> None:
        stream.stalls += 1
        api_retry.count("watch stall")
        text = (f"stalled: nothing received for {self.stall_after:g} s (no event, no bookmark); "
                f"resuming from resourceVersion {stream.rv}")
        stream.last_error = text  # until the resumed watch is answered (``_connected``)
        self.timeline.add(tl.RECORDER, tl.ERROR, kind=stream.kind, name=stream.label, status="stalled", message=text)

    def _list(self, stream: _Stream) -> None:
        response = stream.lister(_preload_content=False, _request_timeout=LIST_TIMEOUT)
        try:
            doc = json.loads(response.data)
        finally:
            response.release_conn()
        everything = doc.get("items") or []
        items = [o for o in everything if stream.wanted(o)]
        for obj in items:
            self._learn(stream, obj)
        if stream.relisting_since is not None:
            self._relisted(stream, items, stream.relisting_since)
            stream.relisting_since = None
        stream.heard = time.time()
        initial = not stream.synced
        present = set()
        for obj in items:
            present.add(_key(obj))
            self._apply(stream, "ADDED", obj, initial=initial)
        for key in [k for k in stream.known if k not in present]:
            self._gone(stream, key)
        if stream.synced:  # a re-list: MRs composed anew while the watch was away
            for obj in everything:
                if not stream.wanted(obj):
                    self._unwanted(stream, "ADDED", obj)
        stream.rv = (doc.get("metadata") or {}).get("resourceVersion") or None
        self._connected(stream)

    def _connected(self, stream: _Stream) -> None:
        first = not stream.synced
        stream.synced, stream.failures = True, 0
        if stream.last_error or first:
            stream.last_error = ""
            self.timeline.add(tl.RECORDER, tl.SYNCED, kind=stream.kind, name=stream.label)

    def _watch(self, stream: _Stream) -> None:
        stream.watch = _RawWatch()
        read = min(self.stall_after, self._watch_timeout + WATCH_READ_SLACK)  # between two bytes: see WATCH_STALL
        kwargs: dict[str, Any] = {"allow_watch_bookmarks": True, "timeout_seconds": self._watch_timeout,
                                  "_request_timeout": (LIST_TIMEOUT[0], read)}
        if stream.rv:
            kwargs["resource_version"] = stream.rv
        def connect(**kw: Any) -> Any:
            response = stream.lister(**kw)
            if 200 <= int(getattr(response, "status", 200)) < 300 and stream.last_error:
                self._connected(stream)  # reconnected, even if the resource stays quiet
            return response

        for event in stream.watch.stream(connect, **kwargs):
            if self._stopping.is_set():
                return
            obj = event.get("raw_object") or event.get("object") or {}
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if event["type"] != "BOOKMARK" and stream.wanted(obj):
                if event["type"] == "DELETED":
                    self._gone(stream, _key(obj))
                else:
                    self._learn(stream, obj)
                    self._apply(stream, event["type"], obj)
            elif event["type"] in ("ADDED", "MODIFIED"):
                self._unwanted(stream, event["type"], obj)
            if rv:
                stream.rv = rv
            stream.heard = time.time()

    def _relisted(self, stream: _Stream, items: list[dict[str, Any]], since: float) -> None:
        """The RELIST entry: ``blind`` when a condition changed while the stream was not watching (its
        lastTransitionTime, to the second, is not older than the last thing heard), so a change and its undoing
        may both have gone unseen; ``clear`` otherwise. Events are never lost by a re-list: they are still there."""
        horizon = int(since) - CLOCK_SLACK
        changed = sorted({(o.get("metadata") or {}).get("name", "") for o in items
                          for c in (o.get("status") or {}).get("conditions") or []
                          if stream.kind != "events" and _epoch(c.get("lastTransitionTime")) >= horizon})
        blind = "blind" if changed else "clear"
        detail = f"; conditions changed meanwhile on {', '.join(changed)}" if changed else ""
        self.timeline.add(tl.RECORDER, tl.RELIST, kind=stream.kind, name=stream.label, status=blind,
                          message=f"resourceVersion expired (410 Gone): re-listed{detail}")

    # turning objects into entries -------------------------------------------------------------------------------
    def _apply(self, stream: _Stream, etype: str, obj: dict[str, Any], initial: bool = False) -> None:
        if stream.kind == "events":
            self._event(stream, obj, initial)
        else:
            self._conditions(stream, obj, initial)

    def _event(self, stream: _Stream, obj: dict[str, Any], initial: bool) -> None:
        meta = obj.get("metadata") or {}
        key = _key(obj)
        count = int(obj.get("count") or (obj.get("series") or {}).get("count") or 1)
        seen = (count, obj.get("message") or obj.get("note") or "", obj.get("reason") or "")
        if stream.known.get(key) == seen:
            return  # a re-list or a resend: nothing new
        stream.known[key] = seen
        involved = obj.get("involvedObject") or obj.get("regarding") or {}
        about = {k: str(involved[k]) for k in ("apiVersion", "kind", "name", "namespace") if involved.get(k)}
        self.timeline.add(tl.K8S, tl.EVENT, kind="events", name=meta.get("name", ""),
                          namespace=meta.get("namespace"), initial=initial, type=obj.get("type") or "",
                          reason=seen[2], message=seen[1], count=count,
                          involved={**about, "plural": stream.about[1]} if stream.about[1] else about)

    def _conditions(self, stream: _Stream, obj: dict[str, Any], initial: bool) -> None:
        meta = obj.get("metadata") or {}
        key = _key(obj)
        before: dict[str, tuple[str, str, str]] = stream.known.get(key) or {}
        now: dict[str, tuple[str, str, str]] = {}
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type"):
                now[cond["type"]] = (str(cond.get("status", "")), cond.get("reason") or "", cond.get("message") or "")
                stream.transitions[(key, cond["type"])] = cond.get("lastTransitionTime")
        stream.known[key] = now
        if not stream.managed and self._serving_field:
            self._serving_side(stream, obj, initial)
        for ctype, state in now.items():
            if before.get(ctype) != state:
                self.timeline.add(tl.K8S, tl.CONDITION, kind=stream.kind, name=meta.get("name", ""),
                                  namespace=meta.get("namespace") or None, initial=initial, type=ctype,
                                  status=state[0], reason=state[1], message=state[2],
                                  previous=before[ctype][0] if ctype in before else None)

    def _serving_side(self, stream: _Stream, obj: dict[str, Any], initial: bool) -> None:
        """A composite's serving side (``signals.xr_serving``), as an entry whenever it changes: what ``promote``
        waits for, as the condition of the standby's MRs alone may hold before the fault (a warm standby)."""
        value: Any = obj
        for part in self._serving_field:
            value = value.get(part) if isinstance(value, dict) else None
        side, key = str(value) if value not in (None, "") else "", _key(obj)
        if side == self._serving.get(key, ""):
            return
        previous = self._serving.get(key)
        self._serving[key] = side
        self.timeline.add(tl.K8S, tl.SERVING, kind=stream.kind, name=key[1], namespace=key[0], initial=initial,
                          status=side, previous=previous, message=".".join(self._serving_field))

    def _gone(self, stream: _Stream, key: tuple[str | None, str]) -> None:
        known = stream.known.pop(key, None)
        if known is not None and stream.kind != "events":  # an expired Event is no news; a deleted XR or MR is
            self.timeline.add(tl.K8S, tl.GONE, kind=stream.kind, name=key[1], namespace=key[0])
        owner = self.resolution.owner((stream.kind, *key)) if stream.managed else None
        if owner is not None:  # a composed resource deleted: its composite's refs say what replaces it
            self._follow(owner)


def stall_default() -> float:
    """``$XPCHAOS_WATCH_STALL`` (seconds), else ``WATCH_STALL``."""
    text = os.environ.get(STALL_ENV)
    if not text:
        return WATCH_STALL
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"${STALL_ENV} {text!r}: expected the seconds of silence after which a watch is stalled, "
                         f"e.g. {WATCH_STALL:g}")
    return value


def _read_timeout(exc: BaseException) -> bool:
    """A read that timed out: during the stream, or waiting for the answer (urllib3 then wraps it once retried)."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        return isinstance(exc.reason, urllib3.exceptions.ReadTimeoutError)
    return isinstance(exc, urllib3.exceptions.ReadTimeoutError)


def _key(obj: dict[str, Any]) -> tuple[str | None, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or None, meta.get("name", "")


def _epoch(stamp: Any) -> float:
    """An RFC 3339 time as seconds since the epoch; 0 when absent or not one."""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class _Bounded:
    """A REST client that gives every request without a timeout one: the composed resources are read with
    ``xpchaos.core.platform_graph``, which sets none, and a cluster that accepts connections but never answers
    must not hold the resolution for good (``stop`` would wait on it)."""

    def __init__(self, inner: Any, timeout: tuple[float, float]) -> None:
        self._inner, self._timeout = inner, timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def request(self, method: str, url: str, headers: Any = None, body: Any = None, post_params: Any = None,
                _request_timeout: Any = None) -> Any:
        return self._inner.request(method, url, headers=headers, body=body, post_params=post_params,
                                   _request_timeout=_request_timeout or self._timeout)


def _bounded(api: client.ApiClient) -> client.ApiClient:
    """A copy of ``api`` (the same connections) whose requests all have a timeout (``_Bounded``)."""
    bounded = copy.copy(api)
    bounded.rest_client = _Bounded(api.rest_client, LIST_TIMEOUT)  # type: ignore[assignment]  # same interface
    return bounded


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"API error {exc.status}: {exc.reason}"
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, BaseException):
        return _describe(exc.reason)  # the cause, not the pool and URL around it
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


# the recorder of this process, for Chaos Toolkit controls and probes ---------------------------------------------
_ACTIVE: TimelineRecorder | None = None
_ACTIVE_LOCK = threading.Lock()


def start_recording(target: Target, **options: Any) -> TimelineRecorder:
    """Start the process's recorder (stopping a previous one)."""
    global _ACTIVE
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            _ACTIVE.stop()
        _ACTIVE = TimelineRecorder(target, **options).start()
        return _ACTIVE


def active() -> TimelineRecorder | None:
    return _ACTIVE


def stop_recording() -> TimelineRecorder | None:
    global _ACTIVE
    with _ACTIVE_LOCK:
        recorder, _ACTIVE = _ACTIVE, None
    if recorder is not None:
        recorder.stop()
    return recorder
