"""A Chaos Toolkit control: plain ``chaos run`` records the timeline and stores it in the journal.

```json
"controls": [{"name": "xpchaos-timeline", "provider": {"type": "python", "module": "xpchaos.controls.timeline"}}]
```

The target file comes from the control's ``target`` argument, else ``configuration["xpchaos_target"]``, else
``xpchaos.yaml``. Before the experiment it starts the process's recorder (``xpchaos.probes.recorder.active()``, used by
the probes of ``xpchaos.probes.failover``); each *action* of the method puts a fault marker ``injected`` on the timeline
just before it runs, each rollback action a ``rolled-back`` marker once it has run. Before an xpchaos fault's marker
it records the fault's blast radius (``xpchaos.actions.blast_radius``: which of the target's XRs it reaches), so the
failover probe asks only those to fail over and the others to stay Ready. After the experiment the
recorder stops and the journal gets ``extensions: [{"name": "xpchaos-timeline", "timeline": [...]}]``, and
``{"name": "xpchaos-api", "retries": {"total": N, "503": n, ..., "watch reconnect": n, "watch stall": n}}``: the API
requests retried during the run, the watches reconnected and the watches found stalled (``xpchaos.probes.recorder``).

It also writes the verdict (``xpchaos.verdict``) into the journal, as the extension ``xpchaos-verdict``, and makes
the journal's status agree with it, so plain ``chaos run`` exits 0 only when the failover passed: a system that
failed the expectation reads *deviated*; a baseline that did not hold before the fault, a fault not applied or a
harness error read *failed* (plain Chaos Toolkit would call a failed baseline "completed" and exit 0).
"""

from __future__ import annotations

import logging
from typing import Any

from chaoslib import substitute

from xpchaos import verdict
from xpchaos.actions import blast_radius
from xpchaos.core import api_retry, kube
from xpchaos.core import target as targets
from xpchaos.core.outcome import ActionOutcome, Outcome
from xpchaos.probes import composed, recorder

logger = logging.getLogger("chaostoolkit")
SYNC_TIMEOUT = 15.0
API_EXTENSION = "xpchaos-api"  # the API requests retried during the run, by reason (``xpchaos.core.api_retry``)
_phase: dict[str, str | None] = {"now": None}


def _path(target: str | None, configuration: dict[str, Any] | None) -> str | None:
    return target or (configuration or {}).get("xpchaos_target")


def before_experiment_control(context: dict[str, Any], target: str | None = None,
                              configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None,
                              **kwargs: Any) -> None:
    api_retry.reset()
    rec = recorder.start_recording(targets.load(_path(target, configuration)))
    if not rec.wait_synced(SYNC_TIMEOUT):  # the probes will read "error"; the run itself goes on
        logger.warning("xpchaos timeline: not every watch or nameserver answered within %.0f s: %s",
                       SYNC_TIMEOUT, rec.errors or rec.unobservable())


def before_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    _phase["now"] = "method"


def after_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    _phase["now"] = None


def before_rollback_control(context: dict[str, Any], **kwargs: Any) -> None:
    _phase["now"] = "rollbacks"


def after_rollback_control(context: dict[str, Any], **kwargs: Any) -> None:
    _phase["now"] = None


def before_activity_control(context: dict[str, Any], configuration: dict[str, Any] | None = None,
                            secrets: dict[str, Any] | None = None, **kwargs: Any) -> None:
    rec = recorder.active()
    if rec is not None and _phase["now"] == "method" and context.get("type") == "action":
        _record_reach(rec, context, configuration, secrets)
        rec.timeline.mark_fault(str(context.get("name", "action")), "injected")


