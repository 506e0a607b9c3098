"""``xpchaos run`` and ``xpchaos plan``: one experiment, run in this process with its timeline shown as it
happens and a report at the end; or what a run would touch, touching nothing.

``run`` goes through ``xpchaos.run.runner`` (chaoslib in the main thread). While it runs, a refresh thread reads the
process's timeline recorder (``xpchaos.probes.recorder.active()``): on a terminal a live view of the newest entries
under a header with the phase, otherwise one plain line per entry. Chaos Toolkit's progress (the ``chaostoolkit``
logger) is printed above it. Exit codes: 0 passed, 1 failed (not resilient), 2 error / fault not applied / bad
input, 130 interrupted (SIGINT, SIGTERM: the rollbacks ran).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from chaoslib.configuration import load_configuration
from chaoslib.exceptions import InterruptExecution
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from xpchaos.cli.output import console, errors
from xpchaos.core import measures
from xpchaos.core import target as targets
from xpchaos.core.outcome import Outcome
from xpchaos.probes import recorder
from xpchaos.report.timeline_text import describe, dns_clocks, visible
from xpchaos.run import plan as plans
from xpchaos.run import runner, sources

EXIT_INTERRUPTED = Outcome.INTERRUPTED.exit_code
SHOWN_ENTRIES = 15
LOGGERS = ("chaostoolkit", "xpchaos")
PROVIDER_KEY, SLO_KEY = "xpchaos_provider", "xpchaos_slo"
OUTCOME_STYLE = {Outcome.PASSED: "bold green", Outcome.FAILED: "bold red", Outcome.NOT_APPLIED: "bold yellow",
                 Outcome.ERROR: "bold yellow"}

TARGET_OPTION = click.option("--target", "target_path", type=click.Path(path_type=Path), default=None,
                             help="Target file (default: $XPCHAOS_TARGET, else the experiment's default, "
                                  "xpchaos.yaml).")
PROVIDER_OPTION = click.option("--provider", default=None, metavar="NAME|ROLE",
                               help="The provider to lose: a name from the target or a role (default: "
                                    "$XPCHAOS_PROVIDER, else primary).")


# what to run -----------------------------------------------------------------------------------------------------
def _overrides(provider: str | None, slo: str | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if provider is not None:
        overrides[PROVIDER_KEY] = provider
    if slo is not None:
        overrides[SLO_KEY] = slo
    return overrides


def check(experiment: Path, target_path: Path | None, overrides: dict[str, Any],
          undo_log: Path | None = None) -> tuple[dict[str, Any], targets.Target]:
    """Everything that can be refused before the run: the runner's checks, then the provider and the SLO as the
    experiment will see them (options, else environment, else the experiment's defaults). Raises
    ``runner.ExperimentError``."""
    doc, target = runner.prepare(experiment, target_path, overrides, undo_log)
    config = load_configuration(doc.get("configuration") or {})
    provider, slo = config.get(PROVIDER_KEY), config.get(SLO_KEY)
    if provider not in (None, ""):
        try:
            target.provider(str(provider))
        except targets.TargetError as exc:
            raise runner.ExperimentError(str(exc)) from None
    if slo not in (None, ""):
        try:
            if targets.parse_duration(slo, "--slo / $XPCHAOS_SLO") <= 0:
                raise runner.ExperimentError(f"--slo / $XPCHAOS_SLO: {slo!r} must be more than 0 s")
        except targets.TargetError as exc:
            raise runner.ExperimentError(str(exc)) from None
    return doc, target


def resolve_experiment(asked: Path, out: Console) -> Path:
    """The experiment file for the argument (the path, else ``experiments/``, else the copy shipped with xpchaos),
    saying on ``out`` which one when it is not simply the path given."""
    found = sources.experiment(asked)
    note = found.note()
    if note:
        out.print(note, markup=False, highlight=False)
    return found.path


def default_journal(experiment: Path) -> Path:
    """``reports/runs/<UTC yyyymmddTHHMMSSZ>-<experiment stem>/journal.json`` (a new directory per run)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = Path("reports/runs") / f"{stamp}-{experiment.stem}"
    directory, n = base, 1
    while directory.exists():
        n += 1
        directory = base.with_name(f"{base.name}-{n}")
    return directory / "journal.json"


# the timeline as it happens ---------------------------------------------------------------------------------------
PHASES = (("Steady state hypothesis:", "steady state (before the fault)"),
          ("Playing your experiment's method", "method"), ("Let's rollback", "rollbacks"),
          ("Experiment ended", "done"))


def phase_of(message: str) -> str | None:
    """The run's phase from Chaos Toolkit's progress messages."""
    return next((phase for prefix, phase in PHASES if message.startswith(prefix)), None)


class Progress:
    """The timeline as it happens: a live view on a terminal, plain lines otherwise. Reads the recorder of this
    process from a refresh thread (rich's, or its own); the chaostoolkit logger is printed above it."""

    def __init__(self, out: Console, title: str, interval: float = 0.25) -> None:
        self.out, self.title, self.interval = out, title, interval
        self.started = time.monotonic()
        self.phase = "starting"
        self.activity = ""
        self._rec: Any = None
        self._printed = 0  # plain mode: entries of the current recorder already printed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None
        self._handler: logging.Handler | None = None
        self._saved: list[tuple[logging.Logger, int, bool]] = []

    @property
    def interactive(self) -> bool:
        return self.out.is_terminal

    # the recorder and its entries
    def _recorder(self) -> Any:
        current = recorder.active()
        if current is not None and current is not self._rec:
            self._rec, self._printed = current, 0
        return self._rec

    def _entries(self) -> list[Any]:
        rec = self._recorder()
        return [] if rec is None else rec.timeline.entries()

    def _fault(self) -> str:
        marks = [e for e in self._entries() if e.what == "mark"]
        return f"{marks[-1].kind} {marks[-1].status}" if marks else "none yet"

    # live view
    def render(self) -> RenderableType:
        entries = visible(self._entries())
        header = Text.assemble((f"{self.title}", "bold"), "\n", ("phase ", "dim"), (self.phase, "cyan"),
                               (f" ({self.activity})" if self.activity else "", "cyan"),
                               ("  fault ", "dim"), self._fault(), *self._dns_clocks(entries),
                               ("  elapsed ", "dim"), f"{time.monotonic() - self.started:.1f} s")
        table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
        for column in ("t", "source", "object", "what changed"):  # the object keeps its name; the change is cut
            table.add_column(column, no_wrap=True, overflow="ellipsis", min_width=36 if column == "object" else None)
        for entry in entries[-SHOWN_ENTRIES:]:
            source, obj, change = describe(entry)
            table.add_row(f"{entry.mono - self.started:7.2f}s", source, Text(obj), Text(change))
        if not entries:
            table.add_row("", "", Text("(nothing observed yet)", style="dim"), "")
        return Group(header, table)

    @staticmethod
    def _dns_clocks(entries: list[Any]) -> tuple[str | tuple[str, str], ...]:
        """Both DNS clocks once the nameservers switched: authoritatively, and as a resolver may serve it."""
        clocks = dns_clocks(entries)
        if clocks is None:
            return ()
        return (("  DNS switched ", "dim"), f"+{clocks[0]:.1f} s", (" clients ", "dim"), f"+{clocks[1]:.1f} s")

    # plain lines
    def _print_new(self) -> None:
        entries = self._entries()
        for entry in visible(entries):
            if entry.seq >= self._printed:
                source, obj, change = describe(entry)
                self.out.print(f"  {entry.mono - self.started:7.2f}s  {source:<8} {obj:<48} {change}",
                               markup=False, highlight=False)
        self._printed = len(entries)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._print_new()

    # logging
    def _attach_logging(self) -> None:
        handler: logging.Handler
        if self.interactive:
            handler = RichHandler(console=self.out, show_path=False, markup=False, rich_tracebacks=False,
                                  log_time_format="[%X]")
        else:
            handler = _PlainHandler(self.out)
        progress = self

        class Phase(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                message = record.getMessage()
                phase = phase_of(message)
                if phase is not None:
                    progress.phase, progress.activity = phase, ""
                elif message.startswith(("Action: ", "Probe: ")):
                    progress.activity = message
                return True

        handler.addFilter(Phase())
        handler.setLevel(logging.INFO)
        self._handler = handler
        for name in LOGGERS:
            log = logging.getLogger(name)
            self._saved.append((log, log.level, log.propagate))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False  # printed once, here, not again by a root handler

    def _detach_logging(self) -> None:
        for log, level, propagate in self._saved:
            if self._handler is not None:
                log.removeHandler(self._handler)
            log.setLevel(level)
            log.propagate = propagate
        self._saved.clear()

    # lifecycle
    def __enter__(self) -> Progress:
        self._attach_logging()
        if self.interactive:
            self._live = Live(console=self.out, get_renderable=self.render, refresh_per_second=4,
                              redirect_stderr=False)
            self._live.start()
        else:
            self._thread = threading.Thread(target=self._loop, name="xpchaos-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.phase != "done":
            self.phase = "done" if exc[0] is None else "interrupted"
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
        if self._thread is not None:
            self._stop.set()
            self._thread.join(2)
            self._print_new()  # what came in after the last poll (the recorder keeps its timeline once stopped)
        self._detach_logging()


class _PlainHandler(logging.Handler):
    def __init__(self, out: Console) -> None:
        super().__init__()
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            self.out.print(f"{stamp} {record.levelname:<7} {record.getMessage()}", markup=False, highlight=False)
        except Exception:
            self.handleError(record)


# the report -------------------------------------------------------------------------------------------------------
def _seconds(value: Any) -> str:
    return measures.seconds(value, places=2)


def render_report(result: runner.RunResult) -> RenderableType:
    """The report of a run: verdict, failover steps, the times against the SLO, where the time went, what was
    observed, where the journal is. Everything here comes from the RunResult (its journal and verdict)."""
    found = result.verdict
    parts: list[RenderableType] = [Text.assemble((found.outcome.upper(), OUTCOME_STYLE.get(found.outcome, "bold")),
                                                 "  ", found.headline())]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("experiment", Text(f"{found.experiment or result.experiment_path} ({result.experiment_path})"))
    if found.fault:
        facts.add_row("fault", Text(f"{found.fault}" + (f" on {found.provider}" if found.provider else "")))
    facts.add_row("journal status", Text(str(result.journal.get("status", "?"))
                                          + (" (deviated)" if result.journal.get("deviated") else "")))
    if found.failed_step:
        late = f", late by {found.late_by_s:.2f} s" if isinstance(found.late_by_s, (int, float)) else ""
        facts.add_row("failed step", Text(f"{found.failed_step}{late}"))
    if found.observed:
        facts.add_row("observed", Text(found.observed))
    parts.append(facts)
    if found.steps:
        steps = Table(title="Failover steps", title_justify="left", box=None, header_style="bold")
        for column in ("step", "description", "deadline", "at", "status"):
            steps.add_column(column)
        styles = {"met": "green", "late": "red", "missed": "red"}
        for step in found.steps:
            status = str(step.get("status", "?"))
            if status == "late" and isinstance(step.get("late_by_s"), (int, float)):
                status += f" (+{step['late_by_s']:.2f} s)"
            steps.add_row(str(step.get("name", "")), Text(str(step.get("description", ""))),
                          _seconds(step.get("deadline_s")), _seconds(step.get("at_s")),
                          Text(status, style=styles.get(str(step.get("status")), "")))
        parts.append(steps)
    if found.composites:
        parts.append(composites_table(found.composites))
    if found.times or found.slo_s is not None:
        times = Table(title="Recovery times", title_justify="left", box=None, header_style="bold")
        for column in ("measure", "time", "SLO", ""):
            times.add_column(column)
        clock = measures.judged_by(found.dns_clock)
        for what in measures.MEASURES:
            value = what.of(found.times)
            if value is None:
                judged = Text("not measured", style="yellow")
            elif found.slo_s is None:
                judged = Text("")
            else:
                judged = Text("within SLO", style="green") if value <= found.slo_s else \
                    Text("over SLO", style="red")
            if value is not None and what in (measures.DNS, measures.DNS_CLIENT) and found.dns_clock:
                judged.append(" (the SLO's clock)" if what is clock else " (not the SLO's clock)", style="dim")
            times.add_row(what.label, _seconds(value), _seconds(found.slo_s), judged)
        parts.append(times)
    if found.parts:
        parts.append(parts_table(found.parts))
    rollbacks = [(str((r.get("activity") or {}).get("name", "?")), str(r.get("status", "?")))
                 for r in result.journal.get("rollbacks") or []]
    if rollbacks:
        parts.append(Text("rollbacks: " + ", ".join(f"{name} {status}" for name, status in rollbacks)))
    api = next((e for e in result.journal.get("extensions") or [] if e.get("name") == "xpchaos-api"), None)
    retries = {k: v for k, v in ((api or {}).get("retries") or {}).items() if k != "total"}
    if retries:  # the cluster answered 429/5xx or cut watches: why a run was slower than usual
        parts.append(Text("API requests retried: " + ", ".join(f"{why} x{n}" for why, n in retries.items())))
    safety = next((e for e in result.journal.get("extensions") or [] if e.get("name") == "xpchaos-safety"), None)
    if safety and safety.get("outstanding"):
        parts.append(Text(f"faults still in place: {'; '.join(safety['outstanding'])}; run `xpchaos restore`",
                          style="bold red"))
    if result.journal_path is not None:
        parts.append(Text(f"journal: {result.journal_path}"))
        parts.append(Text(f"report:  {result.journal_path.parent / 'report.txt'}"))
    return Group(*parts)


def parts_table(found: list[dict[str, Any]]) -> Table:
    """Where the time went: each part of the recovery times, in the order the platform reached it."""
    table = Table(title="Where the time went", title_justify="left", box=None, header_style="bold")
    for column in ("part", "from", "to", "took"):
        table.add_column(column)
    for part in found:
        table.add_row(Text(str(part.get("what", part.get("name", "")))), _seconds(part.get("from_s")),
                      _seconds(part.get("to_s")), _seconds(part.get("took_s")))
    return table


def composites_table(composites: list[dict[str, Any]]) -> Table:
    """Every composite judged on its own, slowest first, with its own times."""
    table = Table(title=f"Composites ({len(composites)}, slowest first)", title_justify="left", box=None,
                  header_style="bold")
    blast = any("blast" in c for c in composites)  # reached or spared by the fault, when that is known
    for column in ("composite", "outcome", *(["blast radius"] if blast else []), *(m.short for m in measures.MEASURES),
                   "failed step"):
        table.add_column(column)
    for composite in composites:
        outcome = Outcome.parse(composite.get("outcome"))
        late, unready = composite.get("late_by_s"), composite.get("unready_at_s")
        failed = str(composite.get("failed_step") or "")
        if failed:
            failed += f" (late by {late:.2f} s)" if isinstance(late, (int, float)) else \
                f" (left Ready {unready:.2f} s after the fault)" if isinstance(unready, (int, float)) else " (missed)"
        times = composite.get("times") or {}
        table.add_row(Text(str(composite.get("name", "?"))), Text(outcome.value, style=OUTCOME_STYLE.get(outcome, "")),
                      *([Text(str(composite.get("blast", "")))] if blast else []),
                      *(_seconds(m.of(times)) if m.key in times else "" for m in measures.MEASURES), Text(failed))
    return table


REPORT_WIDTH = 120


def report_text(result: runner.RunResult) -> str:
    """The report as plain text (what ``report.txt`` holds)."""
    recording = Console(record=True, file=io.StringIO(), width=REPORT_WIDTH, color_system=None)
    recording.print(render_report(result))
    return "\n".join(line.rstrip() for line in recording.export_text().splitlines()) + "\n"


def _finish(result: runner.RunResult) -> None:
    console.print()
    if console.is_terminal:
        console.print(render_report(result))
    else:  # a file or a pipe: the text report, lines as long as they need (no terminal to wrap for)
        console.print(report_text(result), end="", markup=False, highlight=False)
    if result.journal_path is not None:
        (result.journal_path.parent / "report.txt").write_text(report_text(result))


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the command the way Ctrl-C does (inside the run, the runner does the same)."""
    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# the commands -----------------------------------------------------------------------------------------------------
@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@TARGET_OPTION
@PROVIDER_OPTION
@click.option("--slo", default=None, metavar="DURATION",
              help="Deadline of every failover step, e.g. 30s (default: $XPCHAOS_SLO, else the target's "
                   "dns_convergence, 90s); DNS is judged on the target's slos.dnsClock (client-visible: the "
                   "switch plus the old answer's TTL; or authoritative).")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the journal (default reports/runs/<UTC time>-<experiment>/journal.json); "
                   "report.txt goes beside it.")
@click.option("--undo-log", "undo_log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The local undo log (default: $XPCHAOS_UNDO_LOG, else the per-user state directory's log "
                   "for the cluster).")
def run(experiment: Path, target_path: Path | None, provider: str | None, slo: str | None,
        journal_path: Path | None, undo_log: Path | None) -> None:
    """Run one Chaos Toolkit experiment against the target and report whether the failover met the SLO.

    EXPERIMENT is a file, or a built-in experiment by name (revoke-credentials, block-provider-api,
    delete-providerconfig, fail-health-check: DNS routed by Route53 health checks or Traffic Manager): from
    experiments/ in the working directory, else the copy shipped with xpchaos.

    Shows the timeline as it happens, then the verdict, the failover steps and the recovery times; writes the
    journal and a text report. Rollbacks always run, also on Ctrl-C and SIGTERM.

    Exit codes: 0 resilient, 1 not resilient, 2 error, fault not applied or bad input, 130 interrupted.
    """
    overrides = _overrides(provider, slo)
    experiment = resolve_experiment(experiment, console)
    with sigterm_interrupts():
        try:  # bad input (runner.ExperimentError): one line and exit code 2, from the command group
            doc, _target = check(experiment, target_path, overrides, undo_log)
            journal = journal_path or default_journal(experiment)
            with Progress(console, str(doc.get("title", experiment.stem))):
                result = runner.run(experiment, target_path, overrides, journal, undo_log)
        except runner.RunInterrupted as exc:
            console.print("\n[bold yellow]Interrupted[/bold yellow]: the rollbacks ran; the verdict:",
                          highlight=False)
            _finish(exc.result)
            sys.exit(EXIT_INTERRUPTED)
        except (KeyboardInterrupt, InterruptExecution):
            errors.print("[yellow]interrupted[/yellow] before the experiment ran or after it ended; if a fault is "
                         "still in place, `xpchaos restore` undoes it", highlight=False)
            sys.exit(EXIT_INTERRUPTED)
        _finish(result)
    sys.exit(result.verdict.exit_code)


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@TARGET_OPTION
@PROVIDER_OPTION
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Human-readable text, or one JSON object on stdout.")
def plan(experiment: Path, target_path: Path | None, provider: str | None, output: str) -> None:
    """Say exactly what a run of EXPERIMENT would touch, touching nothing. EXPERIMENT: a file, or a built-in
    experiment by name (from experiments/ here, else the copy shipped with xpchaos).

    Reads the cluster (the faults' dry runs check that their objects exist) but writes nothing: no change, no
    undo record, no journal. Exit code 2 when the plan cannot tell (an action from an unknown module) or a run
    would be refused.
    """
    experiment = resolve_experiment(experiment, errors if output == "json" else console)
    check(experiment, target_path, _overrides(provider, None))  # bad input: one line and exit code 2
    found = plans.make(experiment, target_path, _overrides(provider, None))
    if output == "json":
        click.echo(json.dumps(found.as_dict()))
        return
    print_plan(found)


def print_plan(found: Any) -> None:
    out = console
    out.print(f"[bold]Plan[/bold] for {escape(found.experiment)}: nothing was changed", highlight=False)
    out.print(f"  {escape(found.title)}", highlight=False)
    for label, value in (("target", f"{found.target} ({found.target_name})"),
                         ("kube context", f"{found.context or '-'} (kubeconfig {found.kubeconfig})"),
                         ("undo log", f"{found.undo_log} (a record is written before each change)")):
        out.print(Text.assemble((f"  {label:<14}", "dim"), value))
    out.print("\n[bold]A run would change[/bold]")
    for step in found.changes:
        out.print(Text.assemble(f"  {step.phase:<10} ", (step.name, "bold"), f"  {step.call}"))
        for line in step.would:
            out.print(Text(f"      {line}"))
        if step.detail.get("pods"):
            out.print(Text(f"      selecting pods: {', '.join(step.detail['pods'])}"))
    out.print("\n[bold]Objects[/bold]")
    for obj in found.touches():
        where = f"{obj['namespace']}/" if obj.get("namespace") else ""
        key = f" key {obj['key']!r}" if obj.get("key") else ""
        out.print(Text(f"  {obj['kind']} ({obj['apiVersion']}) {where}{obj['name']}{key}"))
    for radius in found.radii:
        print_blast_radius(radius)
    out.print("\n[bold]Read-only[/bold]")
    for step in found.steps:
        if step.read_only:
            out.print(Text(f"  {step.phase:<12} probe {step.name}  {step.call}"))
    for control in found.controls:
        out.print(Text(f"  control      {control['name']} ({control['module']}): {control['does']}"))


def print_blast_radius(radius: Any) -> None:
    """What one fault reaches: counts by kind, every XR (with its claim), and the warning for unlisted XRs."""
    out = console
    out.print(f"\n[bold]Blast radius[/bold] of {escape(radius.fault)} on {escape(radius.provider)}", highlight=False)
    if radius.providers:
        out.print(Text.assemble(("  pods of       ", "dim"), ", ".join(radius.providers)))
    if radius.provider_configs:
        out.print(Text.assemble(("  using         ", "dim"), ", ".join(radius.provider_configs)))
    counts = ", ".join(f"{kind} {n}" for kind, n in radius.counts().items())
    out.print(Text.assemble(("  managed       ", "dim"), f"{len(radius.managed)}" + (f" ({counts})" if counts else "")))
    kinds = ", ".join(f"{kind or 'XR'} {n}" for kind, n in Counter(c.kind for c in radius.composites).items())
    xrs = f"{len(radius.composites)}" + (f" ({kinds})" if kinds else "")
    out.print(Text.assemble(("  XRs           ", "dim"), xrs))
    unlisted = {c.key for c in radius.unlisted}
    for xr in radius.composites:
        claim = radius.claims.get(xr.key)
        notes = [f"claim {claim}"] if claim else []
        notes += ["not in the target"] if xr.key in unlisted else []
        out.print(Text(f"    {xr.describe()}" + (f" ({'; '.join(notes)})" if notes else "")))
    if radius.warning():
        out.print(Text(f"  warning: {radius.warning()}", style="yellow"))


def register(group: click.Group) -> None:
    """Add ``run`` and ``plan`` to the ``xpchaos`` command group."""
    group.add_command(run)
    group.add_command(plan)
