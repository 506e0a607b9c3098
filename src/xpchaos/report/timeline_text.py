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
        ttl = _field(entry, "ttl", None)
        change = ("answers " + (", ".join(answers) or "nothing") + (f" (TTL {ttl} s)" if ttl is not None else "")) \
            if what == "answer" else f"no answer: {message}"
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


def dns_clocks(entries: list[Any]) -> tuple[float, float] | None:
    """While a run goes on: (authoritative, client-visible) seconds after the last fault at which the nameservers
    that changed their answer since switched, and when a resolver may stop serving the answer each replaced (its
    switch plus the old answer's TTL); None before any switched. The verdict's times are the judged ones: this
    does not know which answer is the wanted one."""
    marks = [e for e in entries if _field(e, "what") == "mark" and _field(e, "status") == "injected"]
    if not marks:
        return None
    t0 = float(_field(marks[-1], "mono", 0.0))
    last: dict[tuple[str, str], tuple[Any, Any]] = {}  # (record, nameserver) -> (answers, ttl)
    switched: dict[tuple[str, str], tuple[float, float]] = {}
    for entry in entries:
        if _field(entry, "what") != "answer":
            continue
        key = (str(_field(entry, "name")), str(_field(entry, "nameserver")))
        answers, at = tuple(_field(entry, "answers", ()) or ()), float(_field(entry, "mono", 0.0))
        before = last.get(key)
        if before is not None and at >= t0 and answers != before[0]:
            switched[key] = (at - t0, at - t0 + float(before[1] or 0))
        last[key] = (answers, _field(entry, "ttl", None))
    if not switched:
        return None
    return max(a for a, _c in switched.values()), max(c for _a, c in switched.values())
