"""The three faults against a stock sandbox: each verifies itself, and its undo leaves every object as it was."""

from __future__ import annotations

import base64
import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.actions.cluster import Cluster
from xpchaos.actions import credentials, network, providerconfig
from xpchaos.actions._common import FaultError, TargetObjectMissing
from xpchaos.core.undo_log import UndoLog


def secret_bytes(c: Cluster, provider: str) -> bytes:
    ref = c.target["providers"][provider]["credentials"]["secret"]
    return base64.b64decode(c.core.read_namespaced_secret(ref["name"], ref["namespace"]).data[ref["key"]])


def assert_no_secret(c: Cluster, result: Any, caplog: pytest.LogCaptureFixture) -> None:
    for provider in c.target["providers"]:
        raw = secret_bytes(c, provider)
        for line in raw.decode().splitlines():  # every distinctive piece of the credential
            value = line.split("=", 1)[-1].strip()
            if len(value) >= 8:
                assert value not in json.dumps(result) and value not in caplog.text
        doc = json.loads(raw) if raw.startswith(b"{") else {}
        for value in doc.values():
            assert str(value) not in json.dumps(result) and str(value) not in caplog.text


def outstanding(c: Cluster) -> list[dict[str, Any]]:
    return UndoLog(c.undo_log).outstanding()


def test_blocked_delete_is_fault_not_applied_and_undo_restores_it(cluster: Cluster) -> None:
    c = cluster
    before = c.state()
    result = providerconfig.delete_provider_config("aws", configuration=c.configuration)
    assert result["outcome"] == "fault-not-applied"
    assert result["reason"] == "blocked by in-use.crossplane.io" and result["users"] == 4
    pc = c.provider_config("aws")
    assert pc is not None and pc["metadata"]["deletionTimestamp"]  # Terminating while the fault is active
    (record,) = outstanding(c)  # written before the change, still there while the fault is active
    assert record["id"] == result["undo_id"] and record["fault"] == "delete-provider-config"
    assert record["undo"]["snapshot"]["metadata"]["name"] == "aws-production"
    assert stat.S_IMODE(c.undo_log.stat().st_mode) == 0o600
    assert all(s == "True" for s in c.synced("aws"))  # blocked: nothing failed

    rolled = providerconfig.restore_provider_config("aws", configuration=c.configuration)
    assert rolled["outcome"] == "restored" and rolled["restored"][0]["used_again"] is True
    after = c.state()
    assert after == before
    assert not (c.provider_config("aws") or {})["metadata"].get("deletionTimestamp")
    assert outstanding(c) == []
    again = providerconfig.restore_provider_config("aws", configuration=c.configuration)  # idempotent
    assert again["outcome"] == "nothing-to-do" and c.state() == before


def test_forced_delete_is_applied_mrs_fail_and_undo_restores_it(cluster: Cluster) -> None:
    c = cluster
    before = c.state()
    result = providerconfig.delete_provider_config("aws", force=True, configuration=c.configuration)
    assert result["outcome"] == "applied" and result["forced"] is True and c.provider_config("aws") is None
    assert result["effect"]["step"] == "detect" and "GitOps" in result["effect"]["unseen"], result["effect"]
    assert [r["undo"]["action"] for r in outstanding(c)] == ["finalizers-removed", "recreate-provider-config"]
    c.wait(lambda: all(s == "False" for s in c.synced("aws")), "every AWS MR Synced=False")
    assert all(s == "True" for s in c.synced("azure"))

    providerconfig.restore_provider_config("aws", configuration=c.configuration)
    c.wait(lambda: all(s == "True" for s in c.synced("aws")), "every AWS MR Synced=True again")
    assert c.state() == before and outstanding(c) == []


