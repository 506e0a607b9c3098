"""``xpchaos plan``: exactly what a run of an experiment would touch, found without touching anything.

The experiment is loaded, validated and configured as a run would (``runner.prepare``: file, Chaos Toolkit
validation, target, allowed kube context, overrides); its configuration is resolved and its arguments substituted
the way chaoslib does it. Then each action of the method is asked what it would do: the fault actions of
``actions.*`` take ``dry_run=True``, read the cluster (the objects must exist, as for a run) and change nothing; a
fault that picks its mode from the cluster (revoke-credentials' ``auto``) names the mode it chose and why.
Rollbacks are described from the fault they undo, probes and the xpchaos controls are listed as read-only. An
action (or control) from anywhere else cannot be asked: the plan says so and fails rather than guess. Each fault's
blast radius (``xpchaos.run.blast_radius``: the managed resources and XRs it reaches) is listed, with a warning when
it reaches XRs the target does not list.

Nothing is written: no undo record, no journal. Credential values never appear (the dry runs do not return them).
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xpchaos.actions import _common as actions_common
from xpchaos.actions.network import family_policy_name, policy_name
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.core.errors import InputError
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.undo_log import UndoLog
from xpchaos.run import blast_radius, runner

# the fault actions that can say what they would do: (module, function)
FAULTS = {("xpchaos.actions.providerconfig", "delete_provider_config"),
          ("xpchaos.actions.network", "block_provider_api"),
          ("xpchaos.actions.credentials", "revoke_credentials"),
          ("xpchaos.actions.healthcheck", "fail_health_check")}
ROLLBACKS = {("xpchaos.actions.providerconfig", "restore_provider_config"),
             ("xpchaos.actions.network", "unblock_provider_api"),
             ("xpchaos.actions.credentials", "restore_credentials"),
             ("xpchaos.actions.healthcheck", "restore_health_check")}
CONTROLS = {
    "xpchaos.controls.timeline": "records the timeline (watches and DNS queries, read-only) and writes the verdict "
                                 "into the journal",
    "xpchaos.controls.safety": "after the rollbacks, undoes any fault of this run still outstanding in the undo log",
    "xpchaos.run.notify": "at the end, posts a summary to $XPCHAOS_WEBHOOK_URL when it is set (no cluster change)",
}


class PlanError(InputError):
    """The plan cannot tell what a run would touch (or the run would refuse); one line saying why."""


@dataclass
class Step:
    phase: str  # steady-state / method / rollbacks
    type: str  # probe / action
    name: str
    call: str  # module.func(arguments) or the provider's description
    read_only: bool
    would: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        doc = {"phase": self.phase, "type": self.type, "name": self.name, "call": self.call,
               "read_only": self.read_only}
        if not self.read_only:
            doc.update(would=self.would, objects=self.objects, detail=self.detail)
        return doc


@dataclass
class Plan:
    experiment: str
    title: str
    target: str
    target_name: str
    context: str | None
    kubeconfig: str
    undo_log: str
    steps: list[Step]
    controls: list[dict[str, str]]
    radii: list[blast_radius.BlastRadius] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.radii if (w := r.warning())]

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if not s.read_only]

    def touches(self) -> list[dict[str, Any]]:
        """Every object a run would change (a fault's objects; its rollback touches the same ones)."""
        seen: list[dict[str, Any]] = []
        for step in self.changes:
            for obj in step.objects:
                if obj not in seen:
                    seen.append(obj)
        return seen

    def as_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "title": self.title, "target": self.target,
                "target_name": self.target_name, "context": self.context, "kubeconfig": self.kubeconfig,
                "undo_log": self.undo_log, "touches": self.touches(), "steps": [s.as_dict() for s in self.steps],
                "controls": self.controls, "blast_radius": [r.as_dict() for r in self.radii],
                "warnings": self.warnings, "changed_nothing": True}


