"""Before an experiment changes anything: does this identity hold every permission its faults and probes need?

The faults of the method name the uses of ``xpchaos.core.access``'s table (``revoke-credentials`` breaks a Secret or
an identity, as its mode and the ProviderConfig's credential source say); the probes always observe. Any permission
missing stops the run with one line naming it, exit code 2, before the first change. Called by the
``xpchaos-safety`` control (plain ``chaos run``) and by ``xpchaos.run.runner`` (``xpchaos run``, game days).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import access, kube
from xpchaos.core import platform_graph as graph
from xpchaos.core.access import Use
from xpchaos.core.target import Target

# (module, function) of each fault -> the use it makes of the API
FAULTS: dict[tuple[str, str], Use] = {
    ("xpchaos.actions.providerconfig", "delete_provider_config"): "delete-providerconfig",
    ("xpchaos.actions.network", "block_provider_api"): "block-provider-api",
    ("xpchaos.actions.credentials", "revoke_credentials"): "revoke-credentials",
    ("xpchaos.actions.healthcheck", "fail_health_check"): "health-check",
}
SECRET_MODES = ("secret", "delete-secret")


def method_calls(experiment: dict[str, Any], configuration: dict[str, Any] | None,
                 secrets: dict[str, Any] | None) -> list[tuple[str, str, dict[str, Any]]]:
    """(module, function, arguments with ``${...}`` substituted) of every python activity of the method."""
    from chaoslib import substitute

    calls = []
    for activity in experiment.get("method") or []:
        provider = activity.get("provider") or {}
        if provider.get("type") == "python":
            arguments = dict(substitute(provider.get("arguments") or {}, configuration or {}, secrets or {}) or {})
            calls.append((str(provider.get("module")), str(provider.get("func")), arguments))
    return calls


def revoke_use(api: client.ApiClient, target: Target, provider: str, mode: str | None) -> Use:
    """What a revoke-credentials of ``provider`` changes: a Secret, or the workload identity (``auto``: as the
    ProviderConfig's credential source says)."""
    if mode in SECRET_MODES:
        return "revoke-credentials"
    if mode == "identity":
        return "revoke-identity"
    prov = target.providers.get(provider)
    if prov is None or prov.credentials is not None:
        return "revoke-credentials"
    source = graph.credential_source(graph.get(api, prov.provider_config))
    return "revoke-credentials" if source.source == "Secret" else "revoke-identity"


def uses_of(api: client.ApiClient, target: Target, calls: Iterable[tuple[str, str, dict[str, Any]]]) -> list[Use]:
    uses: list[Use] = ["observe"]
    for module, func, arguments in calls:
        use = FAULTS.get((module, func))
        if use == "revoke-credentials":
            use = revoke_use(api, target, str(arguments.get("provider") or ""), arguments.get("mode"))
        if use is not None and use not in uses:
            uses.append(use)
    return uses


RUN_USES: tuple[Use, ...] = ("observe", "delete-providerconfig", "block-provider-api", "health-check", "gameday",
                             "scenarios")


def run_uses(api: client.ApiClient, target: Target) -> list[Use]:
    """Every use the four experiments, a game day and a gate make of ``target``'s cluster; the credential fault's
    as each provider's credential source says (a Secret, or a workload identity)."""
    uses = list(RUN_USES)
    for name in target.providers:
        try:
            found: list[Use] = [revoke_use(api, target, name, None)]
        except (ApiException, graph.WalkError) as exc:
            if isinstance(exc, ApiException) and exc.status == 403:
                raise
            found = ["revoke-credentials", "revoke-identity"]  # unreadable here: ask for both
        uses += [u for u in found if u not in uses]
    return uses


def experiment_calls(experiment: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``method_calls`` of an experiment as chaoslib will run it: its configuration and secrets loaded first."""
    from chaoslib.configuration import load_configuration
    from chaoslib.secret import load_secrets

    configuration = dict(load_configuration(experiment.get("configuration") or {}))
    secrets = dict(load_secrets(experiment.get("secrets") or {}, configuration))
    return method_calls(experiment, configuration, secrets)


def require(target: Target, command: str, uses: Callable[[client.ApiClient], Iterable[Use]]) -> None:
    """Raise ``access.Denied`` unless this identity may do what ``uses`` (asked with the target's client) says; a
    403 met while finding out is the same one line."""
    api = kube.client_for(target)
    try:
        access.require(api, target, list(dict.fromkeys(uses(api))), command)
    except ApiException as exc:
        if exc.status != 403:
            raise
        raise access.refused_call(exc, command) from None
    finally:
        api.close()


def require_all(target: Target, command: str) -> None:
    """Raise ``access.Denied`` unless this identity may do everything ``run_uses`` says (a gate's scenarios may
    run any of the three experiments)."""
    require(target, command, lambda api: run_uses(api, target))


def require_for(experiment: dict[str, Any], target: Target, configuration: dict[str, Any] | None,
                secrets: dict[str, Any] | None, command: str) -> None:
    """Raise ``access.Denied`` unless this identity may do what ``experiment`` needs."""
    require(target, command, lambda api: uses_of(api, target, method_calls(experiment, configuration, secrets)))
