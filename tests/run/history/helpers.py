"""Scenario reports as the gate builds them: journals with an ``xpchaos-verdict`` extension, written by hand (the
extension is the contract between the control and everything that reads a run)."""

from __future__ import annotations

from typing import Any

from xpchaos.run import report_model as rm

SCENARIO = "Revoking AWS credentials fails over to Azure"
OTHER = "Blocking the AWS API fails over to Azure"


def journal(outcome: str = "passed", detect: float | None = 4.0, failover: float | None = 20.0,
            dns: float | None = 30.0, slo: float = 90.0, title: str = SCENARIO,
            dns_client: float | None = None) -> dict[str, Any]:
    verdict: dict[str, Any] = {
        "name": "xpchaos-verdict", "outcome": outcome,
        "reason": "every step met its deadline" if outcome == "passed" else "step dns_secondary was 12.0 s late",
        "experiment": title, "fault": "revoke_credentials", "provider": "aws", "slo_s": slo,
        "times": {"time_to_detect_s": detect, "time_to_failover_s": failover, "time_to_dns_convergence_s": dns,
                  "time_to_client_visible_s": dns_client}, "dns_clock": "client-visible"}
    if outcome == "failed":
        verdict.update(failed_step="dns_secondary", late_by_s=12.0)
    return {"chaoslib-version": "1.44.0", "experiment": {"title": title}, "status": "completed",
            "deviated": outcome == "failed", "run": [], "rollbacks": [], "extensions": [verdict]}


def scenario(outcome: str = "passed", name: str = SCENARIO, **figures: Any) -> rm.ScenarioReport:
    return rm.ScenarioReport(name=name, feature="failover.feature", tags=["ci"], outcome=outcome,
                             message="" if outcome == "passed" else "not resilient",
                             journal=journal(outcome, title=name, **figures), journal_path="journals/1.json")


def record_run(path: Any, *scenarios: rm.ScenarioReport, kind: str = "gate", n: int = 0) -> int:
    from xpchaos.run import history

    code = 0 if all(s.outcome in ("passed", "skipped") for s in scenarios) else 1
    return history.record(path, kind, f"run {n}", f"2025-01-0{n or 1}T10:00:00Z", f"2025-01-0{n or 1}T10:05:00Z",
                          "sandboxes started by the scenarios", code, f"reports/run-{n}/index.html", list(scenarios))
