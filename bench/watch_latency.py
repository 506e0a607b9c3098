"""Benchmark 1: write -> watch-event latency on loopback, a raw HTTP watcher and the official client side by side.

One ConfigMap per watcher (``bench-raw``, ``bench-k8s``); each watcher watches its own object with
``fieldSelector=metadata.name=...`` from the resourceVersion it was created at. A write is a merge PATCH that sets
``data.seq``; its latency is the time from just before the PATCH is sent to the moment the watcher has read (and
decoded) the event carrying that ``seq``. Writes are sequential (the next one starts once the event has arrived).

Both watchers are connected for the whole run, and the two are measured in alternating blocks of writes so load
from other processes on the machine falls on both alike. The raw watcher reads the chunked stream with aiohttp in
the benchmark's event loop; the official client runs ``watch.Watch().stream(list_namespaced_config_map, ...)`` in
a thread, as a realistic controller would. Writes go through the same aiohttp session in both cases, so the ratio
is the cost of the client-side watch machinery (urllib3 + model deserialisation + thread hand-off).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import aiohttp

from .common import MERGE_PATCH, Deadline, Endpoint, sandbox, summary_ms

N_WRITES = 500  # per watcher
BLOCK = 100
WARMUP = 20
NS = "default"
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps"


async def _create_cm(http: aiohttp.ClientSession, name: str) -> str:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"seq": "none"}}
    async with http.post(CM_PATH, json=body) as resp:
        resp.raise_for_status()
        return (await resp.json())["metadata"]["resourceVersion"]


class RawWatcher:
    """``GET ...?watch=true`` read line by line; resolves the future registered for each ``seq`` it sees."""

    def __init__(self, http: aiohttp.ClientSession, name: str, rv: str) -> None:
        self.http, self.name, self.rv = http, name, rv
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.response: aiohttp.ClientResponse | None = None
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        params = {"watch": "true", "resourceVersion": self.rv, "fieldSelector": f"metadata.name={self.name}",
                  "timeoutSeconds": "600"}
        self.response = await self.http.get(CM_PATH, params=params,
                                            timeout=aiohttp.ClientTimeout(total=None, sock_read=120))
        self.response.raise_for_status()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.response is not None
        async for line in self.response.content:
            arrived = time.perf_counter()
            if not line.strip():
                continue
            event = json.loads(line)
            seq = str((event["object"].get("data") or {}).get("seq"))
            future = self.waiters.pop(seq, None)
            if future is not None and not future.done():
                future.set_result(arrived)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.response is not None:
            self.response.close()


class OfficialClientWatcher:
    """``kubernetes.watch.Watch().stream`` in a thread; hands each arrival time back to the loop."""

    def __init__(self, endpoint: Endpoint, name: str, rv: str, loop: asyncio.AbstractEventLoop) -> None:
        self.endpoint, self.name, self.rv, self.loop = endpoint, name, rv, loop
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="k8s-watch", daemon=True)

    def open(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        from kubernetes import client, config, watch

        try:
            api_client = config.new_client_from_config(config_file=self.endpoint.kubeconfig)
            v1 = client.CoreV1Api(api_client)
            stream = watch.Watch()
            for event in stream.stream(v1.list_namespaced_config_map, NS, field_selector=f"metadata.name={self.name}",
                                       resource_version=self.rv, timeout_seconds=600, _request_timeout=(10, 120)):
                arrived = time.perf_counter()
                seq = str((event["object"].data or {}).get("seq"))
                future = self.waiters.pop(seq, None)
                if future is not None:
                    self.loop.call_soon_threadsafe(_resolve, future, arrived)
                if self.stopping.is_set():
                    stream.stop()
            api_client.close()
        except BaseException as exc:  # reported by the benchmark instead of dying silently in the thread
            self.error = exc

    def close(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)


def _resolve(future: asyncio.Future[float], arrived: float) -> None:
    if not future.done():
        future.set_result(arrived)


async def _write_and_wait(http: aiohttp.ClientSession, name: str, seq: str,
                          waiters: dict[str, asyncio.Future[float]]) -> tuple[float, float]:
    """One PATCH; returns (write->event latency, PATCH round trip) in seconds."""
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    waiters[seq] = future
    body = json.dumps({"data": {"seq": seq}})
    start = time.perf_counter()
    async with http.patch(f"{CM_PATH}/{name}", data=body, headers={"Content-Type": MERGE_PATCH}) as resp:
        await resp.read()
        resp.raise_for_status()
    responded = time.perf_counter()
    arrived = await asyncio.wait_for(future, timeout=10)
    return arrived - start, responded - start


async def _bench(endpoint: Endpoint) -> dict[str, Any]:
    deadline = Deadline(120, "watch latency")
    async with endpoint.session(limit=10) as http:
        raw_rv = await _create_cm(http, "bench-raw")
        k8s_rv = await _create_cm(http, "bench-k8s")
        raw = RawWatcher(http, "bench-raw", raw_rv)
        await raw.open()
        official = OfficialClientWatcher(endpoint, "bench-k8s", k8s_rv, asyncio.get_running_loop())
        official.open()
        watchers: dict[str, Any] = {"raw": raw, "official": official}
        names = {"raw": "bench-raw", "official": "bench-k8s"}
        latency: dict[str, list[float]] = {"raw": [], "official": []}
        round_trip: dict[str, list[float]] = {"raw": [], "official": []}
        try:
            for mode in watchers:  # warm-up; the first event also proves the watch is connected
                for i in range(WARMUP):
                    await _write_and_wait(http, names[mode], f"warm-{i}", watchers[mode].waiters)
            for block in range(2 * N_WRITES // BLOCK):
                mode = "raw" if block % 2 == 0 else "official"
                for i in range(BLOCK):
                    deadline.check()
                    lat, rtt = await _write_and_wait(http, names[mode], f"b{block}-{i}", watchers[mode].waiters)
                    latency[mode].append(lat)
                    round_trip[mode].append(rtt)
        finally:
            await raw.close()
            official.stopping.set()
            # one last write wakes the official client's stream so its thread sees the stop flag
            async with http.patch(f"{CM_PATH}/bench-k8s", data='{"data":{"seq":"stop"}}',
                                  headers={"Content-Type": MERGE_PATCH}) as resp:
                await resp.read()
            await asyncio.to_thread(official.close)
        if official.error is not None:
            raise RuntimeError(f"official client watch failed: {official.error!r}")
    out: dict[str, Any] = {
        "raw": summary_ms(latency["raw"]),
        "official_client": summary_ms(latency["official"]),
        "patch_round_trip": summary_ms(round_trip["raw"] + round_trip["official"]),
    }
    out["ratio_median"] = round(out["official_client"]["median_ms"] / out["raw"]["median_ms"], 2)
    out["ratio_p99"] = round(out["official_client"]["p99_ms"] / out["raw"]["p99_ms"], 2)
    return out


def run() -> dict[str, Any]:
    with sandbox() as endpoint:
        return asyncio.run(_bench(endpoint))


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    raw, official = result["raw"], result["official_client"]
    met = "met" if raw["median_ms"] <= 5 else "NOT met"
    return [
        ("1 write->watch event, raw aiohttp", f"{raw['median_ms']:.2f} ms", f"{raw['p99_ms']:.2f} ms",
         f"median <= 5 ms: {met}"),
        ("1 write->watch event, kubernetes client", f"{official['median_ms']:.2f} ms", f"{official['p99_ms']:.2f} ms",
         f"ratio x{result['ratio_median']} (p99 x{result['ratio_p99']})"),
        ("1 PATCH round trip (context)", f"{result['patch_round_trip']['median_ms']:.2f} ms",
         f"{result['patch_round_trip']['p99_ms']:.2f} ms", ""),
    ]
