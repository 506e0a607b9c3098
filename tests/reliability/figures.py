"""The figures the reliability tests measure, for README's "Reliability" table (``make reliability``).

Each test calls ``record(name, figures)``; with ``$XPCHAOS_RELIABILITY_DIR`` set (``make reliability`` sets it) the
figures are written there as ``<name>.json``, and ``python -m tests.reliability.table`` turns them into the table.
Without it nothing is written: the tests assert the same figures either way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV = "XPCHAOS_RELIABILITY_DIR"


def record(name: str, figures: dict[str, Any]) -> Path | None:
    directory = os.environ.get(ENV)
    if not directory:
        return None
    path = Path(directory) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return path
