"""Then: assertions over the finished run's journal and timeline, and over the cluster after the rollbacks.

Nothing here waits: the When step returns once the run (fault, probes, rollbacks) is over, and its timeline holds
every signal with its instant. Deadlines are checked against the fault marker's instant.

Signals of managed resources, composites and DNS are judged within the fault's blast radius, as the failover
expectation is: the timeline control records which of the target's composites the fault reaches (and, when it
spares some, the DNS names those compose) just before the fault marker. A provider's managed resources are then
those the reached composites compose, the composite signals are theirs, and DNS must switch for their names only;
deleting one of two AWS ProviderConfigs fails only the half of AWS that uses it. No blast radius recorded (one
composite, or an unknown one) means every composite, managed resource and record counts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pytest_bdd import parsers, then

from xpchaos.core.outcome import VERDICTS, Outcome
from xpchaos.core.target import Target, TargetError, parse_duration
from xpchaos.core.target_model import Condition, MrErrorSignal
from xpchaos.probes import composed, sequence
from xpchaos.probes import timeline as tl
from xpchaos.run import snapshot

from .world import NAME, World

# a verdict as a feature file may say it: its word in the journal, or in a sentence ("not resilient")
VERDICT_WORDS = {said: outcome for outcome in VERDICTS for said in (outcome.value, outcome.word.lower())}


# "reports ReconcileError": the condition itself, Synced=False with that reason; a Warning Event does not count
RECONCILE_ERROR = MrErrorSignal(condition=Condition(type="Synced", status="False", reason="ReconcileError"), events=())


# which provider a managed-resource signal names (the phrase as xpchaos.probes.sequence reads it)
_MR_SIGNAL = re.compile(r"^(?:every )?(?P<provider>[\w-]+) managed resources? ")


def recorded_reach(entries: list[tl.Entry]) -> tl.Entry | None:
    """The blast radius recorded just before the last fault marker (the timeline control's ``reach`` entry), if
    any: none for one composite, or when it could not be computed."""
    marks = [i for i, e in enumerate(entries) if e.what == tl.MARK and e.status == "injected"]
    for entry in reversed(entries[:marks[-1]] if marks else []):
        if entry.what == tl.MARK:
            return None
        if entry.what == tl.REACH:
            return entry
    return None


def in_blast_radius(target: Target, timeline: list[dict[str, Any]]) -> tuple[Target, list[dict[str, Any]]]:
    """The target and timeline narrowed to the fault's blast radius: only the composites it reaches, the DNS
    records they compose, the managed resources they compose. Unchanged when no blast radius was recorded."""
    radius = recorded_reach(tl.entries_from_json(timeline))
    if radius is None:
        return target, timeline
    reached = {n for n in radius.involved.get("composites", "").split(",") if n}
    composites = tuple(c for c in target.composites if composed.label(c) in reached)
    assert composites, f"the fault reaches none of the target's {len(target.composites)} composites: {radius.message}"
    records = radius.involved.get("records")  # absent: the fault spares no composite, so every record switches
    names = None if records is None else {n for n in records.split(",") if n}
    dns = tuple(r for r in target.dns if names is None or r.name.rstrip(".") in names)
    kept = [e for e in timeline if e.get("what") != tl.RESOLVED
            or (e.get("involved") or {}).get("composite") in reached]
    return target.model_copy(update={"composites": composites, "dns": dns}), kept


def _assert_some_managed(target: Target, entries: list[tl.Entry], signals: list[tuple[str, float]]) -> None:
    """A managed-resource signal over no managed resource would hold vacuously: refuse it instead."""
    resolution = composed.from_entries(target, entries)
    for phrase, _within in signals:
        m = _MR_SIGNAL.match(" ".join(phrase.split()))
        if m is None:
            continue
        try:
            provider = target.provider(m["provider"])
        except TargetError:
            continue  # the sequence refuses it, naming the providers there are
        found = resolution.mr_keys(provider.name) if resolution is not None else provider.managed
        assert found, f"{phrase}: no managed resource of {provider.name} within the fault's blast radius " \
                      f"({len(target.composites)} composite(s) reached)"


def judge(target: Target, timeline: list[dict[str, Any]], signals: list[tuple[str, float]]) -> dict[str, Any]:
    """The verdict of ``signals`` in order over a run's timeline, within the fault's blast radius
    (``xpchaos.probes.sequence.check`` over the narrowed target); an unknown signal, a fault that reaches none of
    the composites or a managed-resource signal over none raises ``AssertionError``."""
    narrowed, kept = in_blast_radius(target, timeline)
    _assert_some_managed(narrowed, tl.entries_from_json(kept), signals)
    try:
        return sequence.check(narrowed, kept, signals)
    except sequence.UnknownSignal as exc:
        raise AssertionError(str(exc)) from None


def _assert_sequence(world: World, signals: list[tuple[str, float]], target: Target | None = None) -> None:
    verdict = judge(target or world.target, world.run.timeline, signals)
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


@then(parsers.parse('the verdict at step "{step}" is "{words}"'))
def verdict_at_step(world: World, step: str, words: str) -> None:
    """The run's verdict in words (as above) and the failover step it failed at, ``-`` for none: one Then for
    every row of a table of scenarios whose verdicts differ.

    Example: Then the verdict at step "dns_secondary" is "not resilient"
    """
    verdict_is(world, words)
    got = world.run.verdict
    if step != "-":
        assert got.failed_step == step, f"failed at step {got.failed_step!r}, not {step!r}: {got.reason}"


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
    and within its deadline after the fault, judged within the fault's blast radius (the managed resources, the
    composites and the DNS names of the composites it reaches). Signals: see ``xpchaos.probes.sequence``.

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
    """Every managed resource of ``provider`` that the composites in the fault's blast radius compose shows the
    signal (``Synced=False`` or ``Synced and Ready``) within ``seconds`` of the fault; there must be one at least.
    Those of composites the fault does not reach (e.g. on another ProviderConfig of the same cloud) do not count.

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
    of ``other`` reports Synced=True and Ready=True (the target's healthy signal: ReconcileSuccess, Available);
    both sides' managed resources are those of the composites in the fault's blast radius.

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
    """Every composite of this kind in the fault's blast radius leaves Ready and comes back, both within
    ``seconds`` of the fault.

    Example: Then the XGlobalDatabase goes Ready True → False → True within 90 seconds
    """
    _assert_sequence(world, [(f"the {kind} is Ready=False", seconds), (f"the {kind} is Ready=True", seconds)])


@then(parsers.parse("the {kind:Name} never leaves Ready", extra_types=NAME))
def composite_stays_ready(world: World, kind: str) -> None:
    """After the fault, no composite of this kind reports its ready condition other than True, whether the
    fault reaches it or not.

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
    """Every nameserver answers ``provider``'s addresses within ``seconds`` of the fault (DNS convergence), for
    each DNS name the composites in the fault's blast radius compose.

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
