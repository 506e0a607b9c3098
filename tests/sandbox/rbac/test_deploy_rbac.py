"""deploy/kubernetes/rbac.yaml really suffices: on a blueprint sandbox with the manifests applied, the harness runs as
the ``xpchaos`` ServiceAccount (a token from the TokenRequest API, written by ``xpchaos sandbox kubeconfig``) with
RBAC enforced, and what tests/deploy/rbac records passes: the three experiments under plain ``chaos run`` and one
``xpchaos gameday``. tests/deploy/rbac proves from the audit log that no call falls outside the rules; this proves the
rules, enforced, let every call through, and that the identity gets nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.sandbox.rbac.identities import forbidden
from tests.support import sandboxes, targets
from tests.support.commands import CHAOS, xpchaos
from tests.support.paths import EXPERIMENTS, ROOT
from tests.support.runs import NAMES, RUN_TIMEOUT
from tests.support.sandboxes import Sandbox

MANIFESTS = ROOT / "deploy" / "kubernetes"
ACCOUNT = "system:serviceaccount:xpchaos:xpchaos"


@dataclass(frozen=True)
class AsServiceAccount:
    box: Sandbox  # the sandbox, reached as its admin (steady-state checks, setup)
    target: Path  # its target, reached as the ServiceAccount
    kubeconfig: Path  # the ServiceAccount's
    base: Path


def _apply_manifests(box: Sandbox) -> None:
    api = config.new_client_from_config(config_file=box.kubeconfig)
    try:
        core: Any = client.CoreV1Api(api)
        rbac: Any = client.RbacAuthorizationV1Api(api)
        creators = {"Namespace": lambda d: core.create_namespace(d),
                    "ServiceAccount": lambda d: core.create_namespaced_service_account(d["metadata"]["namespace"], d),
                    "ClusterRole": rbac.create_cluster_role, "ClusterRoleBinding": rbac.create_cluster_role_binding,
                    "Role": lambda d: rbac.create_namespaced_role(d["metadata"]["namespace"], d),
                    "RoleBinding": lambda d: rbac.create_namespaced_role_binding(d["metadata"]["namespace"], d)}
        for name in ("00-namespace.yaml", "serviceaccount.yaml", "rbac.yaml"):
            for doc in yaml.safe_load_all((MANIFESTS / name).read_text()):
                if doc:
                    creators[doc["kind"]](doc)
    finally:
        api.close()


def _as_account(source: Path, out: Path, kubeconfig: Path) -> Path:
    """The sandbox's target reached through ``kubeconfig``, with the deployed target's safety section (lease and
    emergency stop in the xpchaos namespace, where the game-day Role grants them)."""
    configmap = next(d for d in yaml.safe_load_all((MANIFESTS / "configmap-target.yaml").read_text())
                     if d and d.get("kind") == "ConfigMap")
    context = yaml.safe_load(kubeconfig.read_text())["current-context"]

    def edit(doc: dict[str, Any]) -> None:
        doc.update(kubeconfig=str(kubeconfig), context=context, allowedContexts=[context])
        doc["safety"] = yaml.safe_load(configmap["data"]["target.yaml"])["safety"]

    return targets.edited(source, out, edit)


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AsServiceAccount]:
    base = tmp_path_factory.mktemp("deploy-rbac")
    with sandboxes.running(base / "sandbox", *sandboxes.fast("blueprint")) as box:
        assert box.target_path is not None
        _apply_manifests(box)
        kubeconfig = base / "xpchaos.kubeconfig"
        made = xpchaos("sandbox", "kubeconfig", "--serviceaccount", "xpchaos/xpchaos", "--state-dir",
                       str(box.state_dir), "-o", str(kubeconfig))
        assert made.returncode == 0, made.stderr
        yield AsServiceAccount(box, _as_account(box.target_path, base / "target.yaml", kubeconfig), kubeconfig, base)


def _run(account: AsServiceAccount, label: str, command: list[str], timeout: float) -> None:
    account.box.wait_steady()  # as the admin: each run starts from the steady state
    directory = account.base / label
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XPCHAOS_") and k != "KUBECONFIG"}
    env.update(HOME=str(directory), XPCHAOS_TARGET=str(account.target), XPCHAOS_UNDO_LOG=str(directory / "undo.jsonl"),
               XPCHAOS_HISTORY=str(directory / "history.sqlite"))
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=directory, env=env)
    assert result.returncode == 0, (f"{label} as {ACCOUNT} exited {result.returncode}; a refused call shows as "
                                    f"'is forbidden':\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", NAMES)
def test_each_experiment_passes_as_the_service_account(account: AsServiceAccount, name: str) -> None:
    directory = account.base / name
    _run(account, name, [CHAOS, "--no-version-check", "run", "--journal-path", str(directory / "journal.json"),
                         str(EXPERIMENTS / f"{name}.json")], RUN_TIMEOUT)


@pytest.mark.timeout(600)
def test_a_game_day_passes_as_the_service_account(account: AsServiceAccount) -> None:
    suite = account.base / "suite.yaml"
    suite.write_text(f"kind: GameDay\nsteps:\n  - experiment: {EXPERIMENTS / 'revoke-credentials.json'}\n")
    _run(account, "gameday", [sys.executable, "-m", "xpchaos", "gameday", str(suite), "--target",
                              str(account.target), "--report-dir", str(account.base / "gameday-reports")], 300)


def test_the_service_account_gets_nothing_else(account: AsServiceAccount) -> None:
    api = config.new_client_from_config(config_file=str(account.kubeconfig))
    try:
        core: Any = client.CoreV1Api(api)
        assert forbidden(lambda: core.list_namespaced_secret("default")).startswith(
            f'secrets is forbidden: User "{ACCOUNT}" cannot list resource "secrets"')
        forbidden(lambda: core.read_namespaced_config_map("xpchaos-target", "xpchaos"))  # only the stop ConfigMap
        forbidden(lambda: client.CustomObjectsApi(api).patch_cluster_custom_object(
            "database.example.org", "v1alpha1", "xglobaldatabases", "production-db", {"spec": {}}))
        forbidden(lambda: core.replace_namespaced_secret("aws-creds", "crossplane-system", {"metadata": {}}))
    finally:
        api.close()



def _preflight(account: AsServiceAccount) -> tuple[int, list[dict[str, str]]]:
    result = xpchaos("preflight", "--target", str(account.target), "-o", "json", timeout=120)
    return result.returncode, yaml.safe_load(result.stdout)


def test_preflights_rbac_check_passes_as_the_service_account(account: AsServiceAccount) -> None:
    _code, findings = _preflight(account)
    rbac = [f for f in findings if f["check"] == "rbac"]
    assert rbac and all(f["status"] == "ok" for f in rbac), rbac


@pytest.mark.xfail(strict=True, reason="preflight's crossplane check gets the CRD compositeresourcedefinitions."
                                       "apiextensions.crossplane.io; rbac.yaml grants no get on "
                                       "customresourcedefinitions (reported, not widened)")
def test_preflight_passes_as_the_service_account(account: AsServiceAccount) -> None:
    code, findings = _preflight(account)
    assert code == 0, [f for f in findings if f["status"] != "ok"]



def test_without_its_binding_the_fault_is_refused(account: AsServiceAccount) -> None:
    """The control: the runs above were authorized as the ServiceAccount. Without the RoleBinding of the faults'
    Role, the credentials fault cannot read the Secret and stops before changing anything."""
    api = config.new_client_from_config(config_file=account.box.kubeconfig)
    rbac: Any = client.RbacAuthorizationV1Api(api)
    secret = client.CoreV1Api(api).read_namespaced_secret("aws-creds", "crossplane-system")
    binding = rbac.read_namespaced_role_binding("xpchaos-faults", "crossplane-system")
    rbac.delete_namespaced_role_binding("xpchaos-faults", "crossplane-system")
    try:
        env = {**os.environ, "XPCHAOS_UNDO_LOG": str(account.base / "unbound-undo.jsonl")}
        fault = subprocess.run([sys.executable, "-c", "from xpchaos.actions.credentials import revoke_credentials; "
                                f"revoke_credentials('aws', configuration={{'xpchaos_target': '{account.target}'}})"],
                               capture_output=True, text=True, timeout=60, env=env)
        assert fault.returncode != 0
        assert "reading Secret crossplane-system/aws-creds: the API answered 403 Forbidden" in fault.stderr, \
            fault.stderr[-2000:]
    finally:
        binding.metadata.resource_version = None
        rbac.create_namespaced_role_binding("crossplane-system", binding)
        after = client.CoreV1Api(api).read_namespaced_secret("aws-creds", "crossplane-system")
        api.close()
    assert after.metadata.resource_version == secret.metadata.resource_version  # untouched