@pytest.mark.parametrize("mode", ["deny-all-except-keep", "deny-cloud"])
def test_blocked_api_fails_the_mrs_and_undo_removes_exactly_that_policy(cluster: Cluster, mode: str) -> None:
    c = cluster
    net = network.client.NetworkingV1Api(c.api)
    bystander = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "someone-elses", "namespace": "crossplane-system"},
                 "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    net.create_namespaced_network_policy("crossplane-system", bystander)
    before = c.state()
    result = network.block_provider_api("aws", mode=mode, configuration=c.configuration)
    assert result["outcome"] == "applied" and len(result["pods"]) == 2
    policy = net.read_namespaced_network_policy("xpchaos-block-aws-api", "crossplane-system")
    assert policy.spec.pod_selector.match_expressions[0].values == ["provider-aws-rds", "provider-aws-route53"]
    cidrs = [peer.ip_block.cidr for rule in policy.spec.egress for peer in rule.to]
    if mode == "deny-all-except-keep":
        assert cidrs == [k["cidr"] for k in c.target["egressKeep"]]
    else:
        assert policy.spec.egress[0].to[0].ip_block._except == c.target["providers"]["aws"]["cloudEndpoints"]
    c.wait(lambda: all(s == "False" for s in c.synced("aws")), "every AWS MR Synced=False")
    assert all(s == "True" for s in c.synced("azure"))
    with pytest.raises(FaultError, match="already exists"):
        network.block_provider_api("aws", mode=mode, configuration=c.configuration)

    assert network.unblock_provider_api("aws", configuration=c.configuration)["outcome"] == "restored"
    assert c.state() == before  # the bystander policy is still there, ours is gone
    c.wait(lambda: all(s == "True" for s in c.synced("aws")), "every AWS MR Synced=True again")
    assert network.unblock_provider_api("aws", configuration=c.configuration)["outcome"] == "nothing-to-do"


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_revoked_credentials_fail_the_mrs_and_undo_restores_the_exact_bytes(
        cluster: Cluster, provider: str, caplog: pytest.LogCaptureFixture) -> None:
    c = cluster
    caplog.set_level(logging.DEBUG)
    before, original = c.state(), secret_bytes(c, provider)
    result = credentials.revoke_credentials(provider, configuration=c.configuration)
    assert result["outcome"] == "applied"
    assert (result["mode"], result["mode_reason"]) == ("secret", "mode auto: source Secret → secret")  # the default
    assert result["format"] == ("aws-ini" if provider == "aws" else "azure-json")
    assert result["effect"]["side"] == provider and "cached session" in result["effect"]["unseen"], result["effect"]
    revoked = secret_bytes(c, provider)
    assert revoked != original
    assert credentials.invalid_credential(revoked)[0] == result["format"]  # well-formed, same format
    (record,) = outstanding(c)
    assert base64.b64decode(record["undo"]["snapshot"]["data"]["credentials"]) == original
    c.wait(lambda: all(s == "False" for s in c.synced(provider)), f"every {provider} MR Synced=False")
    assert_no_secret(c, result, caplog)
    for secret in (original, revoked):
        for line in secret.decode().replace('"', "\n").splitlines():
            value = line.split("=", 1)[-1].strip()
            if len(value) >= 16:
                assert value not in json.dumps(result) and value not in caplog.text

    rolled = credentials.restore_credentials(provider, configuration=c.configuration)
    assert rolled["outcome"] == "restored" and original.decode() not in json.dumps(rolled)
    assert secret_bytes(c, provider) == original and c.state() == before
    c.wait(lambda: all(s == "True" for s in c.synced(provider)), f"every {provider} MR Synced=True again")
    assert credentials.restore_credentials(provider, configuration=c.configuration)["outcome"] == "nothing-to-do"


def test_deleted_secret_is_recreated_with_the_same_bytes(cluster: Cluster) -> None:
    c = cluster
    before, original = c.state(), secret_bytes(c, "aws")
    result = credentials.revoke_credentials("aws", mode="delete-secret", configuration=c.configuration)
    assert result["outcome"] == "applied"
    with pytest.raises(network.client.ApiException):
        c.core.read_namespaced_secret("aws-creds", "crossplane-system")
    c.wait(lambda: all(s == "False" for s in c.synced("aws")), "every AWS MR Synced=False")
    credentials.restore_credentials("aws", configuration=c.configuration)
    assert secret_bytes(c, "aws") == original and c.state() == before
    c.wait(lambda: all(s == "True" for s in c.synced("aws")), "every AWS MR Synced=True again")


