"""``xpchaos restore`` after a crashed run: every outstanding fault undone; a second run is harmless."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.actions.cluster import Cluster
from tests.support.commands import xpchaos
from xpchaos.actions import credentials, network, providerconfig
from xpchaos.core.undo_log import UndoLog


def test_restore_after_a_crash_undoes_every_fault_and_is_harmless_twice(cluster: Cluster) -> None:
    c = cluster
    before = c.state()
    secrets = [base64.b64decode(c.core.read_namespaced_secret(n, "crossplane-system").data["credentials"])
               for n in ("aws-creds", "azure-creds")]
    # a "crashed" run: faults injected, no rollback
    assert providerconfig.delete_provider_config("aws", force=True, configuration=c.configuration)["outcome"] == \
        "applied"
    assert network.block_provider_api("azure", mode="deny-cloud", configuration=c.configuration)["outcome"] == \
        "applied"
    assert credentials.revoke_credentials("azure", configuration=c.configuration)["outcome"] == "applied"
    assert credentials.revoke_credentials("aws", mode="delete-secret", configuration=c.configuration)[
        "outcome"] == "applied"
    assert c.state() != before and len(UndoLog(c.undo_log).outstanding()) == 5

    first = xpchaos("restore", "--target", str(c.target_path), "--undo-log", str(c.undo_log))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 6 and lines[-1].startswith("Restored 5 of 5 undo records")
    assert [line.split()[1].rstrip(":") for line in lines[:5]] == [
        "revoke-credentials", "revoke-credentials", "block-provider-api", "delete-provider-config",
        "delete-provider-config"]  # newest first
    for secret in secrets:
        for line in secret.decode().replace('"', "\n").replace(",", "\n").splitlines():
            value = line.split("=", 1)[-1].strip()
            if len(value) >= 16:
                assert value not in first.stdout + first.stderr
    c.wait(lambda: (c.provider_config("aws") or {}).get("metadata", {}).get("finalizers") == ["in-use.crossplane.io"],
           "the re-created ProviderConfig in use again")
    assert c.state() == before and UndoLog(c.undo_log).outstanding() == []
    c.wait(lambda: all(s == "True" for p in ("aws", "azure") for s in c.synced(p)), "every MR Synced=True again")

    second = xpchaos("restore", "--target", str(c.target_path), "--undo-log", str(c.undo_log))
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("Nothing to restore") and c.state() == before

    # without --target, each record's own target is used
    assert network.block_provider_api("aws", configuration=c.configuration)["outcome"] == "applied"
    third = xpchaos("restore", "--undo-log", str(c.undo_log))
    assert third.returncode == 0, third.stderr
    assert "block-provider-api: deleted NetworkPolicy crossplane-system/xpchaos-block-aws-api" in third.stdout
    assert c.state() == before


def test_restore_with_a_bad_target_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = xpchaos("restore", "--target", str(tmp_path / "nope.yaml"), "--undo-log", str(tmp_path / "u.jsonl"))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "nope.yaml: no such target file" in result.stderr


def test_restore_with_nothing_outstanding(tmp_path: Path) -> None:
    result = xpchaos("restore", "--undo-log", str(tmp_path / "u.jsonl"))
    assert result.returncode == 0 and result.stdout.startswith("Nothing to restore")
