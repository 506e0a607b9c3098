"""Contract: the official ``kubernetes`` Python client, in two generations, against the sandbox.

The scenario lives in ``k8s_client_scenario.py`` and runs as its own process, once with the pinned client of the
venv (37.x) and once with the older generation the Makefile installs apart (32.0.1, which sends ``watch=True``),
put first on ``sys.path`` through ``PYTHONPATH=$XPCHAOS_COMPAT_K8S``. The reported client version proves which
generation ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.contract

SCENARIO = Path(__file__).with_name("k8s_client_scenario.py")
COMPAT_VERSION = "32.0.1"
GENERATIONS = ("pinned", "compat")

MAIN_CHECKS = {
    "namespaces: create and list",
    "secrets: string_data folded into base64 data",
    "replace with a stale resourceVersion: 409 Conflict",
    "patch: json patch (list body) on a built-in",
    "patch: strategic merge (dict body) on a built-in",
    "CRDs: create cluster-scoped and namespaced, Established",
    "custom objects (namespaced): create, get, list, merge patch, status, delete",
    "custom objects (cluster-scoped): create, get, list, status, delete",
    "finalizers: delete sets deletionTimestamp, removing the finalizer completes it",
    "label selectors: =, !=, in, notin, exists, !exists",
    "field selectors: metadata.name =, !=",
    "delete_collection with a label selector",
    "events: core/v1 create, field selectors involvedObject.name, reason, type",
    "events: events.k8s.io/v1 sees the core/v1 event and vice versa",
    "watch: ADDED, MODIFIED, DELETED in order for changes made by another thread",
    "watch resume from an older resourceVersion replays exactly the missed events",
    "watch with allow_watch_bookmarks yields BOOKMARK events",
    "errors: missing object is 404 with a NotFound Status",
    "errors: an invalid name is 422 Invalid with a metadata.name cause",
}
GONE_CHECKS = {
    "watch from a resourceVersion older than the history: ApiException 410",
    "re-list, then watch from the fresh resourceVersion",
}


def _environment(generation: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KUBECONFIG")}
    env["HOME"] = str(tmp_path)
    if generation == "compat":
        compat = os.environ.get("XPCHAOS_COMPAT_K8S")
        if not compat or not (Path(compat) / "kubernetes" / "__init__.py").is_file():
            state = "unset" if not compat else f"{compat!r}, which holds no kubernetes package"
            pytest.fail(f"XPCHAOS_COMPAT_K8S is {state}; the older client generation "
                        f"(kubernetes=={COMPAT_VERSION}) is installed by `make test`, which also sets this "
                        "variable: run the tests via `make test`")
        env["PYTHONPATH"] = compat
    return env


def _expected_version(generation: str) -> str:
    return version("kubernetes") if generation == "pinned" else COMPAT_VERSION


def run_scenario(generation: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, str(SCENARIO), *args], capture_output=True, text=True, timeout=120,
                            env=_environment(generation, tmp_path), cwd=tmp_path)
    assert result.returncode == 0, (f"the {generation} client scenario failed (exit {result.returncode}):\n"
                                    f"{result.stderr.strip()}\nstdout: {result.stdout.strip()}")
    lines = result.stdout.strip().splitlines()
    assert lines, f"the scenario printed nothing; stderr:\n{result.stderr}"
    report = json.loads(lines[-1])
    expected = _expected_version(generation)
    assert report["client_version"] == expected, (
        f"the {generation} run used kubernetes {report['client_version']} from {report['client_path']}, "
        f"expected {expected}")
    if generation == "pinned":
        assert expected.startswith("37."), f"the venv's kubernetes client is {expected}, the project pins 37.x"
        assert ".venv/compat" not in report["client_path"], report["client_path"]
    else:
        assert report["client_path"].startswith(os.environ["XPCHAOS_COMPAT_K8S"]), report["client_path"]
    return report


@pytest.mark.parametrize("generation", GENERATIONS)
def test_client_scenario(generation: str, sandbox: Any, own_sandbox: Any, tmp_path: Path) -> None:
    """The whole API surface, on the shared sandbox; bookmarks on a private one that sends them every 0.2 s."""
    _environment(generation, tmp_path)  # fail fast (before starting anything) if the old client is missing
    bookmarks = own_sandbox("--bookmark-interval", "0.2")
    report = run_scenario(generation, tmp_path, sandbox.kubeconfig, "--bookmark-kubeconfig", bookmarks.kubeconfig)
    assert report["scenario"] == "main"
    missing = MAIN_CHECKS - set(report["checks"])
    assert not missing, f"checks that did not run: {sorted(missing)}"


@pytest.mark.parametrize("generation", GENERATIONS)
def test_watch_from_expired_resource_version_is_410(generation: str, own_sandbox: Any, tmp_path: Path) -> None:
    """With a watch history of 5 changes, a watch from before them fails with 410 Gone in the client (the ERROR
    event becomes ApiException(410)); re-listing and watching from the fresh resourceVersion works."""
    _environment(generation, tmp_path)
    small_history = own_sandbox("--history-size", "5")
    report = run_scenario(generation, tmp_path, small_history.kubeconfig, "--scenario", "gone")
    assert report["scenario"] == "gone"
    assert set(report["checks"]) == GONE_CHECKS
