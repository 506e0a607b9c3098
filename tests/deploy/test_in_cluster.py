"""In a pod (the game-day CronJob) there is no kubeconfig: the harness uses the pod's ServiceAccount, as kubectl
does, and the context is called "in-cluster" for allowedContexts. Simulated here with the environment and files a
pod gets (KUBERNETES_SERVICE_HOST/PORT, the token and the CA) pointing at the sandbox."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from kubernetes import client
from kubernetes.config import incluster_config

from tests.support.sandboxes import Sandbox
from xpchaos.core import kube
from xpchaos.core import target as targets


@pytest.fixture
def pod(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = tmp_path / "token"
    token.write_text(sandbox.token)
    url = urlparse(sandbox.api)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", url.hostname or "")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(url.port))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", sandbox.ca_file)


def _target(allowed: list[str]) -> targets.Target:
    return targets.parse({"kind": "Target", "allowedContexts": allowed, "providers": {"aws": {
        "role": "primary", "providerConfig": {"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig",
                                              "plural": "providerconfigs", "name": "default"},
        "credentials": {"secret": {"namespace": "crossplane-system", "name": "aws-creds", "key": "credentials"}},
        "pods": {"namespace": "crossplane-system", "selector": "app=x"}, "managedResources": []}}}, Path("t.yaml"))


def test_a_pod_uses_its_service_account(pod: None) -> None:
    assert kube.in_cluster()
    names = [ns.metadata.name for ns in client.CoreV1Api(kube.api_client()).list_namespace().items]
    assert "default" in names
    assert kube.current_context(_target(["in-cluster"])) == "in-cluster"
    kube.check_context(_target(["in-cluster"]))
    with pytest.raises(kube.ContextNotAllowed, match="'in-cluster' is not in allowedContexts"):
        kube.check_context(_target(["production"]))


def test_outside_a_pod_the_kubeconfig_wins(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBECONFIG", sandbox.kubeconfig)
    assert not kube.in_cluster()
    assert not kube.in_cluster(sandbox.kubeconfig)
