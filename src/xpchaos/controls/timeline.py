"""A Chaos Toolkit control: plain ``chaos run`` records the timeline and stores it in the journal.

```json
"controls": [{"name": "xpchaos-timeline", "provider": {"type": "python", "module": "xpchaos.controls.timeline"}}]
```

The target file comes from the control's ``target`` argument, else ``configuration["xpchaos_target"]``, else
``xpchaos.yaml``. Before the experiment it starts the process's recorder (``xpchaos.probes.recorder.active()``, used by
the probes of ``xpchaos.probes.failover``); each *action* of the method puts a fault marker ``injected`` on the timeline
just before it runs, each rollback action a ``rolled-back`` marker once it has run. After the experiment the
recorder stops and the journal gets ``extensions: [{"name": "xpchaos-timeline", "timeline": [...]}]``, and
``{"name": "xpchaos-api", "retries": {"total": N, "503": n, ...}}``: the API requests retried during the run.

It also writes the verdict (``xpchaos.verdict``) into the journal, as the extension ``xpchaos-verdict``, and makes
the journal's status agree with it, so plain ``chaos run`` exits 0 only when the failover passed: a system that
failed the expectation reads *deviated*; a baseline that did not hold before the fault, a fault not applied or a
harness error read *failed* (plain Chaos Toolkit would call a failed baseline "completed" and exit 0).
"""

from __future__ import annotations

import logging
from typing import Any

from xpchaos import verdict
from xpchaos.core import api_retry
from xpchaos.core import target as targets
from xpchaos.core.outcome import ActionOutcome, Outcome
from xpchaos.probes import recorder

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


def before_activity_control(context: dict[str, Any], **kwargs: Any) -> None:
    rec = recorder.active()
    if rec is not None and _phase["now"] == "method" and context.get("type") == "action":
        rec.timeline.mark_fault(str(context.get("name", "action")), "injected")


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
