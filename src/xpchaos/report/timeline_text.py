"""Timeline entries as words: what the live view of ``xpchaos run``, the demo's transcript and the HTML report's
table print for each entry (an ``xpchaos.probes.timeline.Entry`` or its journal dict)."""

from __future__ import annotations

from typing import Any


def _field(entry: Any, name: str, default: Any = "") -> Any:
    return entry.get(name, default) if isinstance(entry, dict) else getattr(entry, name, default)


def describe(entry: Any) -> tuple[str, str, str]:
    """(source, object, what changed) of a timeline entry (an ``Entry`` or its journal dict)."""
    what, kind, name = _field(entry, "what"), _field(entry, "kind"), _field(entry, "name")
    namespace = _field(entry, "namespace", None)
    obj = f"{kind}/{namespace + '/' if namespace else ''}{name}"
    reason, message, status = _field(entry, "reason"), _field(entry, "message"), _field(entry, "status")
    if what == "condition":
        change = f"{_field(entry, 'type')}={status}" + (f" {reason}" if reason else "")
        previous = _field(entry, "previous", None)
        change += f" (was {previous})" if previous else ""
    elif what == "gone":
        change = "gone"
    elif what == "event":
        involved = _field(entry, "involved", {}) or {}
        obj = f"{involved.get('kind', '?')}/{involved.get('name', '?')}"
        change = f"{_field(entry, 'type')} {reason} x{_field(entry, 'count', 0)}: {message}"
    elif what in ("answer", "dns-error"):
        obj = f"{name} @{_field(entry, 'nameserver')}"
        answers = list(_field(entry, "answers", ()) or ())
        change = ("answers " + (", ".join(answers) or "nothing")) if what == "answer" else f"no answer: {message}"
    elif what == "mark":
        obj = f"fault {kind}"
        change = status + (f": {message}" if message else "")
    else:
        change = f"{what}: {message}" if message else what
    return str(_field(entry, "source")), obj, " ".join(change.split())


def visible(entries: list[Any]) -> list[Any]:
    """The changes seen live: not the state found when the recorder started, not the recorder's bookkeeping, and
    an Event only when it is new or says something new (not each time its count goes up)."""
    said: dict[tuple[str, str], tuple[str, str]] = {}
    out = []
    for entry in entries:
        if _field(entry, "initial", False) or _field(entry, "what") in ("synced", "relist"):
            continue
        if _field(entry, "what") == "event":
            key = (str(_field(entry, "namespace", "") or ""), str(_field(entry, "name")))
            text = (str(_field(entry, "reason")), str(_field(entry, "message")))
            if said.get(key) == text:
                continue
            said[key] = text
        out.append(entry)
    return out
