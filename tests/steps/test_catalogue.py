"""The step catalogue: every step documented with an example that its own definition (and only it) matches, and
docs/steps.md generated from the same source."""

from __future__ import annotations

import subprocess
import sys

from pytest_bdd.steps import step_function_context_registry

from tests.support.paths import ROOT
from xpchaos.steps import catalogue


def _matching(text: str, kind: str) -> list[str]:
    return sorted({f"{c.step_func.__module__}.{c.step_func.__name__}"
                   for c in list(step_function_context_registry.values())
                   if c.type == kind and c.step_func.__module__ in catalogue.MODULES and c.parser.is_matching(text)})


def test_every_step_has_an_example_that_only_it_matches() -> None:
    docs = catalogue.definitions()
    assert {d.type for d in docs} == {"given", "when", "then"} and len(docs) >= 15
    for d in docs:
        first = d.example.splitlines()[0] if d.example else ""
        keyword, _, text = first.partition(" ")
        assert keyword == d.type.capitalize(), f"{d.text}: the example {first!r} does not start with {keyword}"
        assert d.summary, f"{d.text}: no description"
        owners = _matching(text, d.type)
        assert len(owners) == 1, f"{d.text}: its example {text!r} is matched by {owners}"


def test_docs_steps_md_is_generated_from_the_library() -> None:
    assert (ROOT / "docs" / "steps.md").read_text() == catalogue.markdown(), \
        "docs/steps.md is stale: run `xpchaos steps --markdown > docs/steps.md`"


def test_xpchaos_steps_lists_and_searches() -> None:
    run = subprocess.run([sys.executable, "-m", "xpchaos", "steps", "DNS"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Then DNS answers {provider} on every nameserver within {seconds} seconds" in run.stdout
    assert "e.g. Then DNS answers azure on every nameserver within 90 seconds" in run.stdout
    assert "When the experiment" not in run.stdout
    missing = subprocess.run([sys.executable, "-m", "xpchaos", "steps", "no such words"], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing.stderr
