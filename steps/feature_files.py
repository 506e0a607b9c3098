"""Feature files checked before pytest-bdd binds them: one line saying which file, which line, and what to fix.

pytest-bdd's own parser stops at the first problem with a traceback (``KeyError: 'feature'`` for an empty file)
and accepts files that would make a resilience gate lie: a scenario whose only line is not a step (it has no steps
and passes), a Scenario Outline without Examples, steps written under the Feature outside any Scenario. This
module uses the same Gherkin parser and refuses those too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gherkin.errors import CompositeParserException
from gherkin.parser import Parser

from xpchaos.core.errors import InputError

STEP_WORDS = ("Given ", "When ", "Then ", "And ", "But ", "* ")
_EXPECTED = re.compile(r"^\((\d+):(\d+)\): (.*)$", re.S)


class FeatureFileError(InputError):
    """A feature file that cannot be run as written; the message is one line."""


def _parse_error(path: Path, exc: CompositeParserException) -> FeatureFileError:
    error = exc.errors[0]
    line = (getattr(error, "location", None) or {}).get("line", 0)
    text = str(error).splitlines()[0]
    match = _EXPECTED.match(text)
    detail = match.group(3) if match else text
    got = re.search(r"got '(.*)'$", detail)
    if "Language not supported" in detail:
        fix = f"{detail.strip()}: use a Gherkin language code such as 'en' in '# language:'"
    elif got and got.group(1).startswith("Feature:"):
        fix = f"a second {got.group(1)!r}: a file holds one Feature; move it into a file of its own"
    elif got and line and "#FeatureLine" in detail:
        fix = f"{got.group(1)!r} before any 'Feature:' line; start the file with 'Feature: <title>'"
    elif got:
        fix = f"{got.group(1)!r} is not allowed here (expected one of: {detail.split('got')[0][10:].strip(', ')})"
    else:
        fix = detail
    return FeatureFileError(f"{path}:{line}: {fix}")


def _misplaced_step(description: str | None) -> str | None:
    for line in (description or "").splitlines():
        if line.strip().startswith(STEP_WORDS):
            return line.strip()
    return None


def _check_scenario(path: Path, scenario: dict[str, Any]) -> None:
    line = scenario["location"]["line"]
    name = f"{scenario['keyword']} {scenario['name']!r}"
    if not scenario.get("steps"):
        first = next((x.strip() for x in (scenario.get("description") or "").splitlines() if x.strip()), None)
        hint = (f" ({first!r} is not a step: steps start with Given, When, Then, And or But)" if first else "")
        raise FeatureFileError(f"{path}:{line}: {name} has no steps{hint}; a scenario without steps proves nothing")
    if "Outline" in scenario["keyword"] or scenario.get("examples"):
        placeholders = set(re.findall(r"<([^<>]+)>", " ".join(s["text"] for s in scenario["steps"])))
        tables = [e for e in scenario.get("examples") or [] if e.get("tableHeader")]
        if placeholders and not tables:
            raise FeatureFileError(f"{path}:{line}: {name} has no Examples table; add 'Examples:' with the columns "
                                   f"{', '.join(sorted(placeholders))}")
        for table in tables:
            columns = {c["value"] for c in table["tableHeader"]["cells"]}
            if placeholders - columns:
                raise FeatureFileError(f"{path}:{table['location']['line']}: Examples lack the column(s) "
                                       f"{', '.join(sorted(placeholders - columns))} used by {name}")


def check(path: Path) -> None:
    """Refuse (``FeatureFileError``) a feature file that cannot run as written."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeatureFileError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
                               "save it as UTF-8") from None
    try:
        document: dict[str, Any] = dict(Parser().parse(text))  # the parser's TypedDicts, read as plain JSON
    except CompositeParserException as exc:
        raise _parse_error(path, exc) from None
    feature = document.get("feature")
    if not feature:
        raise FeatureFileError(f"{path}: no 'Feature:' line (the file is empty or only comments); start it with "
                               "'Feature: <title>' and add a Scenario")
    stray = _misplaced_step(feature.get("description"))
    if stray:
        raise FeatureFileError(f"{path}: {stray!r} is outside any Scenario or Background; move it under one")
    children = [c.get("scenario") or c.get("background") for c in feature.get("children") or []]
    rules = [c["rule"] for c in feature.get("children") or [] if c.get("rule")]
    children += [c.get("scenario") or c.get("background") for r in rules for c in r.get("children") or []]
    scenarios = [c for c in children if c and c.get("keyword", "").strip() not in ("Background",)]
    if not scenarios:
        raise FeatureFileError(f"{path}:{feature['location']['line']}: Feature {feature['name']!r} has no Scenario")
    for scenario in scenarios:
        _check_scenario(path, scenario)


def check_all(paths: Iterable[Path]) -> None:
    for path in sorted(paths):
        check(path)
