"""Game days: a suite of experiments run in order against one target, with the safety levers on.

A suite (YAML)::

    kind: GameDay
    metadata: {name: weekly-failover}
    steadyState: {timeout: 5m}        # how long to wait for the steady state before each step (and at the end)
    steps:
      - experiment: experiments/revoke-credentials.json
        provider: primary              # optional: the experiment's xpchaos_provider
        slo: 90s                       # optional: its xpchaos_slo
      - pause: 30s
      - experiment: experiments/block-provider-api.json
      - scenarios: gameday and aws     # tagged Gherkin scenarios, run as the gate runs them

Before each experiment the steady state must hold (waiting with the bound) and no stop condition may hold
(``xpchaos.run.stops``); while it runs the stop conditions are watched every second and a trip rolls it back at once.
The whole run holds the target's Lease (``xpchaos.core.lease``; its experiments and scenarios join it). The suite
file is read by ``xpchaos.run.gameday_suite``: relative experiment paths are found beside the suite, then in the
working directory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xpchaos.controls import permissions
from xpchaos.core import access, kube, lease
from xpchaos.core import outcome as outcomes
from xpchaos.core import target as targets
from xpchaos.core.errors import XpchaosError
from xpchaos.run import gate, report_model, runner, stops
from xpchaos.run import plan as plans
from xpchaos.run import steady as steadiness
from xpchaos.run.gameday_suite import MAX_SUITE_BYTES, Step, Suite, SuiteError, load

__all__ = ["MAX_SUITE_BYTES", "Outcome", "Step", "Stopped", "Suite", "SuiteError", "load", "run"]


class Stopped(XpchaosError, RuntimeError):
    """The game day ended early (a stop condition, the steady state, the lease); exit code 2 and the reason."""


@dataclass
class Outcome:
    scenarios: list[report_model.ScenarioReport] = field(default_factory=list)
    stopped: str | None = None  # why the game day ended early

    @property
    def exit_code(self) -> int:
        """1 when an experiment was not resilient; else 2 when one could not be decided or the game day stopped
        early; else 0."""
        code = outcomes.exit_code_of(s.outcome for s in self.scenarios)
        return 2 if code == 0 and self.stopped else code


def _overrides(step: Step, experiment: dict[str, Any]) -> dict[str, Any]:
    declared = set((experiment.get("configuration") or {}).keys())
    wanted = {"xpchaos_provider": step.provider, "xpchaos_slo": step.slo}
    return {k: v for k, v in wanted.items() if v is not None and k in declared}


def require_permissions(suite: Suite, target: targets.Target) -> None:
    """Raise ``access.Denied`` (one line, exit 2) unless this identity may run every step: its Lease and emergency
    stop, each experiment's faults and probes, and for scenario steps whatever a gate may run."""
    experiments = [runner.prepare(step.experiment, target.path,
                                  _overrides(step, runner.load_experiment(step.experiment)))[0]
                   for step in suite.steps if step.experiment is not None]
    scenarios = any(step.scenarios is not None for step in suite.steps)

    def uses(api: Any) -> list[access.Use]:
        found: list[access.Use] = ["observe", "gameday", *(permissions.run_uses(api, target) if scenarios else [])]
        for experiment in experiments:
            found += permissions.uses_of(api, target, permissions.experiment_calls(experiment))
        return found

    permissions.require(target, "xpchaos gameday", uses)


def _wait_steady(target: targets.Target, timeout: float, when: str) -> None:
    state = steadiness.wait(target, timeout)
    if not state.held:
        raise Stopped(f"the steady state did not hold {when} within {timeout:g} s: {state.problem}")


def _blast_radius(step: Step, target: targets.Target, overrides: dict[str, Any]) -> list[Any] | None:
    """What the step's faults reach (``xpchaos.run.plan``, read only): the stop condition leaves it out. None when
    the plan cannot tell (the run then refuses the same way, and reports it)."""
    assert step.experiment is not None
    try:
        return plans.make(step.experiment, target.path, overrides).radii
    except XpchaosError:
        return None


