"""The CI example runs the gate the way this project documents it, and keeps what the gate writes."""

from __future__ import annotations

import yaml

from tests.support.paths import ROOT
from xpchaos.cli import gate as gate_cli


def test_the_workflow_runs_the_gate_and_keeps_its_report() -> None:
    workflow = yaml.safe_load((ROOT / "deploy" / "ci" / "resilience-gate.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    run = "\n".join(step.get("run", "") for step in steps)
    assert "xpchaos gate" in run and "--report-dir reports/gate" in run
    junit = next(s for s in steps if "junit" in s.get("name", "").lower())
    assert junit["with"]["report_paths"] == "reports/gate/junit.xml"
    kept = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert kept["with"]["path"] == "reports/gate/" and kept["if"] == "${{ always() }}"
    options = {o for p in gate_cli.gate.params for o in getattr(p, "opts", [])}
    assert {"--target", "-m", "--report-dir"} <= options  # what the workflow passes exists
