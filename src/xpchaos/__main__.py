"""``python -m xpchaos`` is the ``xpchaos`` command."""

from xpchaos.cli.main import main

main()
