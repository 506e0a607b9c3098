"""Benchmark 7: the TimelineRecorder over 500 XRs, 2,000 MRs and 20,000 Events - its memory and CPU.

A ``--profile none`` sandbox (no controllers: nothing changes unless the benchmark changes it). Two cluster-scoped
CRDs shaped like the sandbox's (an XR kind ``XBench`` and an MR kind ``BenchBucket``, status written with the object,
``Ready`` and ``Synced`` conditions; the XR kind's CRD owned by a CompositeResourceDefinition, each XR naming its
four MRs in ``spec.resourceRefs``, as the recorder resolves them), 500 XRs, 2,000 MRs and 20,000 core/v1 Events
are created over aiohttp. The
recorder selects objects by name (``probes/recorder.py`` ``_build_streams``: only the target's named objects), so
an in-memory Target (``xpchaos.core.target.parse``) names all 500 XRs as composites and the 2,000 MRs as the managed
resources of one provider; the DNS sampler is off (the Target has no ``dns``).

Memory is the benchmark process's RSS (psutil): before ``start()`` (everything else already imported and used,
``gc.collect()``), once every watch has synced, and after the flips; the peak is sampled every 20 ms. CPU is the
sum of the recorder's own threads (``xpchaos-watch-*``, psutil per-thread times by native id), for the initial
sync and for the flips: 4 rounds flipping ``Ready`` on 20 % of the objects (100 XRs, 400 MRs), 2,000 changes,
each one a timeline entry; the flips end when the timeline holds all of them.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from xpchaos.core import target as target_mod
from xpchaos.probes import timeline as tl
from xpchaos.probes.recorder import TimelineRecorder

from .common import MERGE_PATCH, Deadline, Endpoint, sandbox

GROUP = "bench.xpchaos.io"
N_XR, N_MR, N_EVENTS = 500, 2_000, 20_000
SHARE = 0.2
ROUNDS = 4
NS = "default"
XR_PATH = f"/apis/{GROUP}/v1/xbenches"
MR_PATH = f"/apis/{GROUP}/v1/benchbuckets"
EVENT_PATH = f"/api/v1/namespaces/{NS}/events"


def _crd(kind: str, plural: str, composite: bool = False) -> dict[str, Any]:
    """The CRD; an XR kind's is owned by a CompositeResourceDefinition, as Crossplane's are (the recorder resolves
    the composed resources only from composites)."""
    owner = [{"apiVersion": "apiextensions.crossplane.io/v1", "kind": "CompositeResourceDefinition",
              "name": f"{plural}.{GROUP}", "uid": "6d1c7a52-0000-4000-8000-000000000001", "controller": True}]
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", **({"ownerReferences": owner} if composite else {})},
        "spec": {"group": GROUP, "scope": "Cluster",
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


def _conditions(ready: bool) -> list[dict[str, str]]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return [
        {"type": "Ready", "status": "True" if ready else "False", "reason": "Available" if ready else "Unavailable",
         "lastTransitionTime": stamp, "message": "" if ready else "flipped by the benchmark"},
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": stamp},
    ]


def _object(kind: str, name: str, i: int) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": kind,
            "metadata": {"name": name, "labels": {"crossplane.io/composite": f"xr-{i % N_XR:04d}"}},
            "spec": {"forProvider": {"region": "eu-west-1", "index": i}, "providerConfigRef": {"name": "aws"}},
            "status": {"conditions": _conditions(True), "atProvider": {"arn": f"arn:aws:s3:::bucket-{i}"}}}


def _composite(i: int) -> dict[str, Any]:
    """XR ``i``, composing MRs i, i + 500, i + 1000 and i + 1500 (``spec.resourceRefs``, Crossplane v1's)."""
    xr = _object("XBench", f"xr-{i:04d}", i)
    xr["spec"]["resourceRefs"] = [{"apiVersion": f"{GROUP}/v1", "kind": "BenchBucket", "name": f"mr-{j:04d}"}
                                  for j in range(i, N_MR, N_XR)]
    return xr


def _event(i: int) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"ev-{i:05d}", "namespace": NS},
            "involvedObject": {"apiVersion": f"{GROUP}/v1", "kind": "BenchBucket", "name": f"mr-{i % N_MR:04d}"},
            "reason": "CannotObserveExternalResource", "type": "Warning", "count": 1 + i % 3,
            "message": f"cannot observe external resource: benchmark event {i}", "source": {"component": "bench"},
            "firstTimestamp": stamp, "lastTimestamp": stamp}


