"""Run one Chaos Toolkit experiment through chaoslib, in the calling (main) thread, and read its verdict.

What ``xpchaos run``, the Gherkin steps and (later) the gate and game days share. Everything that can be checked
before the first call to the cluster is checked first and reported as one ``ExperimentError`` line: the file
(JSON or YAML), Chaos Toolkit's own validation, the target file and its allowed kube contexts, the overrides.
Rollbacks always run (also on failure, deviation, SIGINT and SIGTERM); a run that was interrupted still writes
its journal and then raises ``RunInterrupted`` so the caller stops too.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from xpchaos import verdict
from xpchaos.actions import credentials
from xpchaos.controls import permissions
from xpchaos.core import access, interrupts, kube, lease
from xpchaos.core import target as targets
from xpchaos.core.errors import InputError

logger = logging.getLogger("xpchaos.runner")
TARGET_KEY, UNDO_LOG_KEY = "xpchaos_target", "xpchaos_undo_log"
MAX_EXPERIMENT_BYTES = 1 << 20


class ExperimentError(InputError):
    """The experiment, the target or an override is wrong; nothing was run. The message says what to fix."""


@dataclass(frozen=True)
class RunResult:
    experiment_path: Path
    journal: dict[str, Any]
    verdict: verdict.Verdict
    journal_path: Path | None

    @property
    def timeline(self) -> list[dict[str, Any]]:
        return next((e.get("timeline", []) for e in self.journal.get("extensions") or []
                     if e.get("name") == "xpchaos-timeline"), [])


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the run; its rollbacks ran and its journal was written."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"interrupted: {result.verdict.reason}")
        self.result = result


def load_experiment(path: str | Path) -> dict[str, Any]:
    """The experiment document (JSON or YAML), or an ``ExperimentError`` naming the file and the problem."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_EXPERIMENT_BYTES:
            raise ExperimentError(f"{path}: larger than {MAX_EXPERIMENT_BYTES // 1024} KiB; not an experiment")
        text = path.read_text()
    except FileNotFoundError:
        raise ExperimentError(f"{path}: no such experiment file (the experiments are in experiments/: "
                              "delete-providerconfig.json, block-provider-api.json, revoke-credentials.json)") from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as exc:
        raise ExperimentError(f"{path}: cannot read the experiment: {type(exc).__name__}") from None
    try:
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ExperimentError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.YAMLError as exc:
        raise ExperimentError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ExperimentError(f"{path}: an experiment is a mapping with title, method, ...; got {type(doc).__name__}")
    return doc


