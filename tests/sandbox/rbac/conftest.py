"""RBAC as the sandbox enforces it, seen from outside: ServiceAccount tokens from the TokenRequest API, used through
the official client and kubectl against the session's bare sandbox; Roles and bindings made by the admin.

Each test works in namespaces of its own (``ns``, ``other_ns``) and names its cluster-wide objects after them, so
tests sharing the session's sandbox never see each other's grants.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from tests.sandbox.rbac.identities import Grants, Identity, request_token, token_client, write_kubeconfig
from tests.support.sandboxes import Sandbox

_numbers = itertools.count()


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    """The kubeconfig's own identity: the cluster admin."""
    api = config.new_client_from_config(config_file=sandbox.kubeconfig)
    yield api
    api.close()


def _namespace(admin: client.ApiClient) -> Iterator[str]:
    name = f"rbac-{os.getpid()}-{next(_numbers)}"
    core: Any = client.CoreV1Api(admin)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture
def ns(admin: client.ApiClient) -> Iterator[str]:
    yield from _namespace(admin)


@pytest.fixture
def other_ns(admin: client.ApiClient) -> Iterator[str]:
    yield from _namespace(admin)


@pytest.fixture
def identity(sandbox: Sandbox, admin: client.ApiClient, tmp_path: Path) -> Iterator[Callable[..., Identity]]:
    """``make(namespace, name="runner")``: a new ServiceAccount and a one-hour token for it."""
    made: list[Identity] = []

    def make(namespace: str, name: str = "runner") -> Identity:
        core: Any = client.CoreV1Api(admin)
        core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        token = request_token(admin, namespace, name).status.token
        kubeconfig = write_kubeconfig(sandbox, token, namespace, tmp_path / f"kubeconfig-{namespace}-{name}")
        made.append(Identity(namespace, name, token, token_client(sandbox, token), kubeconfig))
        return made[-1]

    yield make
    for who in made:
        who.api.close()


@pytest.fixture
def grants(admin: client.ApiClient, ns: str) -> Iterator[Grants]:
    made = Grants(admin, ns, [])
    yield made
    for kind, name in reversed(made.cluster_wide):
        if kind == "clusterrole":
            made.rbac.delete_cluster_role(name)
        else:
            made.rbac.delete_cluster_role_binding(name)
