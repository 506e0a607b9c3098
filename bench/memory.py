"""Benchmark 4: server RSS growth over 100,000 requests, and the request rate achieved.

The sandbox's RSS (psutil on the pid in its state.json) is read after a warm-up of the same workload, then the
workload runs for 100,000 requests with 32 in flight (32 workers over a keep-alive connection pool), RSS being
sampled every 10,000 requests, then RSS is read again. Growth = final RSS - RSS after warm-up.

Each worker repeats a cycle of 16 requests on objects of its own, so everything it creates it also deletes:

    create ConfigMap, get, merge-patch, merge-patch, get as Table, list ConfigMaps by label (0-1 items),
    create Event about it, patch the Event, get the Event, list events.k8s.io/v1 Events by field selector,
    a short watch (from the ConfigMap's previous resourceVersion: the client reads one event and hangs up),
    delete the Event, delete the ConfigMap, list Namespaces (5 items), get /version, get the Namespace

7 of the 16 are writes, so the 10,000-entry watch history (``--history-size``) fills after about 23,000 requests;
the warm-up (25,000 requests) fills it, so what grows after it is not the bounded history. The short watches
carry ``timeoutSeconds=5`` like any client-go watch carries a timeout; deleting the ConfigMap also ends them on
the server, which otherwise would not notice the client had gone until its next write (see README).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import aiohttp
import psutil

from .common import JSON_TABLE, MERGE_PATCH, Deadline, Endpoint, sandbox

REQUESTS = 100_000
WARMUP_REQUESTS = 25_000
IN_FLIGHT = 32
SAMPLE_EVERY = 10_000
NS = "bench-mem"
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps"
EV_PATH = f"/api/v1/namespaces/{NS}/events"
EV1_PATH = f"/apis/events.k8s.io/v1/namespaces/{NS}/events"


class Budget:
    """A shared count of requests still to send; workers stop at a cycle boundary once it is spent, or once the
    deadline has passed (the result then says ``completed: false`` and how many requests were sent)."""

    def __init__(self, total: int, deadline: Deadline, on_sample: Any = None) -> None:
        self.total = total
        self.deadline = deadline
        self.sent = 0
        self.on_sample = on_sample

    def take(self, n: int) -> bool:
        if self.sent >= self.total or self.deadline.left() <= 0:
            return False
        before = self.sent
        self.sent += n
        if self.on_sample is not None and before // SAMPLE_EVERY != self.sent // SAMPLE_EVERY:
            self.on_sample(self.sent)
        return True


async def _ok(resp: aiohttp.ClientResponse) -> Any:
    body = await resp.read()
    if resp.status >= 300:
        raise RuntimeError(f"{resp.method} {resp.url.path}: {resp.status} {body[:300]!r}")
    return body


async def _cycle(http: aiohttp.ClientSession, worker: int, n: int) -> int:
    """One 16-request cycle; returns the number of requests sent."""
    name = f"cm-{worker}-{n}"
    labels = {"worker": str(worker)}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels},
          "data": {"n": str(n), "payload": "x" * 200}}
    async with http.post(CM_PATH, json=cm) as resp:
        await _ok(resp)
    async with http.get(f"{CM_PATH}/{name}") as resp:
        await _ok(resp)
    patch_headers = {"Content-Type": MERGE_PATCH}
    async with http.patch(f"{CM_PATH}/{name}", data=json.dumps({"data": {"step": "1"}}), headers=patch_headers) as resp:
        previous_rv = json.loads(await _ok(resp))["metadata"]["resourceVersion"]
    async with http.patch(f"{CM_PATH}/{name}", data=json.dumps({"data": {"step": "2"}}), headers=patch_headers) as resp:
        await _ok(resp)
    async with http.get(f"{CM_PATH}/{name}", headers={"Accept": JSON_TABLE}) as resp:
        await _ok(resp)
    async with http.get(CM_PATH, params={"labelSelector": f"worker={worker}"}) as resp:
        await _ok(resp)
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.ev"},
        "involvedObject": {"kind": "ConfigMap", "namespace": NS, "name": name, "apiVersion": "v1"},
        "reason": "Benchmark", "message": f"cycle {n} of worker {worker}", "type": "Normal", "count": 1,
        "source": {"component": "xpchaos-bench"},
    }
    async with http.post(EV_PATH, json=event) as resp:
        await _ok(resp)
    async with http.patch(f"{EV_PATH}/{name}.ev", data=json.dumps({"count": 2}), headers=patch_headers) as resp:
        await _ok(resp)
    async with http.get(f"{EV_PATH}/{name}.ev") as resp:
        await _ok(resp)
    async with http.get(EV1_PATH, params={"fieldSelector": f"regarding.name={name}"}) as resp:
        await _ok(resp)
    watch = {"watch": "true", "resourceVersion": str(int(previous_rv) - 1), "timeoutSeconds": "5",
             "fieldSelector": f"metadata.name={name}"}
    async with http.get(CM_PATH, params=watch) as resp:
        if resp.status != 200:
            await _ok(resp)
        await asyncio.wait_for(resp.content.readline(), timeout=10)
        resp.close()  # hang up after the first event, as a client that got what it waited for
    async with http.delete(f"{EV_PATH}/{name}.ev") as resp:
        await _ok(resp)
    async with http.delete(f"{CM_PATH}/{name}") as resp:
        await _ok(resp)
    async with http.get("/api/v1/namespaces") as resp:
        await _ok(resp)
    async with http.get("/version") as resp:
        await _ok(resp)
    async with http.get(f"/api/v1/namespaces/{NS}") as resp:
        await _ok(resp)
    return 16


CYCLE = 16


async def _drive(http: aiohttp.ClientSession, budget: Budget, counter: itertools.count[int]) -> float:
    async def worker(worker_id: int) -> None:
        while budget.take(CYCLE):
            await _cycle(http, worker_id, next(counter))

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(IN_FLIGHT)))
    return time.perf_counter() - start


async def _bench(endpoint: Endpoint) -> dict[str, Any]:
    counter = itertools.count()
    server = psutil.Process(endpoint.pid)
    samples: list[dict[str, float]] = []

    def sample(sent: int) -> None:
        cpu = server.cpu_times()
        samples.append({"requests": sent, "rss_mb": round(endpoint.rss_mb(), 1),
                        "server_cpu_s": round(cpu.user + cpu.system, 2), "t_s": round(time.perf_counter(), 2)})

    async with endpoint.session(limit=IN_FLIGHT) as http:
        async with http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}) as resp:
            await _ok(resp)
        rss_start = endpoint.rss_mb()
        warmup = Budget(WARMUP_REQUESTS, Deadline(90, "warm-up"))
        warmup_s = await _drive(http, warmup, counter)
        await asyncio.sleep(1)  # let the short watches' server side finish
        rss_warm = endpoint.rss_mb()
        sample(0)
        budget = Budget(REQUESTS, Deadline(180, "100k requests"), sample)
        elapsed = await _drive(http, budget, counter)
        sample(budget.sent)
        await asyncio.sleep(6)  # > timeoutSeconds of the short watches: every server-side watch has ended
        rss_end = endpoint.rss_mb()
        async with http.get(CM_PATH) as resp:
            left = len(json.loads(await _ok(resp))["items"])
    t0, cpu0 = samples[0]["t_s"], samples[0]["server_cpu_s"]
    for entry in samples:
        entry["t_s"] = round(entry["t_s"] - t0, 1)
    server_cpu = samples[-1]["server_cpu_s"] - cpu0
    return {
        "requests": budget.sent,
        "completed": budget.sent >= REQUESTS,
        "in_flight": IN_FLIGHT,
        "elapsed_s": round(elapsed, 1),
        "requests_per_s": round(budget.sent / elapsed),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, budget.sent), 3),
        "server_cpu_share": round(server_cpu / elapsed, 2),
        "warmup_requests": warmup.sent,
        "warmup_requests_per_s": round(warmup.sent / warmup_s),
        "rss_mb_start": round(rss_start, 1),
        "rss_mb_after_warmup": round(rss_warm, 1),
        "rss_mb_end": round(rss_end, 1),
        "growth_mb": round(rss_end - rss_warm, 1),
        "configmaps_left": left,
        "samples": samples,
    }


def run() -> dict[str, Any]:
    with sandbox() as endpoint:
        return asyncio.run(_bench(endpoint))


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    met = "met" if result["growth_mb"] < 20 else "NOT met"
    return [
        (f"4 RSS growth over {result['requests']:,} requests", f"{result['growth_mb']:+.1f} MB", "",
         f"{result['rss_mb_after_warmup']:.0f} -> {result['rss_mb_end']:.0f} MB; < 20 MB: {met}"),
        ("4 request rate, 32 in flight", f"{result['requests_per_s']}/s", "",
         f"{result['requests']:,} in {result['elapsed_s']} s; server CPU "
         f"{result['server_cpu_ms_per_request']:.2f} ms/request"),
    ]
