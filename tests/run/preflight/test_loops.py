"""The dependency loops (``xpchaos.run.preflight_loops``) on one sandbox that has all three: DNS moved by the
Route53 Record (``--dns provider``) reconciled through AWS's own ProviderConfig, the management cluster's nodes on
AWS, and Azure's credential Secret synced from AWS Secrets Manager by an ExternalSecret. Found before any run; the
run that follows (revoking AWS's credentials) then fails where the first loop said it would: DNS never moves."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.run.preflight.helpers import findings
from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.runs import verdict_of

LOOPS = {
    "apiVersion": "xpchaos.io/v1alpha1", "kind": "SandboxPlatform", "metadata": {"name": "loops"},
    "spec": {
        "dns": {"mode": "provider"},
        "clouds": {
            "aws": {"providerConfigs": [{"name": "aws-production",
                                         "credentials": {"source": "Secret", "secretName": "aws-creds"}}]},
            "azure": {"providerConfigs": [{"name": "azure-production",
                                           "credentials": {"source": "Secret", "secretName": "azure-creds"}}]},
        },
        "composites": [{"name": "production-db", "resourceNames": "fixed", "dnsName": "api.xpchaos.test"}],
        "cluster": {"endpoints": True, "nodes": 3, "nodeProvider": "aws"},
        "externalSecrets": {"store": "aws"},
    },
}


@pytest.fixture(scope="module")
def loops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """The loop findings of preflight on the platform above, by what they are about, read once."""
    state_dir = tmp_path_factory.mktemp("sandbox-loops")
    platform_file = state_dir / "loops.yaml"
    platform_file.write_text(yaml.safe_dump(LOOPS))
    box = sandboxes.start(state_dir, "--platform", str(platform_file), *sandboxes.fast("blueprint"))
    try:
        assert box.target_path is not None
        code, found = findings(box.target_path)
        journal = state_dir / "run" / "journal.json"  # then the run, on the platform preflight judged
        env = {**os.environ, "XPCHAOS_UNDO_LOG": str(state_dir / "undo.jsonl")}
        run = xpchaos("run", "revoke-credentials", "--target", str(box.target_path), "--slo", "10s",
                      "--journal", str(journal), env=env, cwd=state_dir, timeout=120)
    finally:
        sandboxes.stop(state_dir)
    assert code == 1  # loop a fails the preflight
    by: dict[str, list[dict[str, Any]]] = {"record": [], "nodes": [], "secret": [],
                                           "run": [{"code": run.returncode, "output": run.stdout + run.stderr,
                                                    "verdict": verdict_of(json.loads(journal.read_text()))}]}
    for finding in (f for f in found if f["check"] == "loop"):
        about = "record" if "Record" in finding["message"] else "nodes" if "nodes" in finding["message"] else "secret"
        by[about].append(finding)
    return by


def test_the_record_reconciled_through_the_lost_providers_config_freezes_dns(loops: dict[str, Any]) -> None:
    [record] = loops["record"]
    assert record["status"] == "fail"
    assert record["message"].startswith("revoking aws's credentials freezes DNS: Record production-db-api-record of "
                                        "production-db, which must move away from aws, is reconciled through "
                                        "ProviderConfig aws-production")
    assert record["fix"] == ("reconcile the Record through a ProviderConfig of another account/credential, or move "
                             "DNS with ExternalDNS/health checks")


def test_the_clusters_own_nodes_on_the_cloud_under_test(loops: dict[str, Any]) -> None:
    [nodes] = loops["nodes"]
    assert nodes["status"] == "warn"
    assert "the management cluster's own nodes run on aws, the cloud under test (3 of 3 nodes, e.g. " \
           "spec.providerID aws:///us-east-1" in nodes["message"]
    assert "outside aws" in nodes["fix"]


def test_the_secondarys_credentials_synced_from_the_cloud_under_test(loops: dict[str, Any]) -> None:
    [secret] = loops["secret"]
    assert secret["status"] == "warn"
    assert secret["message"].startswith(
        "azure's credential Secret crossplane-system/azure-creds is synced from aws, the cloud under test "
        "(ExternalSecret crossplane-system/azure-creds, ClusterSecretStore aws-secretsmanager: spec.provider.aws)")
    assert "outside aws" in secret["fix"]


def test_the_run_after_it_is_not_resilient_where_the_loop_said(loops: dict[str, Any]) -> None:
    """The XR fails over to Azure, but the Record that must move is reconciled through the revoked credentials."""
    [run] = loops["run"]
    assert run["code"] == 1, run["output"][-3000:]
    verdict = run["verdict"]
    assert (verdict["outcome"], verdict["failed_step"]) == ("failed", "dns_secondary"), verdict
    assert verdict["times"].get("time_to_failover_s") is not None  # the XR did fail over: only DNS is frozen
