"""Then: assertions over the finished run's journal and timeline, and over the cluster after the rollbacks.

Nothing here waits: the When step returns once the run (fault, probes, rollbacks) is over, and its timeline holds
every signal with its instant. Deadlines are checked against the fault marker's instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_bdd import parsers, then

from xpchaos.core.outcome import VERDICTS, Outcome
from xpchaos.core.target import Target, parse_duration
from xpchaos.core.target_model import Condition, MrErrorSignal
from xpchaos.probes import sequence
from xpchaos.probes import timeline as tl
from xpchaos.run import snapshot

from .world import NAME, World

# a verdict as a feature file may say it: its word in the journal, or in a sentence ("not resilient")
VERDICT_WORDS = {said: outcome for outcome in VERDICTS for said in (outcome.value, outcome.word.lower())}


# "reports ReconcileError": the condition itself, Synced=False with that reason; a Warning Event does not count
RECONCILE_ERROR = MrErrorSignal(condition=Condition(type="Synced", status="False", reason="ReconcileError"), events=())


def _signals(target: Target, world: World, signals: list[tuple[str, float]]) -> dict[str, Any]:
    try:
        return sequence.check(target, world.run.timeline, signals)
    except sequence.UnknownSignal as exc:
        raise AssertionError(str(exc)) from None


def _assert_sequence(world: World, signals: list[tuple[str, float]], target: Target | None = None) -> None:
    verdict = _signals(target or world.target, world, signals)
    observed = f"; observed: {verdict['observed']}" if verdict.get("observed") else ""
    assert verdict["outcome"] == Outcome.PASSED, f"{verdict['reason']}{observed}; seen: " + ", ".join(
        f"{s['name']}: {s['status']}" + (f" at {s['at_s']} s" if "at_s" in s else "") for s in verdict["steps"])


@then("the failover passes")
def failover_passes(world: World) -> None:
    """The run's verdict is ``passed``: every failover step within its deadline.

    Example: Then the failover passes
    """
    got = world.run.verdict
    assert got.outcome == Outcome.PASSED, f"verdict {got.outcome}: {got.reason}" + (
        f" (observed: {got.observed})" if got.observed else "")


@then(parsers.parse('the verdict is "{words}"'))
def verdict_is(world: World, words: str) -> None:
    """The run's verdict, in words: resilient / passed, not resilient / failed, fault not applied, error.

    Example: Then the verdict is "fault not applied"
    """
    if words not in VERDICT_WORDS:
        raise ValueError(f"unknown verdict {words!r}; say one of: {', '.join(VERDICT_WORDS)}")
    got = world.run.verdict
    assert got.outcome == VERDICT_WORDS[words], f"verdict {got.outcome}, not {words}: {got.reason}"


@then(parsers.parse('the run is not resilient at step "{step}"'))
def not_resilient_at(world: World, step: str) -> None:
    """The verdict is ``failed`` at this failover step (detect, promote, xr_recovers, dns_secondary), and its
    reason says how late (seconds after the deadline, or not seen within it).

    Example: Then the run is not resilient at step "xr_recovers"
    """
    got = world.run.verdict
    assert got.outcome == Outcome.FAILED, f"verdict {got.outcome}, not failed: {got.reason}"
    assert got.failed_step == step, f"failed at step {got.failed_step!r}, not {step!r}: {got.reason}"
    assert "not seen within" in got.reason or "deadline" in got.reason, f"the reason names no lateness: {got.reason}"


@then(parsers.parse('the verdict says "{text}"'))
def verdict_says(world: World, text: str) -> None:
    """The verdict's reason or what it observed contains ``text``.

    Example: Then the verdict says "never left Ready"
    """
    got = world.run.verdict
    said = f"{got.reason} {got.observed or ''}"
    assert text in said, f"the verdict does not say {text!r}: {said.strip()}"


@then("these signals follow the fault in order:")
def signals_in_order(world: World, datatable: list[list[str]]) -> None:
    """Each signal of the table (columns ``signal`` and ``within``, e.g. ``90s``) is seen after the previous one
    and within its deadline after the fault. Signals: see ``xpchaos.probes.sequence``.

    Example: Then these signals follow the fault in order:
      | signal                                 | within |
      | aws managed resources are Synced=False | 30s    |
      | DNS answers azure                      | 90s    |
    """
    header, *rows = datatable
    if [h.strip().lower() for h in header] != ["signal", "within"]:
        raise ValueError(f"the table needs the columns | signal | within |, got {header}")
    _assert_sequence(world, [(sig, parse_duration(within, f"within of {sig!r}")) for sig, within in rows])


@then(parsers.parse("{provider:Name} managed resources are {what} within {seconds:g} seconds", extra_types=NAME))
def managed_resources_within(world: World, provider: str, what: str, seconds: float) -> None:
    """Every managed resource of ``provider`` shows the signal (``Synced=False`` or ``Synced and Ready``) within
    ``seconds`` of the fault.

    Example: Then aws managed resources are Synced=False within 30 seconds
    """
    _assert_sequence(world, [(f"{provider} managed resources are {what}", seconds)])


@then(parsers.parse("{lost:Name} reports ReconcileError and {other:Name} is Syncing within {seconds:g} seconds",
                    extra_types=NAME))
def reconcile_error_then_syncing(world: World, lost: str, other: str, seconds: float) -> None:
    """The product brief's own words, mapped to the signals Crossplane really has: it has no "Syncing" event or
    condition, and ReconcileError is a condition reason, not an event. Checked instead, both within ``seconds``
    of the fault: every managed resource of ``lost`` reports the condition Synced=False with reason
    ReconcileError (a Warning Event alone does not count), then, not before that instant, every managed resource
    of ``other`` reports Synced=True and Ready=True (the target's healthy signal: ReconcileSuccess, Available).

    Example: Then aws reports ReconcileError and azure is Syncing within 90 seconds
    """
    target = world.target
    if target.provider(lost).name == target.provider(other).name:
        raise ValueError(f"{lost} and {other} are the same provider; name the lost one, then the one that takes over")
    strict = target.model_copy(update={"signal_overrides": target.signal_overrides.model_copy(
        update={"mr_error": RECONCILE_ERROR})})
    _assert_sequence(world, [(f"{lost} managed resources are Synced=False", seconds),
                             (f"{other} managed resources are Synced and Ready", seconds)], strict)


@then(parsers.parse("the {kind:Name} goes Ready True → False → True within {seconds:g} seconds", extra_types=NAME))
def composite_flips(world: World, kind: str, seconds: float) -> None:
    """The composite leaves Ready and comes back, both within ``seconds`` of the fault.

    Example: Then the XGlobalDatabase goes Ready True → False → True within 90 seconds
    """
    _assert_sequence(world, [(f"the {kind} is Ready=False", seconds), (f"the {kind} is Ready=True", seconds)])


@then(parsers.parse("the {kind:Name} never leaves Ready", extra_types=NAME))
def composite_stays_ready(world: World, kind: str) -> None:
    """After the fault, no composite of this kind reports its ready condition other than True.

    Example: Then the XGlobalDatabase never leaves Ready
    """
    entries = tl.entries_from_json(world.run.timeline)
    t0 = sequence.fault_instant(entries)
    assert t0 is not None, "no fault was injected in this run"
    plurals = {c.plural for c in world.target.composites if kind in (c.kind, "XR", "composite")}
    assert plurals, f"the target has no composite of kind {kind!r}"
    left = [e for e in entries if e.mono >= t0 and e.what == tl.CONDITION and e.kind in plurals
            and e.type == "Ready" and e.status != "True"]
    assert not left, f"{kind} left Ready {left[0].mono - t0:.2f} s after the fault: {left[0].reason} {left[0].message}"


@then(parsers.parse("DNS answers {provider:Name} on every nameserver within {seconds:g} seconds", extra_types=NAME))
def dns_converges(world: World, provider: str, seconds: float) -> None:
    """Every nameserver answers ``provider``'s addresses within ``seconds`` of the fault (DNS convergence).

    Example: Then DNS answers azure on every nameserver within 90 seconds
    """
    _assert_sequence(world, [(f"DNS answers {provider}", seconds)])


@then(parsers.parse('the ProviderConfig of {provider:Name} is protected by "{finalizer}"', extra_types=NAME))
def provider_config_protected(world: World, provider: str, finalizer: str) -> None:
    """The deletion was blocked: the ProviderConfig stayed Terminating with this finalizer while in use.

    Example: Then the ProviderConfig of aws is protected by "in-use.crossplane.io"
    """
    fault = next((r for r in world.run.journal.get("run") or [] if r["activity"]["type"] == "action"), None)
    assert fault is not None, "the run has no fault action"
    output = fault.get("output") or {}
    assert output.get("outcome") == Outcome.NOT_APPLIED, f"the deletion was not blocked: {output.get('outcome')}"
    assert finalizer in (output.get("finalizers") or []), \
        f"blocked, but not by {finalizer}: finalizers {output.get('finalizers')}, {output.get('reason')}"


@then("everything the fault changed is rolled back")
def rolled_back(world: World) -> None:
    """The objects the faults can touch (ProviderConfigs, Secrets, NetworkPolicies) are as before the run, and
    the undo log holds no outstanding record of it.

    Example: Then everything the fault changed is rolled back
    """
    assert world.before is not None, "no snapshot was taken before the run"
    changes = snapshot.diff(world.before, snapshot.take(world.target))
    assert not changes, "left behind: " + "; ".join(changes)
    mine = str(Path(world.target.path).resolve())  # other runs may share the undo log: count this target's only
    left = [r for r in world.undo_log.outstanding()
            if r.get("created", 0) >= world.started_at and r.get("target", {}).get("path") == mine]
    assert not left, f"{len(left)} undo record(s) still outstanding: run `xpchaos restore`"
