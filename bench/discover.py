"""Benchmark 9: ``xpchaos discover`` on 500 XRs / 2,000 MRs: wall time and peak memory.

A stock sandbox of ``bench/discover_platform.yaml`` (200 XRs with 1,000 MRs, 50 of them claimed; the most a
platform file holds) gets 300 more XRs of the same kind through the API, composing 1,000 more MRs of the same
kinds (100 with four, 200 with three), so the walk meets 500 XRs and 2,000 MRs. Then ``RUNS`` times, one after
another: ``xpchaos discover --kind ... -l crossplane.io/composite -o FILE`` as a user runs it (its own process),
timed from launch to exit, its peak RSS from ``wait4``; and the walk plus the target text in this process under
``tracemalloc`` (the peak of Python allocations, without the interpreter and libraries). Figures: median and max.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from kubernetes import client

from xpchaos.core import kube
from xpchaos.run import discover, sandbox_process

RUNS = 5
PLATFORM = Path(__file__).resolve().parent / "discover_platform.yaml"
EXTRA_XRS = 300
XR_KIND = "xglobaldatabases.database.example.org"
SELECTOR = "crossplane.io/composite"
XR_VERSION = "database.example.org/v1alpha1"


def _mr(api_version: str, kind: str, name: str, pc: str, for_provider: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name},
            "spec": {"forProvider": for_provider, "providerConfigRef": {"name": pc}}}


def _extra(index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One added XR and the MRs it composes: an Aurora cluster, a failover Record, an MSSQL server (and a health
    check for the first 100)."""
    name, pc = f"extra-{index:03d}", ("aws-prod", "aws-shared")[index % 2]
    mrs = [_mr("rds.aws.upbound.io/v1beta1", "Cluster", f"{name}-aurora", pc, {"region": "us-east-1"}),
           _mr("route53.aws.upbound.io/v1beta1", "Record", f"{name}-api", pc, {
               "name": f"{name}.xpchaos.test", "type": "A", "ttl": 5, "records": [f"10.1.{index // 250}.{index % 250}"],
               "setIdentifier": "aws", "failoverRoutingPolicy": [{"type": "PRIMARY"}]}),
           _mr("sql.azure.upbound.io/v1beta1", "MSSQLServer", f"{name}-mssql", "azure-production",
               {"location": "East US"})]
    if index < 100:
        mrs.append(_mr("route53.aws.upbound.io/v1beta1", "HealthCheck", f"{name}-health", pc, {"type": "HTTPS"}))
    xr = {"apiVersion": XR_VERSION, "kind": "XGlobalDatabase",
          "metadata": {"name": name, "labels": {SELECTOR: name}},
          "spec": {"parameters": {"primaryProvider": "aws", "secondaryProvider": "azure", "storageGB": 10,
                                  "region": "multi-cloud", "weighting": 100},
                   "resourceRefs": [{"apiVersion": m["apiVersion"], "kind": m["kind"], "name": m["metadata"]["name"]}
                                    for m in mrs]}}
    return xr, mrs


def _fill(kubeconfig: str) -> int:
    api = kube.api_client(kubeconfig)
    custom: Any = client.CustomObjectsApi(api)
    made = 0
    try:
        for index in range(EXTRA_XRS):
            xr, mrs = _extra(index)
            for mr in mrs:
                group, version = mr["apiVersion"].split("/")
                custom.create_cluster_custom_object(group, version, f"{mr['kind'].lower()}s", mr)
                made += 1
            custom.create_cluster_custom_object("database.example.org", "v1alpha1", "xglobaldatabases", xr)
    finally:
        api.close()
    return made


def _cli_once(kubeconfig: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``xpchaos discover`` process."""
    env = {**os.environ, "KUBECONFIG": kubeconfig}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "xpchaos", "discover", "--kind", XR_KIND, "-l", SELECTOR,
                              "-o", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        said = child.stderr.read().decode() if child.stderr else ""
        raise RuntimeError(f"xpchaos discover: exit {child.returncode}: {said}")
    header = out.read_text().splitlines()[0]
    if "500 composites, 2000 managed resources" not in header:
        raise RuntimeError(f"xpchaos discover found something else: {header}")
    return elapsed, usage.ru_maxrss / 1024


def _walk_once(kubeconfig: str) -> tuple[float, float]:
    """Seconds and tracemalloc peak (MiB) of the walk and the target text, in this process."""
    api = kube.api_client(kubeconfig)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        roots = discover.roots_from_selector(api, XR_KIND, SELECTOR, None)
        discover.target_text(discover.walk(api, roots, "bench", kubeconfig))
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        api.close()
    return elapsed, peak / 2**20


def run() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="xpchaos-bench-discover-"))
    try:
        info, _child = sandbox_process.start(tmp / "sandbox", extra_args=[
            "--profile", "stock", "--speed", "fast", "--platform", str(PLATFORM)], timeout=60)
        try:
            added = _fill(info.kubeconfig)
            cli = [_cli_once(info.kubeconfig, tmp / f"target-{i}.yaml") for i in range(RUNS)]
            walks = [_walk_once(info.kubeconfig) for _ in range(RUNS)]
        finally:
            sandbox_process.stop(tmp / "sandbox")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "xrs": 500, "mrs": 2000, "added_mrs": added, "runs": RUNS,
        "cli_s": [round(s, 3) for s, _ in cli], "cli_rss_mib": [round(m, 1) for _, m in cli],
        "cli_median_s": round(statistics.median(s for s, _ in cli), 2), "cli_max_s": round(max(s for s, _ in cli), 2),
        "cli_rss_median_mib": round(statistics.median(m for _, m in cli), 1),
        "cli_rss_max_mib": round(max(m for _, m in cli), 1),
        "walk_median_s": round(statistics.median(s for s, _ in walks), 2),
        "walk_max_s": round(max(s for s, _ in walks), 2),
        "walk_peak_median_mib": round(statistics.median(m for _, m in walks), 1),
        "walk_peak_max_mib": round(max(m for _, m in walks), 1),
        "self_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        ("xpchaos discover, 500 XRs / 2,000 MRs (s)", f"{result['cli_median_s']:.2f}", f"{result['cli_max_s']:.2f}",
         f"max of {result['runs']}; the command, launch to exit"),
        ("  its peak RSS (MiB)", f"{result['cli_rss_median_mib']:.1f}", f"{result['cli_rss_max_mib']:.1f}",
         "wait4 ru_maxrss"),
        ("  the walk in process (s)", f"{result['walk_median_s']:.2f}", f"{result['walk_max_s']:.2f}",
         "no interpreter start-up"),
        ("  its peak Python allocations (MiB)", f"{result['walk_peak_median_mib']:.1f}",
         f"{result['walk_peak_max_mib']:.1f}", "tracemalloc"),
    ]
