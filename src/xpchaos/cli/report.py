"""``xpchaos report``: one Chaos Toolkit journal as a self-contained HTML page (``xpchaos.report.html``).

Exit codes: 0 the page was written (whatever the run's verdict), 2 bad input (a missing or unreadable file, not
JSON, not a chaos journal) or the page could not be written; then nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from xpchaos.cli.run import console, fail


def load_journal(path: Path) -> dict[str, Any]:
    """The journal at ``path``; exits 2 with one line on stderr when it is not a chaos journal."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except IsADirectoryError:
        fail(f"{path}: is a directory, not a journal")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read it: {getattr(exc, 'strerror', None) or exc}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}: not JSON ({exc})")
    if not isinstance(doc, dict) or not isinstance(doc.get("experiment"), dict) \
            or not isinstance(doc.get("run"), list):
        fail(f"{path}: not a Chaos Toolkit journal (it needs an \"experiment\" object and a \"run\" list; "
             "`chaos run --journal-path` writes one)")
    return doc


@click.command()
@click.argument("journal", type=click.Path(path_type=Path))
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Where to write the page (default: JOURNAL with the suffix .html, beside it).")
def report(journal: Path, output: Path | None) -> None:
    """Render the journal of a `chaos run` or `xpchaos run` as one HTML page that opens from disk, offline.

    The page shows the verdict, the times to detect, to fail over and to DNS convergence against their
    deadlines, the steps with their exact failure messages, and the timeline as a chart (conditions of the XR
    and of each provider's managed resources, events, each nameserver's answers, the fault markers, the
    deadline) and as a table with exact timestamps. Prints the path of the page.

    Exit codes: 0 written, 2 bad input (nothing written).
    """
    from xpchaos.report import html as reports

    doc = load_journal(journal)
    out = output if output is not None else journal.with_suffix(".html")
    if out.resolve() == journal.resolve():
        fail(f"{out}: that is the journal itself; choose another output with -o")
    link = os.path.relpath(journal.resolve(), out.resolve().parent)  # the page links to the journal from its dir
    page = reports.render_journal(doc, link)
    try:
        reports.write(page, out)
    except OSError as exc:
        fail(f"{out}: cannot write the report: {exc.strerror or exc}")
    console.print(str(out), markup=False, highlight=False)


def register(group: click.Group) -> None:
    """Add ``report`` to the ``xpchaos`` command group."""
    group.add_command(report)