def test_dry_run_changes_nothing_and_writes_no_undo_record(cluster: Cluster) -> None:
    c = cluster
    before = c.state()
    results = [providerconfig.delete_provider_config("aws", force=True, dry_run=True, configuration=c.configuration),
               network.block_provider_api("aws", dry_run=True, configuration=c.configuration),
               network.block_provider_api("azure", mode="deny-cloud", dry_run=True, configuration=c.configuration),
               credentials.revoke_credentials("aws", dry_run=True, configuration=c.configuration),
               credentials.revoke_credentials("azure", mode="delete-secret", dry_run=True,
                                              configuration=c.configuration)]
    assert all(r["outcome"] == "dry-run" and r["would"] for r in results)
    assert results[-1]["mode_reason"] == "mode delete-secret as given: source Secret"  # an explicit mode is kept
    assert c.state() == before and not c.undo_log.exists()


def _target_with(c: Cluster, tmp_path: Path, change: Any) -> dict[str, str]:
    doc = yaml.safe_load(c.target_path.read_text())
    change(doc)
    path = tmp_path / "edited-target.yaml"
    path.write_text(yaml.safe_dump(doc))
    return {"xpchaos_target": str(path), "xpchaos_undo_log": str(c.undo_log)}


def test_missing_targets_are_refused_before_anything_changes(cluster: Cluster, tmp_path: Path) -> None:
    c = cluster
    before = c.state()
    for fault in (providerconfig.delete_provider_config, network.block_provider_api, credentials.revoke_credentials):
        with pytest.raises(TargetObjectMissing,
                           match=r"no provider 'gcp' \(the target has: aws \(primary\), azure \(secondary\)\)"):
            fault("gcp", configuration=c.configuration)

    def rename_pc(doc: dict[str, Any]) -> None:
        doc["providers"]["aws"]["providerConfig"]["name"] = "aws-staging"

    missing = r"'aws-staging' does not exist \(existing providerconfigs.aws.upbound.io: aws-production\)"
    with pytest.raises(TargetObjectMissing, match=missing):
        providerconfig.delete_provider_config("aws", force=True, configuration=_target_with(c, tmp_path, rename_pc))

    def rename_secret(doc: dict[str, Any]) -> None:
        doc["providers"]["aws"]["credentials"]["secret"]["name"] = "aws-old"

    with pytest.raises(TargetObjectMissing, match=r"Secret crossplane-system/aws-old does not exist .*aws-creds"):
        credentials.revoke_credentials("aws", configuration=_target_with(c, tmp_path, rename_secret))

    def rename_key(doc: dict[str, Any]) -> None:
        doc["providers"]["aws"]["credentials"]["secret"]["key"] = "creds"

    with pytest.raises(TargetObjectMissing, match=r"has no key 'creds' \(its keys: credentials\)"):
        credentials.revoke_credentials("aws", configuration=_target_with(c, tmp_path, rename_key))

    def other_pods(doc: dict[str, Any]) -> None:
        doc["providers"]["aws"]["pods"]["selector"] = "pkg.crossplane.io/provider=provider-aws-ec2"

    with pytest.raises(TargetObjectMissing, match=r"no pods match .* \(pods there: .*provider-aws-rds"):
        network.block_provider_api("aws", configuration=_target_with(c, tmp_path, other_pods))
    assert c.state() == before and not c.undo_log.exists()


def test_no_change_without_a_durable_undo_record(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """The undo record is written before the change: when it cannot be written, nothing is changed."""
    from xpchaos.core.undo_log import UndoLogError

    def refuse(self: UndoLog, entry: dict[str, Any]) -> None:
        raise UndoLogError(f"{self.path}: cannot write the undo log: disk full")

    monkeypatch.setattr(UndoLog, "_append", refuse)
    c = cluster
    before = c.state()
    for fault, kwargs in ((providerconfig.delete_provider_config, {"force": True}), (network.block_provider_api, {}),
                          (credentials.revoke_credentials, {}),
                          (credentials.revoke_credentials, {"mode": "delete-secret"})):
        with pytest.raises(UndoLogError, match="disk full"):
            fault("aws", configuration=c.configuration, **kwargs)
    assert c.state() == before


def test_a_context_the_target_does_not_allow_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    c = cluster
    before = c.state()

    def only_production(doc: dict[str, Any]) -> None:
        doc["allowedContexts"] = ["production"]

    with pytest.raises(FaultError, match=r"kube context 'xpchaos-sandbox' is not in allowedContexts \(production\)"):
        credentials.revoke_credentials("aws", configuration=_target_with(c, tmp_path, only_production))
    assert c.state() == before and not c.undo_log.exists()
