"""One store for Events, two APIs: core/v1 ``Event`` and ``events.k8s.io/v1`` ``Event``.

The real API server keeps one object and converts between the versions' field names; so do we. Stored form
is core/v1; the table below is the field mapping of k8s.io/kubernetes/pkg/apis/events/v1 conversion.
"""

from __future__ import annotations

from typing import Any

# events.k8s.io/v1 field <- core/v1 field
_TO_NEW = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
_SAME = ("metadata", "reason", "type", "eventTime", "series", "action", "related", "reportingInstance")


def to_events_v1(core: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for key in _SAME:
        if key in core:
            out[key] = core[key]
    for new_key, core_key in _TO_NEW.items():
        if core.get(core_key) not in (None, {}, ""):
            out[new_key] = core[core_key]
    return out


def from_events_v1(new: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "Event", "apiVersion": "v1"}
    for key in _SAME:
        if key in new:
            out[key] = new[key]
    for new_key, core_key in _TO_NEW.items():
        if new_key in new:
            out[core_key] = new[new_key]
    return out


def is_new_events(group: str, plural: str) -> bool:
    return group == "events.k8s.io" and plural == "events"
