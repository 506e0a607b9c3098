"""The experiments as users run them: real sandboxes started with ``xpchaos sandbox up``, the real ``chaos`` and
``xpchaos`` command lines in their own processes, a private HOME and undo log per run.

Each module shares one sandbox per kind (module-scoped); runs on one sandbox are sequential and each starts only
once the steady state holds again (the XR Ready, every nameserver answering the primary), waited for with a
deadline.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client

from tests.sim.conftest import TEST_TIMINGS
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.core.undo_log import UndoLog
from xpchaos.probes.failover import dns_answers_primary, xr_is_ready
from xpchaos.run import snapshot

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
NAMES = ("delete-providerconfig", "block-provider-api", "revoke-credentials")
BIN = Path(sys.executable).parent
CHAOS = str(BIN / "chaos") if (BIN / "chaos").exists() else (shutil.which("chaos") or "chaos")
# the environment a run must not inherit from whoever runs the tests
KNOBS = ("XPCHAOS_TARGET", "XPCHAOS_PROVIDER", "XPCHAOS_SLO", "XPCHAOS_UNDO_LOG", "XPCHAOS_FORCE_DELETE",
         "XPCHAOS_BLOCK_MODE", "XPCHAOS_REVOKE_MODE", "KUBECONFIG")
RUN_TIMEOUT = 150


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = condition()
        except AssertionError:
            raise
        except Exception as exc:  # the cluster or DNS not answering yet: keep polling until the deadline
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s (last: {last!r})")
        time.sleep(interval)


@dataclass
class Sandbox:
    profile: str
    state_dir: Path
    target_path: Path

    @property
    def target(self) -> targets.Target:
        return targets.load(self.target_path)

    @property
    def configuration(self) -> dict[str, str]:
        return {"xpchaos_target": str(self.target_path)}

    def steady(self) -> bool:
        return xr_is_ready(configuration=self.configuration) and dns_answers_primary(configuration=self.configuration)

    def wait_steady(self, timeout: float = 60) -> None:
        """The baseline every run starts from: XR production-db Ready and DNS answering the primary."""
        wait_for(self.steady, timeout, f"{self.profile} sandbox: XR Ready and DNS answering the primary")

    def snapshot(self) -> snapshot.Snapshot:
        return snapshot.take(self.target)

    def resource_versions(self) -> dict[str, str]:
        """resourceVersion of every object of the kinds the faults touch (ProviderConfigs, and the Secrets and
        NetworkPolicies of the providers' namespaces)."""
        tgt = self.target
        api = kube.api_client(tgt.kubeconfig, tgt.context)
        try:
            core: Any = client.CoreV1Api(api)  # read as plain attributes; the typed models' Optionals do not help
            net: Any = client.NetworkingV1Api(api)
            custom: Any = client.CustomObjectsApi(api)
            out: dict[str, str] = {}
            for provider in tgt.providers.values():
                pc = provider.provider_config
                for item in custom.list_cluster_custom_object(pc.group, pc.version, pc.plural)["items"]:
                    out[f"{pc.kind}.{pc.group}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
                for secret in core.list_namespaced_secret(provider.credentials.namespace).items:
                    out[f"Secret {secret.metadata.namespace}/{secret.metadata.name}"] = \
                        secret.metadata.resource_version
                for policy in net.list_namespaced_network_policy(provider.pods_namespace).items:
                    out[f"NetworkPolicy {policy.metadata.namespace}/{policy.metadata.name}"] = \
                        policy.metadata.resource_version
            return out
        finally:
            api.close()


def xpchaos(*args: str, cwd: Path | None = None, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpchaos", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or ROOT, env=env)


def start_sandbox(directory: Path, profile: str, *timings: str) -> Iterator[Sandbox]:
    """``xpchaos sandbox up --detach`` with the fast test timings (``timings`` override single ones); stopped with
    ``xpchaos sandbox down`` afterwards."""
    overridden = {t.partition("=")[0] for t in timings}
    args = ["sandbox", "up", "--detach", "--profile", profile, "--speed", "fast", "--output", "json",
            "--state-dir", str(directory)]
    for timing in (*(t for t in TEST_TIMINGS if t.partition("=")[0] not in overridden), *timings):
        args += ["--timing", timing]
    up = xpchaos(*args)
    assert up.returncode == 0, up.stderr
    box = Sandbox(profile, directory, Path(json.loads(up.stdout)["target"]))
    try:
        box.wait_steady()
        yield box
    finally:
        down = xpchaos("sandbox", "down", "--state-dir", str(directory))
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The seed's failover design: losing AWS moves traffic to Azure in seconds (fast timings)."""
    yield from start_sandbox(tmp_path_factory.mktemp("blueprint"), "blueprint")


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Plain Crossplane: nothing fails over."""
    yield from start_sandbox(tmp_path_factory.mktemp("stock"), "stock")


@pytest.fixture(scope="module")
def slow_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The blueprint with a 30 s detection: the failover probe is still waiting long after the fault is in place,
    so a signal reliably arrives mid-run."""
    yield from start_sandbox(tmp_path_factory.mktemp("slow-blueprint"), "blueprint", "detection=30")


@dataclass
class Run:
    """One run's private world: cwd and HOME, its undo log, its journal."""

    directory: Path

    @property
    def undo_log(self) -> Path:
        return self.directory / "undo.jsonl"

    @property
    def journal_path(self) -> Path:
        return self.directory / "journal.json"

    def journal(self) -> dict[str, Any]:
        return dict(json.loads(self.journal_path.read_text()))

    def outstanding(self) -> list[dict[str, Any]]:
        return UndoLog(self.undo_log).outstanding()

    def env(self, target: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in KNOBS}
        env.update(HOME=str(self.directory), XPCHAOS_TARGET=str(target), XPCHAOS_UNDO_LOG=str(self.undo_log),
                   **extra)
        return env

    def chaos_command(self, name: str) -> list[str]:
        return [CHAOS, "--no-version-check", "run", "--journal-path", str(self.journal_path),
                str(EXPERIMENTS / f"{name}.json")]

    def chaos(self, name: str, target: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.chaos_command(name), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              cwd=self.directory, env=self.env(target, **extra))

    def log(self) -> str:
        path = self.directory / "chaostoolkit.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def run_dir(tmp_path: Path) -> Run:
    return Run(tmp_path)


def extension(journal: dict[str, Any], name: str) -> dict[str, Any]:
    found = next((e for e in journal.get("extensions") or [] if e.get("name") == name), None)
    assert found is not None, f"no {name} extension in the journal (status {journal.get('status')})"
    return found


def verdict_of(journal: dict[str, Any]) -> dict[str, Any]:
    return extension(journal, "xpchaos-verdict")


def signal_when_faulted(process: subprocess.Popen[str], box: Sandbox, run: Run, before: snapshot.Snapshot,
                        signum: int, ready: Callable[[], bool] = lambda: True) -> None:
    """Wait until the fault is in place (an outstanding undo record and the cluster changed), and ``ready``, then
    send ``signum``."""
    def faulted() -> bool:
        assert process.poll() is None, f"the run ended before the fault was in place: {process.returncode}"
        return bool(run.outstanding() and snapshot.diff(before, box.snapshot()) and ready())

    wait_for(faulted, 60, "the fault in place")
    process.send_signal(signum)


def wrong_primary_target(box: Sandbox, directory: Path) -> Path:
    """A copy of the sandbox's target whose DNS primary is an address nobody answers: the baseline cannot hold."""
    doc = yaml.safe_load(box.target_path.read_text())
    doc["dns"][0]["primary"] = ["203.0.113.254"]
    path = directory / "wrong-primary.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
