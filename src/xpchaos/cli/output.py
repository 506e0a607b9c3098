"""What every command prints on, and how it says that something is wrong: one line on stderr.

``Commands`` is the ``xpchaos`` command group: bad input (``xpchaos.core.errors.InputError``, whatever raised it, in
whichever command) becomes that one line and exit code 2, here and nowhere else.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from xpchaos.core.errors import InputError

console = Console(soft_wrap=True)  # what the user asked for goes to stdout; no hard wraps
errors = Console(stderr=True, soft_wrap=True)  # one line per error, however long


def say_error(message: str) -> None:
    """``error: <message>`` on stderr, as written (no markup is read from it)."""
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False)


def fail(message: str, code: int = InputError.EXIT_CODE) -> NoReturn:
    """Stop the command with ``message`` on stderr and exit code ``code``."""
    say_error(message)
    sys.exit(code)


class Commands(click.Group):
    """A command group whose commands (and sub-groups) may raise ``InputError``: one line on stderr, exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            say_error(str(exc))
            ctx.exit(InputError.EXIT_CODE)
