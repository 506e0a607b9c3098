"""A game day of the three experiments on the sandbox's ``realistic`` platform (20 XRs, 4 of them claimed, two AWS
ProviderConfigs): the XRs each fault reaches fail over together, and the stop condition ``maxUnhealthyXRs`` (0 by
default) counts only XRs outside the step's blast radius, so the game day runs to its end. Before the blast radius,
the claimed XRs (listed through their claims) going through their failover stopped it at the first step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import sandboxes
from tests.support.paths import EXPERIMENTS, ROOT
from tests.support.sandboxes import Sandbox
from xpchaos.core.undo_log import UndoLog
from xpchaos.run import snapshot

STEPS = (("delete-providerconfig", "aws"), ("block-provider-api", "aws"), ("revoke-credentials", "azure"))


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.realistic(tmp_path_factory.mktemp("gameday-realistic"), "blueprint") as box:
        yield box


def test_the_three_experiments_run_to_the_end_without_a_false_stop(realistic: Sandbox, tmp_path: Path) -> None:
    lines = ["kind: GameDay", "metadata: {name: realistic}", "steadyState: {timeout: 90s}", "steps:"]
    for experiment, provider in STEPS:
        lines += [f"  - experiment: {EXPERIMENTS / f'{experiment}.json'}", f"    provider: {provider}",
                  "    slo: 20s"]
    suite = tmp_path / "suite.yaml"
    suite.write_text("\n".join(lines) + "\n")
    before = snapshot.take(realistic.target)
    env = {**os.environ, "XPCHAOS_UNDO_LOG": str(tmp_path / "undo.jsonl"),
           "XPCHAOS_HISTORY": str(tmp_path / "history.sqlite")}
    run = subprocess.run([sys.executable, "-m", "xpchaos", "gameday", str(suite), "--target",
                          str(realistic.target_path), "--report-dir", str(tmp_path / "r")], capture_output=True,
                         text=True, cwd=ROOT, timeout=600, env=env)
    out = run.stdout + run.stderr
    assert "stop condition" not in out and "outside the blast radius" not in out, out[-3000:]
    assert run.returncode in (0, 1), out[-3000:]  # 1: a verdict, not a stop; the game day went to its end
    journals = sorted((tmp_path / "r" / "journals").glob("*.json"))
    assert [p.stem.split("-", 1)[1] for p in journals] == [e for e, _p in STEPS]
    for path in journals:
        journal = json.loads(path.read_text())
        assert journal["status"] != "interrupted", path.name
        assert all(r["status"] == "succeeded" for r in journal["rollbacks"]), path.name
    assert UndoLog(tmp_path / "undo.jsonl").outstanding() == []
    realistic.wait_steady(timeout=90)
    assert snapshot.diff(before, snapshot.take(realistic.target)) == []
