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
The whole run holds the target's Lease (``xpchaos.run.lease``). Relative experiment paths are read from the suite's
directory, then the working directory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.core.errors import InputError
from xpchaos.run import lease, report_model, runner, stops
from xpchaos.run import steady as steadiness

MAX_SUITE_BYTES = 1 << 20


class SuiteError(InputError):
    """The suite file is wrong; one line naming the file and the field."""


class Stopped(RuntimeError):
    """The game day ended early (a stop condition, the steady state, the lease); exit code 2 and the reason."""


@dataclass(frozen=True)
class Step:
    experiment: Path | None = None
    provider: str | None = None
    slo: str | None = None
    pause: float = 0.0
    scenarios: str | None = None  # a pytest marker expression over the feature tags

    def describe(self) -> str:
        if self.scenarios is not None:
            return f"scenarios -m {self.scenarios!r}"
        if self.experiment is None:
            return f"pause {self.pause:g} s"
        extra = "".join(f" {k}={v}" for k, v in (("provider", self.provider), ("slo", self.slo)) if v)
        return f"experiment {self.experiment}{extra}"


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    steps: tuple[Step, ...]
    steady_timeout: float = 300.0


def _fail(path: Path, where: str, problem: str) -> SuiteError:
    return SuiteError(f"{path}: {where}: {problem}")


def _step(path: Path, node: Any, i: int) -> Step:
    where = f"steps[{i}]"
    if not isinstance(node, dict) or len({"experiment", "pause", "scenarios"} & set(node)) != 1:
        raise _fail(path, where, "expected a mapping with one of experiment: FILE, scenarios: TAGS or "
                                 "pause: DURATION")
    unknown = sorted(set(node) - {"experiment", "provider", "slo", "pause", "scenarios"})
    if unknown:
        raise _fail(path, where, f"unknown key(s) {', '.join(unknown)} (known: experiment, provider, slo, "
                                 "scenarios, pause)")
    if "scenarios" in node:
        if not isinstance(node["scenarios"], str) or not node["scenarios"].strip():
            raise _fail(path, f"{where}.scenarios", "expected tags as a marker expression, e.g. 'gameday and aws'")
        return Step(scenarios=node["scenarios"])
    if "pause" in node:
        return Step(pause=targets.parse_duration(node["pause"], f"{path}: {where}.pause"))
    name = node["experiment"]
    if not isinstance(name, str) or not name:
        raise _fail(path, f"{where}.experiment", f"expected a file name, got {name!r}")
    chosen = next((p for p in (path.parent / name, Path(name)) if p.is_file()), None)
    if chosen is None:
        raise _fail(path, f"{where}.experiment", f"no such experiment file {name!r} (looked beside the suite and "
                                                 "in the working directory)")
    slo = node.get("slo")
    if slo is not None:
        targets.parse_duration(slo, f"{path}: {where}.slo")
    return Step(experiment=chosen, provider=str(node["provider"]) if node.get("provider") else None,
                slo=str(slo) if slo is not None else None)


def load(path: str | Path) -> Suite:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SUITE_BYTES:
            raise SuiteError(f"{path}: larger than {MAX_SUITE_BYTES // 1024} KiB; not a game-day suite")
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or doc.get("kind") != "GameDay":
        raise _fail(path, "kind", "expected a document with kind: GameDay")
    steps = doc.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _fail(path, "steps", "expected a non-empty list")
    for key in ("metadata", "steadyState"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise _fail(path, key, f"expected a mapping, got {doc[key]!r}")
    timeout = (doc.get("steadyState") or {}).get("timeout", "5m")
    return Suite(str((doc.get("metadata") or {}).get("name") or path.stem), path,
                 tuple(_step(path, node, i) for i, node in enumerate(steps)),
                 targets.parse_duration(timeout, f"{path}: steadyState.timeout"))


@dataclass
class Outcome:
    scenarios: list[report_model.ScenarioReport] = field(default_factory=list)
    stopped: str | None = None  # why the game day ended early

    @property
    def exit_code(self) -> int:
        outcomes = {s.outcome for s in self.scenarios}
        if report_model.FAILED in outcomes:
            return 1
        if self.stopped or outcomes & {report_model.ERROR, report_model.NOT_APPLIED}:
            return 2
        return 0


def _overrides(step: Step, experiment: dict[str, Any]) -> dict[str, Any]:
    declared = set((experiment.get("configuration") or {}).keys())
    wanted = {"xpchaos_provider": step.provider, "xpchaos_slo": step.slo}
    return {k: v for k, v in wanted.items() if v is not None and k in declared}


def _wait_steady(target: targets.Target, timeout: float, when: str) -> None:
    state = steadiness.wait(target, timeout)
    if not state.held:
        raise Stopped(f"the steady state did not hold {when} within {timeout:g} s: {state.problem}")


def _experiment(step: Step, target: targets.Target, api: Any, journal_dir: Path | None,
                say: Any) -> report_model.ScenarioReport:
    assert step.experiment is not None
    reason = stops.check(api, target)
    if reason:
        raise Stopped(reason)
    overrides = _overrides(step, runner.load_experiment(step.experiment))
    journal = journal_dir / f"{len(list(journal_dir.glob('*.json'))) + 1:02d}-{step.experiment.stem}.json" \
        if journal_dir else None
    monitor = stops.Monitor(api, target)
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
    from xpchaos.run import gate

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
    found = [s for s in gate.scenario_reports(directory) if s.outcome != report_model.SKIPPED]
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
