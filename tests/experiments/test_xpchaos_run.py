"""``xpchaos run`` as a user runs it (its own process, stdout not a terminal): the verdict, the times, the exit
codes, the journal and report it writes, its refusals, and Ctrl-C / SIGTERM mid-run."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.support.commands import xpchaos
from tests.support.paths import EXPERIMENTS, ROOT
from tests.support.runs import SIGNALS, Run, signal_when_faulted, verdict_of
from tests.support.sandboxes import Sandbox
from xpchaos.run import snapshot


def run_xpchaos(run: Run, *args: str) -> subprocess.CompletedProcess[str]:
    return xpchaos("run", *args, "--undo-log", str(run.undo_log), cwd=run.directory, timeout=150,
                   env=run.env(run.directory / "no-target-from-the-environment.yaml"))


def written(run: Run) -> tuple[dict[str, Any], str]:
    """The journal and report.txt under reports/runs/<time>-<experiment>/ in the run's directory."""
    journals = list((run.directory / "reports" / "runs").glob("*/journal.json"))
    assert len(journals) == 1, journals
    return json.loads(journals[0].read_text()), (journals[0].parent / "report.txt").read_text()


def test_blueprint_exits_0_and_reports_the_verdict_and_times(blueprint: Sandbox, run_dir: Run) -> None:
    blueprint.wait_steady()
    before = blueprint.snapshot()
    result = run_xpchaos(run_dir, str(EXPERIMENTS / "block-provider-api.json"), "--target",
                         str(blueprint.target_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    assert "PASSED" in out and "resilient: every step within its deadline" in out
    for label in ("time to detect", "time to fail over", "time to DNS convergence"):
        line = next(line for line in out.splitlines() if line.strip().startswith(label))
        assert " s " in line and "within SLO" in line, line
    for step in ("detect", "promote", "xr_recovers", "dns_secondary"):
        assert any(line.split()[:1] == [step] and line.rstrip().endswith("met") for line in out.splitlines()), step
    assert "Action: block-provider-api" in out, "chaostoolkit's progress is not shown"
    assert out.count("Action: block-provider-api") == 1, "chaostoolkit's progress is printed twice"
    assert "creating NetworkPolicy crossplane-system/xpchaos-block-aws-api" in out, "the fault's log is not shown"
    assert "fault block-provider-api" in out and "injected" in out, "the timeline is not shown"
    journal, report = written(run_dir)
    assert verdict_of(journal)["outcome"] == "passed"
    assert "PASSED" in report and "time to detect" in report and "journal: reports/runs/" in report
    assert snapshot.diff(before, blueprint.snapshot()) == []
    assert run_dir.outstanding() == []
    assert result.stderr == ""


def test_stock_exits_1_naming_the_missing_step(stock: Sandbox, run_dir: Run) -> None:
    stock.wait_steady()
    before = stock.snapshot()
    result = run_xpchaos(run_dir, str(EXPERIMENTS / "revoke-credentials.json"), "--target", str(stock.target_path),
                         "--slo", "6s")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    assert "NOT resilient" in result.stdout
    failed = next(line for line in result.stdout.splitlines() if line.startswith("failed step"))
    assert failed.split()[2:] == ["xr_recovers"], failed
    assert "never left Ready" in result.stdout
    missed = next(line for line in result.stdout.splitlines() if line.split()[:1] == ["xr_recovers"])
    assert missed.rstrip().endswith("missed"), missed
    journal, _report = written(run_dir)
    assert verdict_of(journal)["failed_step"] == "xr_recovers"
    assert snapshot.diff(before, stock.snapshot()) == []
    assert run_dir.outstanding() == []


def nothing_written(run: Run) -> None:
    assert not (run.directory / "reports").exists(), "a journal or report was written"
    assert not run.undo_log.exists(), "an undo record was written"


def test_a_missing_experiment_exits_2_with_one_line(blueprint: Sandbox, run_dir: Run) -> None:
    versions = blueprint.resource_versions()
    result = run_xpchaos(run_dir, "experiments/no-such.json", "--target", str(blueprint.target_path))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "no-such.json: no such experiment file" in result.stderr
    assert result.stdout == ""
    nothing_written(run_dir)
    assert blueprint.resource_versions() == versions


def test_an_invalid_target_exits_2_with_one_line(run_dir: Run) -> None:
    bad = run_dir.directory / "target.yaml"
    bad.write_text("kind: NotATarget\n")
    result = run_xpchaos(run_dir, str(EXPERIMENTS / "delete-providerconfig.json"), "--target", str(bad))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "target.yaml: kind: expected a document with kind: Target" in result.stderr
    nothing_written(run_dir)


def test_an_unknown_provider_exits_2_naming_the_providers(blueprint: Sandbox, run_dir: Run) -> None:
    versions = blueprint.resource_versions()
    result = run_xpchaos(run_dir, str(EXPERIMENTS / "block-provider-api.json"), "--target",
                         str(blueprint.target_path), "--provider", "gcp")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "no provider 'gcp'" in result.stderr and "aws (primary)" in result.stderr
    assert "azure (secondary)" in result.stderr
    nothing_written(run_dir)
    assert blueprint.resource_versions() == versions


def test_an_option_the_experiment_does_not_declare_exits_2(blueprint: Sandbox, run_dir: Run) -> None:
    doc = json.loads((EXPERIMENTS / "block-provider-api.json").read_text())
    del doc["configuration"]["xpchaos_slo"]
    path = run_dir.directory / "no-slo.json"
    path.write_text(json.dumps(doc))
    result = run_xpchaos(run_dir, str(path), "--target", str(blueprint.target_path), "--slo", "30s")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "no configuration key xpchaos_slo" in result.stderr
    nothing_written(run_dir)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_during_the_fault_exits_130_and_leaves_nothing_behind(signame: str, slow_blueprint: Sandbox,
                                                                        run_dir: Run) -> None:
    slow_blueprint.wait_steady()
    before = slow_blueprint.snapshot()
    command = [sys.executable, "-m", "xpchaos", "run", str(EXPERIMENTS / "delete-providerconfig.json"), "--target",
               str(slow_blueprint.target_path), "--slo", "60s", "--undo-log", str(run_dir.undo_log)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=run_dir.directory, env=run_dir.env(slow_blueprint.target_path))
    try:
        signal_when_faulted(process, slow_blueprint, run_dir, before, SIGNALS[signame])
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out[-3000:] + err
    assert "Interrupted" in out and "the rollbacks ran" in out
    assert "could not decide: the run was interrupted" in out
    journal, _report = written(run_dir)
    assert journal["status"] == "interrupted"
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert snapshot.diff(before, slow_blueprint.snapshot()) == []
    assert run_dir.outstanding() == []


def test_run_and_plan_are_xpchaos_commands() -> None:
    result = xpchaos("--help", cwd=ROOT)
    assert result.returncode == 0
    assert any(line.split()[:1] == ["run"] for line in result.stdout.splitlines())
    assert any(line.split()[:1] == ["plan"] for line in result.stdout.splitlines())