def _call(module: str, func: str, arguments: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return f"{module}.{func}({shown})"


def _resolve(activity: dict[str, Any], experiment: dict[str, Any]) -> dict[str, Any]:
    """An activity, or the one a ``{"ref": name}`` points to."""
    ref = activity.get("ref")
    if not ref:
        return activity
    everything = [*((experiment.get("steady-state-hypothesis") or {}).get("probes") or []),
                  *(experiment.get("method") or []), *(experiment.get("rollbacks") or [])]
    found = next((a for a in everything if a.get("name") == ref and not a.get("ref")), None)
    if found is None:
        raise PlanError(f"activity reference {ref!r}: no activity of that name in the experiment")
    return found


def _provider(target: targets.Target, arguments: dict[str, Any]) -> targets.Provider:
    try:
        return target.provider(str(arguments.get("provider") or "primary"))
    except targets.TargetError as exc:
        raise PlanError(str(exc)) from None


def _objects(module: str, target: targets.Target, provider: targets.Provider,
             family: bool = False) -> list[dict[str, Any]]:
    """The objects a fault of ``module`` (and its rollback) changes, from the target (``family``: the network fault
    adds a policy for the family's pods the target's selector misses)."""
    if module == "xpchaos.actions.providerconfig":
        pc = provider.provider_config
        return [{"kind": pc.kind, "apiVersion": pc.api_version, "name": pc.name,
                 **({"namespace": pc.namespace} if pc.namespace else {})}]
    if module == "xpchaos.actions.network":
        names = [policy_name(provider.name), *([family_policy_name(provider.name)] if family else [])]
        return [{"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1", "namespace": provider.pods_namespace,
                 "name": name} for name in names]
    creds = provider.credentials
    if creds is not None and module == "xpchaos.actions.credentials":
        return [{"kind": "Secret", "apiVersion": "v1", "namespace": creds.namespace, "name": creds.name,
                 "key": creds.key}]
    return []  # the fault's dry run names them, read from the ProviderConfig's source (_action)


def _rollback_would(module: str, target: targets.Target, provider: targets.Provider) -> list[str]:
    if module == "xpchaos.actions.providerconfig":
        return [f"re-create {provider.provider_config.describe()} from the snapshot taken before the fault "
                "(only if the fault deleted it)"]
    if module == "xpchaos.actions.network":
        return [f"delete NetworkPolicy {provider.pods_namespace}/{policy_name(provider.name)} (only the one the fault "
                "created)"]
    if module == "xpchaos.actions.healthcheck":
        return ["put back each health field the fault changed (a health check's invertHealthcheck, a Traffic Manager "
                "endpoint's enabled) exactly as it was, absent or not, and take the fault's marks off"]
    creds = provider.credentials
    if creds is not None:
        return [f"restore Secret {creds.namespace}/{creds.name} key {creds.key!r} to its exact bytes from before the "
                "fault (re-create the Secret if it was deleted)"]
    return ["put back what the fault changed, exactly as it was before: the Secret key's bytes (re-creating a "
            "deleted Secret), the ServiceAccounts' role annotation (replacing the pods that run with the revoked "
            "role), or the ProviderConfig's role ARN or client ID"]


def _function(module: str, func: str) -> Any:
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError):
        raise PlanError(f"unknown action {module}.{func}: cannot tell what it touches") from None


def _action(phase: str, activity: dict[str, Any], target: targets.Target, configuration: dict[str, Any],
            secrets: dict[str, Any]) -> Step:
    from chaoslib import substitute

    provider = activity.get("provider") or {}
    name = str(activity.get("name", "?"))
    if provider.get("type") != "python":
        what = provider.get("path") or provider.get("url") or provider.get("type")
        raise PlanError(f"unknown action {name} ({provider.get('type')} {what}): cannot tell what it touches")
    module, func = str(provider.get("module")), str(provider.get("func"))
    arguments = dict(substitute(provider.get("arguments") or {}, configuration, secrets) or {})
    call = _call(module, func, arguments)
    if (module, func) in ROLLBACKS:
        prov = _provider(target, arguments)
        return Step(phase, "action", name, call, False, _rollback_would(module, target, prov),
                    _objects(module, target, prov), {"provider": prov.name})
    if (module, func) not in FAULTS:
        raise PlanError(f"unknown action {module}.{func}: cannot tell what it touches")
    function = _function(module, func)
    if "dry_run" not in inspect.signature(function).parameters:
        raise PlanError(f"action {module}.{func} has no dry_run: cannot tell what it touches")
    prov = _provider(target, arguments)
    try:
        result = function(**{**arguments, "dry_run": True}, configuration=configuration, secrets=secrets)
    except Exception as exc:  # the fault refuses (object missing, already faulted, ...): so would the run
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PlanError(f"{name}: a run would stop here: {first}") from None
    if isinstance(result, dict) and result.get("outcome") == ActionOutcome.NOT_APPLIED:  # e.g. no health routing
        raise PlanError(f"{name}: a run would change nothing (fault not applied): {result.get('reason')}")
    if not isinstance(result, dict) or result.get("outcome") != ActionOutcome.DRY_RUN:
        raise PlanError(f"action {module}.{func} did not answer a dry run: cannot tell what it touches")
    detail = {k: v for k, v in result.items() if k not in ("outcome", "would", "objects")}
    # a fault that picks its mode (revoke-credentials' auto) says first which one a run would use, and why
    chosen = [str(detail["mode_reason"])] if detail.get("mode_reason") else []
    return Step(phase, "action", name, call, False, chosen + [str(w) for w in result.get("would") or []],
                list(result.get("objects") or _objects(module, target, prov, bool(detail.get("family")))), detail)


