"""What a report shows: scenarios (Gherkin, or one plain ``chaos run``), their steps, and each run's journal.

The gate builds a ``GateReport`` from pytest's results and the journals the steps wrote; ``xpchaos report`` builds
one from a single journal. ``xpchaos.report.html`` renders either as one self-contained HTML page.

A journal is Chaos Toolkit's, with the extensions the xpchaos controls add: ``xpchaos-timeline`` (every entry
observed), ``xpchaos-verdict`` (``xpchaos.verdict.Verdict.as_dict()``), ``xpchaos-target`` (which objects belong to
which provider, the expected DNS answers, the SLOs) and, when the safety net had work, ``xpchaos-safety``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xpchaos import verdict as verdicts
from xpchaos.core.outcome import UNDECIDED, Outcome

# the order a report lists scenarios in, by their outcome (as the gate classifies it): worst first
SEVERITY = {Outcome.ERROR: 0, Outcome.NOT_APPLIED: 1, Outcome.FAILED: 2, Outcome.PASSED: 3, Outcome.SKIPPED: 4}


@dataclass
class StepReport:
    keyword: str  # Given / When / Then / And / But
    text: str
    status: str  # passed / failed / skipped
    message: str = ""  # the exact failure message
    duration_s: float | None = None


@dataclass
class ScenarioReport:
    name: str
    feature: str = ""
    tags: list[str] = field(default_factory=list)
    outcome: Outcome = Outcome.PASSED  # see SEVERITY
    message: str = ""  # why it is not passed: the failing step's message, or the verdict's reason
    steps: list[StepReport] = field(default_factory=list)
    journal: dict[str, Any] | None = None
    journal_path: str | None = None

    def __post_init__(self) -> None:  # a recorded word (scenarios.jsonl, a journal) as the Outcome it names
        self.outcome = Outcome.parse(self.outcome)

    def extension(self, name: str) -> dict[str, Any] | None:
        for ext in (self.journal or {}).get("extensions") or []:
            if ext.get("name") == name:
                return dict(ext)
        return None

    @property
    def verdict(self) -> verdicts.Verdict | None:
        return verdicts.from_extensions(self.journal) if self.journal else None

    @property
    def timeline(self) -> list[dict[str, Any]]:
        return list((self.extension("xpchaos-timeline") or {}).get("timeline") or [])

    @property
    def target(self) -> dict[str, Any]:
        return dict((self.extension("xpchaos-target") or {}).get("target") or {})

    @classmethod
    def from_journal(cls, journal: dict[str, Any], path: str | Path | None = None) -> ScenarioReport:
        """One plain ``chaos run``: the scenario is the experiment, its steps the journal's activities."""
        found = verdicts.from_extensions(journal) or verdicts.of_journal(journal)
        steps = []
        before = (journal.get("steady_states") or {}).get("before") or {}
        for label, runs in (("Given", before.get("probes") or []), ("When", journal.get("run") or []),
                            ("Then", journal.get("rollbacks") or [])):
            for run in runs:
                activity = run.get("activity") or {}
                ok = run.get("status") == "succeeded" and run.get("tolerance_met", True)
                message = "".join(run.get("exception") or []).strip().splitlines()[-1:] if not ok else []
                said = run.get("output") if isinstance(run.get("output"), dict) else {}
                if ok and said.get("outcome") in (Outcome.FAILED, *UNDECIDED):  # a probe that ran, saying no
                    ok, message = False, [f"{said['outcome']}: {said.get('reason', '')}"]
                steps.append(StepReport(label, f"{activity.get('type', 'activity')} {activity.get('name', '')}",
                                        "passed" if ok else "failed", message[0] if message else "",
                                        run.get("duration")))
        outcome = found.outcome if found.outcome in (Outcome.PASSED, Outcome.FAILED, Outcome.NOT_APPLIED) else \
            Outcome.ERROR
        return cls(name=str((journal.get("experiment") or {}).get("title", "experiment")), outcome=outcome,
                   message="" if outcome == Outcome.PASSED else found.reason, steps=steps, journal=journal,
                   journal_path=str(path) if path else None,
                   tags=list((journal.get("experiment") or {}).get("tags") or []))


@dataclass
class GateReport:
    title: str
    scenarios: list[ScenarioReport]
    started_at: str = ""  # ISO 8601, UTC
    finished_at: str = ""
    target: str = ""  # the target file, or "sandboxes started by the gate"
    selection: str = ""  # the -m expression
    exit_code: int | None = None
    exit_meaning: str = ""
    files: dict[str, str] = field(default_factory=dict)  # label -> relative path (junit.xml, cucumber.json, ...)

    def worst_first(self) -> list[ScenarioReport]:
        return sorted(self.scenarios, key=lambda s: (SEVERITY.get(s.outcome, 0), s.feature, s.name))
