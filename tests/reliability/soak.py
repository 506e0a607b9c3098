"""The interruption soak: many ``chaos run``\\ s of the three experiments, each stopped by a signal at a random
moment, with every object of the cluster compared before and after.

A moment is picked per run: a phase (the fault being made, the failover probe waiting, the rollback; or a second
signal that lands in the rollback the first one started) and a random delay after that phase's line appears in
``chaostoolkit.log``. The plan comes from one seeded ``random.Random``: ``$XPCHAOS_SOAK_SEED`` replays a run of the
soak exactly (the seed is in every failure message).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.commands import xpchaos
from tests.support.runs import NAMES, Run
from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for
from xpchaos.core import kube

from . import cluster

PHASES = ("fault", "probe", "rollback", "rollback-after-interrupt")
MARKERS = {"probe": "Probe: failover-completes", "rollback": "Let's rollback"}
DELAYS = {"fault": 0.05, "probe": 1.5, "rollback": 0.15, "rollback-after-interrupt": 0.05}  # seconds, at most
# what the faults themselves change (the platform's own failover changes more, and heals it by failing back)
FAULTED_KINDS = ("secrets.core ", "providerconfigs.", "networkpolicies.")
EXIT_DEADLINE = 60.0
STEADY_DEADLINE = 60.0


def seed() -> int:
    given = os.environ.get("XPCHAOS_SOAK_SEED")
    return int(given) if given else random.SystemRandom().randrange(2**32)


@dataclass(frozen=True)
class Plan:
    index: int
    experiment: str
    signal: signal.Signals
    phase: str
    delay: float

    def describe(self) -> str:
        return f"run {self.index}: {self.experiment}, {self.signal.name} {self.delay:.2f} s into {self.phase}"


def plans(count: int, signals: tuple[signal.Signals, ...], rng: random.Random,
          phases_of: tuple[str, ...] = PHASES) -> list[Plan]:
    """``count`` runs, the three experiments and the signals in turn, the phases shuffled evenly."""
    phases = [phases_of[i % len(phases_of)] for i in range(count)]
    rng.shuffle(phases)
    return [Plan(i, NAMES[i % len(NAMES)], signals[i % len(signals)], phase, rng.uniform(0, DELAYS[phase]))
            for i, phase in enumerate(phases)]


@dataclass
class Outcome:
    plan: Plan
    exit_code: int | None
    landed: str  # the phase the log was in when the signal was sent ("finished": the run had ended)
    differences: list[str] = field(default_factory=list)
    outstanding: int = 0
    left_behind: list[str] = field(default_factory=list)  # what a killed run's fault left changed, before restore
    restore_output: str = ""


def _marker(plan: Plan, phase: str) -> str:
    return MARKERS.get(phase, f"Action: {plan.experiment}")


def _landed(log: str) -> str:
    """The last phase the log has reached."""
    if "Let's rollback" in log:
        return "rollback"
    if "Probe: failover-completes" in log:
        return "probe"
    if "Action: " in log:
        return "fault"
    return "before the fault"


class Soak:
    """Runs plans against one sandbox; each run in its own directory (cwd, HOME, undo log, journal)."""

    def __init__(self, box: Sandbox, root: Path, soak_seed: int) -> None:
        self.box = box
        self.root = root
        self.seed = soak_seed

    def _api(self) -> client.ApiClient:
        tgt = self.box.target
        return kube.api_client(tgt.kubeconfig, tgt.context)

    def everything(self) -> dict[str, dict[str, Any]]:
        api = self._api()
        try:
            return cluster.everything(api)
        finally:
            api.close()

    def _wait_log(self, process: subprocess.Popen[bytes], run: Run, text: str) -> bool:
        """Wait until ``text`` is in the run's log; False when the run ended first."""
        def seen() -> bool | str:
            if text in run.log():
                return True
            return "ended" if process.poll() is not None else False
        what = f"{text!r} in the run's log (seed {self.seed})"
        return wait_for(seen, EXIT_DEADLINE, interval=0.01, what=what) is True

    def _signal(self, process: subprocess.Popen[bytes], run: Run, plan: Plan) -> str:
        """Send the plan's signal at its moment; returns the phase the log was in then."""
        first = "probe" if plan.phase == "rollback-after-interrupt" else plan.phase
        if not self._wait_log(process, run, _marker(plan, first)):
            return "finished"
        if plan.phase == "rollback-after-interrupt":  # Ctrl-C twice: the second lands in the rollback
            process.send_signal(plan.signal)
            if not self._wait_log(process, run, MARKERS["rollback"]):
                return "finished"
        time.sleep(plan.delay)  # the random moment itself, not a wait for a condition
        if process.poll() is not None:
            return "finished"
        landed = _landed(run.log())
        process.send_signal(plan.signal)
        return landed

    def run(self, plan: Plan, restore: bool = False) -> Outcome:
        run = Run(self.root / f"run-{plan.index:02d}")
        run.directory.mkdir(parents=True)
        self.box.wait_steady(STEADY_DEADLINE)
        before = self.everything()
        process = subprocess.Popen(run.chaos_command(plan.experiment), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, cwd=run.directory,
                                   env=run.env(self.box.target_path, XPCHAOS_SLO="20s"))
        try:
            landed = self._signal(process, run, plan)
            code = process.wait(timeout=EXIT_DEADLINE)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        outcome = Outcome(plan, code, landed)
        if restore:
            outcome.left_behind = [line for line in cluster.differences(before, self.everything())
                                   if line[2:].startswith(FAULTED_KINDS)]
            done = xpchaos("restore", "--target", str(self.box.target_path), "--undo-log", str(run.undo_log),
                           cwd=run.directory, env=run.env(self.box.target_path))
            assert done.returncode == 0, f"{plan.describe()}: xpchaos restore: {done.stderr or done.stdout}"
            outcome.restore_output = done.stdout
        outcome.outstanding = len(run.outstanding())
        self.box.wait_steady(STEADY_DEADLINE)
        outcome.differences = cluster.differences(before, self.everything())
        return outcome


def figures(outcomes: list[Outcome], soak_seed: int) -> dict[str, Any]:
    return {
        "runs": len(outcomes),
        "seed": soak_seed,
        "signals": dict(Counter(o.plan.signal.name for o in outcomes)),
        "planned_phases": dict(Counter(o.plan.phase for o in outcomes)),
        "landed": dict(Counter(o.landed for o in outcomes)),
        "experiments": dict(Counter(o.plan.experiment for o in outcomes)),
        "runs_with_differences": sum(1 for o in outcomes if o.differences),
        "runs_left_faulted_before_restore": sum(1 for o in outcomes if o.left_behind),
        "left_behind": dict(Counter(line.split("\n")[0] for o in outcomes for line in o.left_behind)),
        "differences": sum(len(o.differences) for o in outcomes),
        "outstanding_undo_records": sum(o.outstanding for o in outcomes),
    }


def assert_nothing_lost(outcomes: list[Outcome], soak_seed: int) -> None:
    bad = [o for o in outcomes if o.differences or o.outstanding]
    if bad:
        detail = "\n".join(f"{o.plan.describe()} (exit {o.exit_code}, landed in {o.landed}, "
                           f"{o.outstanding} outstanding):\n  " + "\n  ".join(o.differences) for o in bad)
        pytest.fail(f"{len(bad)} of {len(outcomes)} runs left the cluster changed (seed {soak_seed}):\n{detail}")
