"""Benchmark 2: LIST of 1,000 objects - ConfigMaps in one namespace, and custom objects of a CRD.

Each list is timed from sending the request to having read the whole body (server work plus transfer; the
client's JSON decoding is not included, it is the client's cost, not the server's). Variants, per kind:

* ``json``: plain ``GET`` (``Accept: application/json``), what client libraries ask for;
* ``table``: ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``, what ``kubectl get`` asks for;
* ``json limit=500`` / ``table limit=500``: the full collection fetched in pages of 500 (two requests, the
  second with the ``continue`` token); the time is for both pages.

The 30 rounds interleave all variants (round-robin) so machine load falls evenly on every variant.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from .common import JSON_TABLE, Deadline, Endpoint, sandbox, summary_ms

N_OBJECTS = 1000
ROUNDS = 30
WARMUP = 3
NS = "bench-list"
GROUP = "bench.xpchaos.io"
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps"
CR_PATH = f"/apis/{GROUP}/v1/namespaces/{NS}/widgets"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            "subresources": {"status": {}},
            "additionalPrinterColumns": [
                {"name": "Region", "type": "string", "jsonPath": ".spec.region"},
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        }],
    },
}


def _configmap(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i:04d}", "labels": {"app": "bench", "shard": str(i % 10)},
                     "annotations": {"bench.xpchaos.io/owner": "list-benchmark"}},
        "data": {"region": "eu-west-1", "endpoint": f"db-{i}.example.internal:5432", "replicas": str(i % 5 + 1)},
    }


def _widget(i: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1", "kind": "Widget",
        "metadata": {"name": f"widget-{i:04d}", "labels": {"app": "bench", "shard": str(i % 10)}},
        "spec": {"region": ["eu-west-1", "us-east-1"][i % 2], "size": i % 7, "forProvider": {"tier": "small"}},
    }


async def _create_all(http: aiohttp.ClientSession, path: str, bodies: list[dict[str, Any]],
                      concurrency: int = 16) -> None:
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            body = queue.pop()
            async with http.post(path, json=body) as resp:
                await resp.read()
                resp.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _setup(http: aiohttp.ClientSession) -> None:
    async with http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}) as resp:
        resp.raise_for_status()
    async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=CRD) as resp:
        resp.raise_for_status()
    await _create_all(http, CM_PATH, [_configmap(i) for i in range(N_OBJECTS)])
    await _create_all(http, CR_PATH, [_widget(i) for i in range(N_OBJECTS)])


async def _list_once(http: aiohttp.ClientSession, path: str, table: bool, limit: int | None) -> tuple[float, int, int]:
    """(seconds, bytes, items) for one full listing, following continue tokens."""
    headers = {"Accept": JSON_TABLE if table else "application/json"}
    params: dict[str, str] = {"limit": str(limit)} if limit else {}
    size = items = 0
    start = time.perf_counter()
    for _ in range(N_OBJECTS + 1):  # bounded: at most one page per object
        async with http.get(path, params=params, headers=headers) as resp:
            body = await resp.read()
            resp.raise_for_status()
        size += len(body)
        elapsed = time.perf_counter() - start
        doc = await asyncio.to_thread(_loads, body) if len(body) > 1 << 20 else _loads(body)
        items += len(doc["rows"] if table else doc["items"])
        cont = doc["metadata"].get("continue")
        if not cont:
            break
        params = {"limit": str(limit), "continue": cont}
        start = time.perf_counter() - elapsed  # the decoding above is the client's time, not the server's
    return elapsed, size, items


def _loads(body: bytes) -> Any:
    import json

    return json.loads(body)


async def _bench(endpoint: Endpoint) -> dict[str, Any]:
    deadline = Deadline(180, "list latency")
    variants = {f"{kind} {fmt}{' limit=500' if limit else ''}": (path, fmt == "table", limit)
                for kind, path in (("configmaps", CM_PATH), ("widgets", CR_PATH))
                for fmt in ("json", "table") for limit in (None, 500)}
    times: dict[str, list[float]] = {name: [] for name in variants}
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    async with endpoint.session(limit=16) as http:
        setup_start = time.perf_counter()
        await _setup(http)
        setup_s = time.perf_counter() - setup_start
        for round_ in range(WARMUP + ROUNDS):
            for name, (path, table, limit) in variants.items():
                deadline.check()
                elapsed, size, items = await _list_once(http, path, table, limit)
                if round_ >= WARMUP:
                    times[name].append(elapsed)
                sizes[name], counts[name] = size, items
    out: dict[str, Any] = {"objects": N_OBJECTS, "rounds": ROUNDS,
                           "create_rate_per_s": round(2 * N_OBJECTS / setup_s)}
    for name in variants:
        out[name] = summary_ms(times[name]) | {"bytes": sizes[name], "items": counts[name]}
    return out


def run() -> dict[str, Any]:
    with sandbox() as endpoint:
        return asyncio.run(_bench(endpoint))


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    for name, figures in result.items():
        if isinstance(figures, dict):
            out.append((f"2 LIST 1000 {name}", f"{figures['median_ms']:.1f} ms", f"{figures['p99_ms']:.1f} ms",
                        f"{figures['bytes'] / 1024:.0f} KiB, {figures['items']} items"))
    out.append(("2 create rate during setup (context)", f"{result['create_rate_per_s']}/s", "", "16 in flight"))
    return out
