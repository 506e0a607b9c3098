"""Benchmark 8: how long ``xpchaos sandbox up --platform realistic`` takes to start, and the seed for comparison.

Each start is the command a user runs, ``xpchaos sandbox up --detach --platform P -o json`` (its own Python
process, the CLI, the sandbox process it starts), timed from launch until it returns (the sandbox ready: API bound,
platform provisioned, target.yaml and platform.json written); then until every XR reports Ready (read with the
official client, polled every 50 ms); then ``xpchaos sandbox down``. Apart from that, the sandbox process alone
(``python -m xpchaos.sandbox serve``, launched by ``xpchaos.run.sandbox_process.start``) from launch to its ready
line, without the CLI's own start-up. ``STARTS`` starts of each per platform, one after another, each in a fresh
state directory; figures are the median and the slowest.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

from xpchaos.run import sandbox_process

from .common import Deadline

STARTS = 7
PLATFORMS = ("realistic", "seed")
XR = ("database.example.org", "v1alpha1", "xglobaldatabases")


def _xpchaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpchaos", *args], capture_output=True, text=True, timeout=120)


def _all_ready(api: client.ApiClient) -> bool:
    items = client.CustomObjectsApi(api).list_cluster_custom_object(*XR)["items"]
    return bool(items) and all(any(c["type"] == "Ready" and c["status"] == "True"
                                   for c in (x.get("status") or {}).get("conditions") or []) for x in items)


def _start_once(platform: str, state_dir: Path) -> dict[str, float]:
    started = time.perf_counter()
    result = _xpchaos("sandbox", "up", "--detach", "--platform", platform, "--speed", "real", "-o", "json",
                      "--state-dir", str(state_dir))
    up = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"sandbox up --platform {platform}: {result.stderr.strip()}")
    api = config.new_client_from_config(config_file=json.loads(result.stdout)["kubeconfig"])
    try:
        deadline = Deadline(60, f"every XR of {platform} Ready")
        while not _all_ready(api):
            deadline.check()
            time.sleep(0.05)
        ready = time.perf_counter() - started
    finally:
        api.close()
        _xpchaos("sandbox", "down", "--state-dir", str(state_dir))
    return {"up_s": round(up, 3), "xrs_ready_s": round(ready, 3)}


def _serve_once(platform: str, state_dir: Path) -> float:
    started = time.perf_counter()
    sandbox_process.start(state_dir, extra_args=["--profile", "blueprint", "--speed", "real", "--platform", platform])
    elapsed = time.perf_counter() - started
    sandbox_process.stop(state_dir)
    return round(elapsed, 3)


def run() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for platform in PLATFORMS:
        tmp = Path(tempfile.mkdtemp(prefix="xpchaos-bench-platform-"))
        try:
            samples = [_start_once(platform, tmp / f"state-{i}") for i in range(STARTS)]
            serve = [_serve_once(platform, tmp / f"serve-{i}") for i in range(STARTS)]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out[platform] = {
            "starts": samples,
            "serve_s": serve,
            "serve_median_s": round(statistics.median(serve), 2),
            "serve_max_s": round(max(serve), 2),
            "up_median_s": round(statistics.median(s["up_s"] for s in samples), 2),
            "up_max_s": round(max(s["up_s"] for s in samples), 2),
            "xrs_ready_median_s": round(statistics.median(s["xrs_ready_s"] for s in samples), 2),
            "xrs_ready_max_s": round(max(s["xrs_ready_s"] for s in samples), 2),
        }
    return out


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    for platform in PLATFORMS:
        r = result[platform]
        target = "median < 5 s on 2 cores" if platform == "realistic" else "for comparison"
        out.append((f"sandbox up --platform {platform} (s)", f"{r['up_median_s']:.2f}", f"{r['up_max_s']:.2f}",
                    f"max of {STARTS}; {target}"))
        out.append(("  ... until every XR Ready (s)", f"{r['xrs_ready_median_s']:.2f}",
                    f"{r['xrs_ready_max_s']:.2f}", ""))
        out.append(("  the sandbox process alone (s)", f"{r['serve_median_s']:.2f}", f"{r['serve_max_s']:.2f}",
                    "launch to ready line, no CLI"))
    return out
