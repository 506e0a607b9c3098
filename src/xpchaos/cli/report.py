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

from xpchaos.cli.output import console, fail
from xpchaos.core.errors import InputError
from xpchaos.report import html as reports
from xpchaos.report.page import write


def load_journal(path: Path) -> dict[str, Any]:
    """The journal at ``path``; ``InputError`` when it is not a chaos journal."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a journal") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("experiment"), dict) \
            or not isinstance(doc.get("run"), list):
        raise InputError(f"{path}: not a Chaos Toolkit journal (it needs an \"experiment\" object and a \"run\" "
                         "list; `chaos run --journal-path` writes one)")
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
    doc = load_journal(journal)
    out = output if output is not None else journal.with_suffix(".html")
    if out.resolve() == journal.resolve():
        raise InputError(f"{out}: that is the journal itself; choose another output with -o")
    link = os.path.relpath(journal.resolve(), out.resolve().parent)  # the page links to the journal from its dir
    page = reports.render_journal(doc, link)
    try:
        write(page, out)
    except OSError as exc:
        fail(f"{out}: cannot write the report: {exc.strerror or exc}")
    console.print(str(out), markup=False, highlight=False)


def register(group: click.Group) -> None:
    """Add ``report`` to the ``xpchaos`` command group."""
    group.add_command(report)
