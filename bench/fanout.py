"""Benchmark 3: 200 concurrent watchers on the same kind, then 200 writes; write -> last watcher latency.

200 raw watch streams (``GET /api/v1/namespaces/bench-fanout/configmaps?watch=true&resourceVersion=<rv>``), each
its own HTTPS connection, all connected before the first write (the server subscribes a watcher before it sends
the response headers, so a returned response is a registered watcher). Then 200 sequential merge PATCHes of one
ConfigMap; each write's fan-out latency is from just before the PATCH is sent to the moment the *last* of the 200
watchers has read the event (the first watcher's time is reported for context). The next write starts once all
200 have it. Watchers find the write's ``seq`` in the event line with a byte search (no JSON decoding), so the
client's share of the time stays small next to the server's 200 encodes and writes per event.

RSS of the server process is read before the watchers connect, once they are all connected and after the writes.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import aiohttp

from .common import MERGE_PATCH, Deadline, Endpoint, sandbox, summary_ms

WATCHERS = 200
WRITES = 200
WARMUP = 5
NS = "bench-fanout"
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps"
SEQ = re.compile(rb'"seq":"([^"]+)"')


class FanOut:
    """Counts, per seq, how many watchers have read it; resolves a future when the last one has."""

    def __init__(self, watchers: int) -> None:
        self.watchers = watchers
        self.seen: dict[bytes, int] = {}
        self.first: dict[bytes, float] = {}
        self.done: dict[bytes, asyncio.Future[float]] = {}

    def arrived(self, seq: bytes, at: float) -> None:
        count = self.seen.get(seq, 0) + 1
        self.seen[seq] = count
        if count == 1:
            self.first[seq] = at
        if count == self.watchers:
            future = self.done.pop(seq, None)
            if future is not None and not future.done():
                future.set_result(at)


async def _watch(response: aiohttp.ClientResponse, fan: FanOut) -> None:
    async for line in response.content:
        at = time.perf_counter()
        match = SEQ.search(line)
        if match:
            fan.arrived(match.group(1), at)


async def _bench(endpoint: Endpoint) -> dict[str, Any]:
    deadline = Deadline(120, "fan-out")
    fan = FanOut(WATCHERS)
    # one connection per watcher, plus a few for the writer
    async with endpoint.session(limit=WATCHERS + 8, timeout=300) as http:
        async with http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}) as resp:
            resp.raise_for_status()
        body = {"metadata": {"name": "fanout"}, "data": {"seq": "none"}}
        async with http.post(CM_PATH, json=body) as resp:
            resp.raise_for_status()
            rv = (await resp.json())["metadata"]["resourceVersion"]
        rss_before = endpoint.rss_mb()
        params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "600"}
        responses: list[aiohttp.ClientResponse] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            connect_start = time.perf_counter()
            for batch in range(0, WATCHERS, 20):  # 20 TLS handshakes at a time
                opened = await asyncio.gather(*(
                    http.get(CM_PATH, params=params, timeout=aiohttp.ClientTimeout(total=None, sock_read=120))
                    for _ in range(batch, min(WATCHERS, batch + 20))))
                for response in opened:
                    response.raise_for_status()
                    responses.append(response)
                    tasks.append(asyncio.create_task(_watch(response, fan)))
            connect_s = time.perf_counter() - connect_start
            rss_connected = endpoint.rss_mb()
            last: list[float] = []
            first: list[float] = []
            for i in range(WARMUP + WRITES):
                deadline.check()
                seq = f"w{i}"
                future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
                fan.done[seq.encode()] = future
                start = time.perf_counter()
                async with http.patch(f"{CM_PATH}/fanout", data=json.dumps({"data": {"seq": seq}}),
                                      headers={"Content-Type": MERGE_PATCH}) as resp:
                    await resp.read()
                    resp.raise_for_status()
                finished = await asyncio.wait_for(future, timeout=30)
                if i >= WARMUP:
                    last.append(finished - start)
                    first.append(fan.first[seq.encode()] - start)
            rss_after = endpoint.rss_mb()
        finally:
            for task in tasks:
                task.cancel()
            for response in responses:
                response.close()
    return {
        "watchers": WATCHERS,
        "writes": WRITES,
        "last_watcher": summary_ms(last),
        "first_watcher": summary_ms(first),
        "connect_all_s": round(connect_s, 2),
        "rss_mb_before_watchers": round(rss_before, 1),
        "rss_mb_watchers_connected": round(rss_connected, 1),
        "rss_mb_after_writes": round(rss_after, 1),
        "rss_kb_per_watcher": round((rss_connected - rss_before) * 1024 / WATCHERS, 1),
    }


def run() -> dict[str, Any]:
    with sandbox() as endpoint:
        return asyncio.run(_bench(endpoint))


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    last, first = result["last_watcher"], result["first_watcher"]
    return [
        (f"3 fan-out to {result['watchers']} watchers (last)", f"{last['median_ms']:.1f} ms",
         f"{last['p99_ms']:.1f} ms", f"first watcher: median {first['median_ms']:.1f} ms"),
        ("3 server RSS: idle / 200 watching / after writes",
         f"{result['rss_mb_before_watchers']:.0f} / {result['rss_mb_watchers_connected']:.0f} / "
         f"{result['rss_mb_after_writes']:.0f} MB", "",
         f"~{result['rss_kb_per_watcher']:.0f} KiB per watcher"),
    ]
