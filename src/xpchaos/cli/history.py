"""``xpchaos history``: the recovery times of every gate and game-day run (``xpchaos.run.history``), per scenario, as a
table on the terminal and as one self-contained HTML page with a line chart per scenario.

Exit codes: 0 no regression, 1 the latest run of a scenario regressed, 2 the history is missing or not an xpchaos
history (one line on stderr; nothing written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xpchaos.core import measures
from xpchaos.core.outcome import Outcome
from xpchaos.report import history as page
from xpchaos.report.page import write
from xpchaos.run import history

console = Console(soft_wrap=True)
if not console.is_terminal:  # CI logs: wide enough that the table does not fold every cell
    console = Console(soft_wrap=True, width=160)
errors = Console(stderr=True, soft_wrap=True)
DEFAULT_OUTPUT = Path("reports/history.html")
STYLE = {Outcome.PASSED: "green", Outcome.FAILED: "bold red", Outcome.NOT_APPLIED: "yellow",
         Outcome.ERROR: "bold yellow", Outcome.SKIPPED: "dim"}


def table(trends: list[history.Trend]) -> Table:
    out = Table(title="Recovery times per scenario: latest run vs the median of the previous runs",
                title_justify="left", header_style="bold")
    for column in ("scenario", "runs", "last verdict", *(m.short for m in measures.MEASURES), "regression"):
        out.add_column(column, overflow="fold", min_width=44 if column == "scenario" else None)  # the name whole
    for t in trends:
        flag = "[bold red]REGRESSION[/]: " + escape("; ".join(r.reason for r in t.regressions)) \
            if t.regressions else "[green]no[/]"
        verdict = t.latest.verdict
        out.add_row(escape(t.scenario), str(len(t.points)), f"[{STYLE.get(verdict, '')}]{escape(verdict)}[/]",
                    *(page.versus(t, m.column) for m in measures.MEASURES), flag)
    return out


@click.command("history")
@click.option("--history", "history_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"The history database (default: ${history.ENV}, else {history.DEFAULT_PATH}).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUTPUT,
              show_default=True, metavar="FILE", help="Where to write the HTML page.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, metavar="N",
              help="How many of each scenario's latest runs to show and compare.")
def history_command(history_path: Path | None, output: Path, limit: int) -> None:
    """Show the recovery times of the recorded gate and game-day runs, per scenario: the latest time to detect,
    to fail over and to DNS convergence against the median of the previous runs, and whether the latest run
    regressed. Writes an HTML page with a chart of each scenario's times over the runs (with the SLO) and prints
    its path.

    A regression: a time worse than the median of the previous runs (at least 3) by more than 25 % and more than
    1 s, or a verdict that went from passed to anything else.

    \b
    Exit codes:
      0  no regression
      1  the latest run of a scenario regressed (CI can fail or alert on it)
      2  the history is missing or not an xpchaos history (nothing written)
    """
    source = history.resolve(history_path)
    try:
        trends = history.trend(source, limit)
    except history.HistoryError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    if trends:
        console.print(table(trends))
    else:
        console.print(f"No runs recorded yet in {source}.", markup=False, highlight=False)
    try:
        written = write(page.render(trends, str(source)), output)
    except OSError as exc:
        errors.print(f"[red]error:[/red] {escape(f'{output}: cannot write the page: {exc.strerror or exc}')}",
                     highlight=False)
        sys.exit(2)
    console.print(str(written), markup=False, highlight=False)
    regressed = [t for t in trends if t.regressions]
    for t in regressed:  # unfolded, one line each: what a CI log shows and a grep finds
        reasons = "; ".join(r.reason for r in t.regressions)
        console.print(f"[bold red]REGRESSION[/] {escape(t.scenario)}: {escape(reasons)}", highlight=False)
    if regressed:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add ``history`` to the ``xpchaos`` command group."""
    group.add_command(history_command)
