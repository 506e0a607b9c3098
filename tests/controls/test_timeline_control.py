"""The control under Chaos Toolkit's own runner: the timeline lands in the journal, the probes use it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaoslib.experiment import run_experiment

from tests.probes.cluster import Cluster
from xpchaos.probes import recorder


def _python(kind: str, name: str, module: str, func: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "provider": {"type": "python", "module": module, "func": func,
                                                    "arguments": {"target": "${xpchaos_target}"}}, **extra}


def test_chaos_run_records_the_timeline_into_the_journal(cluster_for: Callable[..., Cluster]) -> None:
    c = cluster_for("blueprint")
    experiment = {
        "title": "losing AWS credentials moves traffic to Azure",
        "description": "xpchaos.controls.timeline + xpchaos.probes.failover",
        "configuration": {"xpchaos_target": str(c.target.path)},
        "controls": [{"name": "xpchaos-timeline",
                      "provider": {"type": "python", "module": "xpchaos.controls.timeline"}}],
        "steady-state-hypothesis": {"title": "serving from AWS", "probes": [
            _python("probe", "xr-ready", "xpchaos.probes.failover", "xr_is_ready", tolerance=True),
            _python("probe", "dns-primary", "xpchaos.probes.failover", "dns_answers_primary", tolerance=True)]},
        "method": [
            _python("action", "revoke-aws-credentials", "tests.probes.faults", "revoke_credentials"),
            {"type": "probe", "name": "failover-completes", "tolerance": {
                "type": "jsonpath", "path": "$.outcome", "expect": "passed"},
             "provider": {"type": "python", "module": "xpchaos.probes.failover", "func": "failover_completes",
                          "arguments": {"deadlines": {"detect": 15, "promote": 15, "xr_recovers": 15,
                                                      "dns_secondary": 15}}}}],
        "rollbacks": [_python("action", "restore-aws-credentials", "tests.probes.faults", "restore_credentials")],
    }
    journal = run_experiment(experiment, settings={"runtime": {"rollbacks": {"strategy": "always"}}})
    probe = next(r for r in journal["run"] if r["activity"]["name"] == "failover-completes")
    assert probe["output"]["outcome"] == "passed", probe
    assert probe["output"]["times"]["time_to_dns_convergence_s"] < 15
    timeline = next(e for e in journal["extensions"] if e["name"] == "xpchaos-timeline")["timeline"]
    marks = [(e["kind"], e["status"]) for e in timeline if e["what"] == "mark"]
    assert marks == [("revoke-aws-credentials", "injected"), ("restore-aws-credentials", "rolled-back")]
    assert any(e["what"] == "answer" and e["answers"] == ["198.51.100.20"] for e in timeline)
    assert recorder.active() is None
    assert journal["rollbacks"] and journal["rollbacks"][0]["status"] == "succeeded"


def test_a_blocked_fault_reads_fault_not_applied(cluster_for: Callable[..., Cluster]) -> None:
    """Deleting an in-use ProviderConfig is blocked: the verdict says so, it is neither a pass nor a failure."""
    c = cluster_for("blueprint")
    delete = {"type": "action", "name": "delete-aws-providerconfig", "provider": {
        "type": "python", "module": "xpchaos.actions.providerconfig", "func": "delete_provider_config",
        "arguments": {"provider": "aws", "timeout": 5}}}
    experiment = {
        "title": "deleting the AWS ProviderConfig", "description": "blocked by in-use protection",
        "configuration": {"xpchaos_target": str(c.target.path), "xpchaos_undo_log": str(c.target.path.parent /
                                                                                        "undo.jsonl")},
        "controls": [{"name": "xpchaos-timeline",
                      "provider": {"type": "python", "module": "xpchaos.controls.timeline"}}],
        "method": [delete, {"type": "probe", "name": "failover-completes", "provider": {
            "type": "python", "module": "xpchaos.probes.failover", "func": "failover_completes",
            "arguments": {"deadlines": {"detect": 5, "promote": 5, "xr_recovers": 5, "dns_secondary": 5}}}}],
        "rollbacks": [{"type": "action", "name": "restore-aws-providerconfig", "provider": {
            "type": "python", "module": "xpchaos.actions.providerconfig", "func": "restore_provider_config",
            "arguments": {"provider": "aws"}}}],
    }
    journal = run_experiment(experiment, settings={"runtime": {"rollbacks": {"strategy": "always"}}})
    action = next(r for r in journal["run"] if r["activity"]["name"] == "delete-aws-providerconfig")
    assert action["output"]["outcome"] == "fault-not-applied", action
    probe = next(r for r in journal["run"] if r["activity"]["name"] == "failover-completes")
    assert probe["output"]["outcome"] == "fault-not-applied", probe
    assert "in-use" in probe["output"]["reason"]
    timeline = next(e for e in journal["extensions"] if e["name"] == "xpchaos-timeline")["timeline"]
    marks = [(e["kind"], e["status"]) for e in timeline if e["what"] == "mark"]
    assert marks[:2] == [("delete-aws-providerconfig", "injected"), ("delete-aws-providerconfig", "fault-not-applied")]
