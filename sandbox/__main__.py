"""``python -m xpchaos.sandbox serve [...]``: run the sandbox in this process (``xpchaos sandbox up`` starts it)."""

import sys

from .serve import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["serve"]:
        argv = argv[1:]
    sys.exit(main(argv))
