"""What the RBAC tests share: ServiceAccount identities with their tokens and clients, the grants the admin makes,
and the checks of a 403 or 401 answer."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.sandboxes import Sandbox

RBAC = "rbac.authorization.k8s.io"


@dataclass
class Identity:
    """A ServiceAccount with a token from the TokenRequest API, and clients that authenticate with it."""

    namespace: str
    name: str
    token: str
    api: client.ApiClient
    kubeconfig: Path

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def core(self) -> Any:  # read as plain attributes; the typed models' Optionals do not help here
        return client.CoreV1Api(self.api)


def token_client(box: Sandbox, token: str) -> client.ApiClient:
    """The official client with a bearer token, verifying the sandbox's CA (as with any real cluster)."""
    configuration = client.Configuration()
    configuration.host = box.api
    configuration.ssl_ca_cert = box.ca_file
    configuration.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(configuration)


def write_kubeconfig(box: Sandbox, token: str, namespace: str, path: Path) -> Path:
    """The sandbox's kubeconfig with ``token`` as its user and ``namespace`` as the context's namespace."""
    doc = yaml.safe_load(Path(box.kubeconfig).read_text())
    doc["users"][0]["user"] = {"token": token}
    doc["contexts"][0]["context"]["namespace"] = namespace
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def request_token(admin: client.ApiClient, namespace: str, name: str, **spec: Any) -> Any:
    """A TokenRequest answered by the sandbox (``spec``: expiration_seconds, audiences)."""
    body = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=spec.pop("audiences", []),
                                                                              **spec))
    return client.CoreV1Api(admin).create_namespaced_service_account_token(name, namespace, body)


def forbidden(call: Callable[[], object]) -> str:
    """The message of the 403 Status ``call`` must get."""
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 403, caught.value.body
    status = yaml.safe_load(caught.value.body)
    assert status["reason"] == "Forbidden" and status["code"] == 403, status
    return str(status["message"])


def unauthorized(call: Callable[[], object]) -> None:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 401, caught.value.body
    assert yaml.safe_load(caught.value.body)["message"] == "Unauthorized"


@dataclass
class Grants:
    """Roles and bindings the admin makes for a test; the cluster-wide ones are removed afterwards."""

    admin: client.ApiClient
    prefix: str
    cluster_wide: list[tuple[str, str]]

    @property
    def rbac(self) -> Any:
        return client.RbacAuthorizationV1Api(self.admin)

    def role(self, namespace: str, rules: list[dict[str, Any]], name: str = "granted") -> str:
        self.rbac.create_namespaced_role(namespace, {"metadata": {"name": name}, "rules": rules})
        return name

    def cluster_role(self, rules: list[dict[str, Any]], name: str = "granted") -> str:
        name = f"{self.prefix}:{name}"  # cluster-wide names are shared by every test: make them the test's own
        self.rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
        self.cluster_wide.append(("clusterrole", name))
        return name

    def bind(self, who: Identity, role: str, namespace: str | None = None, kind: str = "Role",
             name: str = "granted") -> str:
        """A RoleBinding in ``namespace`` (a ClusterRoleBinding when None) of ``role`` to ``who``."""
        body = {"metadata": {"name": name}, "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": who.name, "namespace": who.namespace}]}
        if namespace is not None:
            self.rbac.create_namespaced_role_binding(namespace, body)
            return name
        body["metadata"]["name"] = name = f"{self.prefix}:{name}"
        self.rbac.create_cluster_role_binding(body)
        self.cluster_wide.append(("clusterrolebinding", name))
        return name

    def bind_group(self, group: str, role: str, namespace: str) -> str:
        """A RoleBinding in ``namespace`` of the Role ``role`` to the group, named after it."""
        self.rbac.create_namespaced_role_binding(namespace, {
            "metadata": {"name": group}, "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": group}]})
        return group


def kubectl(binary: str, home: Path, kubeconfig: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    """kubectl with its own kubeconfig and a private HOME (its discovery cache)."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    return subprocess.run([binary, *args], capture_output=True, text=True, env=env, timeout=60)
