"""A pytest plugin that records each scenario for the gate: its steps with pass/fail and the exact failure message,
its outcome, and the journal its run wrote. Active only when ``XPCHAOS_REPORT_DIR`` is set (``xpchaos gate`` sets
it); it appends one JSON line per scenario to ``scenarios.jsonl`` there.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from xpchaos.core.outcome import Outcome

REPORT_DIR_ENV = "XPCHAOS_REPORT_DIR"
_records: dict[str, dict[str, Any]] = {}
_step_started: dict[str, float] = {}
BUILTIN_MARKERS = {"parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings", "timeout"}


def report_dir() -> Path | None:
    value = os.environ.get(REPORT_DIR_ENV)
    return Path(value) if value else None


def journal_path(nodeid: str) -> Path | None:
    """Where the scenario's run writes its journal, when recording."""
    directory = report_dir()
    if directory is None:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in nodeid.split("::", 1)[-1])[:150]
    return directory / "journals" / f"{safe}.json"


def message_of(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _step(step: Any, status: str, message: str = "", started: float | None = None) -> dict[str, Any]:
    doc = {"keyword": step.keyword, "type": step.type, "text": step.name, "status": status}
    if message:
        doc["message"] = message
    if started is not None:
        doc["duration_s"] = round(time.monotonic() - started, 3)
    return doc


def _tags(node: pytest.Item, scenario: Any, feature: Any) -> list[str]:
    """The feature's and scenario's tags, and an Examples block's (which reach the test only as markers)."""
    markers = {m.name for m in node.iter_markers()} - BUILTIN_MARKERS
    return sorted(set(scenario.tags) | set(feature.tags) | markers)


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    if report_dir() is None:
        return
    _records[request.node.nodeid] = {
        "nodeid": request.node.nodeid, "feature": feature.name, "feature_file": feature.rel_filename,
        "scenario": scenario.name, "tags": _tags(request.node, scenario, feature), "steps": [],
        "all_steps": list(scenario.steps)}


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                           step_func: Any) -> None:
    _step_started[request.node.nodeid] = time.monotonic()


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any,
                          step_func_args: dict[str, Any]) -> None:
    record = _records.get(request.node.nodeid)
    if record is not None:
        record["steps"].append(_step(step, "passed", started=_step_started.pop(request.node.nodeid, None)))


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any,
                          step_func_args: dict[str, Any], exception: Exception) -> None:
    record = _records.get(request.node.nodeid)
    if record is not None:
        record["steps"].append(_step(step, "failed", message_of(exception),
                                     _step_started.pop(request.node.nodeid, None)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    record = _records.get(item.nodeid)
    if record is None or not (report.when == "call" or (report.when == "setup" and not report.passed)):
        return
    _records.pop(item.nodeid)
    steps, all_steps = record["steps"], record.pop("all_steps")
    message = message_of(call.excinfo.value) if call.excinfo is not None else ""
    if report.skipped:
        record["outcome"], record["message"] = Outcome.SKIPPED, str(getattr(call.excinfo, "value", "") or "")
    elif report.failed:
        record["outcome"], record["message"] = Outcome.FAILED, message  # the gate tells which kind of failure
        if not any(s["status"] == "failed" for s in steps) and len(steps) < len(all_steps):
            steps.append(_step(all_steps[len(steps)], "failed", message))  # e.g. an unknown step
    else:
        record["outcome"] = Outcome.PASSED
    steps.extend(_step(s, "skipped") for s in all_steps[len(steps):])
    written = journal_path(item.nodeid)
    record["journal"] = str(written) if written is not None and written.exists() else None
    directory = report_dir()
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "scenarios.jsonl").open("a") as out:
        out.write(json.dumps(record) + "\n")
