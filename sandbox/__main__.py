"""``python -m xpchaos.sandbox serve [...]``: run the sandbox in this process (``xpchaos sandbox up`` starts it).

``python -m xpchaos.sandbox timings`` prints the timings ``--timing NAME=VALUE`` takes, as one JSON object (name:
"seconds" or "whole seconds"), and ``python -m xpchaos.sandbox dns-modes`` the modes ``--dns`` takes (a JSON list), so
a client that may not import the sandbox checks them before starting one.
"""

import json
import sys

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["timings"]:  # before the server's imports: answered in a fraction of a second
        from .crossplane.timings import names

        print(json.dumps(names()))
        sys.exit(0)
    if argv[:1] == ["dns-modes"]:
        from .crossplane.dnsmodes import MODES

        print(json.dumps(list(MODES)))
        sys.exit(0)
    from .serve import main

    if argv[:1] == ["serve"]:
        argv = argv[1:]
    sys.exit(main(argv))
