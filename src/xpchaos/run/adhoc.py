"""Experiments built in code for one fault injected directly (no experiment file): the fault, the failover probe,
the rollback and both controls, exactly as in experiments/*.json, so rollback and the verdict work the same.
"""

from __future__ import annotations

from typing import Any

FAULTS: dict[str, tuple[str, str, str]] = {  # name -> (module, action, rollback)
    "delete-providerconfig": ("xpchaos.actions.providerconfig", "delete_provider_config", "restore_provider_config"),
    "block-provider-api": ("xpchaos.actions.network", "block_provider_api", "unblock_provider_api"),
    "revoke-credentials": ("xpchaos.actions.credentials", "revoke_credentials", "restore_credentials"),
}
CONTROLS = [{"name": "xpchaos-timeline", "provider": {"type": "python", "module": "xpchaos.controls.timeline"}},
            {"name": "xpchaos-safety", "provider": {"type": "python", "module": "xpchaos.controls.safety"}}]


def _activity(kind: str, name: str, module: str, func: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "name": name, "provider": {"type": "python", "module": module, "func": func,
                                                    "arguments": arguments}}


def fault_experiment(fault: str, provider: str, arguments: dict[str, Any] | None = None,
                     slo: float | str | None = None) -> dict[str, Any]:
    """One fault against ``provider`` (a name or role), then the failover probe; its rollback always runs."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; the faults are {', '.join(FAULTS)}")
    module, action, rollback = FAULTS[fault]
    probe_args: dict[str, Any] = {"provider": provider, "slo": "" if slo is None else str(slo)}
    return {
        "title": f"{fault} against {provider}",
        "description": f"{fault} injected directly (no experiment file)",
        "tags": ["xpchaos", "adhoc", fault],
        "controls": CONTROLS,
        "runtime": {"rollbacks": {"strategy": "always"}},
        "method": [_activity("action", fault, module, action, {"provider": provider, **(arguments or {})}),
                   _activity("probe", "failover-completes", "xpchaos.probes.failover", "failover_completes",
                             probe_args)],
        "rollbacks": [_activity("action", f"undo-{fault}", module, rollback, {"provider": provider})],
    }
