"""``xpchaos preflight``: checks a cluster before a first run (``xpchaos.run.preflight``); each finding says what to do.

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed (the platform is not ready for a first run),
2 bad input (an invalid target file; one line on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from xpchaos.cli.output import console
from xpchaos.core import target as targets
from xpchaos.run import preflight as checks

STYLE = {checks.OK: "green", checks.WARN: "yellow", checks.FAIL: "bold red"}


def render(found: list[checks.Finding]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("check", "status", "message", "fix"):
        table.add_column(column, overflow="fold")
    for finding in found:
        table.add_row(finding.check, Text(finding.status.upper(), style=STYLE[finding.status]),
                      Text(finding.message), Text(finding.fix))
    return table


def budget_tables(found: list[checks.Finding]) -> list[Table]:
    """A table per finding that carries one (the time budget's terms, their values and where they were read)."""
    tables = []
    for finding in found:
        if not finding.rows:
            continue
        table = Table(title=Text(f"Time budget: {finding.message.split(': ')[0]}", style="bold"), title_justify="left",
                      box=None, header_style="bold", pad_edge=False)
        for column in ("term", "seconds", "from"):
            table.add_column(column, overflow="fold")
        for name, value, source in finding.rows:
            style = STYLE[finding.status] if name == "total" else ""
            table.add_row(Text(name, style=style), Text(value, style=style), Text(source, style=style))
        tables.append(table)
    return tables


def summary(found: list[checks.Finding]) -> Text:
    counts = {status: sum(f.status == status for f in found) for status in (checks.OK, checks.WARN, checks.FAIL)}
    said = f"{counts[checks.OK]} ok, {counts[checks.WARN]} warnings, {counts[checks.FAIL]} failed"
    if counts[checks.FAIL]:
        return Text(f"NOT READY for a first run: {said}", style="bold red")
    return Text(f"ready for a first run: {said}", style="bold green")


@click.command()
@click.option("--target", "target_path", type=click.Path(path_type=Path), default=None,
              help="Target file (default: xpchaos.yaml, else the running sandbox's target).")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="A table, or a JSON list of findings on stdout.")
def preflight(target_path: Path | None, output: str) -> None:
    """Check a cluster before a first run: the kube context, Crossplane and its providers, every object the target
    names, the providers' poll interval against the SLO, the harness's RBAC, the time budget per fault kind and DNS
    wiring (a table each, naming the term that breaks the SLO), the dependency loops (the DNS record reconciled
    through the lost provider, the cluster's nodes and synced credentials on its cloud) and the nameservers' answers.

    Reads only; changes nothing. Every finding that is not ok says what to do.

    Exit codes: 0 ready (warnings allowed), 1 a check failed, 2 bad input.
    """
    target = targets.load(target_path)  # bad input: one line and exit code 2, from the command group
    found = checks.check(target)
    if output == "json":
        click.echo(json.dumps([f.as_dict() for f in found]))
    else:
        console.print(Text(f"Preflight of {target.name} ({target.path})", style="bold"))
        console.print(render(found))
        for table in budget_tables(found):
            console.print()
            console.print(table)
        console.print(summary(found))
    sys.exit(1 if checks.failed(found) else 0)


def register(group: click.Group) -> None:
    """Add ``preflight`` to the ``xpchaos`` command group."""
    group.add_command(preflight)
