"""The exceptions of xpchaos: one root, and the input errors that mean "fix what you gave me" (exit code 2).

- ``XpchaosError``: everything xpchaos raises on purpose derives from it, so a caller can catch the harness's own
  failures apart from bugs and from the libraries' exceptions.
- ``InputError``: a file, option or argument the user gave is wrong. Raised before any change to a cluster; its
  text is one line that names the file or option, where in it, and what to write instead. Every command turns it
  into that one line on stderr and exit code 2 (``EXIT_CODE``).
"""

from __future__ import annotations


class XpchaosError(Exception):
    """The root of every exception xpchaos raises on purpose."""


class InputError(XpchaosError, ValueError):
    """Bad input (a file, an option, an argument): refused before any change, exit code 2, one line of text."""

    EXIT_CODE = 2
