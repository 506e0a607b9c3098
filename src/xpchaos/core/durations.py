"""Durations as users write them in targets, suites and options: ``90s``, ``1m30s``, ``1.5m``, ``500ms``, ``2h``,
or a plain number of seconds. Read once, into seconds; never negative."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
EXAMPLES = "e.g. 90s, 1m30s, 1.5m, 500ms"


def seconds(value: Any) -> float:
    """``value`` in seconds; ``ValueError`` naming the value when it is not a duration."""
    text = "" if isinstance(value, bool) else str(value).strip()  # YAML's true/false are not durations
    if _NUMBER.match(text):
        return float(text)
    if not _WHOLE.match(text):
        raise ValueError(f"{_shown(value)} is not a duration ({EXAMPLES})")
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else f"{shown[:57]}..."


def _text(value: Any) -> str:
    """The duration as it was written (an option passed on as text), once it is known to be one."""
    seconds(value)
    return str(value).strip()


# model field types: a duration read into seconds, or checked and kept as written
Duration = Annotated[float, BeforeValidator(seconds)]
DurationText = Annotated[str, BeforeValidator(_text)]