def _probe(phase: str, activity: dict[str, Any], configuration: dict[str, Any], secrets: dict[str, Any]) -> Step:
    from chaoslib import substitute

    provider = activity.get("provider") or {}
    if provider.get("type") == "python":
        arguments = dict(substitute(provider.get("arguments") or {}, configuration, secrets) or {})
        call = _call(str(provider.get("module")), str(provider.get("func")), arguments)
    else:
        call = f"{provider.get('type')} {provider.get('path') or provider.get('url') or ''}".strip()
    return Step(phase, "probe", str(activity.get("name", "?")), call, True)


def _controls(experiment: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for control in experiment.get("controls") or []:
        module = str((control.get("provider") or {}).get("module", ""))
        if module not in CONTROLS:
            raise PlanError(f"unknown control {control.get('name', '?')} ({module or 'no module'}): cannot tell "
                            "what it touches")
        out.append({"name": str(control.get("name", module)), "module": module, "does": CONTROLS[module]})
    return out


def make(path: str | Path, target_path: str | Path | None = None, overrides: dict[str, Any] | None = None,
         undo_log: str | Path | None = None) -> Plan:
    """The plan of a run (raises ``runner.ExperimentError`` for bad input, ``PlanError`` when it cannot tell)."""
    from chaoslib.configuration import load_configuration
    from chaoslib.secret import load_secrets

    experiment, target = runner.prepare(path, target_path, overrides, undo_log)
    configuration = dict(load_configuration(experiment.get("configuration") or {}))
    secrets = dict(load_secrets(experiment.get("secrets") or {}, configuration))
    controls = _controls(experiment)
    steps: list[Step] = []
    for probe in (experiment.get("steady-state-hypothesis") or {}).get("probes") or []:
        steps.append(_probe("steady-state", _resolve(probe, experiment), configuration, secrets))
    for phase, activities in (("method", experiment.get("method") or []),
                              ("rollbacks", experiment.get("rollbacks") or [])):
        for activity in activities:
            activity = _resolve(activity, experiment)
            if activity.get("type") == "probe":
                steps.append(_probe(phase, activity, configuration, secrets))
            else:
                steps.append(_action(phase, activity, target, configuration, secrets))
    try:
        context = kube.current_context(target)
    except Exception:  # prepare read the kubeconfig already; this is only for display
        context = target.context
    kubeconfig = target.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    configured = configuration.get(runner.UNDO_LOG_KEY) or undo_log
    if configured:
        undo = UndoLog(configured).path
    else:  # the state directory's log for this cluster, as the run keys it (the kubeconfig names the server)
        api = kube.api_client(target.kubeconfig, target.context)
        try:
            undo = actions_common.local_log_path(target, api)
        finally:
            api.close()
    _family_rollbacks(steps)
    return Plan(str(path), str(experiment.get("title", "")), str(target.path), target.name, context, kubeconfig,
                str(undo), steps, controls, _radii(steps, target))


def _family_rollbacks(steps: list[Step]) -> None:
    """A network rollback also deletes the family's policy its fault creates (known from the fault's dry run)."""
    families = {(s.detail.get("provider"), tuple(s.detail["policies"])) for s in steps
                if s.phase == "method" and s.detail.get("family")}
    for step in steps:
        for provider, policies in families:
            if step.phase == "rollbacks" and step.call.startswith("xpchaos.actions.network.") and \
                    step.detail.get("provider") == provider:
                step.would.append(f"delete NetworkPolicy {policies[-1]} (only the one the fault created)")
                namespace, _, name = policies[-1].partition("/")
                step.objects.append({"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
                                     "namespace": namespace, "name": name})


def _radii(steps: list[Step], target: targets.Target) -> list[blast_radius.BlastRadius]:
    """The blast radius of each fault of the method (read only)."""
    faults = [(s.call.partition("(")[0].rpartition(".")[0], s.detail.get("provider")) for s in steps
              if s.phase == "method" and not s.read_only]
    if not faults:
        return []
    api = kube.api_client(target.kubeconfig, target.context)
    try:
        return [blast_radius.compute(api, target, blast_radius.FAULTS[module], target.provider(str(provider)))
                for module, provider in faults if module in blast_radius.FAULTS]
    except Exception as exc:  # what a run would reach must be known before it runs
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PlanError(f"cannot tell the blast radius: {first}") from None
    finally:
        api.close()