async def _send_all(http: aiohttp.ClientSession, requests: list[tuple[str, str, dict[str, Any]]],
                    deadline: Deadline, concurrency: int = 16) -> None:
    queue = list(reversed(requests))

    async def worker() -> None:
        while queue:
            deadline.check()
            method, path, body = queue.pop()
            headers = {"Content-Type": MERGE_PATCH} if method == "PATCH" else {}
            async with http.request(method, path, json=body, headers=headers) as resp:
                await resp.read()
                resp.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _setup(endpoint: Endpoint) -> None:
    deadline = Deadline(180, "creating 22,500 objects")
    async with endpoint.session(limit=20) as http:
        for crd in (_crd("XBench", "xbenches", composite=True), _crd("BenchBucket", "benchbuckets")):
            async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd) as resp:
                resp.raise_for_status()
        await asyncio.sleep(0.5)  # the CRDs' endpoints are served
        await _send_all(http, [("POST", XR_PATH, _composite(i)) for i in range(N_XR)], deadline)
        await _send_all(http, [("POST", MR_PATH, _object("BenchBucket", f"mr-{i:04d}", i)) for i in range(N_MR)],
                        deadline)
        await _send_all(http, [("POST", EVENT_PATH, _event(i)) for i in range(N_EVENTS)], deadline)


async def _flip(endpoint: Endpoint, ready: bool) -> None:
    deadline = Deadline(120, "flipping conditions")
    body = {"status": {"conditions": _conditions(ready)}}
    requests = [("PATCH", f"{XR_PATH}/xr-{i:04d}", body) for i in range(0, N_XR, int(1 / SHARE))]
    requests += [("PATCH", f"{MR_PATH}/mr-{i:04d}", body) for i in range(0, N_MR, int(1 / SHARE))]
    async with endpoint.session(limit=20) as http:
        await _send_all(http, requests, deadline)


def _target(kubeconfig: str) -> target_mod.Target:
    def ref(kind: str, plural: str, name: str) -> dict[str, str]:
        return {"apiVersion": f"{GROUP}/v1", "kind": kind, "plural": plural, "name": name}

    doc = {
        "kind": "Target", "metadata": {"name": "bench-recorder"}, "kubeconfig": kubeconfig,
        "allowedContexts": ["xpchaos-sandbox"],  # the context of the sandbox's kubeconfig
        "composites": [ref("XBench", "xbenches", f"xr-{i:04d}") for i in range(N_XR)],
        "providers": {"aws": {
            "role": "primary",
            "providerConfig": {"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig",
                               "plural": "providerconfigs", "name": "aws"},
            "credentials": {"secret": {"namespace": "crossplane-system", "name": "aws-creds", "key": "credentials"}},
            "pods": {"namespace": "crossplane-system", "selector": "pkg.crossplane.io/provider=provider-aws"},
            "managedResources": [ref("BenchBucket", "benchbuckets", f"mr-{i:04d}") for i in range(N_MR)],
        }},
    }
    return target_mod.parse(doc, Path("bench-recorder.yaml"))


class RssSampler:
    """The process's peak RSS, sampled every 20 ms while it runs (bounded by a deadline)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def _run(self) -> None:
        deadline = Deadline(600, "RSS sampler")
        while not self.stopping.is_set() and deadline.left() > 0:
            self.peak = max(self.peak, self.process.memory_info().rss / 2**20)
            self.stopping.wait(0.02)


def _recorder_cpu() -> float:
    """CPU seconds (user + system) of the recorder's watch threads."""
    ids = {t.native_id for t in threading.enumerate() if t.name.startswith("xpchaos-watch-")}
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id in ids)


