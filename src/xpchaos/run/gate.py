"""The CI resilience gate: run the Gherkin suite, turn its results and journals into verdicts, a report and an exit
code that tells "not resilient" (1) from "the gate could not decide" (2).

pytest runs in a process of its own (``python -m pytest features``) in the working directory, as a user would run
it, with ``XPCHAOS_REPORT_DIR`` set: the pytest plugin (``xpchaos.pytest_plugin``) then writes each scenario's steps
and outcome to ``scenarios.jsonl`` and each run's journal to ``journals/`` there. pytest also writes ``junit.xml``
and ``cucumber.json``. The gate reads them back, classifies every scenario and renders ``index.html``. The feature
files are the folder given, else ``features/`` here, else the scenarios shipped with xpchaos (``xpchaos.run.sources``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xpchaos import verdict as verdicts
from xpchaos.core.outcome import UNDECIDED, Outcome, exit_code_of
from xpchaos.run import report_model as rm
from xpchaos.run import sources

SCENARIOS_FILE, JOURNALS_DIR = "scenarios.jsonl", "journals"
REPORT_DIR_ENV = "XPCHAOS_REPORT_DIR"
EXIT_MEANINGS = {0: "every selected scenario passed",
                 1: "not resilient: the platform failed a failover expectation",
                 2: "the gate could not decide: a harness error, a fault not applied or invalid input",
                 130: "interrupted: the rollbacks of the running scenario ran"}
PYTEST_PROBLEMS = {2: "pytest stopped early, e.g. a feature file that does not parse",
                   3: "pytest hit an internal error", 4: "pytest refused its input",
                   5: "no scenario matched the selection"}


def new_report_dir(base: Path = Path("reports")) -> Path:
    """``reports/<UTC time>/``, with ``reports/latest`` pointing at it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory = base / stamp
    n = 1
    while directory.exists():
        n += 1
        directory = base / f"{stamp}-{n}"
    directory.mkdir(parents=True)
    latest = base / "latest"
    tmp = base / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(directory.name)
    os.replace(tmp, latest)
    return directory


def pytest_command(report_dir: Path, target: Path | None, markexpr: str | None,
                   features: Path | None = None) -> list[str]:
    """pytest over ``features`` (default: ``features/`` here, else the shipped scenarios), as an absolute path."""
    folder = (features or sources.features().path).resolve()
    command = [sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-rA",
               f"--junitxml={report_dir / 'junit.xml'}", f"--cucumber-json={report_dir / 'cucumber.json'}"]
    if markexpr:
        command += ["-m", markexpr]
    if target is not None:
        command += ["--target", str(target)]
    return command


def run_pytest(command: list[str], report_dir: Path, echo: Callable[[str], None]) -> tuple[int, int | None]:
    """Run pytest, echoing its output line by line and keeping it in ``pytest.log``. Returns its exit code and the
    signal that interrupted the gate, if one did: SIGINT and SIGTERM are passed on to pytest (in a session of its
    own, so a terminal's Ctrl-C reaches it once), which stops after the running scenario's rollbacks."""
    env = {**os.environ, REPORT_DIR_ENV: str(report_dir.resolve())}
    received: list[int] = []
    with (report_dir / "pytest.log").open("w") as log, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            start_new_session=True) as proc:

        def forward(signum: int, _frame: Any) -> None:
            received.append(signum)
            proc.send_signal(signum)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                echo(line.rstrip("\n"))
            code = proc.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return code, (received[0] if received else None)


def read_scenarios(report_dir: Path) -> list[dict[str, Any]]:
    path = report_dir / SCENARIOS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def classify(record: dict[str, Any], journal: dict[str, Any] | None) -> tuple[Outcome, str]:
    """A scenario's outcome and why: a failed scenario is ``failed`` (not resilient) only when the run's
    verdict or a Then step about the platform says so; anything else is the harness not deciding."""
    status, message = Outcome.parse(record.get("outcome")), record.get("message", "")
    if status in (Outcome.PASSED, Outcome.SKIPPED):
        return status, message
    failing = next((s for s in record.get("steps", []) if s.get("status") == "failed"), None)
    if journal is None or failing is None:
        return Outcome.ERROR, message or "the scenario failed before any experiment ran"
    found = verdicts.from_extensions(journal) or verdicts.of_journal(journal)
    if failing.get("type") != "then" or "rolled back" in failing.get("text", ""):
        return Outcome.ERROR, failing.get("message") or message
    if found.outcome in UNDECIDED:
        return found.outcome, f"{found.reason} (step: {failing.get('text')})"
    return Outcome.FAILED, failing.get("message") or found.reason


def scenario_reports(report_dir: Path) -> list[rm.ScenarioReport]:
    reports = []
    for record in read_scenarios(report_dir):
        journal_path = record.get("journal")
        journal = json.loads(Path(journal_path).read_text()) if journal_path and Path(journal_path).exists() \
            else None
        outcome, message = classify(record, journal)
        steps = [rm.StepReport(s["keyword"], s["text"], s["status"], s.get("message", ""), s.get("duration_s"))
                 for s in record.get("steps", [])]
        reports.append(rm.ScenarioReport(record.get("scenario", record.get("nodeid", "")), record.get("feature", ""),
                                         record.get("tags", []), outcome, message, steps, journal,
                                         os.path.relpath(journal_path, report_dir) if journal_path else None))
    return reports


def pytest_error(report_dir: Path) -> str:
    """pytest's own complaint (its last ``ERROR:`` line), e.g. an unknown tag in ``-m``."""
    log = report_dir / "pytest.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return next((line.removeprefix("ERROR: ").strip() for line in reversed(lines) if line.startswith("ERROR:")), "")


def exit_code(pytest_code: int, scenarios: list[rm.ScenarioReport], signalled: int | None = None,
              complaint: str = "") -> tuple[int, str]:
    """130 when a signal stopped the gate; 1 when any scenario shows the platform not resilient; else 2 when
    anything could not be decided (or pytest itself failed); else 0. A definite resilience failure is the finding
    CI must see first."""
    if signalled is not None:
        return 130, EXIT_MEANINGS[130]
    if pytest_code in PYTEST_PROBLEMS:
        said = f": {complaint}" if complaint else "; see pytest.log"
        return 2, f"{EXIT_MEANINGS[2]} ({PYTEST_PROBLEMS[pytest_code]}{said})"
    outcomes = {s.outcome for s in scenarios}
    code = exit_code_of(outcomes)
    if code == 0 and pytest_code not in (0, 1):
        code = 2
    if code == 0 and not outcomes - {Outcome.SKIPPED}:
        return 2, f"{EXIT_MEANINGS[2]} (every selected scenario was skipped)"
    return code, EXIT_MEANINGS[code]
