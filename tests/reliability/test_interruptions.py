"""SIGINT and SIGTERM at random moments of ``chaos run`` (the fault, the probe, the rollback, a second signal in
the rollback): every object of the cluster is as it was, and nothing is left in the undo log.

The full soak (30 runs) is marked ``soak`` and runs with ``make reliability`` (CI runs it after ``make test``);
``make test`` runs 8 of them.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from tests.support.sandboxes import Sandbox

from . import figures, soak


@pytest.mark.timeout(1200)  # the soak variant takes minutes; the suite's 300 s is for single tests
@pytest.mark.parametrize("runs", [6, pytest.param(30, marks=pytest.mark.soak)])
def test_interrupted_runs_leave_the_cluster_as_it_was(runs: int, blueprint: Sandbox, tmp_path: Path) -> None:
    soak_seed = soak.seed()
    plans = soak.plans(runs, (signal.SIGINT, signal.SIGTERM), random.Random(soak_seed))
    driver = soak.Soak(blueprint, tmp_path, soak_seed)
    outcomes = [driver.run(plan) for plan in plans]
    found = soak.figures(outcomes, soak_seed)
    figures.record(f"interruptions-{runs}", found)
    soak.assert_nothing_lost(outcomes, soak_seed)
    assert found["runs_with_differences"] == 0 and found["outstanding_undo_records"] == 0
    # the signals really interrupted runs: most runs did not get to finish on their own
    assert sum(1 for o in outcomes if o.exit_code != 0) >= runs // 2, found
