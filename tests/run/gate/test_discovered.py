"""``xpchaos gate`` with a target ``xpchaos discover`` wrote, on the sandbox's ``realistic`` platform (20 XRs with
generated names, IRSA on AWS): exit 0 on the blueprint, exit 1 on stock Crossplane with the report naming the
missing failover. The target is used as discover wrote it (on stock with a tighter SLO, so the verdict comes
sooner). One scenario per verdict, in a features folder of the platform's own bound by the shipped
``features/test_scenarios.py``: the shipped ``ci`` scenarios are written for the seed (its ``production-db``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.paths import ROOT
from tests.support.runs import extension
from tests.support.sandboxes import Sandbox

XR_KIND = "xglobaldatabases.database.example.org"
GATE_TIMEOUT = 240
# the credentials fault against the side DNS answers now; the default revoke mode picks what breaks IRSA
FEATURE = """@ci
Feature: The discovered platform fails over
  Scenario: Revoking the primary's credentials moves traffic to the other cloud
    Given the blueprint platform serving from aws
    And the target is healthy
    When the experiment "revoke-credentials.json" runs against aws
    Then the failover passes
    And aws managed resources are Synced=False within 90 seconds
    And azure managed resources are Synced and Ready within 90 seconds
    And DNS answers azure on every nameserver within 90 seconds
    And everything the fault changed is rolled back
"""


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.realistic(tmp_path_factory.mktemp("discovered-blueprint"), "blueprint") as box:
        yield box


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.realistic(tmp_path_factory.mktemp("discovered-stock"), "stock") as box:
        yield box


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("features")
    (folder / "discovered.feature").write_text(FEATURE)
    shutil.copy(ROOT / "features" / "test_scenarios.py", folder)
    return folder


def _discover(box: Sandbox, out: Path) -> Path:
    """``xpchaos discover`` over every XR of the kind, as a user runs it against the cluster of $KUBECONFIG."""
    result = xpchaos("discover", "--kind", XR_KIND, "-l", "crossplane.io/composite", "--nameserver", str(box.dns),
                     "-o", str(out), env={**os.environ, "KUBECONFIG": box.kubeconfig})
    assert result.returncode == 0, result.stderr
    return out


def _gate(target: Path, features: Path, report_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "XPCHAOS_REVOKE_MODE"}
    env["XPCHAOS_HISTORY"] = str(report_dir.parent / "history.sqlite")
    return subprocess.run([sys.executable, "-m", "xpchaos", "gate", "--target", str(target), "--features",
                           str(features), "--report-dir", str(report_dir)],
                          capture_output=True, text=True, cwd=ROOT, timeout=GATE_TIMEOUT, env=env)


def _records(report_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (report_dir / "scenarios.jsonl").read_text().splitlines()]


def test_the_gate_passes_on_blueprint_with_the_discovered_target(blueprint: Sandbox, features: Path,
                                                                 tmp_path: Path) -> None:
    target = _discover(blueprint, tmp_path / "xpchaos.yaml")
    report_dir = tmp_path / "report"
    gate = _gate(target, features, report_dir)
    assert gate.returncode == 0, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 0: every selected scenario passed" in gate.stdout
    [record] = _records(report_dir)
    assert record["outcome"] == "passed" and record["journal"], record
    journal = json.loads(Path(record["journal"]).read_text())
    assert len(extension(journal, "xpchaos-verdict")["composites"]) == 20  # every XR discover found, judged
    [fault] = [r for r in journal["run"] if r["activity"]["name"] == "revoke-credentials"]
    assert fault["output"]["mode_reason"] == "mode auto: source IRSA → identity"


def test_the_gate_reads_not_resilient_on_stock_naming_the_missing_failover(stock: Sandbox, features: Path,
                                                                         tmp_path: Path) -> None:
    target = _discover(stock, tmp_path / "xpchaos.yaml")
    doc = yaml.safe_load(target.read_text())
    doc["slos"] = {"dns_convergence": "5s"}  # the SLO is the target's: a tighter one decides sooner
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    report_dir = tmp_path / "report"
    gate = _gate(target, features, report_dir)
    assert gate.returncode == 1, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 1: not resilient" in gate.stdout
    page = (report_dir / "index.html").read_text()
    assert "xr_recovers" in page and "never left Ready" in page
    [record] = _records(report_dir)
    assert record["outcome"] == "failed", record
