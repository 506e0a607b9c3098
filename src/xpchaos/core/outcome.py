"""How a run or a scenario ended, in one vocabulary: the words journals, reports, the history and chat messages
carry, the exit code each one means, and how each is shown.

The four verdicts are never collapsed: ``passed``; ``failed`` (the system is not resilient); ``fault-not-applied``
(the fault did not take hold, so nothing was proven either way); ``error`` (the harness could not decide). The gate
and game days add ``skipped`` (a scenario that did not run) and ``interrupted`` (Ctrl-C or SIGTERM; the rollbacks
ran).

``Outcome`` is a ``str`` enum: a member is its word (``Outcome.PASSED == "passed"``), so journals, JSON, SQLite and
f-strings hold exactly the words they held before there was an enum.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLIED = "fault-not-applied"
    ERROR = "error"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"

    @classmethod
    def parse(cls, value: object) -> Outcome:
        """The outcome a journal or a probe's output names; a word it does not know reads ``error`` (the harness
        cannot decide from it)."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.ERROR

    @classmethod
    def of_exit_code(cls, code: int) -> Outcome:
        """What an exit code of ``xpchaos gate`` or ``xpchaos gameday`` says (any other code: ``error``)."""
        return _BY_EXIT_CODE.get(code, cls.ERROR)

    @property
    def exit_code(self) -> int:
        """0 passed, 1 not resilient, 130 interrupted, 2 anything that could not be decided."""
        return _EXIT_CODES[self]

    @property
    def word(self) -> str:
        """In a sentence: "resilient: every step within its deadline", "NOT resilient: ..."."""
        return _WORDS[self][0]

    @property
    def label(self) -> str:
        """On a badge or in a table column: "passed", "NOT RESILIENT", "fault not applied", ..."""
        return _WORDS[self][1]

    @property
    def alert(self) -> str:
        """At the head of a chat message: "resilient", "NOT RESILIENT", ..."""
        return _WORDS[self][2]


# the verdicts of a run (what the failover probe and the verdict can say); the gate adds SKIPPED and INTERRUPTED
VERDICTS = (Outcome.PASSED, Outcome.FAILED, Outcome.NOT_APPLIED, Outcome.ERROR)
UNDECIDED = frozenset({Outcome.ERROR, Outcome.NOT_APPLIED})  # nothing proven either way: exit code 2

_EXIT_CODES = {Outcome.PASSED: 0, Outcome.FAILED: 1, Outcome.NOT_APPLIED: 2, Outcome.ERROR: 2,
               Outcome.SKIPPED: 2,  # a run where nothing ran proved nothing
               Outcome.INTERRUPTED: 130}
_BY_EXIT_CODE = {0: Outcome.PASSED, 1: Outcome.FAILED, 2: Outcome.ERROR, 130: Outcome.INTERRUPTED}
_WORDS = {  # (word, label, alert)
    Outcome.PASSED: ("resilient", "passed", "resilient"),
    Outcome.FAILED: ("NOT resilient", "NOT RESILIENT", "NOT RESILIENT"),
    Outcome.NOT_APPLIED: ("fault not applied", "fault not applied", "fault not applied"),
    Outcome.ERROR: ("could not decide", "could not decide", "could not decide"),
    Outcome.SKIPPED: ("skipped", "skipped", "skipped"),
    Outcome.INTERRUPTED: ("interrupted", "interrupted", "interrupted"),
}


def exit_code_of(outcomes: Iterable[Outcome | str]) -> int:
    """The exit code of several runs together: 1 when any was not resilient (a definite resilience failure is the
    finding CI must see first), else 2 when any could not be decided, else 0."""
    seen = {Outcome.parse(o) for o in outcomes}
    if Outcome.FAILED in seen:
        return 1
    return 2 if seen & UNDECIDED else 0


class ActionOutcome(enum.StrEnum):
    """What a fault action (the ``outcome`` of its output) or its rollback says it did."""

    APPLIED = "applied"
    NOT_APPLIED = Outcome.NOT_APPLIED.value  # the verdict reads this word from the action's output
    DRY_RUN = "dry-run"
    RESTORED = "restored"
    NOTHING_TO_DO = "nothing-to-do"
