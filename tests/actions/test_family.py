"""``block-provider-api`` on a provider family (the ``realistic`` platform: ``provider-aws-rds``,
``provider-aws-route53`` and ``provider-family-aws``), with a target whose selector names one member only: every
pod that serves a kind the fault reaches is blocked (the missed ones by a second NetworkPolicy), the rollback
removes both, and preflight warns about the pods the selector misses."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.support.commands import xpchaos
from tests.support.sandboxes import Sandbox, fast
from tests.support.waiting import wait_for
from xpchaos.actions import network
from xpchaos.core.undo_log import UndoLog

PROVIDER_LABEL = "pkg.crossplane.io/provider"


class Family:
    """The realistic sandbox with a target that selects only ``provider-aws-rds``'s pods."""

    def __init__(self, box: Sandbox, tmp_path: Path) -> None:
        self.truth = json.loads((box.state_dir / "platform.json").read_text())
        doc = yaml.safe_load((box.state_dir / "target.yaml").read_text())
        doc["providers"]["aws"]["pods"]["selector"] = f"{PROVIDER_LABEL}=provider-aws-rds"
        self.target_path = tmp_path / "one-member.yaml"
        self.target_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        self.namespace = doc["providers"]["aws"]["pods"]["namespace"]
        self.undo_log = tmp_path / "undo.jsonl"
        self.api = config.new_client_from_config(config_file=box.kubeconfig)

    @property
    def configuration(self) -> dict[str, str]:
        return {"xpchaos_target": str(self.target_path), "xpchaos_undo_log": str(self.undo_log)}

    def aws_pods(self) -> set[str]:
        """Every pod of the AWS providers (members and family provider), as platform.json lists them."""
        return {pod["name"] for p in self.truth["providers"] if p["cloud"] == "aws" for pod in p["pods"]}

    def policies(self) -> list[Any]:
        net: Any = client.NetworkingV1Api(self.api)
        return [p for p in net.list_namespaced_network_policy(self.namespace).items
                if (p.metadata.labels or {}).get("xpchaos.io/fault") == network.FAULT]

    def selected(self, policy: Any) -> set[str]:
        """The pods a policy's podSelector selects, asked of the API server with the same selector."""
        selector = policy.spec.pod_selector
        parts = [f"{k}={v}" for k, v in (selector.match_labels or {}).items()]
        parts += [f"{e.key} in ({','.join(e.values)})" for e in selector.match_expressions or []
                  if e.operator == "In"]
        core: Any = client.CoreV1Api(self.api)
        return {p.metadata.name for p in core.list_namespaced_pod(self.namespace,
                                                                  label_selector=",".join(parts)).items}


@pytest.fixture
def family(own_sandbox: Callable[..., Sandbox], tmp_path: Path) -> Family:
    return Family(own_sandbox(*fast("blueprint"), "--platform", "realistic"), tmp_path)


def test_every_pod_of_the_family_is_blocked_and_the_rollback_removes_both_policies(family: Family) -> None:
    dry = network.block_provider_api("aws", dry_run=True, configuration=family.configuration)
    assert dry["family"] == ["provider-aws-route53", "provider-family-aws"]
    assert len(dry["would"]) == 2 and family.policies() == []
    result = network.block_provider_api("aws", configuration=family.configuration)
    try:
        assert result["outcome"] == "applied", result
        assert set(result["pods"]) == family.aws_pods()
        policies = family.policies()
        assert sorted(p.metadata.name for p in policies) == ["xpchaos-block-aws-api", "xpchaos-block-aws-api-family"]
        assert set().union(*(family.selected(p) for p in policies)) == family.aws_pods()
        assert len(UndoLog(family.undo_log).outstanding()) == 2
    finally:
        undone = network.unblock_provider_api("aws", configuration=family.configuration)
    assert sorted(r["action"] for r in undone["restored"]) == ["deleted", "deleted"]
    wait_for(lambda: family.policies() == [], 10, what="both policies gone")
    assert UndoLog(family.undo_log).outstanding() == []


def test_preflight_warns_about_the_pods_the_selector_misses(family: Family) -> None:
    result = xpchaos("preflight", "--target", str(family.target_path), "-o", "json",
                     env={**os.environ, "HOME": str(family.target_path.parent)})
    findings = json.loads(result.stdout)
    [warning] = [f for f in findings if f["check"] == "pods" and "misses" in f["message"]]
    assert warning["status"] == "warn"
    missed = {pod["name"] for p in family.truth["providers"]
              if p["name"] in ("provider-aws-route53", "provider-family-aws") for pod in p["pods"]}
    assert all(name in warning["message"] for name in missed)
    assert "provider-aws-rds-" not in warning["message"]
    assert "in (provider-aws-rds,provider-aws-route53,provider-family-aws)" in warning["fix"]
