"""Crossplane-style conditions: one per type, lastTransitionTime kept while nothing changes."""

from __future__ import annotations

import copy
from typing import Any

from ..lifecycle import now


def condition(type_: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    out = {"type": type_, "status": status, "reason": reason, "lastTransitionTime": now()}
    if message:
        out["message"] = message
    return out


def merged(current: list[dict[str, Any]] | None, *updates: dict[str, str]) -> list[dict[str, Any]]:
    """``current`` with ``updates`` applied; a condition equal but for its timestamp is left as it was."""
    result = copy.deepcopy(current or [])
    for update in updates:
        index = next((i for i, c in enumerate(result) if c.get("type") == update["type"]), None)
        if index is None:
            result.append(update)
            continue
        old = result[index]
        same = all(old.get(k, "") == update.get(k, "") for k in ("status", "reason", "message"))
        if not same:
            result[index] = update
    return result


def get(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def is_true(obj: dict[str, Any], type_: str) -> bool:
    cond = get(obj, type_)
    return cond is not None and cond.get("status") == "True"