def _record_reach(rec: recorder.TimelineRecorder, activity: dict[str, Any], configuration: dict[str, Any] | None,
                  secrets: dict[str, Any] | None) -> None:
    """Put the blast radius of the fault ``activity`` injects on the timeline, before its marker (read before the
    fault changes anything): the target's composites it reaches and, when it spares some, the DNS names those
    compose. Unknown (not an xpchaos fault, or the cluster did not answer): nothing is recorded, and every XR must
    fail over, as with one XR (always in the blast radius)."""
    provider = activity.get("provider") or {}
    fault = blast_radius.FAULTS.get(str(provider.get("module")))
    if fault is None or len(rec.target.composites) < 2:
        return
    try:
        arguments = substitute(provider.get("arguments") or {}, configuration, secrets) or {}
        faulted = rec.target.provider(str(arguments.get("provider") or "primary"))
        api = kube.client_for(rec.target)
        try:
            reached = _reached(rec.target, blast_radius.compute(api, rec.target, fault, faulted))
            spared = len(reached) < len(rec.target.composites)
            records = blast_radius.dns_names(api, reached) if spared else None
        finally:
            api.close()
    except Exception as exc:  # the stricter judgment stands: every XR must fail over
        logger.warning("xpchaos timeline: the blast radius of %s is unknown (%s); every XR must fail over",
                       fault, type(exc).__name__)
        return
    labels = [composed.label(c) for c in reached]
    rec.timeline.mark_reach(fault, faulted.name, labels, records,
                            f"{fault} on {faulted.name} reaches {len(labels)} of {len(rec.target.composites)} "
                            f"listed XR(s): {', '.join(labels[:10])}" + (", ..." if len(labels) > 10 else ""))


def _reached(target: targets.Target, radius: blast_radius.BlastRadius) -> list[targets.ObjectRef]:
    """The target's composites in ``radius`` (a claim by the XR it is bound to)."""
    claims = {(ns, name): claim for (_kind, ns, name), claim in radius.claims.items()}
    labels = {claims.get((xr.namespace, xr.name)) or (f"{xr.namespace}/{xr.name}" if xr.namespace else xr.name)
              for xr in radius.composites}
    return [c for c in target.composites if composed.label(c) in labels]


def after_activity_control(context: dict[str, Any], state: Any = None, **kwargs: Any) -> None:
    rec = recorder.active()
    output = state.get("output") if isinstance(state, dict) else None
    if (rec is not None and _phase["now"] == "method" and context.get("type") == "action"
            and isinstance(output, dict) and output.get("outcome") == ActionOutcome.NOT_APPLIED):
        # the action says its fault did not take hold (e.g. deletion blocked by in-use protection)
        rec.timeline.mark_fault(str(context.get("name", "action")), Outcome.NOT_APPLIED,
                                message=str(output.get("reason", "")))
    if rec is not None and _phase["now"] == "rollbacks" and context.get("type") == "action":
        status = (state or {}).get("status", "") if isinstance(state, dict) else ""
        rec.timeline.mark_fault(str(context.get("name", "rollback")), "rolled-back", message=str(status))


def after_experiment_control(context: dict[str, Any], state: Any = None, **kwargs: Any) -> None:
    rec = recorder.stop_recording()
    _phase["now"] = None
    if not isinstance(state, dict):
        return
    if rec is not None:
        state.setdefault("extensions", []).append({"name": "xpchaos-timeline", "timeline": rec.timeline.to_json()})
        state["extensions"].append({"name": "xpchaos-target", "target": describe_target(rec.target)})
    state.setdefault("extensions", []).append({"name": API_EXTENSION, "retries": api_retry.stats()})
    found = verdict.of_journal(state)
    verdict.apply_to_journal(state, found)
    log = logger.info if found.outcome == Outcome.PASSED else logger.error
    log("xpchaos verdict: %s", found.headline())


def describe_target(target: targets.Target) -> dict[str, Any]:
    """What a report needs to read the timeline (which objects belong to which provider, the expected DNS
    answers, the SLOs); names and addresses only, never a credential."""
    def ref(r: targets.ObjectRef) -> dict[str, Any]:
        return {"kind": r.kind, "plural": r.plural, "name": r.name, "namespace": r.namespace}

    return {
        "name": target.name, "context": target.context,
        "composites": [ref(c) for c in target.composites],
        "providers": {p.name: {"role": p.role, "providerConfig": ref(p.provider_config),
                               "managed": [ref(m) for m in p.managed]} for p in target.providers.values()},
        "dns": [{"name": r.name, "type": r.type, "primary": list(r.primary), "secondary": list(r.secondary),
                 "nameservers": [f"{n.host}:{n.port}" for n in r.nameservers]} for r in target.dns],
        "slos": dict(target.slos),
    }


def cleanup_control() -> None:
    recorder.stop_recording()
