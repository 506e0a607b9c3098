"""``xpchaos gameday SUITE.yaml``: a scheduled drill on the command line (the work is in ``xpchaos.run.gameday``)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from kubernetes.client.rest import ApiException
from rich.markup import escape
from urllib3.exceptions import MaxRetryError

from xpchaos.cli.gate import HISTORY_OPTION, record_history
from xpchaos.cli.output import console, fail
from xpchaos.cli.run import sigterm_interrupts
from xpchaos.core import kube, lease
from xpchaos.core import target as targets
from xpchaos.report import html as report
from xpchaos.report.page import write
from xpchaos.run import gameday as gamedays
from xpchaos.run import notify, report_model, runner, stops
from xpchaos.run import plan as plans

MEANINGS = {0: "every experiment passed", 1: "not resilient: an experiment failed its failover expectation",
            2: "the game day could not finish or decide", 130: "interrupted (the running experiment's rollbacks ran)"}


def _load(suite_path: Path, target_path: Path | None) -> tuple[gamedays.Suite, targets.Target]:
    """The suite and the target, every experiment valid and every provider known, before anything runs; bad input
    raises ``InputError`` (one line and exit code 2, from the command group)."""
    suite = gamedays.load(suite_path)
    target = targets.load(target_path)
    kube.check_context(target)
    for step in suite.steps:
        if step.experiment is not None:
            runner.prepare(step.experiment, target.path)
        if step.provider is not None:
            target.provider(step.provider)
    return suite, target


def dry_run_doc(suite: gamedays.Suite, target: targets.Target) -> dict[str, Any]:
    """What the game day would do and touch; reads only."""
    api = kube.client_for(target)
    doc: dict[str, Any] = {"suite": suite.name, "target": str(target.path), "context": target.context,
                           "lease": f"{target.safety.lease_namespace}/{lease.lease_name(target)}",
                           "stop_condition_now": stops.check(api, target), "steps": []}
    for step in suite.steps:
        entry: dict[str, Any] = {"step": step.describe()}
        if step.scenarios is not None:
            entry["note"] = "the faults of the selected scenarios (their experiments: see `xpchaos plan`)"
        if step.experiment is not None:
            overrides = gamedays._overrides(step, runner.load_experiment(step.experiment))
            entry["touches"] = plans.make(step.experiment, target.path, overrides).touches()
        doc["steps"].append(entry)
    return doc


def _report(suite: gamedays.Suite, target: targets.Target, outcome: gamedays.Outcome, directory: Path,
            started: str) -> tuple[report_model.GateReport, Path]:
    code = outcome.exit_code
    meaning = MEANINGS[code] + (f": {outcome.stopped}" if outcome.stopped else "")
    page = report_model.GateReport(f"xpchaos game day {suite.name}", outcome.scenarios, started,
                                   time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), str(target.path),
                                   str(suite.path), code, meaning)
    return page, write(report.render_gate(page), directory / "index.html")


@click.command()
@click.argument("suite_path", metavar="SUITE.yaml", type=click.Path(path_type=Path))
@click.option("--target", "target_path", type=click.Path(path_type=Path), default=None,
              help="Target file (default: xpchaos.yaml, or the running sandbox's target).")
@click.option("--dry-run", is_flag=True, help="Print every object each step would touch; touch nothing.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the journals and index.html go (default reports/gameday-<UTC time>/).")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="For --dry-run: text, or one JSON object.")
@HISTORY_OPTION
def gameday(suite_path: Path, target_path: Path | None, dry_run: bool, report_dir: Path | None,
            output: str, history_path: Path | None) -> None:
    """Run a game-day suite: its experiments in order, each from the steady state, under the target's Lease.

    Stop conditions (the target's emergency-stop ConfigMap; too many XRs outside the blast radius not Ready) are
    checked before every step and every second during it: a trip rolls the experiment back at once.

    \b
    Exit codes: 0 every experiment passed; 1 not resilient; 2 stopped, lease held, steady state not reached or
    bad input (one line); 130 interrupted.
    """
    suite, target = _load(suite_path, target_path)
    if not dry_run:
        gamedays.require_permissions(suite, target)  # every step's, before the first: one line, exit 2
    if dry_run:
        doc = dry_run_doc(suite, target)  # a plan it cannot make is bad input
        if output == "json":
            click.echo(json.dumps(doc, indent=2))
        else:
            _print_plan(doc)
        return
    directory = (report_dir or Path("reports") / time.strftime("gameday-%Y%m%dT%H%M%SZ", time.gmtime())).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        with sigterm_interrupts():  # SIGTERM (a CronJob's pod being stopped) ends the run like Ctrl-C
            outcome = gamedays.run(suite, target, directory / "journals",
                                   say=lambda line: console.print(line, markup=False, highlight=False))
    except lease.LeaseHeld as exc:
        fail(str(exc))
    except (ApiException, MaxRetryError, OSError) as exc:  # e.g. the cluster does not answer: nothing was changed
        fail(f"{target.path}: cannot reach the cluster to take the lease ({type(exc).__name__}); nothing was changed")
    except KeyboardInterrupt:  # RunInterrupted too: the experiment's rollbacks ran, the lease was released
        console.print("[yellow]interrupted[/yellow]: any running experiment's rollbacks ran; the lease was released",
                      highlight=False)
        sys.exit(130)
    page, index = _report(suite, target, outcome, directory, started)
    _after(suite, page, index, history_path)
    code = outcome.exit_code
    console.print(f"exit {code}: {escape(MEANINGS[code])}" + (f": {escape(outcome.stopped)}" if outcome.stopped
                                                               else ""), highlight=False)
    console.print(f"Report: [bold]{index}[/bold]", highlight=False)
    sys.exit(code)


def _print_plan(doc: dict[str, Any]) -> None:
    console.print(f"[bold]Game day {escape(doc['suite'])}[/bold] against {escape(doc['target'])} "
                  f"(context {escape(str(doc['context']))}), holding the lease {escape(doc['lease'])}", highlight=False)
    stop = doc["stop_condition_now"]
    console.print(f"stop conditions now: {escape(stop) if stop else 'none holds'}", highlight=False)
    for i, step in enumerate(doc["steps"], 1):
        console.print(f"{i}. {escape(step['step'])}", highlight=False)
        for obj in step.get("touches", []):
            console.print(f"     would change: {escape(json.dumps(obj, sort_keys=True))}", highlight=False)
        if step.get("note"):
            console.print(f"     would change: {escape(step['note'])}", highlight=False)
    console.print("Dry run: nothing was changed.")


def _after(suite: gamedays.Suite, page: report_model.GateReport, index: Path, history_path: Path | None) -> None:
    """The figures into the history, the summary to the webhook ($XPCHAOS_WEBHOOK_URL); neither fails the run."""
    record_history("gameday", suite.name, page, index, history_path)
    notify.notify_gate(notify.webhook_url(), page, index)


def register(group: click.Group) -> None:
    group.add_command(gameday)
