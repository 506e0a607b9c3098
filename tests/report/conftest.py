"""Real journals for the report tests: two sandboxes (blueprint, stock; fast timings) started with
``xpchaos sandbox up``, and real ``chaos run``s against them, once for the whole package.

- ``passed``: revoke-credentials on the blueprint (the failover meets the SLO);
- ``failed``: revoke-credentials on stock Crossplane with an 8 s SLO (not resilient at step ``xr_recovers``);
- ``not_applied``: delete-providerconfig on the blueprint without force (blocked by ``in-use.crossplane.io``),
  run once the blueprint is back in its steady state.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator

import pytest

from tests.report.journals import Journals, finish, outcome
from tests.support.runs import Run
from tests.support.sandboxes import Sandbox, platform

SLO_FAILED = "8s"


@pytest.fixture(scope="package")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Sandbox]]:
    with contextlib.ExitStack() as stack:
        blueprint = stack.enter_context(platform(tmp_path_factory.mktemp("report-blueprint"), "blueprint"))
        stock = stack.enter_context(platform(tmp_path_factory.mktemp("report-stock"), "stock"))
        yield blueprint, stock


@pytest.fixture(scope="package")
def journals(sandboxes: tuple[Sandbox, Sandbox], tmp_path_factory: pytest.TempPathFactory) -> Journals:
    """The three real journals (the two sandboxes run their first experiment at the same time)."""
    blueprint, stock = sandboxes
    runs = {name: Run(tmp_path_factory.mktemp(f"report-{name}")) for name in ("passed", "failed", "not_applied")}
    started = [
        (subprocess.Popen(runs["passed"].chaos_command("revoke-credentials"), text=True, cwd=runs["passed"].directory,
                          env=runs["passed"].env(blueprint.target_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE), runs["passed"], "passed"),
        (subprocess.Popen(runs["failed"].chaos_command("revoke-credentials"), text=True, cwd=runs["failed"].directory,
                          env=runs["failed"].env(stock.target_path, XPCHAOS_SLO=SLO_FAILED),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE), runs["failed"], "failed")]
    try:
        passed, failed = (finish(process, run, expected) for process, run, expected in started)
    finally:
        for process, _run, _expected in started:
            if process.poll() is None:  # a run that did not finish in time, or the other one failed first
                process.kill()
                process.communicate(timeout=30)
    blueprint.wait_steady()  # the failback: DNS on the primary again and the XR Ready
    run = runs["not_applied"]
    done = run.chaos("delete-providerconfig", blueprint.target_path, XPCHAOS_FORCE_DELETE="false")
    assert run.journal_path.exists(), f"chaos run wrote no journal (exit {done.returncode}): {done.stderr[-2000:]}"
    assert outcome(run.journal_path) == "fault-not-applied", run.log()[-3000:]
    return Journals(passed, failed, run.journal_path, {"passed": blueprint.target_path,
                                                       "failed": stock.target_path,
                                                       "not_applied": blueprint.target_path})
