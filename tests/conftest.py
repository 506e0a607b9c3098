"""Fixtures shared by the project's own tests: a real sandbox process, reached like a real cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from xpchaos.run import sandbox_process as sp

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sandbox:
    api: str
    kubeconfig: str
    state_dir: Path

    @property
    def token(self) -> str:
        import yaml

        return yaml.safe_load(Path(self.kubeconfig).read_text())["users"][0]["user"]["token"]

    @property
    def ca_file(self) -> str:
        return str(self.state_dir / "ca.crt")


def _xpchaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpchaos", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox for the session, started the way a user does: ``xpchaos sandbox up --detach -o json``."""
    state_dir = tmp_path_factory.mktemp("sandbox")
    result = _xpchaos("sandbox", "up", "--detach", "--profile", "none", "--output", "json", "--state-dir",
                      str(state_dir))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    yield Sandbox(doc["api"], doc["kubeconfig"], state_dir)
    down = _xpchaos("sandbox", "down", "--state-dir", str(state_dir))
    assert down.returncode == 0, down.stderr


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    """Start a private sandbox with extra server flags (e.g. a tiny watch history); stopped afterwards."""
    started: list[Path] = []

    def start(*extra: str) -> Sandbox:
        state_dir = tmp_path / f"sandbox-{len(started)}"
        info, _child = sp.start(state_dir, extra_args=list(extra))
        started.append(state_dir)
        return Sandbox(info.api, info.kubeconfig, state_dir)

    yield start
    for state_dir in started:
        sp.stop(state_dir)


@pytest.fixture(scope="session")
def kubectl_bin() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl is not on PATH; the contract tests need the real kubectl (see README, 'Testing')")
    return path


@pytest.fixture
def kube_env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    """Environment for kubectl and chaostoolkit: the sandbox's kubeconfig and a private HOME (discovery cache)."""
    env = dict(os.environ)
    env["KUBECONFIG"] = sandbox.kubeconfig
    env["HOME"] = str(tmp_path)
    return env
