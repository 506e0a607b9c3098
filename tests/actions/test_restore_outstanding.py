"""``xpchaos.actions.restore.restore_outstanding``: what ``xpchaos restore`` does, as a Chaos Toolkit action run by
chaoslib itself, for the records of its own target only."""

from __future__ import annotations

from typing import Any

from chaoslib.activity import ensure_activity_is_valid, run_activity

from tests.actions.cluster import Cluster
from xpchaos.core.undo_log import UndoLog


def activity(module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "action", "name": func, "provider": {"type": "python", "module": module, "func": func,
                                                          "arguments": arguments}}


RESTORE = activity("xpchaos.actions.restore", "restore_outstanding")


def test_it_undoes_every_fault_of_its_target_and_leaves_other_targets_records(cluster: Cluster) -> None:
    c = cluster
    before = c.state()
    log = UndoLog(c.undo_log)
    elsewhere = log.record("revoke-credentials", {"path": "/nowhere/target.yaml", "name": "other", "context": None},
                           {"provider": "aws"})
    run_activity(activity("xpchaos.actions.credentials", "revoke_credentials", provider="aws"), c.configuration, {})
    run_activity(activity("xpchaos.actions.network", "block_provider_api", provider="azure", mode="deny-cloud"),
                 c.configuration, {})
    c.wait(lambda: c.state() != before, "both faults in place")
    ensure_activity_is_valid(RESTORE)

    result = run_activity(RESTORE, c.configuration, {})

    assert result["outcome"] == "restored" and len(result["restored"]) == 2, result
    c.wait(lambda: c.state() == before, "every object as it was")
    assert [r["id"] for r in log.outstanding()] == [elsewhere]  # another target's record: not sent to this cluster
    assert run_activity(RESTORE, c.configuration, {})["outcome"] == "nothing-to-do"
