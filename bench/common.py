"""What every benchmark needs: a private sandbox, a verified HTTPS session to it, and a few statistics."""

from __future__ import annotations

import base64
import contextlib
import math
import os
import shutil
import ssl
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import yaml

from xpchaos.run import sandbox_process

JSON_TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"  # what kubectl get asks for
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Endpoint:
    """A running sandbox as its kubeconfig describes it, plus the server's pid for RSS readings."""

    server: str
    token: str
    ca_pem: str
    kubeconfig: str
    pid: int
    state_dir: Path

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the per-run CA and the server's IP SAN; never an unverified context."""
        return ssl.create_default_context(cadata=self.ca_pem)

    def session(self, limit: int = 100, timeout: float = 60.0) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self.ssl_context(), limit=limit)
        return aiohttp.ClientSession(
            base_url=self.server, connector=connector, headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    def rss_mb(self) -> float:
        return psutil.Process(self.pid).memory_info().rss / 2**20


def read_kubeconfig(path: str) -> tuple[str, str, str]:
    """(server URL, bearer token, CA PEM) from the kubeconfig the sandbox wrote."""
    doc = yaml.safe_load(Path(path).read_text())
    context_name = doc["current-context"]
    context = next(c["context"] for c in doc["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in doc["users"] if u["name"] == context["user"])
    ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
    return cluster["server"], user["token"], ca_pem


@contextlib.contextmanager
def sandbox(extra_args: Sequence[str] = ()) -> Iterator[Endpoint]:
    """A fresh sandbox process in a temporary state directory, stopped (and the directory removed) afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="xpchaos-bench-"))
    state_dir = tmp / "sandbox"
    child: subprocess.Popen[bytes] | None = None
    try:
        info, child = sandbox_process.start(state_dir, extra_args=list(extra_args))
        server, token, ca_pem = read_kubeconfig(info.kubeconfig)
        yield Endpoint(server, token, ca_pem, info.kubeconfig, info.pid, state_dir)
    finally:
        if child is not None:
            sandbox_process.stop(state_dir)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


# statistics -------------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 500 samples is the 495th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """median / p99 / min / max in milliseconds of samples given in seconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3) if ms else math.nan,
        "p99_ms": round(percentile(ms, 99), 3),
        "min_ms": round(min(ms), 3) if ms else math.nan,
        "max_ms": round(max(ms), 3) if ms else math.nan,
    }


class Deadline:
    """Every loop in the benchmarks is bounded in count and in time; this is the time bound."""

    def __init__(self, seconds: float, what: str) -> None:
        self.end = time.monotonic() + seconds
        self.what = what

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise TimeoutError(f"benchmark step took too long: {self.what}")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    import aiohttp as _aiohttp

    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    except OSError:
        model = platform.processor()
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "aiohttp": _aiohttp.__version__,
        "platform": platform.platform(),
    }
