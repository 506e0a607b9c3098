"""A fault's first effect: what it must cause, and by when, so that a fault that never took hold reads
``fault-not-applied`` (with the reason) rather than "not resilient" (``xpchaos.verdict``).

Every fault that breaks a provider has as first effect the faulted side's managed resources showing the error
signal (the ``detect`` step): the provider meets the fault at its next poll, read from its pods' ``--poll`` as
preflight reads it (upjet's default 10m when none says), and reports it after at most one backoff of the managed
reconciler. The health check fault breaks nothing: its first effect is the provider applying the change
(``applied``: the MR's ``status.atProvider``), due by the same poll and backoff.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from xpchaos.core import provider_poll
from xpchaos.core.target import Provider

BACKOFF_CAP = 30.0  # seconds allowed for the managed reconciler's backoff on top of the poll (never over one poll)


def go_duration(seconds: float) -> str:
    """``630`` → ``10m30s``, ``2`` → ``2s``, ``1.5`` → ``1.5s``."""
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{int(minutes)}m" if minutes else ""
    return text + (f"{rest:g}s" if rest or not text else "")


def first_effect(pods: list[Any], provider: str, why: str) -> dict[str, Any]:
    """The ``effect`` a fault on ``provider`` states in its output: the ``detect`` step, due within the longest
    ``--poll`` of ``pods`` plus one backoff; ``why``: what to check when it never comes."""
    polls = [provider_poll.parse_go_duration(value) for pod in pods for c in pod.spec.containers or []
             if (value := provider_poll.poll_arg(c.args or ())) is not None]
    poll = max(polls) if polls else provider_poll.parse_go_duration(provider_poll.DEFAULT_POLL)
    due = poll + min(BACKOFF_CAP, poll)
    return {"step": "detect", "signal": "mr_error", "side": provider, "due_s": round(due, 3),
            "poll": go_duration(poll) + ("" if polls else " (assumed: upjet's default)"),
            "unseen": f"no provider error within {go_duration(due)}: {why}"}


def provider_pods(api: client.ApiClient, provider: Provider) -> list[Any]:
    """The pods the target names for ``provider`` (their ``--poll`` says when the fault must show)."""
    core: Any = client.CoreV1Api(api)
    return list(core.list_namespaced_pod(provider.pods_namespace, label_selector=provider.pods_selector).items)


def applied(pods: list[Any], provider: str, shows: list[str], why: str) -> dict[str, Any]:
    """The ``effect`` of a fault that changes a managed resource's spec without breaking anything (the health
    check fault): the provider applied it, seen in the MR's ``status.atProvider`` as upjet reports it after a
    refresh (``shows``), due within the longest ``--poll`` of ``pods`` plus one backoff; ``why``: what to check
    when it never comes. Its step is ``applied``, not ``detect``: no managed resource errors."""
    due = first_effect(pods, provider, why)
    return {**due, "step": "applied", "signal": "at_provider", "shows": shows,
            "unseen": f"the provider did not apply the change within {go_duration(due['due_s'])}: {why}"}
