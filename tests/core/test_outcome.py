"""One vocabulary of outcomes (xpchaos.core.outcome): the words journals hold, their exit codes, how they are shown."""

from __future__ import annotations

import json
import sqlite3

import pytest

from xpchaos import verdict
from xpchaos.core.outcome import ActionOutcome, Outcome, exit_code_of


def test_the_words_are_the_journals_words() -> None:
    assert [o.value for o in Outcome] == ["passed", "failed", "fault-not-applied", "error", "skipped", "interrupted"]
    assert json.dumps({"outcome": Outcome.NOT_APPLIED}) == '{"outcome": "fault-not-applied"}'
    assert f"{Outcome.FAILED}" == "failed" and {"passed": 1}[Outcome.PASSED] == 1
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (v TEXT)")
    db.execute("INSERT INTO t VALUES (?)", (Outcome.SKIPPED,))
    assert db.execute("SELECT v, typeof(v) FROM t").fetchone() == ("skipped", "text")
    assert ActionOutcome.NOT_APPLIED == Outcome.NOT_APPLIED  # the verdict reads the action's word as its own


@pytest.mark.parametrize(("outcome", "code", "word", "label", "alert"), [
    (Outcome.PASSED, 0, "resilient", "passed", "resilient"),
    (Outcome.FAILED, 1, "NOT resilient", "NOT RESILIENT", "NOT RESILIENT"),
    (Outcome.NOT_APPLIED, 2, "fault not applied", "fault not applied", "fault not applied"),
    (Outcome.ERROR, 2, "could not decide", "could not decide", "could not decide"),
    (Outcome.SKIPPED, 2, "skipped", "skipped", "skipped"),
    (Outcome.INTERRUPTED, 130, "interrupted", "interrupted", "interrupted"),
])
def test_exit_codes_and_display_words(outcome: Outcome, code: int, word: str, label: str, alert: str) -> None:
    assert (outcome.exit_code, outcome.word, outcome.label, outcome.alert) == (code, word, label, alert)


def test_a_word_nobody_wrote_reads_error() -> None:
    assert Outcome.parse("fault-not-applied") is Outcome.NOT_APPLIED
    assert Outcome.parse("resilient-ish") is Outcome.ERROR and Outcome.parse(None) is Outcome.ERROR
    found = verdict.Verdict("passed", "from a journal")  # JSON holds a plain string
    assert found.outcome is Outcome.PASSED and found.exit_code == 0 and found.headline() == "resilient: from a journal"


@pytest.mark.parametrize(("outcomes", "code"), [
    ([], 0), (["passed", "skipped"], 0), (["passed", "error"], 2), (["fault-not-applied"], 2),
    (["error", "failed", "passed"], 1),  # not resilient wins: the finding CI must see first
])
def test_several_runs_together(outcomes: list[str], code: int) -> None:
    assert exit_code_of(outcomes) == code


@pytest.mark.parametrize(("code", "outcome"), [(0, Outcome.PASSED), (1, Outcome.FAILED), (2, Outcome.ERROR),
                                                (130, Outcome.INTERRUPTED), (3, Outcome.ERROR)])
def test_what_an_exit_code_says(code: int, outcome: Outcome) -> None:
    assert Outcome.of_exit_code(code) is outcome