def validate(experiment: dict[str, Any], path: Path) -> None:
    """Chaos Toolkit's own validation, as ``chaos validate`` does it, as one line."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExperimentError(f"{path}: not a valid experiment: {first}") from None
    except Exception as exc:  # chaoslib trips over some malformed documents (wrong types, odd module names)
        raise ExperimentError(f"{path}: not a valid experiment: its validation failed with {type(exc).__name__} "
                              "(check the types of title, method, probes and their providers)") from None


def configuration_keys(experiment: dict[str, Any]) -> set[str]:
    return set((experiment.get("configuration") or {}).keys())


def resolve_target(experiment: dict[str, Any], target_path: str | Path | None) -> targets.Target:
    """The target file: the argument, else $XPCHAOS_TARGET, else the experiment's default, else
    ``xpchaos.core.target.default_path()`` (xpchaos.yaml, or the running sandbox's target)."""
    declared = (experiment.get("configuration") or {}).get(TARGET_KEY)
    default = declared.get("default") if isinstance(declared, dict) else declared
    chosen = target_path or os.environ.get("XPCHAOS_TARGET") or default or targets.default_path()
    try:
        target = targets.load(chosen)
        kube.check_context(target)
        kube.check_reachable(target)
    except (targets.TargetError, kube.ContextNotAllowed, kube.Unreachable) as exc:
        raise ExperimentError(str(exc)) from None
    except Exception as exc:  # a kubeconfig that cannot be read: name it, not its content
        raise ExperimentError(f"{chosen}: cannot read its kubeconfig ($KUBECONFIG when the target names none): "
                              f"{type(exc).__name__}") from None
    return target


def prepare(path: str | Path | dict[str, Any], target_path: str | Path | None = None,
            overrides: dict[str, Any] | None = None,
            undo_log: str | Path | None = None) -> tuple[dict[str, Any], targets.Target]:
    """Load (or take, when given a document), validate and configure the experiment; nothing reaches the cluster
    yet but the context check."""
    if isinstance(path, dict):
        experiment, path = copy.deepcopy(path), Path(f"<{path.get('title', 'experiment')}>")
    else:
        path = Path(path)
        experiment = copy.deepcopy(load_experiment(path))
    validate(experiment, path)
    target = resolve_target(experiment, target_path)
    unknown = sorted(set(overrides or {}) - configuration_keys(experiment))
    if unknown:
        raise ExperimentError(f"{path}: no configuration key {', '.join(unknown)} (the experiment has: "
                              f"{', '.join(sorted(configuration_keys(experiment))) or 'none'})")
    config = experiment.setdefault("configuration", {})
    config.update({TARGET_KEY: str(target.path), **(overrides or {})})
    if undo_log is not None:
        config[UNDO_LOG_KEY] = str(undo_log)
    return experiment, target


# faults whose dry run can refuse the input before the run starts (a mode that does not fit the credential source)
CHECKED_FIRST = {("xpchaos.actions.credentials", "revoke_credentials"): credentials.revoke_credentials}


def refuse_unfit_faults(experiment: dict[str, Any]) -> None:
    """Ask each fault of ``CHECKED_FIRST`` in the method for a dry run, before anything runs: an ``InputError`` it
    raises (e.g. ``revoke-credentials`` on EKS Pod Identity) stops the run as one line, nothing changed. Any other
    failure is left to the run, which reports it as the fault not applied."""
    from chaoslib import substitute
    from chaoslib.configuration import load_configuration
    from chaoslib.secret import load_secrets

    faults = [a.get("provider") or {} for a in experiment.get("method") or []]
    faults = [p for p in faults if (p.get("module"), p.get("func")) in CHECKED_FIRST]
    if not faults:
        return
    configuration = dict(load_configuration(experiment.get("configuration") or {}))
    secrets = dict(load_secrets(experiment.get("secrets") or {}, configuration))
    for provider in faults:
        arguments = dict(substitute(provider.get("arguments") or {}, configuration, secrets) or {})
        try:
            CHECKED_FIRST[(provider["module"], provider["func"])](**{**arguments, "dry_run": True},
                                                                 configuration=configuration, secrets=secrets)
        except InputError as exc:
            raise ExperimentError(str(exc)) from None
        except Exception as exc:  # the run itself reports it, as the fault not applied
            logger.debug("dry run of %s before the run: %s", provider.get("func"), type(exc).__name__)


def refuse_missing_permissions(experiment: dict[str, Any], target: targets.Target) -> None:
    """Stop, as one line and nothing changed, when the identity lacks a permission the experiment needs."""
    try:
        permissions.require(target, "xpchaos run",
                            lambda api: permissions.uses_of(api, target, permissions.experiment_calls(experiment)))
    except access.Denied as exc:
        raise ExperimentError(str(exc)) from None


def _signals_interrupt() -> Any:
    """A chaoslib event handler that makes SIGINT and SIGTERM stop the run the way Ctrl-C does, with the marks of
    ``xpchaos.core.interrupts`` (an interrupt swallowed on its way is raised again at the next safe point).

    chaoslib turns SIGTERM into ``InterruptExecution``, an Exception: a python activity that is running reports it
    as its own failure, the method goes on (a failover probe then waits out its whole SLO before the rollbacks) and
    the journal reads "completed". A KeyboardInterrupt is not caught by the activity: the method stops, the journal
    reads "interrupted" and the rollbacks run. Installed once the run has begun, inside chaoslib's own signal
    handling, for experiments with or without the ``xpchaos.controls.safety`` that does the same; put back at
    the end."""
    from chaoslib.run import RunEventHandler

    class SignalsInterrupt(RunEventHandler):
        previous: dict[int, Any] = {}

        def started(self, experiment: dict[str, Any], journal: dict[str, Any]) -> None:
            self.previous = interrupts.install()

        def finish(self, journal: dict[str, Any]) -> None:
            interrupts.restore(self.previous)

    return SignalsInterrupt()


def run(path: str | Path | dict[str, Any], target_path: str | Path | None = None,
        overrides: dict[str, Any] | None = None, journal_path: str | Path | None = None,
        undo_log: str | Path | None = None) -> RunResult:
    """Run the experiment (a file, or a document such as ``xpchaos.run.adhoc`` builds) in this thread; returns its
    journal and verdict (raises ``RunInterrupted``)."""
    from chaoslib.experiment import run_experiment
    from chaoslib.run import Strategy

    experiment, target = prepare(path, target_path, overrides, undo_log)
    refuse_unfit_faults(experiment)
    refuse_missing_permissions(experiment, target)
    runtime = experiment.get("runtime") or {}
    strategy = Strategy.from_string((runtime.get("hypothesis") or {}).get("strategy", "default"))
    settings = {"runtime": {"rollbacks": {"strategy": "always"}, "hypothesis": {"strategy": strategy.value}}}
    # one fault at a time per target, from before the first change to the last rollback; joined, not taken, under a
    # game day or gate that holds it; held by another run: one line naming it, exit 2, nothing changed
    with lease.hold(target, "xpchaos run"):
        journal = run_experiment(experiment, settings=settings, strategy=strategy,
                                 event_handlers=[_signals_interrupt()])
    found = verdict.from_extensions(journal) or verdict.of_journal(journal)
    written = write_journal(journal, journal_path) if journal_path else None
    result = RunResult(Path(path) if not isinstance(path, dict) else Path("-"), journal, found, written)
    if journal.get("status") == "interrupted":
        raise RunInterrupted(result)
    return result


def write_journal(journal: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(journal, indent=2, ensure_ascii=False, default=str))  # datetimes, UUIDs
    os.replace(tmp, path)
    return path
