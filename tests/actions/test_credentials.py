"""``revoke-credentials``'s default mode ``auto`` on the sandbox's ``realistic`` platform (blueprint, AWS first):
the mode comes from each ProviderConfig's credential source (IRSA on AWS -> ``identity``, a Secret on Azure ->
``secret``) and the result, the journal and ``xpchaos plan`` say which and why. Plain ``chaos run`` of the shipped
experiment with no ``XPCHAOS_REVOKE_MODE`` passes on the IRSA side and leaves the cluster exactly as it was. The
seed's Secret side is covered with the Secret faults (tests/actions/test_faults.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.runs import Run, verdict_of
from tests.support.sandboxes import Sandbox
from xpchaos.actions import credentials
from xpchaos.core import kube
from xpchaos.core.undo_log import UndoLog
from xpchaos.run import snapshot

IRSA = "eks.amazonaws.com/role-arn"
IRSA_CHOICE = "mode auto: source IRSA → identity"
SECRET_CHOICE = "mode auto: source Secret → secret"


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.realistic(tmp_path_factory.mktemp("realistic-auto"), "blueprint") as box:
        yield box


def _identities(box: Sandbox) -> dict[str, Any]:
    """Every ProviderConfig of both clouds (whole objects) and the IRSA role on each ServiceAccount of the
    providers' namespace: what the fault may change, to compare before and after."""
    target = box.target
    api = kube.api_client(target.kubeconfig, target.context)
    try:
        custom: Any = client.CustomObjectsApi(api)
        core: Any = client.CoreV1Api(api)
        out: dict[str, Any] = {}
        for provider in target.providers.values():
            pc = provider.provider_config
            for item in custom.list_cluster_custom_object(pc.group, pc.version, pc.plural)["items"]:
                out[f"{pc.kind}.{pc.group}/{item['metadata']['name']}"] = item
            for account in core.list_namespaced_service_account(provider.pods_namespace).items:
                name = f"ServiceAccount {provider.pods_namespace}/{account.metadata.name}"
                out[name] = (account.metadata.annotations or {}).get(IRSA)
        return out
    finally:
        api.close()


def test_auto_picks_identity_for_irsa_and_secret_for_a_secret(realistic: Sandbox, tmp_path: Path) -> None:
    configuration = {**realistic.configuration, "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}
    aws = credentials.revoke_credentials("aws", dry_run=True, configuration=configuration)
    assert (aws["source"], aws["mode"], aws["mode_reason"]) == ("IRSA", "identity", IRSA_CHOICE)
    assert {o["kind"] for o in aws["objects"]} == {"ServiceAccount"}
    azure = credentials.revoke_credentials("azure", dry_run=True, configuration=configuration)
    assert (azure["source"], azure["mode"], azure["mode_reason"]) == ("Secret", "secret", SECRET_CHOICE)
    assert UndoLog(tmp_path / "undo.jsonl").outstanding() == []


def test_plan_shows_the_mode_auto_chose(realistic: Sandbox, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "XPCHAOS_REVOKE_MODE"}
    plan = xpchaos("plan", "revoke-credentials", "--target", str(realistic.target_path), env=env, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert IRSA_CHOICE in plan.stdout and "mode='auto'" in plan.stdout, plan.stdout


def test_chaos_run_with_no_mode_set_passes_on_irsa_and_restores_exactly(realistic: Sandbox, tmp_path: Path) -> None:
    box, run = realistic, Run(tmp_path)
    before, identities, versions = box.snapshot(), _identities(box), box.resource_versions()
    result = run.chaos("revoke-credentials", Path(str(box.target_path)))  # XPCHAOS_REVOKE_MODE is not passed on
    journal = run.journal()
    found = verdict_of(journal)
    assert result.returncode == 0, f"{found}\n{result.stderr[-3000:]}"
    assert found["outcome"] == "passed" and found["provider"] == "aws", found
    [fault] = [r for r in journal["run"] if r["activity"]["name"] == "revoke-credentials"]
    assert (fault["output"]["mode"], fault["output"]["mode_reason"]) == ("identity", IRSA_CHOICE)
    box.wait_steady(timeout=90)
    assert _identities(box) == identities  # every ProviderConfig and role exactly as before
    assert box.resource_versions() == versions  # not even written to: IRSA changes the ServiceAccounts only
    assert snapshot.diff(before, box.snapshot()) == [] and run.outstanding() == []
