"""Ctrl-C and SIGTERM in the middle of a plain ``chaos run``: the rollbacks run, the journal says interrupted, the
cluster is left as it was and the undo log has nothing outstanding."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.runs import SIGNALS, Run, signal_when_faulted, verdict_of
from tests.support.sandboxes import Sandbox
from xpchaos.run import snapshot


@pytest.mark.parametrize(("signame", "name"), [("SIGINT", "block-provider-api"), ("SIGTERM", "revoke-credentials")])
def test_a_signal_mid_run_rolls_back_and_reads_interrupted(signame: str, name: str, slow_blueprint: Sandbox,
                                                           run_dir: Run) -> None:
    slow_blueprint.wait_steady()
    before = slow_blueprint.snapshot()
    process = subprocess.Popen(run_dir.chaos_command(name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               text=True, cwd=run_dir.directory,
                               env=run_dir.env(slow_blueprint.target_path, XPCHAOS_SLO="60s"))
    try:
        # the failover probe is waiting (the slow blueprint detects only after 30 s): the signal lands mid-method
        signal_when_faulted(process, slow_blueprint, run_dir, before, SIGNALS[signame],
                            ready=lambda: "Probe: failover-completes" in run_dir.log())
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    journal = run_dir.journal()
    assert code != 0
    assert journal["status"] == "interrupted", verdict_of(journal)
    assert verdict_of(journal)["outcome"] == "error"
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert snapshot.diff(before, slow_blueprint.snapshot()) == []
    assert run_dir.outstanding() == []
