"""A Crossplane provider's poll interval: its ``--poll`` flag, as Go writes durations.

Read by preflight (does a fault surface within the SLO?) and by the network fault (when must its first effect be
seen?); declared here, below both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

DEFAULT_POLL = "10m"  # upjet providers' default --poll
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go ``time.Duration`` string (``10m``, ``1m30s``, ``500ms``, ``1h``, ``-1.5h``, ``0``);
    ``ValueError`` for anything Go's ``time.ParseDuration`` refuses."""
    s = text.strip()
    sign = -1.0 if s.startswith("-") else 1.0
    body = s[1:] if s[:1] in "+-" and s else s
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f"{text!r} is not a Go duration (e.g. 10m, 1m30s, 500ms, 1h)")
    total, pos = 0.0, 0
    for match in _GO_PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body):
        raise ValueError(f"{text!r} is not a Go duration (e.g. 10m, 1m30s, 500ms, 1h)")
    return sign * total


def poll_arg(args: Iterable[Any]) -> str | None:
    """The value of ``--poll`` in container args (``--poll=10m`` or ``--poll 10m``); None when absent."""
    items = [str(a) for a in args or ()]
    for i, arg in enumerate(items):
        for flag in ("--poll=", "-poll="):
            if arg.startswith(flag):
                return arg[len(flag):]
        if arg in ("--poll", "-poll") and i + 1 < len(items):
            return items[i + 1]
    return None