def _bench(endpoint: Endpoint) -> dict[str, Any]:
    setup_start = time.perf_counter()
    asyncio.run(_setup(endpoint))
    setup_s = time.perf_counter() - setup_start
    target = _target(endpoint.kubeconfig)
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss / 2**20
    rss = RssSampler()
    rss.thread.start()
    recorder = TimelineRecorder(target, dns=False)
    try:
        start = time.perf_counter()
        recorder.start()
        if not recorder.wait_synced(120):
            raise RuntimeError(f"the recorder did not sync within 120 s: {recorder.errors}")
        sync_s = time.perf_counter() - start
        cpu_sync = _recorder_cpu()
        time.sleep(1)  # the watches are connected and idle
        rss_synced = process.memory_info().rss / 2**20
        entries_synced = len(recorder.timeline)
        per_round = len(range(0, N_XR, int(1 / SHARE))) + len(range(0, N_MR, int(1 / SHARE)))
        changes = ROUNDS * per_round
        flip_start = time.perf_counter()
        for round_ in range(ROUNDS):
            asyncio.run(_flip(endpoint, ready=round_ % 2 == 1))
        done = recorder.timeline.wait_for(lambda entries: len(entries) >= entries_synced + changes,
                                          time.monotonic() + 60)
        flip_s = time.perf_counter() - flip_start
        if not done:
            raise RuntimeError(f"the timeline has {len(recorder.timeline) - entries_synced} of {changes} changes")
        cpu_flips = _recorder_cpu() - cpu_sync
        rss_flipped = process.memory_info().rss / 2**20
        entries = recorder.timeline.entries()
        live = sum(1 for e in entries[entries_synced:] if e.what == tl.CONDITION and not e.initial)
        streams = len(recorder._streams)
    finally:
        recorder.stop()
        rss.stopping.set()
        rss.thread.join(1)
    return {
        "objects": {"xrs": N_XR, "mrs": N_MR, "events": N_EVENTS},
        "setup_s": round(setup_s, 1),
        "watch_streams": streams,
        "sync_s": round(sync_s, 2),
        "timeline_entries_after_sync": entries_synced,
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_synced": round(rss_synced, 1),
        "rss_mb_after_flips": round(rss_flipped, 1),
        "rss_mb_peak": round(rss.peak, 1),
        "delta_mb_synced": round(rss_synced - rss_before, 1),
        "delta_mb_after_flips": round(rss_flipped - rss_before, 1),
        "delta_mb_peak": round(rss.peak - rss_before, 1),
        "cpu_s_initial_sync": round(cpu_sync, 2),
        "changes": changes,
        "changes_recorded": live,
        "flip_s": round(flip_s, 2),
        "cpu_s_flips": round(cpu_flips, 3),
        "cpu_ms_per_1000_changes": round(cpu_flips * 1000 / changes * 1000, 1),
        "target_mb": 150,
    }


def run() -> dict[str, Any]:
    with sandbox(["--profile", "none"]) as endpoint:
        return _bench(endpoint)


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    peak = max(result["delta_mb_peak"], result["delta_mb_synced"], result["delta_mb_after_flips"])
    met = "met" if peak <= result["target_mb"] else "NOT met"
    return [
        ("7 recorder RSS: synced / after flips / peak",
         f"+{result['delta_mb_synced']:.0f} / +{result['delta_mb_after_flips']:.0f} / "
         f"+{result['delta_mb_peak']:.0f} MB",
         "", f"500 XR, 2,000 MR, 20,000 Events; <= 150 MB: {met}"),
        ("7 recorder CPU: initial sync / per 1,000 changes",
         f"{result['cpu_s_initial_sync']:.2f} s / {result['cpu_ms_per_1000_changes']:.0f} ms", "",
         f"sync in {result['sync_s']} s; {result['changes_recorded']}/{result['changes']} changes recorded"),
    ]
