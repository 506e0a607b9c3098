"""The step library fails when what it asserts is false, refuses bad input before any fault, and a scenario
interrupted with SIGINT leaves nothing behind. Each case runs a real pytest (the one a user runs) against a
blueprint sandbox given with ``--target``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import sandboxes
from tests.support.paths import ROOT
from tests.support.waiting import wait_for
from xpchaos.core import target as targets
from xpchaos.core.undo_log import UndoLog
from xpchaos.probes.failover import xr_is_ready
from xpchaos.run import snapshot

NEGATIVE = ROOT / "tests" / "steps" / "negative" / "negative_scenarios.py"


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[targets.Target]:
    with sandboxes.running(tmp_path_factory.mktemp("blueprint"), *sandboxes.fast("blueprint")) as box:
        yield box.target


def _pytest(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str | None]]:
    """Run pytest like a user; returns the process and, per test, None when it passed or its failure message."""
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "XPCHAOS_UNDO_LOG": str(tmp_path / "undo.jsonl")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    results: dict[str, str | None] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            failure = case.find("failure")
            if failure is None:
                failure = case.find("error")
            results[case.get("name", "")] = None if failure is None else \
                f"{failure.get('message', '')}\n{failure.text or ''}"
    return proc, results


def _left_behind(target: targets.Target, before: snapshot.Snapshot, undo_log: Path) -> list[str]:
    changes = snapshot.diff(before, snapshot.take(target))
    return changes + [f"outstanding undo record {r['fault']}" for r in UndoLog(undo_log).outstanding()]


def test_steps_fail_when_what_they_assert_is_false(blueprint: targets.Target, tmp_path: Path) -> None:
    before = snapshot.take(blueprint)
    proc, results = _pytest(tmp_path, str(NEGATIVE), "--target", str(blueprint.path), "-k",
                            "not misspelt and not missing and not provider and not watch")
    assert proc.returncode == 1, proc.stdout[-3000:]
    expected = {
        "test_dns_is_expected_on_the_side_that_was_lost": "DNS answers aws",
        "test_the_composite_is_expected_to_stay_ready_on_a_platform_that_fails_over": "XGlobalDatabase left Ready",
        "test_a_passing_run_is_expected_to_be_not_resilient": "verdict passed, not not resilient",
        "test_signals_are_expected_in_the_wrong_order": "aws managed resources are Synced=False",
        "test_a_deadline_shorter_than_the_failover_takes": "deadline 0.2 s",
        "test_the_lost_side_and_the_one_taking_over_are_swapped": "azure managed resources are Synced=False",
    }
    assert set(results) == set(expected), proc.stdout[-3000:]
    for name, words in expected.items():
        failure = results[name]
        assert failure is not None, f"{name} passed, but what it asserts is false"
        assert words in failure, f"{name}: {failure[:2000]}"
    assert _left_behind(blueprint, before, tmp_path / "undo.jsonl") == []


def test_bad_input_fails_before_any_fault(blueprint: targets.Target, tmp_path: Path) -> None:
    before = snapshot.take(blueprint)
    proc, results = _pytest(tmp_path, str(NEGATIVE), "--target", str(blueprint.path), "-k",
                            "misspelt or missing or provider or watch")
    assert proc.returncode == 1, proc.stdout[-3000:]
    # the Background names the seed's composite, then every one of its kind: both hold, so each scenario gets on
    # to the step it is about
    composite = results["test_a_composite_the_target_does_not_watch"] or ""
    assert "the target has no XGlobalDatabase 'orders-db' (it watches: XGlobalDatabase 'production-db')" in \
        composite, composite
    kind = results["test_a_kind_of_composite_the_target_does_not_watch"] or ""
    assert "the target watches no XPostgresInstance (it watches: XGlobalDatabase)" in kind, kind
    misspelt = results["test_a_misspelt_step"] or ""
    assert "unknown step 'When the experimnt \"revoke-credentials.json\" runs against aws'" in misspelt, misspelt
    assert "closest known steps: When the experiment \"{name}\" runs against {provider}" in misspelt, misspelt
    missing = results["test_a_missing_experiment_file"] or ""
    assert "nothing was run" in missing and "no-such-experiment.json: no such experiment file" in missing, missing
    provider = results["test_a_provider_the_target_does_not_have"] or ""
    assert "nothing was run" in provider and "no provider 'gcp'" in provider, provider
    assert not (tmp_path / "undo.jsonl").exists(), "an undo record was written: a fault was attempted"
    assert snapshot.diff(before, snapshot.take(blueprint)) == []


def test_an_invalid_target_file_is_refused_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "target.yaml"
    bad.write_text("kind: Target\nproviders: {}\n")
    proc, results = _pytest(tmp_path, "features", "--target", str(bad))
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"--target: {bad}: providers: at least one provider is required" in proc.stderr, proc.stderr
    assert results == {}


def test_a_scenario_interrupted_with_sigint_leaves_nothing_behind(blueprint: targets.Target, tmp_path: Path) -> None:
    wait_for(lambda: xr_is_ready(configuration={"xpchaos_target": str(blueprint.path)}), 60, interval=0.2,
             what="the platform Ready again (the previous test's failback)")
    before = snapshot.take(blueprint)
    undo_log = tmp_path / "undo.jsonl"
    env = {**os.environ, "XPCHAOS_UNDO_LOG": str(undo_log)}
    proc = subprocess.Popen(  # the feature's own SLO is 90 s: the interrupt lands while the probe waits
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "features", "--target", str(blueprint.path),
         "-k", "cutting_aws_off_its_cloud_api_fails_over"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        def injected() -> bool:  # the fault is in place once its undo record is written
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            return bool(UndoLog(undo_log).outstanding())

        wait_for(injected, 60, what="the fault injected")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, out[-3000:]  # pytest: interrupted
    assert "KeyboardInterrupt" in out or "interrupted" in out.lower(), out[-3000:]
    assert _left_behind(blueprint, before, undo_log) == []
