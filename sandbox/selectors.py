"""Label and field selectors, parsed once per request and matched against stored objects.

Label selector grammar as in k8s.io/apimachinery/pkg/labels: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``,
``a notin (x,y)``, ``a`` (exists) and ``!a`` (does not exist), comma-separated, all must hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

_SET_RE = re.compile(r"^\s*(!?)\s*([^\s!=()]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_CMP_RE = re.compile(r"^\s*([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op == "in":
            return self.key in labels and labels[self.key] in self.values
        return labels.get(self.key) not in self.values if self.key in labels else True


def _split_top_level(text: str) -> Iterable[str]:
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


def parse_label_selector(text: str | None) -> list[Requirement]:
    if not text or not text.strip():
        return []
    out: list[Requirement] = []
    for part in _split_top_level(text):
        if not part.strip():
            raise ApiError(400, f"unable to parse requirement: empty requirement in {text!r}")
        cmp_match = _CMP_RE.match(part)
        if cmp_match:
            key, op, value = cmp_match.groups()
            out.append(Requirement(key, "notin" if op == "!=" else "in", frozenset([value])))
            continue
        set_match = _SET_RE.match(part)
        if not set_match:
            raise ApiError(400, f"unable to parse requirement: {part.strip()!r} is not a valid label selector")
        neg, key, op, values = set_match.groups()
        if op:
            if neg:
                raise ApiError(400, f"unable to parse requirement: {part.strip()!r}")
            items = frozenset(v.strip() for v in values.split(",") if v.strip())
            out.append(Requirement(key, op, items))
        else:
            out.append(Requirement(key, "!exists" if neg else "exists"))
    return out


def labels_match(requirements: list[Requirement], obj: dict[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in requirements)


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, dict) and path == "source":
        return str(node.get("component", ""))
    return str(node)


FieldMatcher = Callable[[dict[str, Any]], bool]


def parse_field_selector(text: str | None, allowed: Iterable[str]) -> list[tuple[str, str, str]]:
    """Return (field, op, value) triples; unsupported fields are a 400 like the real server's."""
    if not text or not text.strip():
        return []
    allowed_set = {"metadata.name", "metadata.namespace", *allowed}
    out = []
    for part in text.split(","):
        match = _CMP_RE.match(part)
        if not match:
            raise ApiError(400, f"invalid selector: {part.strip()!r}; can't understand it")
        key, op, value = match.groups()
        if key not in allowed_set:
            raise ApiError(400, f'field label not supported: {key}')
        out.append((key, "!=" if op == "!=" else "=", value))
    return out


def fields_match(requirements: list[tuple[str, str, str]], obj: dict[str, Any]) -> bool:
    for key, op, value in requirements:
        actual = _field_value(obj, key)
        if (actual == value) != (op == "="):
            return False
    return True
