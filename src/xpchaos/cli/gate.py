"""``xpchaos gate``: the CI resilience gate on the command line (the work is in ``xpchaos.run.gate``)."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xpchaos.controls import permissions
from xpchaos.core import kube, lease, measures
from xpchaos.core import target as targets
from xpchaos.core.errors import InputError
from xpchaos.core.outcome import Outcome
from xpchaos.report import html as report
from xpchaos.report.page import write
from xpchaos.run import gate as gates
from xpchaos.run import history, notify, sources
from xpchaos.run import report_model as rm

console = Console(soft_wrap=True)
if not console.is_terminal:  # CI logs: wide enough that the summary table does not fold every cell
    console = Console(soft_wrap=True, width=160)
errors = Console(stderr=True, soft_wrap=True)
STYLE = {Outcome.PASSED: "green", Outcome.FAILED: "bold red", Outcome.NOT_APPLIED: "yellow",
         Outcome.ERROR: "bold yellow", Outcome.SKIPPED: "dim"}


def summary_table(scenarios: list[rm.ScenarioReport]) -> Table:
    table = Table(title="Scenarios, worst first", title_justify="left", header_style="bold")
    for column in ("outcome", "scenario", *(m.short for m in measures.MEASURES), "why"):
        table.add_column(column, overflow="fold")
    for s in sorted(scenarios, key=lambda s: (rm.SEVERITY.get(s.outcome, 0), s.feature, s.name)):
        found = s.verdict
        times = found.times if found else {}
        table.add_row(f"[{STYLE.get(s.outcome, '')}]{s.outcome}[/]", escape(s.name),
                      *(measures.seconds(m.of(times)) for m in measures.MEASURES),
                      escape(s.message.splitlines()[0]) if s.message else "")
    return table


HISTORY_OPTION = click.option("--history", "history_path", type=click.Path(dir_okay=False, path_type=Path),
                              default=None, help="The history database the figures are appended to (default: "
                                                 "$XPCHAOS_HISTORY, else reports/history.sqlite).")


def record_history(kind: str, name: str, result: rm.GateReport, index: Path, path: Path | None = None) -> None:
    """Append the run's figures to the history (``path``, else $XPCHAOS_HISTORY, else reports/history.sqlite); a
    history that cannot be written is a warning, never the run's failure."""
    try:
        history.record(path, kind, name, result.started_at, result.finished_at, result.target,
                       result.exit_code if result.exit_code is not None else 2, str(index), result.scenarios)
    except (history.HistoryError, OSError, sqlite3.Error) as exc:
        errors.print(f"[yellow]warning:[/yellow] history not recorded: {escape(str(exc))}", highlight=False)


def _check_target(target_path: Path | None) -> None:
    """Refuse (``InputError``) a target that is invalid, may not use this kube context, names a kubeconfig that
    cannot be read, or whose cluster denies this identity a permission the scenarios need."""
    if target_path is None:
        return
    target = targets.load(target_path)
    try:
        kube.check_context(target)
    except kube.ContextNotAllowed:
        raise
    except Exception as exc:  # an unreadable kubeconfig: name the problem, not its content
        raise InputError(f"{target_path}: cannot read its kubeconfig ({type(exc).__name__})") from None
    permissions.require_all(target, "xpchaos gate")  # the scenarios may run any fault: one line, exit 2


@click.command()
@click.option("--target", "target_path", type=click.Path(path_type=Path), default=None,
              help="Target file of the platform to prove (default: sandboxes the scenarios start themselves).")
@click.option("-m", "markexpr", default="ci", show_default=True, metavar="TAGS",
              help="Which scenarios, as a pytest marker expression over the feature tags "
                   "(ci, gameday, aws, azure, slow), e.g. 'ci and aws'. An empty string selects all.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the report goes (default reports/<UTC time>/, with reports/latest pointing at it).")
@click.option("--features", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The folder of feature files to run (default: features/ in the working directory, else the "
                   "scenarios shipped with xpchaos).")
@HISTORY_OPTION
def gate(target_path: Path | None, markexpr: str, report_dir: Path | None, features: Path | None,
         history_path: Path | None) -> None:
    """Run the Gherkin scenarios as a CI resilience gate and write index.html, junit.xml, cucumber.json and every
    experiment's journal into the report directory.

    \b
    Exit codes:
      0  every selected scenario passed
      1  not resilient: the platform failed a failover expectation
      2  the gate could not decide: a harness error, a fault not applied, invalid input, nothing selected
      130  interrupted (the running scenario's rollbacks ran)
    """
    _check_target(target_path)
    with contextlib.ExitStack() as stack:
        if target_path is not None:  # one fault at a time per target: the scenarios' runs join this lease
            stack.enter_context(lease.hold(targets.load(target_path), "xpchaos gate"))
        exit_code = _gate(target_path, markexpr, report_dir, features, history_path)
    sys.exit(exit_code)


def _gate(target_path: Path | None, markexpr: str, report_dir: Path | None, features: Path | None,
          history_path: Path | None) -> int:
    found = sources.features(features)
    directory = (report_dir or gates.new_report_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    note = found.note()
    if note:
        console.print(escape(note), highlight=False)
    command = gates.pytest_command(directory, target_path.resolve() if target_path else None, markexpr or None,
                                   found.path)
    console.print(f"[bold]xpchaos gate[/bold]: pytest {escape(' '.join(command[3:]))}", highlight=False)
    code, signalled = gates.run_pytest(command, directory, lambda line: console.print(line, markup=False,
                                                                                        highlight=False))
    scenarios = gates.scenario_reports(directory)
    exit_code, meaning = gates.exit_code(code, scenarios, signalled, gates.pytest_error(directory))
    files = {name: name for name in ("junit.xml", "cucumber.json", "pytest.log", gates.SCENARIOS_FILE)
             if (directory / name).exists()}
    result = rm.GateReport("xpchaos resilience gate", scenarios, started,
                           time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           str(target_path) if target_path else "sandboxes started by the scenarios",
                           markexpr, exit_code, meaning, files)
    index = write(report.render_gate(result), directory / "index.html")
    if exit_code != 130:  # an interrupted gate's figures are partial
        record_history("gate", f"gate -m {markexpr}", result, index, history_path)
    notify.notify_gate(notify.webhook_url(), result, index)
    console.print(summary_table(scenarios))
    style = "green" if exit_code == 0 else "bold red"
    console.print(f"[{style}]exit {exit_code}[/]: {escape(meaning)}", highlight=False)
    console.print(f"Report: [bold]{index}[/bold]", highlight=False)
    return exit_code


def register(group: click.Group) -> None:
    group.add_command(gate)
