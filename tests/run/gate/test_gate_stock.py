"""``xpchaos gate`` against stock Crossplane: exit 1, and the report names the missing failover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import sandboxes
from tests.support.gate import SELECTION
from tests.support.gate import run as _gate
from tests.support.sandboxes import Sandbox


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.platform(tmp_path_factory.mktemp("gate-stock"), "stock") as box:
        yield box



def test_stock_exits_1_and_the_report_names_the_missing_failover(stock: Sandbox, tmp_path: Path) -> None:
    doc = yaml.safe_load(stock.target_path.read_text())
    doc["slos"]["dns_convergence"] = "5s"  # the SLO is the target's: a tighter one decides sooner
    tight = tmp_path / "stock-target.yaml"
    tight.write_text(yaml.safe_dump(doc))
    report_dir = tmp_path / "report"
    gate = _gate("--target", str(tight), "-m", SELECTION, "--report-dir", str(report_dir))
    assert gate.returncode == 1, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 1: not resilient" in gate.stdout
    page = (report_dir / "index.html").read_text()
    assert "xr_recovers" in page and "never left Ready" in page
    records = [json.loads(line) for line in (report_dir / "scenarios.jsonl").read_text().splitlines()]
    outcomes = {r["scenario"]: r["outcome"] for r in records}
    assert outcomes["Revoking the AWS credentials fails over to Azure"] == "failed", outcomes
    assert outcomes["Deleting an in-use ProviderConfig is blocked, so nothing fails over"] == "passed", outcomes
