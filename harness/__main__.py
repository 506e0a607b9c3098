"""``python -m harness`` is the ``xpchaos`` command."""

from .cli import main

main()
