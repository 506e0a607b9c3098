"""The fault actions as Chaos Toolkit sees them: discovered, valid python activities, run by chaoslib itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chaoslib.activity import ensure_activity_is_valid, run_activity
from chaoslib.exceptions import ActivityFailed

from tests.actions.cluster import Cluster
from xpchaos import discover

PAIRS = [("xpchaos.actions.providerconfig", "delete_provider_config", "restore_provider_config", {"force": True}),
         ("xpchaos.actions.network", "block_provider_api", "unblock_provider_api", {"mode": "deny-cloud"}),
         ("xpchaos.actions.credentials", "revoke_credentials", "restore_credentials", {"mode": "secret"})]


def activity(module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "action", "name": func, "provider": {"type": "python", "module": module, "func": func,
                                                          "arguments": arguments}}


def test_discovery_lists_each_fault_and_its_rollback() -> None:
    names = {a["name"]: a for a in discover()["activities"] if a["type"] == "action"}
    assert set(names) == {name for _, action, rollback, _ in PAIRS for name in (action, rollback)} | \
        {"fail_health_check", "restore_health_check", "restore_outstanding"}
    args = [a["name"] for a in names["block_provider_api"]["arguments"]]
    assert args[0] == "provider" and args[-2:] == ["configuration", "secrets"]


@pytest.mark.parametrize("crossplane", ["v1", "v2"])
@pytest.mark.parametrize(("module", "action", "rollback", "arguments"), PAIRS)
def test_chaoslib_runs_each_fault_and_its_rollback(cluster_for: Callable[[str], Cluster], crossplane: str,
                                                   module: str, action: str, rollback: str,
                                                   arguments: dict[str, Any]) -> None:
    """Under both Crossplane generations (v2: a ClusterProviderConfig and namespaced MRs)."""
    c = cluster_for(crossplane)
    before = c.state()
    fault = activity(module, action, provider="aws", **arguments)
    undo = activity(module, rollback, provider="aws")
    ensure_activity_is_valid(fault)
    ensure_activity_is_valid(undo)
    assert run_activity(fault, c.configuration, {})["outcome"] == "applied"
    c.wait(lambda: all(s == "False" for s in c.synced("aws")), "every AWS MR Synced=False")
    assert run_activity(undo, c.configuration, {})["outcome"] == "restored"
    c.wait(lambda: c.state() == before, "every object as it was")


def test_a_refused_fault_is_an_activity_failure(cluster: Cluster) -> None:
    with pytest.raises(ActivityFailed, match="no provider 'gcp'"):
        run_activity(activity("xpchaos.actions.credentials", "revoke_credentials", provider="gcp"),
                     cluster.configuration, {})
