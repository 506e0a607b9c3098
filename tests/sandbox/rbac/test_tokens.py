"""ServiceAccount tokens from the TokenRequest API: issued to ``kubectl create token`` and the official client,
authenticated as the ServiceAccount with its groups, refused (401) once the ServiceAccount is gone or the token
expired; and ``xpchaos sandbox kubeconfig --serviceaccount`` writing a kubeconfig for that identity."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.sandbox.api.http import Http
from tests.sandbox.rbac.identities import Identity, forbidden, kubectl, request_token, token_client, unauthorized
from tests.support.commands import xpchaos
from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_kubectl_create_token_and_use_it(sandbox: Sandbox, admin: client.ApiClient, ns: str, kubectl_bin: str,
                                         tmp_path: Path) -> None:
    client.CoreV1Api(admin).create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
    made = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "create", "token", "runner", "-n", ns,
                   "--duration", "15m")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    claims = _claims(token)
    assert claims["sub"] == f"system:serviceaccount:{ns}:runner"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "runner"
    whoami = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "--token", token, "auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == f"system:serviceaccount:{ns}:runner"
    assert info["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]
    account = client.CoreV1Api(admin).read_namespaced_service_account("runner", ns)
    assert info["uid"] == account.metadata.uid
    assert info["extra"]["authentication.kubernetes.io/credential-id"] == [f"JTI={claims['jti']}"]
    denied = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "--token", token, "get", "secrets", "-n", ns)
    assert denied.returncode == 1
    assert f'User "system:serviceaccount:{ns}:runner" cannot list resource "secrets"' in denied.stderr


def test_kubectl_create_token_errors_are_the_real_ones(sandbox: Sandbox, admin: client.ApiClient, ns: str,
                                                       kubectl_bin: str, tmp_path: Path) -> None:
    missing = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "create", "token", "nobody", "-n", ns)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'error: failed to create token: serviceaccounts "nobody" not found'
    client.CoreV1Api(admin).create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
    short = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "create", "token", "runner", "-n", ns,
                    "--duration", "1m")
    assert short.returncode == 1
    assert short.stderr.strip() == ('error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: '
                                    "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than "
                                    "10 minutes")


def test_token_request_with_the_official_client(sandbox: Sandbox, admin: client.ApiClient, ns: str) -> None:
    client.CoreV1Api(admin).create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
    before = time.time()
    answer = request_token(admin, ns, "runner", expiration_seconds=7200)
    assert answer.spec.audiences == ["https://kubernetes.default.svc.cluster.local"]
    assert answer.spec.expiration_seconds == 7200
    assert answer.metadata.name == "runner" and answer.metadata.namespace == ns
    expires = answer.status.expiration_timestamp.timestamp()
    assert before + 7200 - 2 <= expires <= time.time() + 7200
    with pytest.raises(ApiException) as missing:
        request_token(admin, ns, "nobody")
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["details"] == {"name": "nobody", "kind": "serviceaccounts"}
    http = Http(sandbox)
    assert http.get(f"/api/v1/namespaces/{ns}/serviceaccounts/runner/token").status_code == 405  # create only
    renamed = http.post(f"/api/v1/namespaces/{ns}/serviceaccounts/runner/token", {"metadata": {"name": "other"}})
    assert renamed.status_code == 422
    assert renamed.json()["message"] == ('TokenRequest.authentication.k8s.io "runner" is invalid: metadata.name: '
                                         'Invalid value: "other": must match the service account name if specified')


def test_a_deleted_service_accounts_token_is_refused(sandbox: Sandbox, admin: client.ApiClient, ns: str,
                                                     identity: Callable[..., Identity]) -> None:
    who = identity(ns)
    message = forbidden(lambda: who.core.list_namespaced_pod(ns))  # authenticated: RBAC answers
    assert who.user in message
    core: Any = client.CoreV1Api(admin)
    core.delete_namespaced_service_account("runner", ns)
    unauthorized(lambda: who.core.list_namespaced_pod(ns))
    # a new ServiceAccount of the same name is another identity (another uid): the old token stays refused
    core.create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
    unauthorized(lambda: who.core.list_namespaced_pod(ns))
    fresh = token_client(sandbox, request_token(admin, ns, "runner").status.token)
    try:
        forbidden(lambda: client.CoreV1Api(fresh).list_namespaced_pod(ns))
    finally:
        fresh.close()


def test_other_tokens_are_refused(sandbox: Sandbox, admin: client.ApiClient, ns: str,
                                  identity: Callable[..., Identity]) -> None:
    who = identity(ns)
    header, _payload, signature = who.token.split(".")
    claims = _claims(who.token)
    claims["sub"] = "system:serviceaccount:kube-system:admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    vault = request_token(admin, ns, "runner", audiences=["vault"]).status.token  # not meant for the API server
    for token in (f"{header}.{forged}.{signature}", "not-a-token", vault, who.token[:-4] + "AAAA"):
        api = token_client(sandbox, token)
        try:
            unauthorized(lambda: client.CoreV1Api(api).list_namespaced_pod(ns))  # noqa: B023 - called at once
        finally:
            api.close()


def test_an_expired_token_is_refused(own_sandbox: Callable[..., Sandbox], tmp_path: Path, kubectl_bin: str) -> None:
    box = own_sandbox("--service-account-max-token-expiration", "3", "--service-account-token-leeway", "0")
    admin = client.ApiClient(_admin_configuration(box))
    try:
        client.CoreV1Api(admin).create_namespaced_service_account("default", {"metadata": {"name": "short"}})
        token = request_token(admin, "default", "short").status.token
        api = token_client(box, token)
        who: Any = client.AuthenticationV1Api(api)
        assert who.create_self_subject_review({}).status.user_info.username == "system:serviceaccount:default:short"

        def refused() -> bool:
            try:
                who.create_self_subject_review({})
            except ApiException as exc:
                return exc.status == 401
            return False

        wait_for(refused, timeout=20, interval=0.2, what="the 3-second token to be refused")
        api.close()
        made = kubectl(kubectl_bin, tmp_path, box.kubeconfig, "create", "token", "short")
        assert made.returncode == 0, made.stderr
        assert "Warning: requested expiration of 3600 seconds shortened to 3 seconds" in made.stderr
    finally:
        admin.close()


def _admin_configuration(box: Sandbox) -> client.Configuration:
    configuration = client.Configuration()
    configuration.host = box.api
    configuration.ssl_ca_cert = box.ca_file
    configuration.api_key = {"authorization": f"Bearer {box.token}"}
    return configuration


def test_xpchaos_sandbox_kubeconfig_acts_as_the_service_account(sandbox: Sandbox, admin: client.ApiClient, ns: str,
                                                                kubectl_bin: str, tmp_path: Path) -> None:
    client.CoreV1Api(admin).create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
    out = tmp_path / "runner.kubeconfig"
    made = xpchaos("sandbox", "kubeconfig", "--serviceaccount", f"{ns}/runner", "--state-dir",
                   str(sandbox.state_dir), "--duration", "2h", "-o", str(out))
    assert made.returncode == 0, made.stderr
    assert str(out) in made.stdout and f"system:serviceaccount:{ns}:runner" in made.stdout
    doc = yaml.safe_load(out.read_text())
    token = doc["users"][0]["user"]["token"]
    assert token not in made.stdout + made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert doc["contexts"][0]["context"]["namespace"] == ns
    assert _claims(token)["exp"] - _claims(token)["iat"] == 7200
    whoami = kubectl(kubectl_bin, tmp_path, out, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert whoami.stdout == f"system:serviceaccount:{ns}:runner", whoami.stderr
    listed = kubectl(kubectl_bin, tmp_path, out, "get", "configmaps")  # the context's namespace
    assert f'cannot list resource "configmaps" in API group "" in the namespace "{ns}"' in listed.stderr
    default = xpchaos("sandbox", "kubeconfig", "--serviceaccount", f"{ns}/runner", "--state-dir",
                      str(sandbox.state_dir))
    assert default.returncode == 0, default.stderr
    assert (sandbox.state_dir / f"kubeconfig-{ns}-runner").exists()


@pytest.mark.parametrize(("args", "says"), [
    (["--serviceaccount", "runner"], "--serviceaccount 'runner': expected NAMESPACE/NAME"),
    (["--serviceaccount", "Bad/runner"], "--serviceaccount 'Bad/runner': expected NAMESPACE/NAME"),
    (["--serviceaccount", "default/runner", "--duration", "5m"], "--duration '5m': a ServiceAccount token lasts at "
                                                                 "least 10 minutes"),
    (["--serviceaccount", "default/runner", "--duration", "soon"], "--duration 'soon': expected hours, minutes"),
    (["--serviceaccount", "default/nobody"], "--serviceaccount default/nobody: no such ServiceAccount in the sandbox; "
                                             "create it with `kubectl create serviceaccount nobody -n default`"),
])
def test_xpchaos_sandbox_kubeconfig_refuses_bad_input(sandbox: Sandbox, tmp_path: Path, args: list[str],
                                                      says: str) -> None:
    out = tmp_path / "out.kubeconfig"
    result = xpchaos("sandbox", "kubeconfig", *args, "--state-dir", str(sandbox.state_dir), "-o", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr, result.stderr
    assert not out.exists()


def test_xpchaos_sandbox_kubeconfig_needs_a_running_sandbox(tmp_path: Path) -> None:
    result = xpchaos("sandbox", "kubeconfig", "--serviceaccount", "default/runner", "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: --state-dir {tmp_path}: no sandbox runs there; start one with "
                                     "`xpchaos sandbox up --detach`")



@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--service-account-max-token-expiration", "0", "must be 1 second or more"),
    ("--service-account-token-leeway", "-1", "must be 0 seconds or more"),
])
def test_bad_token_flags_stop_the_server(tmp_path: Path, flag: str, value: str, says: str) -> None:
    result = subprocess.run([sys.executable, "-m", "xpchaos.sandbox", "serve", "--state-dir", str(tmp_path), flag,
                             value], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sandbox: cannot start: {flag} ") and lines[0].endswith(says), lines