def _experiment(step: Step, target: targets.Target, api: Any, journal_dir: Path | None,
                say: Any) -> report_model.ScenarioReport:
    assert step.experiment is not None
    overrides = _overrides(step, runner.load_experiment(step.experiment))
    scope = stops.Scope(api, target, _blast_radius(step, target, overrides))
    reason = stops.check(api, target, scope)
    if reason:
        raise Stopped(reason)
    journal = journal_dir / f"{len(list(journal_dir.glob('*.json'))) + 1:02d}-{step.experiment.stem}.json" \
        if journal_dir else None
    monitor = stops.Monitor(api, target, scope=scope)
    try:
        with monitor:
            result = runner.run(step.experiment, target.path, overrides, journal)
    except runner.RunInterrupted:
        if monitor.reason:  # our own stop condition, not the user
            say(f"stop condition tripped: {monitor.reason}; the experiment's rollbacks ran")
            raise Stopped(monitor.reason) from None
        raise
    return report_model.ScenarioReport.from_journal(result.journal, result.journal_path)


def _scenarios(step: Step, target: targets.Target, api: Any, journal_dir: Path | None,
               say: Any) -> list[report_model.ScenarioReport]:
    """Tagged Gherkin scenarios against the target, as the gate runs them (pytest in a process of its own, which
    a tripped stop condition interrupts like Ctrl-C: the running scenario rolls back)."""
    reason = stops.check(api, target)
    if reason:
        raise Stopped(reason)
    base = journal_dir.parent if journal_dir else Path(".")
    directory = base / f"scenarios-{len(list(base.glob('scenarios-*'))) + 1:02d}"
    directory.mkdir(parents=True, exist_ok=True)
    command = gate.pytest_command(directory.resolve(), target.path.resolve(), step.scenarios)
    with stops.Monitor(api, target) as monitor:
        code, _signalled = gate.run_pytest(command, directory, lambda line: None)
    if monitor.reason:
        say(f"stop condition tripped: {monitor.reason}; the running scenario's rollbacks ran")
        raise Stopped(monitor.reason)
    found = [s for s in gate.scenario_reports(directory) if s.outcome != outcomes.Outcome.SKIPPED]
    if code in gate.PYTEST_PROBLEMS or not found:
        raise Stopped(f"scenarios -m {step.scenarios!r}: " + (gate.pytest_error(directory) or
                                                              gate.PYTEST_PROBLEMS.get(code, "nothing ran")))
    return found


def run(suite: Suite, target: targets.Target, journal_dir: Path | None = None,
        say: Any = print) -> Outcome:
    """Run the suite under the target's lease; every experiment through ``xpchaos.run.runner`` (main thread)."""
    api = kube.client_for(target)
    held = lease.for_target(api, target).acquire()
    outcome = Outcome()
    try:
        for i, step in enumerate(suite.steps, 1):
            say(f"step {i}/{len(suite.steps)}: {step.describe()}")
            if step.experiment is None and step.scenarios is None:
                _pause(step.pause)
                continue
            _wait_steady(target, suite.steady_timeout, f"before step {i}")
            found = [_experiment(step, target, api, journal_dir, say)] if step.experiment is not None else \
                _scenarios(step, target, api, journal_dir, say)
            for scenario in found:
                outcome.scenarios.append(scenario)
                say(f"  {scenario.name}: {scenario.outcome}: {scenario.message or 'every step within its deadline'}")
        _wait_steady(target, suite.steady_timeout, "after the last step")
    except Stopped as exc:
        outcome.stopped = str(exc)
    finally:
        held.release()
    return outcome


def _pause(seconds: float) -> None:
    threading.Event().wait(seconds)  # a pause is the point of this step: nothing to wait on but time
