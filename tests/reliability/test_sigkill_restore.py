"""SIGKILL at random moments of ``chaos run`` (nothing in the process can react), then ``xpchaos restore`` with the
run's undo log: every object of the cluster is as it was, and nothing is left outstanding.

The full soak (30 runs) is marked ``soak`` and runs with ``make reliability``; ``make test`` runs 6 of them.
"""

from __future__ import annotations

import random
import re
import signal
from pathlib import Path

import pytest

from tests.support.sandboxes import Sandbox

from . import figures, soak


@pytest.mark.timeout(1200)  # the soak variant takes minutes; the suite's 300 s is for single tests
@pytest.mark.parametrize("runs", [3, pytest.param(30, marks=pytest.mark.soak)])
def test_killed_runs_are_undone_by_restore(runs: int, blueprint: Sandbox, tmp_path: Path) -> None:
    soak_seed = soak.seed()
    plans = soak.plans(runs, (signal.SIGKILL,), random.Random(soak_seed), phases_of=("fault", "probe", "rollback"))
    driver = soak.Soak(blueprint, tmp_path, soak_seed)
    outcomes = [driver.run(plan, restore=True) for plan in plans]
    found = soak.figures(outcomes, soak_seed)
    found["restored_records"] = sum(int(m.group(1)) for o in outcomes
                                    for m in [re.search(r"Restored (\d+) of", o.restore_output)] if m)
    figures.record(f"sigkill-{runs}", found)
    soak.assert_nothing_lost(outcomes, soak_seed)
    # the kills really left faults behind, and the comparison saw them before restore undid them
    assert sum(1 for o in outcomes if o.exit_code == -signal.SIGKILL) >= runs // 2, found
    assert found["runs_left_faulted_before_restore"] >= 1, found
