"""The three experiments under plain ``chaos run``, as a user runs them: the verdict in the journal, the exit code,
and the cluster left exactly as it was."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.commands import CHAOS
from tests.support.paths import EXPERIMENTS
from tests.support.runs import NAMES, Run, verdict_of
from tests.support.sandboxes import Sandbox
from tests.support.targets import wrong_primary
from xpchaos.run import snapshot

TIMES = ("time_to_detect_s", "time_to_failover_s", "time_to_dns_convergence_s")


@pytest.mark.parametrize("name", NAMES)
def test_chaos_validate_accepts_the_experiment(name: str, run_dir: Run) -> None:
    command = [CHAOS, "--no-version-check", "--no-log-file", "validate", str(EXPERIMENTS / f"{name}.json")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=run_dir.directory,
                            env=run_dir.env(EXPERIMENTS / "unused.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Experiment looks valid" in result.stdout + result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_blueprint_passes_and_leaves_the_cluster_as_it_was(name: str, blueprint: Sandbox, run_dir: Run) -> None:
    blueprint.wait_steady()
    before = blueprint.snapshot()
    result = run_dir.chaos(name, blueprint.target_path)
    journal = run_dir.journal()
    found = verdict_of(journal)
    assert result.returncode == 0, f"{found}\n{result.stderr[-3000:]}"
    assert found["outcome"] == "passed", found
    assert found["fault"] == name and found["provider"] == "aws"
    for key in TIMES:
        assert isinstance(found["times"].get(key), (int, float)), found["times"]
    assert [s["status"] for s in found["steps"]] == ["met"] * 4
    assert journal["status"] == "completed" and not journal["deviated"]
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert snapshot.diff(before, blueprint.snapshot()) == []
    assert run_dir.undo_log.exists(), "the fault wrote no undo record"
    assert run_dir.outstanding() == []


@pytest.mark.parametrize("name", NAMES)
def test_stock_fails_on_the_xr_and_leaves_the_cluster_as_it_was(name: str, stock: Sandbox, run_dir: Run) -> None:
    stock.wait_steady()
    before = stock.snapshot()
    result = run_dir.chaos(name, stock.target_path, XPCHAOS_SLO="6s")
    journal = run_dir.journal()
    found = verdict_of(journal)
    assert result.returncode != 0, found
    assert found["outcome"] == "failed", found
    assert found["failed_step"] == "xr_recovers"
    assert "never left Ready" in found["observed"]
    assert found["slo_s"] == 6
    assert journal["deviated"] is True
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert snapshot.diff(before, stock.snapshot()) == []
    assert run_dir.outstanding() == []


def test_a_baseline_that_does_not_hold_is_an_error_and_injects_nothing(blueprint: Sandbox, run_dir: Run) -> None:
    blueprint.wait_steady()
    before, versions = blueprint.snapshot(), blueprint.resource_versions()
    wrong = wrong_primary(blueprint.target_path, run_dir.directory / "wrong-primary.yaml")
    result = run_dir.chaos("block-provider-api", wrong)
    journal = run_dir.journal()
    found = verdict_of(journal)
    assert result.returncode != 0, found
    assert found["outcome"] == "error", found
    assert "steady state did not hold" in found["reason"] and "dns-answers-primary" in found["reason"]
    assert not journal.get("run"), "the method ran"
    assert not run_dir.undo_log.exists(), "an undo record was written: a fault was attempted"
    assert snapshot.diff(before, blueprint.snapshot()) == []
    assert blueprint.resource_versions() == versions
