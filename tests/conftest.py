"""Fixtures shared by the project's own tests: real sandbox processes reached like a real cluster, the pinned
kubectl, a real BIND9. What they are built from lives in ``tests.support``."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import config

from tests.probes.cluster import Cluster
from tests.support import bind9, kubectl, sandboxes
from tests.support.sandboxes import Sandbox, fast

pytest_plugins = ["tests.support.schedule"]  # make test's order of files: the longest first


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One bare sandbox (``--profile none``) for the session, started the way a user does:
    ``xpchaos sandbox up --detach -o json``."""
    with sandboxes.running(tmp_path_factory.mktemp("sandbox"), "--profile", "none", cli=True) as box:
        yield box


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """``start(*server_args)``: a private sandbox with these server flags (e.g. a tiny watch history), stopped
    after the test."""
    numbers = itertools.count()
    with contextlib.ExitStack() as stack:

        def start(*server_args: str) -> Sandbox:
            return stack.enter_context(sandboxes.running(tmp_path / f"sandbox-{next(numbers)}", *server_args))

        yield start


@pytest.fixture(scope="session")
def kubectl_bin() -> str:
    """The pinned kubectl of the dev extras."""
    return kubectl.require(kubectl.pinned())


@pytest.fixture
def kube_env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    """Environment for kubectl and chaostoolkit: the sandbox's kubeconfig and a private HOME (discovery cache)."""
    return {**os.environ, "KUBECONFIG": sandbox.kubeconfig, "HOME": str(tmp_path)}


@pytest.fixture
def named(tmp_path: Path) -> Iterator[bind9.Named]:
    """A real BIND9 ``named`` serving the sandbox's zone, accepting updates signed with its TSIG key."""
    with bind9.named(tmp_path) as server:
        yield server


@pytest.fixture
def cluster_for(own_sandbox: Callable[..., Sandbox]) -> Callable[..., Cluster]:
    """``start(profile, *server_args)``: a private sandbox of that profile at the test timings, with its target and
    a client (the probes' and the controls' tests)."""

    def start(profile: str, *extra: str) -> Cluster:
        sandbox = own_sandbox(*fast(profile), *extra)
        return Cluster(sandbox, sandbox.target, config.new_client_from_config(config_file=sandbox.kubeconfig))

    return start
