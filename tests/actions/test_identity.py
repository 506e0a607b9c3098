"""``revoke-credentials`` on workload identities, against the ``realistic`` platform (IRSA on AWS, a Secret on
Azure) with the blueprint: the IRSA side's role revoked as an operator would (ServiceAccount annotation, pods
replaced), its MRs failing with the STS denial, and the rollback and ``xpchaos restore`` leaving the cluster as it
was; a source no mode can break refused in one line before any change (exit 2), by the default mode ``auto``
too. A platform of WebIdentity and Azure Workload Identity (``OIDCTokenFile``) has its ProviderConfigs' role ARN and
client ID broken and put back."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.sandbox.platform.platforms import platform_document
from tests.support.commands import xpchaos
from tests.support.sandboxes import Sandbox, fast
from tests.support.waiting import wait_for
from xpchaos.actions import credentials
from xpchaos.actions._common import FaultError
from xpchaos.core.errors import InputError
from xpchaos.core.undo_log import UndoLog
from xpchaos.run import snapshot

IRSA = "eks.amazonaws.com/role-arn"
STS_DENIAL = "AssumeRoleWithWebIdentity, https response error StatusCode: 403"
DEADLINE = 60.0


class Realistic:
    """The realistic sandbox as these tests see it: its target, ground truth, a client and a private undo log."""

    def __init__(self, box: Sandbox, undo_log: Path) -> None:
        self.box = box
        self.target_path = box.state_dir / "target.yaml"
        self.truth = json.loads((box.state_dir / "platform.json").read_text())
        self.api = config.new_client_from_config(config_file=box.kubeconfig)
        self.undo_log = undo_log
        self.target = yaml.safe_load(self.target_path.read_text())
        self.namespace = self.truth["crossplane"]["namespace"]
        self.selector = self.target["providers"]["aws"]["pods"]["selector"]

    @property
    def configuration(self) -> dict[str, str]:
        return {"xpchaos_target": str(self.target_path), "xpchaos_undo_log": str(self.undo_log)}

    def mrs(self, cloud: str) -> list[dict[str, Any]]:
        custom: Any = client.CustomObjectsApi(self.api)
        out = []
        for xr in self.truth["composites"]:
            for mr in xr["managedResources"]:
                if mr["cloud"] == cloud:
                    group, version = mr["apiVersion"].split("/")
                    out.append(custom.get_cluster_custom_object(group, version, mr["plural"], mr["name"]))
        return out

    def synced(self, cloud: str) -> list[dict[str, Any]]:
        return [next((c for c in (mr.get("status") or {}).get("conditions") or [] if c["type"] == "Synced"), {})
                for mr in self.mrs(cloud)]

    def pods(self) -> list[Any]:
        return list(client.CoreV1Api(self.api).list_namespaced_pod(self.namespace, label_selector=self.selector).items)

    def provider_config(self, cloud: str) -> dict[str, Any]:
        ref = self.target["providers"][cloud]["providerConfig"]
        group, version = ref["apiVersion"].split("/")
        return dict(client.CustomObjectsApi(self.api).get_cluster_custom_object(group, version, ref["plural"],
                                                                                 ref["name"]))

    def roles(self) -> dict[str, str | None]:
        """The IRSA role annotated on each ServiceAccount of the AWS provider pods."""
        core = client.CoreV1Api(self.api)
        return {name: (core.read_namespaced_service_account(name, self.namespace).metadata.annotations or {}).get(IRSA)
                for name in sorted({p.spec.service_account_name for p in self.pods()})}

    def all_synced(self, cloud: str) -> bool:
        return all(c.get("status") == "True" for c in self.synced(cloud))


@pytest.fixture
def realistic(own_sandbox: Callable[..., Sandbox], tmp_path: Path) -> Realistic:
    box = own_sandbox(*fast("blueprint"), "--platform", "realistic")
    r = Realistic(box, tmp_path / "undo.jsonl")
    wait_for(lambda: r.all_synced("aws") and r.all_synced("azure"), DEADLINE, what="every MR Synced=True")
    return r


def _role_env(pod: Any) -> str | None:
    return next((e.value for e in pod.spec.containers[0].env or [] if e.name == "AWS_ROLE_ARN"), None)


def _revoke_irsa(r: Realistic) -> dict[str, Any]:
    roles, pods = r.roles(), {p.metadata.name for p in r.pods()}
    result = credentials.revoke_credentials("aws", mode="identity", configuration=r.configuration)
    assert result["outcome"] == "applied" and result["source"] == "IRSA"
    (record,) = UndoLog(r.undo_log).outstanding()  # written before the change, with the roles as they were
    assert record["id"] == result["undo_id"] and record["undo"]["annotations"] == roles
    broken = record["undo"]["broken"]
    assert set(r.roles().values()) == {broken} and broken not in roles.values()
    now = r.pods()
    assert pods.isdisjoint(p.metadata.name for p in now) and {_role_env(p) for p in now} == {broken}
    wait_for(lambda: all(c.get("status") == "False" and c.get("reason") == "ReconcileError"
                         and STS_DENIAL in c.get("message", "") for c in r.synced("aws")),
             DEADLINE, what="every AWS MR Synced=False with the STS denial")
    assert r.all_synced("azure")
    return result


def test_irsa_revoked_fails_the_aws_mrs_and_the_rollback_recovers_them(realistic: Realistic) -> None:
    r = realistic
    tgt = r.box.target
    assert tgt.providers["aws"].credentials is None  # the target says the truth: no Secret on the IRSA side
    before, roles = snapshot.take(tgt), r.roles()
    _revoke_irsa(r)
    assert snapshot.diff(before, snapshot.take(tgt))  # the ServiceAccounts' annotation shows in the diff

    rolled = credentials.restore_credentials("aws", configuration=r.configuration)
    assert rolled["outcome"] == "restored" and rolled["restored"][0]["action"] == "restored-role"
    assert r.roles() == roles and {_role_env(p) for p in r.pods()} == set(roles.values())
    wait_for(lambda: r.all_synced("aws"), DEADLINE, what="every AWS MR Synced=True again")
    assert snapshot.diff(before, snapshot.take(tgt)) == [] and UndoLog(r.undo_log).outstanding() == []


def test_xpchaos_restore_replays_an_identity_record_after_a_crash(realistic: Realistic) -> None:
    r = realistic
    tgt = r.box.target
    before, roles = snapshot.take(tgt), r.roles()
    _revoke_irsa(r)  # a "crashed" run: no rollback
    first = xpchaos("restore", "--target", str(r.target_path), "--undo-log", str(r.undo_log))
    assert first.returncode == 0, first.stderr
    assert "revoke-credentials: restored-role ServiceAccounts" in first.stdout
    assert r.roles() == roles and snapshot.diff(before, snapshot.take(tgt)) == []
    wait_for(lambda: r.all_synced("aws"), DEADLINE, what="every AWS MR Synced=True again")
    second = xpchaos("restore", "--target", str(r.target_path), "--undo-log", str(r.undo_log))
    assert second.returncode == 0 and second.stdout.startswith("Nothing to restore"), second.stdout


def test_mode_secret_on_irsa_is_refused_naming_mode_identity(realistic: Realistic) -> None:
    r = realistic
    versions = r.box.resource_versions()
    with pytest.raises(FaultError) as refused:
        credentials.revoke_credentials("aws", mode="secret", configuration=r.configuration)
    assert isinstance(refused.value, InputError)
    assert "takes its credentials from IRSA" in str(refused.value) and "use mode identity" in str(refused.value)
    assert UndoLog(r.undo_log).outstanding() == [] and r.box.resource_versions() == versions


def test_the_azure_secret_side_keeps_the_secret_mode_pinned_or_read_from_the_provider_config(
        realistic: Realistic, tmp_path: Path) -> None:
    r = realistic
    result = credentials.revoke_credentials("azure", configuration=r.configuration, dry_run=True)
    assert result["source"] == "Secret" and result["secret"] == f"Secret {r.namespace}/azure-creds"
    doc = yaml.safe_load(r.target_path.read_text())
    del doc["providers"]["azure"]["credentials"]  # the ProviderConfig's secretRef names it then
    unpinned = tmp_path / "unpinned.yaml"
    unpinned.write_text(yaml.safe_dump(doc, sort_keys=False))
    found = credentials.revoke_credentials("azure", dry_run=True, configuration={"xpchaos_target": str(unpinned)})
    assert (found["secret"], found["key"]) == (f"Secret {r.namespace}/azure-creds", "credentials")


def test_plan_names_the_service_accounts_the_irsa_fault_changes(realistic: Realistic, tmp_path: Path) -> None:
    r = realistic
    env = {**os.environ, "XPCHAOS_REVOKE_MODE": "identity"}
    plan = xpchaos("plan", "revoke-credentials", "--target", str(r.target_path), "-o", "json", env=env, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    touched = [o for o in json.loads(plan.stdout)["touches"] if o["kind"] == "ServiceAccount"]
    assert sorted(o["name"] for o in touched) == sorted(r.roles())
    assert all(o["namespace"] == r.namespace and o["annotation"] == IRSA for o in touched)


def _pod_identity_target(r: Realistic, tmp_path: Path) -> Path:
    """A ProviderConfig whose source is EKS Pod Identity, and a target naming it for AWS."""
    aws = next(pc for pc in r.truth["providerConfigs"] if pc["cloud"] == "aws")
    group, version = aws["apiVersion"].split("/")
    body = {"apiVersion": aws["apiVersion"], "kind": aws["kind"], "metadata": {"name": "aws-pod-identity"},
            "spec": {"credentials": {"source": "PodIdentity"}}}
    client.CustomObjectsApi(r.api).create_cluster_custom_object(group, version, aws["plural"], body)
    doc = dict(r.target)
    doc["providers"]["aws"]["providerConfig"]["name"] = "aws-pod-identity"
    path = tmp_path / "pod-identity.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_source_no_mode_can_break_is_refused_by_plan_and_run(realistic: Realistic, tmp_path: Path) -> None:
    r = realistic
    path = _pod_identity_target(r, tmp_path)
    versions, pods = r.box.resource_versions(), {p.metadata.name for p in r.pods()}
    env = {**{k: v for k, v in os.environ.items() if k != "XPCHAOS_REVOKE_MODE"},  # the default mode, auto
           "XPCHAOS_UNDO_LOG": str(r.undo_log)}
    plan = xpchaos("plan", "revoke-credentials", "--target", str(path), env=env, cwd=tmp_path)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert plan.stderr.count("\n") == 1 and "takes its credentials from PodIdentity" in plan.stderr
    assert "block-provider-api" in plan.stderr  # what to do instead
    run = xpchaos("run", "revoke-credentials", "--target", str(path), "--slo", "5s", env=env, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "takes its credentials from PodIdentity" in run.stderr, run.stderr
    assert "block-provider-api" in run.stderr and not list(tmp_path.glob("reports/runs/*"))  # nothing ran
    assert UndoLog(r.undo_log).outstanding() == []
    assert r.box.resource_versions() == versions and {p.metadata.name for p in r.pods()} == pods


def _broken_then_restored(r: Realistic, cloud: str, field: Callable[[dict[str, Any]], Any], text: str) -> None:
    tgt = r.box.target
    before, original = snapshot.take(tgt), field(r.provider_config(cloud))
    result = credentials.revoke_credentials(cloud, mode="identity", configuration=r.configuration)
    assert result["outcome"] == "applied"
    (record,) = UndoLog(r.undo_log).outstanding()
    assert record["undo"]["original"] == original and field(r.provider_config(cloud)) == record["undo"]["broken"]
    wait_for(lambda: all(c.get("status") == "False" and text in c.get("message", "") for c in r.synced(cloud)),
             DEADLINE, what=f"every {cloud} MR Synced=False with {text!r}")
    rolled = credentials.restore_credentials(cloud, configuration=r.configuration)
    assert rolled["restored"][0]["action"] == "restored-field" and field(r.provider_config(cloud)) == original
    wait_for(lambda: r.all_synced(cloud), DEADLINE, what=f"every {cloud} MR Synced=True again")
    assert snapshot.diff(before, snapshot.take(tgt)) == [] and UndoLog(r.undo_log).outstanding() == []


def test_web_identity_role_and_azure_client_id_are_broken_and_put_back(own_sandbox: Callable[..., Sandbox],
                                                                       tmp_path: Path) -> None:
    doc = platform_document("identities", clouds={
        "aws": {"serviceAccountRoleArn": "arn:aws:iam::111122223333:role/crossplane-provider-aws",
                "providerConfigs": [{"name": "aws-web", "credentials": {
                    "source": "WebIdentity", "roleArn": "arn:aws:iam::111122223333:role/crossplane-web"}}]},
        "azure": {"providerConfigs": [{"name": "azure-oidc", "credentials": {"source": "OIDCWorkloadIdentity"}}]}})
    (tmp_path / "identities.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    box = own_sandbox(*fast("blueprint"), "--platform", str(tmp_path / "identities.yaml"))
    r = Realistic(box, tmp_path / "undo.jsonl")
    wait_for(lambda: r.all_synced("aws") and r.all_synced("azure"), DEADLINE, what="every MR Synced=True")
    assert box.target.providers["aws"].credentials is None and box.target.providers["azure"].credentials is None
    _broken_then_restored(r, "aws", lambda pc: pc["spec"]["credentials"]["webIdentity"]["roleARN"],
                          "AssumeRoleWithWebIdentity")
    _broken_then_restored(r, "azure", lambda pc: pc["spec"]["clientID"], "AADSTS700016")
